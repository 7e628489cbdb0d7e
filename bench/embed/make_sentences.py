#!/usr/bin/env python3
"""Sentences for the embedding benchmark, as JSON Lines ({"text": ...}), written to bench/data/.

news.jsonl: the sentences of the news-style articles in Tests/Fixtures/extractive/ (split after . ! ?
and the CJK full stops, and at line breaks), repeated to at least 1,000 sentences: what the extractive
summarizer embeds. fixture.jsonl: the 75 texts of Tests/Fixtures/minilm/embeddings.json (every language,
7 of them past 256 tokens) repeated 4 times: long inputs and truncation.
"""
import glob
import json
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "bench", "data")


def main():
    os.makedirs(OUT, exist_ok=True)
    sentences = []
    for path in sorted(glob.glob(os.path.join(ROOT, "Tests", "Fixtures", "extractive", "*.txt"))):
        for line in open(path, encoding="utf-8"):
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"“«„])|(?<=[。！？])", line.strip()):
                if s.strip():
                    sentences.append(s.strip())
    news = (sentences * (1000 // len(sentences) + 1))[:max(1000, len(sentences))]
    with open(os.path.join(OUT, "embed-news.jsonl"), "w", encoding="utf-8") as f:
        for s in news:
            f.write(json.dumps({"text": s}, ensure_ascii=False) + "\n")
    fixture = json.load(open(os.path.join(ROOT, "Tests", "Fixtures", "minilm", "embeddings.json"), encoding="utf-8"))
    with open(os.path.join(OUT, "embed-fixture.jsonl"), "w", encoding="utf-8") as f:
        for _ in range(4):
            for item in fixture["items"]:
                f.write(json.dumps({"text": item["text"]}, ensure_ascii=False) + "\n")
    print(f"{len(news)} news sentences ({len(sentences)} distinct), {4 * len(fixture['items'])} fixture texts")


if __name__ == "__main__":
    main()
