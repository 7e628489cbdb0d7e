#!/usr/bin/env python3
"""Load generators for docs/reliability.md (standard library only; loopback only; every run bounded in time).

  load.py sequential  URL BODY N             N requests one after another: the unloaded latencies
  load.py open-loop   URL BODY RATE SECONDS  requests at RATE per second whatever the answers (open loop),
                                             with the server's resident memory and open files sampled
  load.py slow-clients URL BODY SECONDS N    N connections trickling headers, N trickling bodies, one byte
                                             a second, while a normal client keeps sending requests

Each prints one JSON object: status counts, latency percentiles of 200s, and (with --pid) the server's
RSS and file descriptors at the start, the maximum and the end.
"""
import argparse, json, os, socket, statistics, sys, threading, time, urllib.error, urllib.request


def post(url, body, timeout=600):
    t0 = time.monotonic()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status, time.monotonic() - t0, None
    except urllib.error.HTTPError as e:
        e.read()
        return e.code, time.monotonic() - t0, e.headers.get("Retry-After")
    except Exception as e:  # connection errors and client timeouts count as failures
        return f"error:{type(e).__name__}", time.monotonic() - t0, None


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))], 3)


def proc(pid):
    if not pid:
        return None
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return {"rss_mib": round(rss / 2**20, 1), "fds": len(os.listdir(f"/proc/{pid}/fd"))}


class Sampler(threading.Thread):
    def __init__(self, pid, every=1.0):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples, self.stop = pid, every, [], threading.Event()

    def run(self):
        while not self.stop.is_set() and self.pid:
            self.samples.append((time.monotonic(), proc(self.pid)))
            self.stop.wait(self.every)

    def summary(self):
        if not self.samples:
            return None
        s = [x for _, x in self.samples]
        return {"start": s[0], "max_rss_mib": max(x["rss_mib"] for x in s), "max_fds": max(x["fds"] for x in s), "end": s[-1]}


def summarize(results, seconds):
    codes = {}
    for code, _, _ in results:
        codes[str(code)] = codes.get(str(code), 0) + 1
    ok = [t for code, t, _ in results if code == 200]
    refused = [t for code, t, _ in results if code in (429, 503)]
    return {"requests": len(results), "seconds": round(seconds, 1), "codes": codes,
            "ok_per_s": round(len(ok) / seconds, 3) if seconds else None,
            "ok_p50_s": pct(ok, 50), "ok_p95_s": pct(ok, 95), "ok_max_s": round(max(ok), 3) if ok else None,
            "refused_p95_s": pct(refused, 95),
            "retry_after": sorted({r for _, _, r in results if r})[:5]}


def sequential(a):
    out, t0 = [], time.monotonic()
    for _ in range(a.n):
        out.append(post(a.url, a.body))
    return summarize(out, time.monotonic() - t0)


def open_loop(a):
    sampler = Sampler(a.pid)
    sampler.start()
    results, lock, threads = [], threading.Lock(), []

    def one():
        r = post(a.url, a.body)
        with lock:
            results.append(r)

    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < a.seconds:
        target = t0 + n / a.rate
        time.sleep(max(0, target - time.monotonic()))
        t = threading.Thread(target=one, daemon=True)
        t.start()
        threads.append(t)
        n += 1
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    sampler.stop.set()
    out = summarize(results, elapsed)
    out["offered_per_s"] = a.rate
    out["server"] = sampler.summary()
    return out


def slow_clients(a):
    host, port = a.url.split("//")[1].split("/")[0].split(":")
    path = "/" + a.url.split("//")[1].split("/", 1)[1]
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(a.body)}\r\n\r\n").encode()
    stop = threading.Event()
    slow_done = {"headers": 0, "bodies": 0, "closed_by_server": 0}

    def trickle(kind):
        try:
            s = socket.create_connection((host, int(port)), timeout=a.seconds + 30)
            data = head + a.body if kind == "bodies" else head
            start = len(head) if kind == "bodies" else 0
            if kind == "bodies":
                s.sendall(head)
            for i in range(start, len(data)):
                if stop.is_set():
                    break
                s.send(data[i:i + 1])
                time.sleep(1)
            slow_done[kind] += 1
            s.close()
        except OSError:
            slow_done["closed_by_server"] += 1

    threads = [threading.Thread(target=trickle, args=(k,), daemon=True) for k in ("headers", "bodies") for _ in range(a.n)]
    sampler = Sampler(a.pid)
    sampler.start()
    for t in threads:
        t.start()
    results, t0 = [], time.monotonic()
    while time.monotonic() - t0 < a.seconds:
        results.append(post(a.url, a.body))
    elapsed = time.monotonic() - t0
    stop.set()
    sampler.stop.set()
    out = summarize(results, elapsed)
    out["slow_connections"] = 2 * a.n
    out["slow_closed_by_server"] = slow_done["closed_by_server"]
    out["server"] = sampler.summary()
    return out


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, extra in (("sequential", ["n"]), ("open-loop", ["rate", "seconds"]), ("slow-clients", ["seconds", "n"])):
        s = sub.add_parser(name)
        s.add_argument("url")
        s.add_argument("body", help="a JSON file")
        for e in extra:
            s.add_argument(e, type=float if e in ("rate", "seconds") else int)
        s.add_argument("--pid", type=int, default=0)
    a = p.parse_args()
    with open(a.body, "rb") as f:
        a.body = f.read()
    fn = {"sequential": sequential, "open-loop": open_loop, "slow-clients": slow_clients}[a.cmd]
    print(json.dumps(fn(a)))


if __name__ == "__main__":
    main()
