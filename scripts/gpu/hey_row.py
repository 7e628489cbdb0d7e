#!/usr/bin/env python3
"""One markdown row from `hey` output on standard input: hey_row.py SYSTEM SCENARIO CLIENTS TEXTS."""
import re
import sys

r = sys.stdin.read()
system, scenario, clients, texts = sys.argv[1:5]
rps = re.search(r"Requests/sec:\s+([\d.]+)", r)
p50 = re.search(r"50%+ in ([\d.]+) secs", r)
p95 = re.search(r"95%+ in ([\d.]+) secs", r)
codes = re.findall(r"\[(\d+)\]\s+(\d+) responses", r)
errors = re.search(r"Error distribution:(.*)", r, re.S)
print(f"| {system} | {scenario} | {clients} | {texts} | {rps.group(1) if rps else '-'} | {p50.group(1) if p50 else '-'} "
      f"| {p95.group(1) if p95 else '-'} | {', '.join(f'{a}: {b}' for a, b in codes) or '-'}"
      f"{' + errors' if errors else ''} |")
