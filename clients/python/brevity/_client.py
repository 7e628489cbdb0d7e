"""Client and AsyncClient: `POST /summarize` and `POST /summarize/stream` with transformers' generation
names, the service's errors as APIError, and 429/503 retried after the service's Retry-After."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any, AsyncIterator, Dict, Iterable, Iterator, List, Optional, Sequence, Union

import httpx

from ._types import APIError, ResultEvent, SummarizeResult, TokenEvent

Texts = Union[str, Sequence[str]]
Event = Union[TokenEvent, ResultEvent]

# Statuses the service sends with Retry-After when waiting helps: rate limited, overloaded or draining.
RETRIED = (429, 503)


def _body(texts: Texts, parameters: Dict[str, Any]) -> Dict[str, Any]:
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a string or a sequence of strings")
    # None leaves a field out (the model's generation_config.json value), as the service reads null
    return {"texts": texts, **{k: v for k, v in parameters.items() if v is not None}}


def _headers(api_key: Optional[str]) -> Dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def _retry_after(response: httpx.Response) -> Optional[float]:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error(status: int, text: str, retry_after: Optional[float]) -> APIError:
    try:
        body = json.loads(text)
        e = body["error"]
        return APIError(status=status, type=str(e.get("type", "error")), message=str(e.get("message", "")),
                        field=e.get("field"), retry_after=retry_after, body=body)
    except (ValueError, KeyError, TypeError, AttributeError):
        return APIError(status=status, type="http_error", message=text[:500], retry_after=retry_after)


class _Retries:
    """The retry rule both clients follow: 429 and 503 are retried up to `max_retries` times, after the
    service's Retry-After (else 1, 2, 4, ... seconds), each wait at most `max_wait` seconds."""

    def __init__(self, max_retries: int, max_wait: float) -> None:
        self.max_retries = max_retries
        self.max_wait = max_wait

    def wait(self, response: httpx.Response, attempt: int) -> float:
        """Seconds to wait before retrying after the refusal `response` (its body read) on attempt `attempt`
        (from 0); raises its APIError when it is not retried."""
        error = _error(response.status_code, response.text, _retry_after(response))
        if error.status not in RETRIED or attempt >= self.max_retries:
            raise error
        wait = error.retry_after if error.retry_after is not None else 2.0 ** attempt
        return min(wait, self.max_wait)


class _SSE:
    """Server-Sent Events from lines: `event:` and `data:` fields, dispatched at a blank line; comment
    lines (the service's heartbeats) are skipped."""

    def __init__(self) -> None:
        self.event: Optional[str] = None
        self.data: List[str] = []

    def end(self) -> Optional[Event]:
        """The event of the stream's last lines when no blank line followed them."""
        return self.feed("")

    def feed(self, line: str) -> Optional[Event]:
        if line == "":
            event, data = self.event, "\n".join(self.data)
            self.event, self.data = None, []
            return _event(event, data) if event is not None else None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        return None


def _event(name: str, data: str) -> Event:
    obj = json.loads(data)
    if name == "token":
        return TokenEvent(index=obj["index"], token_ids=list(obj["token_ids"]), text=obj["text"])
    if name == "result":
        return ResultEvent(SummarizeResult.from_json(obj))
    if name == "error":
        e = obj["error"]
        raise APIError(status=200, type=str(e.get("type", "error")), message=str(e.get("message", "")),
                       field=e.get("field"), body=obj)
    raise APIError(status=200, type="unexpected_event", message=f"unknown event {name!r}: {data[:200]}")


class Client:
    """A synchronous client of one Brevity service.

    >>> client = brevity.Client("http://localhost:8000")
    >>> client.summarize("The city council approved ...", max_length=60).summaries[0].text

    `timeout` bounds each request (seconds); 429 and 503 answers are retried up to `max_retries` times,
    after the service's Retry-After (each wait at most `max_wait` seconds).
    """

    def __init__(self, base_url: str = "http://localhost:8000", api_key: Optional[str] = None, timeout: float = 300.0,
                 max_retries: int = 3, max_wait: float = 30.0, transport: Optional[httpx.BaseTransport] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._retries = _Retries(max_retries, max_wait)
        self._http = httpx.Client(base_url=self.base_url, headers=_headers(api_key), timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def summarize(self, texts: Texts, **generation_kwargs: Any) -> SummarizeResult:
        """One summary per text (a string is one text). Keyword arguments are the request's fields with
        transformers' names (`max_length`, `num_beams`, `do_sample`, ...) and Brevity's (`truncation`,
        `mode`, `num_sentences`, `ratio`, `strategy`, `prefix`, `draft_tokens`); None leaves one out."""
        body = _body(texts, generation_kwargs)
        attempt = 0
        while True:
            response = self._http.post("/summarize", json=body)
            if response.status_code == 200:
                return SummarizeResult.from_json(response.json())
            wait = self._retries.wait(response, attempt)
            attempt += 1
            time.sleep(wait)

    def stream(self, texts: Texts, **generation_kwargs: Any) -> Iterator[Event]:
        """`POST /summarize/stream`: TokenEvent as tokens arrive (each text's texts add up to its summary),
        then one ResultEvent. A refusal before the stream starts is retried as `summarize` retries; an
        `error` event raises APIError."""
        body = _body(texts, generation_kwargs)
        attempt = 0
        while True:
            with self._http.stream("POST", "/summarize/stream", json=body) as response:
                if response.status_code == 200:
                    sse = _SSE()
                    for line in response.iter_lines():
                        event = sse.feed(line)
                        if event is not None:
                            yield event
                    event = sse.end()
                    if event is not None:
                        yield event
                    return
                response.read()
            wait = self._retries.wait(response, attempt)
            attempt += 1
            time.sleep(wait)

    def health(self) -> Dict[str, Any]:
        """`GET /health`: the model, device, modes and hardware facts."""
        return self._http.get("/health").json()

    def ready(self) -> bool:
        """`GET /ready`: whether the service takes work now."""
        return self._http.get("/ready").status_code == 200


class AsyncClient:
    """The same client for asyncio: `await client.summarize(...)`, `async for event in client.stream(...)`."""

    def __init__(self, base_url: str = "http://localhost:8000", api_key: Optional[str] = None, timeout: float = 300.0,
                 max_retries: int = 3, max_wait: float = 30.0, transport: Optional[httpx.AsyncBaseTransport] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._retries = _Retries(max_retries, max_wait)
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=_headers(api_key), timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def summarize(self, texts: Texts, **generation_kwargs: Any) -> SummarizeResult:
        """As `Client.summarize`."""
        body = _body(texts, generation_kwargs)
        attempt = 0
        while True:
            response = await self._http.post("/summarize", json=body)
            if response.status_code == 200:
                return SummarizeResult.from_json(response.json())
            wait = self._retries.wait(response, attempt)
            attempt += 1
            await asyncio.sleep(wait)

    async def stream(self, texts: Texts, **generation_kwargs: Any) -> AsyncIterator[Event]:
        """As `Client.stream`."""
        body = _body(texts, generation_kwargs)
        attempt = 0
        while True:
            async with self._http.stream("POST", "/summarize/stream", json=body) as response:
                if response.status_code == 200:
                    sse = _SSE()
                    async for line in response.aiter_lines():
                        event = sse.feed(line)
                        if event is not None:
                            yield event
                    event = sse.end()
                    if event is not None:
                        yield event
                    return
                await response.aread()
            wait = self._retries.wait(response, attempt)
            attempt += 1
            await asyncio.sleep(wait)

    async def health(self) -> Dict[str, Any]:
        """As `Client.health`."""
        return (await self._http.get("/health")).json()

    async def ready(self) -> bool:
        """As `Client.ready`."""
        return (await self._http.get("/ready")).status_code == 200


__all__: Iterable[str] = ["Client", "AsyncClient"]
