"""The service's answers as typed values (the OpenAPI document's Summary, SummarizeResponse, StreamToken and
Error schemas)."""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any, Dict, List, Optional


@dataclass(frozen=True)
class Sentence:
    """An extractive summary's chosen sentence: its place in the input, its text and its tokens."""

    index: int
    text: str
    tokens: int


@dataclass(frozen=True)
class Summary:
    """One text's summary. Abstractive summaries count their generated tokens, extractive ones their
    sentences."""

    text: str
    input_tokens: Optional[int] = None
    generated_tokens: Optional[int] = None
    truncated: Optional[bool] = None
    input_sentences: Optional[int] = None
    sentences: Optional[List[Sentence]] = None

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> "Summary":
        sentences = obj.get("sentences")
        return cls(
            text=obj["text"],
            input_tokens=obj.get("input_tokens"),
            generated_tokens=obj.get("generated_tokens"),
            truncated=obj.get("truncated"),
            input_sentences=obj.get("input_sentences"),
            sentences=[Sentence(s["index"], s["text"], s["tokens"]) for s in sentences] if sentences is not None else None,
        )


@dataclass(frozen=True)
class SummarizeResult:
    """`POST /summarize`'s answer: one summary per text, in order, and which model made them where."""

    summaries: List[Summary]
    model: str
    device: str
    latency_ms: float
    mode: Optional[str] = None

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> "SummarizeResult":
        return cls(
            summaries=[Summary.from_json(s) for s in obj["summaries"]],
            model=obj["model"],
            device=obj["device"],
            latency_ms=float(obj["latency_ms"]),
            mode=obj.get("mode"),
        )


@dataclass(frozen=True)
class TokenEvent:
    """A stream's `token` event: new token ids of text `index` and the text they add. A greedy or sampled
    summary streams a token at a time, a beam search's tokens as they settle (every beam agrees on them),
    an extractive summary whole (no ids)."""

    index: int
    token_ids: List[int]
    text: str


@dataclass(frozen=True)
class ResultEvent:
    """A stream's last event: the same answer `summarize` returns."""

    result: SummarizeResult


@dataclass
class APIError(Exception):
    """The service refused or failed a request: its HTTP status and error body (`type`, the request
    `field` it names or None, `message`), and `retry_after` seconds when it said when to come back."""

    status: int
    type: str
    message: str
    field: Optional[str] = None
    retry_after: Optional[float] = None
    body: Dict[str, Any] = _field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.status} {self.type}{where}: {self.message}"
