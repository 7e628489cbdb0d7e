#!/usr/bin/env python3
"""How queue depth drives the replica count: samples brevity_queue_size from a replica's
/metrics every 0.5 s while load changes, then replays the samples through the decisions of
deploy/k8s/base/hpa.yaml (target 8 waiting texts per replica, 2..16 replicas; scale-up: the lowest
recommendation of the last 30 s, at most +4 replicas a minute; scale-down: the highest recommendation of
the last 300 s). The load runs on one machine, so the samples are one replica's queue; the replay treats
them as the whole service's (desired = ceil(total waiting / 8)). Usage: autoscale.py URL SAMPLES_SECONDS
Prints a markdown table of the samples and the decisions, one row a second.
"""
import math
import re
import sys
import time
import urllib.request

URL, SECONDS = sys.argv[1], float(sys.argv[2])
TARGET, LO, HI, UP_WINDOW, DOWN_WINDOW, UP_STEP, UP_PERIOD = 8, 2, 16, 30, 300, 4, 60


def queue():
    text = urllib.request.urlopen(URL + "/metrics", timeout=5).read().decode()
    m = re.search(r"^brevity_queue_size(?:\{[^}]*\})? ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


samples, t0 = [], time.time()
while time.time() - t0 < SECONDS:
    samples.append((time.time() - t0, queue()))
    time.sleep(0.5)

replicas, history, counts = LO, [], []   # counts: (t, replicas) after each decision
print("| t (s) | texts waiting | recommendation | replicas |")
print("| --- | --- | --- | --- |")
shown = -5
for t, q in samples:
    rec = min(HI, max(LO, math.ceil(q / TARGET)))
    history.append((t, rec))
    up = min(r for s, r in history if s >= t - UP_WINDOW)
    down = max(r for s, r in history if s >= t - DOWN_WINDOW)
    if up > replicas:
        # at most UP_STEP more replicas than there were UP_PERIOD seconds ago
        before = next((n for s, n in reversed(counts) if s <= t - UP_PERIOD), LO)
        replicas = max(replicas, min(up, before + UP_STEP))
    elif down < replicas:
        replicas = down
    counts.append((t, replicas))
    if t >= shown + 5:
        shown = int(t) - int(t) % 5
        print(f"| {t:.0f} | {q:.0f} | {rec} | {replicas} |")
