"""huggingface_hub's InferenceClient against Brevity's Hugging Face shape.

InferenceClient(base_url=URL) POSTs the task's input, {"inputs": text, "parameters": {...}}, to URL itself
(not to a path under it), so URL is Brevity's endpoint, http://host:port/summarize, or the server root,
where Brevity answers POST / as POST /summarize (the Inference Endpoints convention). huggingface_hub 2.x sends the summarization parameters of the Hugging Face
task spec: clean_up_tokenization_spaces, truncation, and generate_parameters, a nested object with the
generation values (max_length, ...). Brevity reads the generation values from "parameters" itself (the
transformers pipeline's flat shape) and from parameters.generate_parameters, which
are merged under the flat ones (a value given in both places is the flat one's); the client's summary must
equal POST /summarize with the same values.

Usage: hf_inference_client_test.py http://127.0.0.1:PORT
"""
import http.server
import json
import sys
import threading

from huggingface_hub import InferenceClient

from common import TEXT, check, post_json, raw_summary, run

GENERATION = {"max_length": 12, "min_length": 4, "do_sample": False}


def capture_request(generate_parameters):
    """What the client sends: runs it against a local server that records the request."""
    seen = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.update(method="POST", path=self.path, content_type=self.headers.get("Content-Type"),
                        body=json.loads(body))
            out = json.dumps([{"summary_text": "captured"}]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/summarize"
        result = InferenceClient(base_url=url).summarization(TEXT, generate_parameters=generate_parameters)
    finally:
        server.shutdown()
    check(result.summary_text == "captured", f"the client did not read [{{summary_text}}]: {result!r}")
    return seen


def main(base):
    endpoint = base.rstrip("/") + "/summarize"
    client = InferenceClient(base_url=endpoint)

    def request_shape():
        seen = capture_request(GENERATION)
        expected = {"inputs": TEXT, "parameters": {"generate_parameters": GENERATION}}
        check(seen.get("path") == "/summarize", f"the client posted to {seen.get('path')!r}, not the base URL's /summarize")
        check(seen.get("content_type") == "application/json", f"Content-Type {seen.get('content_type')!r}")
        check(seen.get("body") == expected, f"the client sent {json.dumps(seen.get('body'))}, expected {json.dumps(expected)}")
        return "POST <base_url> " + json.dumps({"inputs": "...", "parameters": seen["body"]["parameters"]})

    def default_parameters():
        summary = client.summarization(TEXT).summary_text
        expected = raw_summary(base, TEXT)
        check(summary == expected, f"InferenceClient.summarization gave {summary!r}; POST /summarize gave {expected!r}")
        return f"{len(summary)} characters, equal to POST /summarize"

    def flat_parameters_raw():
        # The shape Brevity reads generation values from: {"inputs", "parameters": {max_length, ...}}.
        answer = post_json(base, "/summarize", {"inputs": TEXT, "parameters": GENERATION})
        expected = raw_summary(base, TEXT, **GENERATION)
        check(answer == [{"summary_text": expected}], f"HF shape answered {answer!r}; POST /summarize {expected!r}")
        check(expected != raw_summary(base, TEXT), f"{GENERATION} does not change the summary; the test needs values that do")

    def generate_parameters():
        summary = client.summarization(TEXT, generate_parameters=GENERATION).summary_text
        with_parameters = raw_summary(base, TEXT, **GENERATION)
        check(summary == with_parameters, f"InferenceClient.summarization(generate_parameters={GENERATION}) gave {summary!r}; "
              f"POST /summarize with them gave {with_parameters!r}")
        return f"generate_parameters {GENERATION} applied: equal to POST /summarize with them"

    def truncation_values():
        # the HF spec's truncation values are accepted: cutting strategies cut, do_not_truncate refuses
        summary = client.summarization(TEXT, truncation="longest_first", generate_parameters=GENERATION).summary_text
        check(summary == raw_summary(base, TEXT, **GENERATION), f"truncation=longest_first changed the summary: {summary!r}")
        return "truncation=longest_first accepted"

    def server_root():
        # the Inference Endpoints convention: the client POSTs to the base URL itself, here the server root
        summary = InferenceClient(base_url=base).summarization(TEXT, generate_parameters=GENERATION).summary_text
        check(summary == raw_summary(base, TEXT, **GENERATION), f"POST / gave {summary!r}")
        return "base_url at the server root (POST /) equals POST /summarize"

    return run("hf-inference-client", [
        ("the request InferenceClient(base_url=...).summarization sends", request_shape),
        ("summary_text equals POST /summarize's summaries[0].text (no parameters)", default_parameters),
        ("raw HF shape with flat parameters equals POST /summarize with them", flat_parameters_raw),
        ("summarization(generate_parameters=...) against POST /summarize with them", generate_parameters),
        ("the HF spec's truncation values", truncation_values),
        ("InferenceClient(base_url=<server root>)", server_root),
    ])


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1]) else 0)
