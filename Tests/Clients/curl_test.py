"""The originals' documented curl requests, run with curl as written:

  curl -X POST http://localhost:8000/summarize -H "Content-Type: application/json" \
    -d '{"texts": ["..."], "max_length": 60, "min_length": 10, "do_sample": false}'
  curl http://localhost:8000/health

(localhost:8000 replaced by the test server's address). Checks summaries[].text (one per text, in order,
each equal to that text summarized alone), model, device, latency_ms, and /health's status.

Usage: curl_test.py http://127.0.0.1:PORT
"""
import json
import subprocess
import sys

from common import TEXT, TEXT2, check, get_json, raw_summary, run

PARAMETERS = '"max_length": 60, "min_length": 10, "do_sample": false'


def curl(*args):
    done = subprocess.run(["curl", "-sS", "--fail-with-body", "--max-time", "60", *args],
                          capture_output=True, text=True, check=False)
    check(done.returncode == 0, f"curl {' '.join(args)} exited {done.returncode}: {done.stderr.strip()} {done.stdout.strip()}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(f"curl {' '.join(args)} printed no JSON ({error}): {done.stdout[:300]!r}") from None


def main(base):
    base = base.rstrip("/")

    def summarize():
        health = get_json(base, "/health")
        body = '{"texts": [' + json.dumps(TEXT) + ", " + json.dumps(TEXT2) + "], " + PARAMETERS + "}"
        answer = curl("-X", "POST", f"{base}/summarize", "-H", "Content-Type: application/json", "-d", body)
        summaries = answer.get("summaries")
        check(isinstance(summaries, list) and len(summaries) == 2, f"summaries is not a list of 2: {answer!r}")
        for index, (summary, text) in enumerate(zip(summaries, (TEXT, TEXT2))):
            check(isinstance(summary.get("text"), str) and summary["text"].strip(), f"summaries[{index}].text is empty: {summary!r}")
            alone = raw_summary(base, text, max_length=60, min_length=10, do_sample=False)
            check(summary["text"] == alone, f"summaries[{index}].text {summary['text']!r} is not text {index} summarized alone ({alone!r})")
        check(answer.get("model") == health["model"], f"model {answer.get('model')!r}, /health says {health['model']!r}")
        check(answer.get("device") == health["device"], f"device {answer.get('device')!r}, /health says {health['device']!r}")
        latency = answer.get("latency_ms")
        check(isinstance(latency, (int, float)) and not isinstance(latency, bool) and latency >= 0,
              f"latency_ms is not a non-negative number: {latency!r}")
        return f"2 summaries, model {answer['model']}, device {answer['device']}, latency_ms {latency}"

    def health_check():
        answer = curl(f"{base}/health")
        check(answer.get("status") == "ok", f"/health status is {answer.get('status')!r}, not \"ok\": {answer!r}")
        check(isinstance(answer.get("model"), str) and isinstance(answer.get("device"), str), f"/health lacks model or device: {answer!r}")
        return f"status {answer['status']}, model {answer['model']}, device {answer['device']}"

    return run("curl", [
        ("POST /summarize {texts, max_length 60, min_length 10, do_sample false}", summarize),
        ("GET /health", health_check),
    ])


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1]) else 0)
