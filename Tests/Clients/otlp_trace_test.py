"""OpenTelemetry traces: a loopback OTLP/HTTP receiver (standard library HTTP, opentelemetry-proto to read
what arrives) and BIN serve exporting to it. A summary requested with a W3C traceparent must arrive as one
server span in the caller's trace, parented to the caller's span, with its children (tokenize; queue wait,
encode, decode per text; detokenize) under it, and the response must name the server span in its own
traceparent; a streamed summary's span ends with its stream. A request the sampler drops (traceparent flag 00 under the default parent-based sampler) sends
nothing; a server without OTEL_EXPORTER_OTLP_ENDPOINT sends no traceparent at all.

Usage: otlp_trace_test.py BIN MODEL
"""
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from common import TEXT, TEXT2, check, run

RECEIVED = []          # ExportTraceServiceRequest messages
LOCK = threading.Lock()


def to_proto(body):
    """OTLP/JSON writes trace and span ids as hex (the protobuf JSON mapping would read base64)."""
    doc = json.loads(body)
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json_format.ParseDict(doc, ExportTraceServiceRequest())


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = self.path == "/v1/traces" and self.headers["Content-Type"] == "application/json"
        if ok:
            with LOCK:
                RECEIVED.append(to_proto(body))
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve(bin_path, model, env):
    port = free_port()
    log = open(os.devnull, "w")
    proc = subprocess.Popen([bin_path, "serve", "--model", model, "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            urllib.request.urlopen(base + "/ready", timeout=1).read()
            return proc, base
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None:
                raise RuntimeError(f"the service exited with {proc.returncode}")
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the service did not become ready")


def summarize(base, headers):
    request = urllib.request.Request(base + "/summarize", data=json.dumps({"texts": [TEXT, TEXT2], "max_length": 24}).encode(),
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.headers, json.loads(response.read())


def spans_of(trace_hex, wait=10.0):
    """Every span received for the trace, waiting up to `wait` seconds for a server span to arrive."""
    end = time.time() + wait
    while True:
        with LOCK:
            spans = [s for m in RECEIVED for rs in m.resource_spans for ss in rs.scope_spans for s in ss.spans
                     if s.trace_id.hex() == trace_hex]
        if any(s.kind == s.SPAN_KIND_SERVER for s in spans) or time.time() > end:
            return spans
        time.sleep(0.1)


def main():
    bin_path, model = sys.argv[1], sys.argv[2]
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    proc, base = serve(bin_path, model, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": "brevity-trace-test"})
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    state = {}

    def sampled_request():
        headers, body = summarize(base, {"traceparent": f"00-{caller_trace}-{caller_span}-01"})
        check(len(body["summaries"]) == 2, f"two summaries: {body}")
        parent = headers["traceparent"]
        check(parent is not None and parent.startswith(f"00-{caller_trace}-") and parent.endswith("-01"),
              f"the response's traceparent continues the caller's trace: {parent}")
        state["server_span"] = parent.split("-")[2]
        check(state["server_span"] != caller_span, "the server span is its own")
        return parent

    def spans_arrive():
        spans = spans_of(caller_trace)
        servers = [s for s in spans if s.kind == s.SPAN_KIND_SERVER]
        check(len(servers) == 1, f"one server span, got {[s.name for s in spans]}")
        server = servers[0]
        check(server.span_id.hex() == state["server_span"], "the server span is the one the response named")
        check(server.parent_span_id.hex() == caller_span, "the server span's parent is the caller's span")
        check(server.name == "POST /summarize", server.name)
        attrs = {a.key: json_format.MessageToDict(a.value) for a in server.attributes}
        check(attrs.get("http.request.method") == {"stringValue": "POST"}, f"{attrs}")
        check(attrs.get("http.response.status_code") == {"intValue": "200"}, f"{attrs}")
        check("gen_ai.usage.output_tokens" in attrs and "gen_ai.request.model" in attrs, f"{attrs}")
        children = [s for s in spans if s is not server]
        check(all(s.parent_span_id == server.span_id for s in children), "every other span is a child of the server span")
        names = sorted(s.name for s in children)
        want = sorted(["tokenize", "detokenize"] + ["queue wait", "encode", "decode"] * 2)
        check(names == want, f"children {names}, want {want}")
        for s in spans:
            check(server.start_time_unix_nano <= s.start_time_unix_nano <= s.end_time_unix_nano <= server.end_time_unix_nano,
                  f"{s.name} lies within the request")
        decode = next(s for s in children if s.name == "decode")
        d = {a.key: json_format.MessageToDict(a.value) for a in decode.attributes}
        check(int(d["brevity.decode.steps"]["intValue"]) >= 1 and "brevity.draft.accepted_tokens" in d, f"{d}")
        resource = {a.key: a.value.string_value for m in RECEIVED for rs in m.resource_spans for a in rs.resource.attributes}
        check(resource.get("service.name") == "brevity-trace-test", f"{resource}")
        return f"{len(spans)} spans"

    def streamed_request():
        trace = "5c0f1a2b3c4d5e6f708192a3b4c5d6e7"
        request = urllib.request.Request(base + "/summarize/stream",
                                         data=json.dumps({"texts": [TEXT], "max_length": 24}).encode(),
                                         headers={"Content-Type": "application/json",
                                                  "traceparent": f"00-{trace}-b7ad6b7169203331-01"})
        with urllib.request.urlopen(request, timeout=60) as response:
            events = response.read().decode()
        check("event: result" in events, "the stream ends with its result")
        spans = spans_of(trace)
        server = [s for s in spans if s.kind == s.SPAN_KIND_SERVER]
        check(len(server) == 1 and server[0].name == "POST /summarize/stream", f"{[s.name for s in spans]}")
        names = sorted(s.name for s in spans if s is not server[0])
        check(names == sorted(["tokenize", "queue wait", "encode", "decode", "detokenize"]), f"children {names}")
        check(all(s.end_time_unix_nano <= server[0].end_time_unix_nano for s in spans),
              "the server span ends with the stream, after its children")

    def unsampled_request():
        trace = "0af7651916cd43dd8448eb211c80319c"
        headers, _ = summarize(base, {"traceparent": f"00-{trace}-b7ad6b7169203331-00"})
        check(headers["traceparent"].endswith("-00"), f"not sampled: {headers['traceparent']}")
        check(spans_of(trace, wait=1.5) == [], "a trace the caller did not sample sends no spans")

    def new_trace():
        headers, _ = summarize(base, {})
        parent = headers["traceparent"]
        check(parent is not None and parent.endswith("-01"), f"a request without traceparent starts a sampled trace: {parent}")
        check(len(spans_of(parent.split("-")[1])) == 9, "its spans arrive: the server span and 8 children")

    failed = run("otlp-trace", [("a request with a sampled traceparent", sampled_request),
                                ("its spans arrive with their structure", spans_arrive),
                                ("a streamed summary's span ends with its stream", streamed_request),
                                ("a request the caller did not sample", unsampled_request),
                                ("a request without traceparent", new_trace)])
    proc.terminate()
    proc.wait(timeout=30)

    def tracing_off():
        off, off_base = serve(bin_path, model, {})
        try:
            headers, _ = summarize(off_base, {"traceparent": f"00-{caller_trace}-{caller_span}-01"})
            check(headers["traceparent"] is None, "no traceparent without an endpoint: tracing is off")
        finally:
            off.terminate()
            off.wait(timeout=30)

    failed += run("otlp-trace", [("tracing off without OTEL_EXPORTER_OTLP_ENDPOINT", tracing_off)])
    receiver.shutdown()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
