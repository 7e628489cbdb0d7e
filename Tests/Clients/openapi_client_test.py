"""A client generated from Brevity's own OpenAPI document by openapi-python-client: fetches GET /openapi.json
from the running server, generates the package offline (openapi-python-client generate --path openapi.json
--meta none, into a temporary folder), imports it, and does health + summarize with it (the originals' shape
and the Hugging Face shape), each summary equal to the raw HTTP answer. A generator warning fails the test:
it means part of the document was skipped.

Usage: openapi_client_test.py http://127.0.0.1:PORT
"""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

from common import TEXT, check, raw_summary, run

PACKAGE = "brevity_client"
GENERATION = {"max_length": 60, "min_length": 10, "do_sample": False}


def main(base):
    base = base.rstrip("/")
    work = tempfile.mkdtemp(prefix="brevity-openapi-client-")
    state = {}

    def generate():
        document = os.path.join(work, "openapi.json")
        with urllib.request.urlopen(base + "/openapi.json", timeout=60) as response, open(document, "wb") as out:
            out.write(response.read())
        bindir = os.path.dirname(sys.executable)   # the venv's openapi-python-client and ruff (its post hooks)
        env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
        done = subprocess.run([os.path.join(bindir, "openapi-python-client"), "generate", "--path", document,
                               "--output-path", os.path.join(work, PACKAGE), "--meta", "none"],
                              capture_output=True, text=True, env=env, check=False)
        output = (done.stdout + done.stderr).strip()
        check(done.returncode == 0, f"openapi-python-client exited {done.returncode}:\n{output}")
        check("warning" not in output.lower() and "error(s)" not in output.lower(),
              f"openapi-python-client reported problems with the document:\n{output}")
        sys.path.insert(0, work)
        state["package"] = importlib.import_module(PACKAGE)
        state["client"] = state["package"].Client(base_url=base, raise_on_unexpected_status=True, timeout=60.0)
        return "generated from GET /openapi.json, no warnings"

    def health():
        from brevity_client.api.default import health as health_api
        from brevity_client.models import Health, HealthStatus
        answer = health_api.sync(client=state["client"])
        check(isinstance(answer, Health), f"GET /health parsed as {type(answer).__name__}: {answer!r}")
        check(answer.status == HealthStatus.OK, f"status {answer.status!r}")
        check(answer.model and answer.device, f"model {answer.model!r}, device {answer.device!r}")
        return f"status {answer.status.value}, model {answer.model}, device {answer.device}"

    def summarize():
        from brevity_client.api.default import summarize as summarize_api
        from brevity_client.models import SummarizeRequest, SummarizeResponse
        response = summarize_api.sync_detailed(client=state["client"], body=SummarizeRequest(texts=[TEXT], **GENERATION))
        check(response.status_code == 200, f"POST /summarize answered {response.status_code}: {response.content[:300]!r}")
        answer = response.parsed
        check(isinstance(answer, SummarizeResponse), f"the response parsed as {type(answer).__name__}: {answer!r}")
        expected = raw_summary(base, TEXT, **GENERATION)
        check(len(answer.summaries) == 1 and answer.summaries[0].text == expected,
              f"generated client's summary {[s.text for s in answer.summaries]!r}; raw POST /summarize {expected!r}")
        latency = answer.latency_ms   # JSON "number": 8 reads as an int
        check(isinstance(latency, (int, float)) and not isinstance(latency, bool) and latency >= 0,
              f"latency_ms is not a non-negative number: {latency!r}")
        check(answer.model and answer.device, f"model {answer.model!r}, device {answer.device!r}")
        return f"equal to the raw answer; X-Request-Id {response.headers.get('x-request-id')}"

    def summarize_hf():
        from brevity_client.api.default import summarize as summarize_api
        from brevity_client.models import GenerationParameters, HFRequest, HFSummary
        answer = summarize_api.sync(client=state["client"],
                                    body=HFRequest(inputs=TEXT, parameters=GenerationParameters(**GENERATION)))
        expected = raw_summary(base, TEXT, **GENERATION)
        check(isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], HFSummary),
              f"the Hugging Face shape's answer parsed as {answer!r}")
        check(answer[0].summary_text == expected, f"summary_text {answer[0].summary_text!r}; raw POST /summarize {expected!r}")
        return "[HFSummary] equal to the raw answer"

    try:
        failed = run("openapi-client", [("generate the client from /openapi.json", generate)])
        if failed:
            return failed
        return run("openapi-client", [
            ("health()", health),
            ("summarize(SummarizeRequest(texts=[...], max_length 60, min_length 10, do_sample false))", summarize),
            ("summarize(HFRequest(inputs, GenerationParameters(...)))", summarize_hf),
        ])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1]) else 0)
