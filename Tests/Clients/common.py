"""Helpers shared by the client tests: the raw HTTP answer of Brevity (urllib, no third-party code) to
compare each client's result with, and a check that fails with a clear message."""
import json
import urllib.request

# The OpenAPI document's example text (a news paragraph); the tiny test model's summaries do not read as
# text, but they are deterministic, which is what the comparisons need.
TEXT = (
    "The city council approved a new budget on Tuesday, raising spending on schools and roads by eight percent. "
    "The mayor said the plan would add two hundred teachers and repair forty bridges over the next three years. "
    "Critics on the council argued that the increase relies on a property tax rise that many families cannot "
    "afford. The budget takes effect in July after a final public hearing."
)
TEXT2 = (
    "Heavy rain flooded several streets in the old town overnight, and the fire brigade pumped water out of "
    "dozens of cellars. No one was hurt, the police said, but two schools stayed closed on Wednesday."
)


class Failure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def post_json(base, path, body):
    request = urllib.request.Request(
        base.rstrip("/") + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def get_json(base, path):
    with urllib.request.urlopen(base.rstrip("/") + path, timeout=60) as response:
        return json.loads(response.read())


def raw_summary(base, text, **parameters):
    """summaries[0].text of POST /summarize in the originals' shape."""
    answer = post_json(base, "/summarize", {"texts": [text], **parameters})
    return answer["summaries"][0]["text"]


def run(name, steps):
    """Runs each (description, function) step; returns the number that failed."""
    failed = 0
    for description, step in steps:
        try:
            note = step()
            print(f"{name}: ok   {description}" + (f" ({note})" if note else ""))
        except Exception as error:  # noqa: BLE001 - every failure is reported with its step
            failed += 1
            print(f"{name}: FAIL {description}: {type(error).__name__}: {error}")
    return failed
