"""Brevity's own Python client (clients/python, installed from its wheel) against a running service: every
request field round-trips to the same answer as the raw request, errors become APIError naming the field,
a stream's token texts add up to its result, and 429/503 are retried after Retry-After (a stand-in
service on loopback answers 503 first). Usage: brevity_client_test.py BASE_URL"""
import asyncio
import http.server
import json
import sys
import threading
import time

import brevity
from common import TEXT, TEXT2, check, get_json, post_json, run

BASE = sys.argv[1]
client = brevity.Client(BASE, timeout=120)

# A valid value of every request field the document lists, each sent alone (sampling with its switches).
FIELDS = {
    "num_beams": {"num_beams": 2}, "max_length": {"max_length": 12}, "min_length": {"min_length": 6, "max_length": 12},
    "max_new_tokens": {"max_new_tokens": 7}, "min_new_tokens": {"min_new_tokens": 5, "max_new_tokens": 9},
    "length_penalty": {"length_penalty": 1.5, "num_beams": 2}, "no_repeat_ngram_size": {"no_repeat_ngram_size": 2},
    "early_stopping": {"early_stopping": "never", "num_beams": 2}, "repetition_penalty": {"repetition_penalty": 1.3},
    "do_sample": {"do_sample": True, "num_beams": 1, "seed": 5}, "temperature": {"do_sample": True, "num_beams": 1, "temperature": 0.7, "seed": 1},
    "top_k": {"do_sample": True, "num_beams": 1, "top_k": 5, "seed": 2}, "top_p": {"do_sample": True, "num_beams": 1, "top_p": 0.8, "seed": 3},
    "seed": {"do_sample": True, "num_beams": 1, "seed": 9}, "truncation": {"truncation": "truncate"},
    "mode": {"mode": "abstractive"}, "prefix": {"prefix": "summary: "}, "generate_parameters": {"generate_parameters": {"max_new_tokens": 6}},
    "num_sentences": {"num_sentences": 2}, "ratio": {"ratio": 0.5}, "strategy": {"strategy": "lead"},
    "draft_tokens": {"draft_tokens": 4},
}


def documented_fields():
    doc = get_json(BASE, "/openapi.json")
    return set(doc["components"]["schemas"]["GenerationParameters"]["properties"])


def every_field_round_trips():
    missing = documented_fields() - set(FIELDS)
    check(not missing, f"no value for documented fields {sorted(missing)}")
    modes = get_json(BASE, "/health")["modes"]
    for name, fields in FIELDS.items():
        if name in ("num_sentences", "ratio", "strategy") and "extractive" in modes:
            fields = {**fields, "mode": "extractive"}
        raw = post_json(BASE, "/summarize", {"texts": [TEXT, TEXT2], **fields})
        got = client.summarize([TEXT, TEXT2], **fields)
        check([s.text for s in got.summaries] == [s["text"] for s in raw["summaries"]], f"{name}: {got} != {raw}")
        check([s.input_tokens for s in got.summaries] == [s.get("input_tokens") for s in raw["summaries"]], f"{name}: input tokens")
        check(got.model == raw["model"] and got.device == raw["device"], f"{name}: model and device")
    return f"{len(FIELDS)} fields, each equal to the raw request"


def results_are_typed():
    r = client.summarize(TEXT, max_length=12)
    s = r.summaries[0]
    check(isinstance(s.text, str) and isinstance(s.input_tokens, int) and isinstance(s.generated_tokens, int), f"{s}")
    check(isinstance(s.truncated, bool) and isinstance(r.latency_ms, float) and r.latency_ms > 0, f"{r}")
    check(r.mode == "abstractive", f"mode {r.mode}")
    return f"{s.generated_tokens} generated tokens in {r.latency_ms:.1f} ms"


def errors_become_exceptions():
    cases = [({"top_p": 1.5}, "top_p"), ({"num_beams": 0}, "num_beams"), ({"max_length": "long"}, "max_length"),
             ({"truncation": "shorten"}, "truncation"), ({"do_sample": True, "num_beams": 3}, "do_sample")]
    for fields, field in cases:
        try:
            client.summarize(TEXT, **fields)
        except brevity.APIError as e:
            check(e.status == 422 and e.field == field and e.type and e.message, f"{fields}: {e!r}")
        else:
            raise AssertionError(f"{fields} accepted")
    try:
        client.summarize([""])
    except brevity.APIError as e:
        check(e.status == 422 and e.field == "texts[0]", f"empty text: {e!r}")
    else:
        raise AssertionError("an empty text accepted")
    try:
        list(client.stream(TEXT, top_k=-1))
    except brevity.APIError as e:
        check(e.status == 422 and e.field == "top_k", f"stream: {e!r}")
    else:
        raise AssertionError("a bad stream request accepted")
    return f"{len(cases) + 2} refusals, each naming its field"


def streams_add_up():
    notes = []
    for fields in ({"num_beams": 1, "max_length": 16}, {"num_beams": 3, "max_length": 16}):
        texts = {0: "", 1: ""}
        ids = {0: [], 1: []}
        result = None
        events = 0
        for event in client.stream([TEXT, TEXT2], **fields):
            if isinstance(event, brevity.TokenEvent):
                texts[event.index] += event.text
                ids[event.index] += event.token_ids
                events += 1
            else:
                result = event.result
        check(result is not None, "no result event")
        for i, s in enumerate(result.summaries):
            check(texts[i] == s.text, f"{fields} text {i}: streamed {texts[i]!r}, result {s.text!r}")
            check(len(ids[i]) == s.generated_tokens, f"{fields} text {i}: {len(ids[i])} ids for {s.generated_tokens} tokens")
        notes.append(f"beams {fields['num_beams']}: {events} token events")
    return ", ".join(notes)


def async_client_agrees():
    async def main():
        async with brevity.AsyncClient(BASE, timeout=120) as c:
            r = await c.summarize(TEXT, max_length=12)
            streamed = ""
            async for event in c.stream(TEXT, max_length=12):
                if isinstance(event, brevity.TokenEvent):
                    streamed += event.text
            try:
                await c.summarize(TEXT, top_p=2)
                raise AssertionError("accepted")
            except brevity.APIError as e:
                check(e.field == "top_p", repr(e))
            return r, streamed, await c.ready()
    r, streamed, ready = asyncio.run(main())
    check(r.summaries[0].text == client.summarize(TEXT, max_length=12).summaries[0].text == streamed, "async summaries differ")
    check(ready, "not ready")
    return "summarize, stream and errors as the sync client"


class Flaky(http.server.BaseHTTPRequestHandler):
    """Answers 503 with Retry-After: 1 (or 429) `refusals` times, then passes the request on to the service."""
    refusals = 0
    status = 503
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Flaky.seen.append(time.monotonic())
        if Flaky.refusals > 0:
            Flaky.refusals -= 1
            payload = json.dumps({"error": {"type": "overloaded", "field": None, "message": "busy"}}).encode()
            self.send_response(Flaky.status)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        answer = post_json(BASE, self.path, json.loads(body))
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def retries_honour_retry_after():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stand_in = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for status in (503, 429):
            Flaky.refusals, Flaky.status, Flaky.seen = 2, status, []
            r = brevity.Client(stand_in, max_retries=3).summarize(TEXT, max_length=12)
            check(len(Flaky.seen) == 3, f"{status}: {len(Flaky.seen)} attempts")
            gaps = [b - a for a, b in zip(Flaky.seen, Flaky.seen[1:])]
            check(all(g >= 0.95 for g in gaps), f"{status}: waited {gaps} s, Retry-After said 1")
            check(r.summaries[0].text == client.summarize(TEXT, max_length=12).summaries[0].text, "the retried answer differs")
        Flaky.refusals, Flaky.status, Flaky.seen = 5, 503, []
        try:
            brevity.Client(stand_in, max_retries=1).summarize(TEXT)
        except brevity.APIError as e:
            check(e.status == 503 and e.retry_after == 1.0 and e.type == "overloaded", repr(e))
            check(len(Flaky.seen) == 2, f"{len(Flaky.seen)} attempts with max_retries=1")
        else:
            raise AssertionError("five refusals, yet an answer")
    finally:
        server.shutdown()
    return "503 and 429 retried after 1 s each, bounded by max_retries"


if __name__ == "__main__":
    failed = run("brevity-client", [
        ("every request field round-trips", every_field_round_trips),
        ("results are typed", results_are_typed),
        ("errors become APIError naming the field", errors_become_exceptions),
        ("a stream's token texts add up to its result", streams_add_up),
        ("AsyncClient", async_client_agrees),
        ("429 and 503 retried after Retry-After", retries_honour_retry_after),
    ])
    client.close()
    sys.exit(1 if failed else 0)
