"""Python statements of Brevity's extractive selectors (Sources/Extractive), for exploration on the dev
file and for the pinned-summary fixtures."""
import re

import numpy as np

# Page furniture removed before segmentation (DocumentCleaner.swift, the same rules in the same order):
# (pattern, applies only at the very start of the text).
TIME = r"\d{1,2}:\d{2}\s*(?:[AP]M\s*)?(?:EST|EDT|GMT|BST|PST|PDT|CET)?,?\s*(?:on\s+)?\d{1,2}(?:st|nd|rd|th)?\s+[A-Z][a-z]+\s+\d{4}"
FURNITURE = [
    (r"^\s*By\s+\.\s+[^.\n]{1,80}?\s+\.\s+(?:and\s+\.?\s*[^.\n]{1,80}?\s+\.\s+)?", True),
    (r"^\s*By\s+[^.\n]{1,80}?(?=\s+(?:PUBLISHED|UPDATED|Last updated)\b)", True),
    (r"\bPUBLISHED:\s*\.?\s*" + TIME + r"\s*\.?\s*(?:\|\s*\.?\s*UPDATED:\s*\.?\s*" + TIME + r"\s*\.?)?", False),
    (r"\bUPDATED:\s*\.?\s*" + TIME + r"\s*\.?", False),
    (r"\bLast updated at\s+" + TIME + r"\s*\.?", False),
    (r"\bScroll down for videos?\b\.?", False),
    (r"^\s*(?:[A-Z][\w.'-]*(?:[ ,]+[A-Z][\w.'-]*)*\s*)?\(CNN\)\s*(?:--\s*)?", True),
]


def clean(text):
    for pattern, start_only in FURNITURE:
        if start_only:
            m = re.match(pattern, text)
            if m:
                text = text[:m.start()] + " " + text[m.end():]
        else:
            text = re.sub(pattern, " ", text)
    return text


CAPTION = re.compile(r"\((?:pictured|left|right|above|below|centre|center|top|bottom|inset)\b[^)]*\)", re.I)


def caption_like(sentence):
    return bool(CAPTION.search(sentence))


def pacsum(sentences, emb, k, beta=0.6, lambda1=-2.0, lambda2=1.0):
    """Directed centrality (Zheng and Lapata 2019): edges above a threshold, those to later sentences
    weighted lambda2 and to earlier ones lambda1; the top k."""
    n = len(sentences)
    if n <= k:
        return list(range(n))
    sim = emb @ emb.T
    off = sim[~np.eye(n, dtype=bool)]
    lo, hi = off.min(), off.max()
    e = np.maximum(sim - (lo + beta * (hi - lo)), 0)
    np.fill_diagonal(e, 0)
    score = np.array([lambda1 * e[i, :i].sum() + lambda2 * e[i, i + 1:].sum() for i in range(n)])
    order = sorted(range(n), key=lambda i: (-score[i], i))
    return order[:k]


# The position strategy (Strategies.swift): the eligible sentences in document order, a long sentence
# yielding its place to the next within a window of one, lengths by count or by a token budget.
MIN_TOKENS = 6          # shorter sentences (datelines, "Share this article") are not eligible
LONG_TOKENS = 50        # past this many tokens a sentence loses LONG_PENALTY of a rank per token
LONG_PENALTY = 0.2


def is_question(s):
    return s.rstrip("\"'”’)»").endswith("?")


NEAR_DUPLICATE = 0.7    # word-set Jaccard with an earlier sentence at which a sentence is a repeat
EDGE_PUNCTUATION = ".,;:!?\"'()[]“”‘’"


def words(s):
    return {w for w in (t.strip(EDGE_PUNCTUATION) for t in s.lower().split()) if w}


def eligible(sentences, tokens):
    """Indices of sentences worth leading with: long enough, not a photo caption, not a question, not a
    repeat of an earlier sentence (case and spacing ignored, or 70% of the words in common: captions
    restating the story)."""
    seen, out = set(), []
    sets = [words(s) for s in sentences]
    for i, s in enumerate(sentences):
        key = " ".join(s.lower().split())
        repeat = key in seen or any(sets[i] and sets[j] and len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= NEAR_DUPLICATE
                                    for j in range(i))
        if tokens[i] >= MIN_TOKENS and not caption_like(s) and not is_question(s) and not repeat:
            out.append(i)
        seen.add(key)
    return out


def position_order(sentences, tokens):
    el = eligible(sentences, tokens)
    return el + [i for i in range(len(sentences)) if i not in set(el)]


def position_count(sentences, tokens, k):
    order = position_order(sentences, tokens)
    window = order[:k + 1]
    score = {i: -r - LONG_PENALTY * max(0, tokens[i] - LONG_TOKENS) for r, i in enumerate(window)}
    return sorted(sorted(window, key=lambda i: (-score[i], window.index(i)))[:k])


def position_budget(sentences, tokens, maximum, minimum=None):
    """Sentences in position order until the summary reaches the middle of [minimum, maximum] tokens
    (minimum defaults to a quarter of maximum); never past maximum; a sentence that does not fit ends the
    summary, unless nothing is chosen yet."""
    lo = maximum / 4 if minimum is None else minimum
    target = (lo + maximum) / 2
    used, out = 0, []
    for i in position_order(sentences, tokens):
        if used >= target:
            break
        if used + tokens[i] > maximum:
            if out:
                break
            continue
        out.append(i)
        used += tokens[i]
    return sorted(out)
