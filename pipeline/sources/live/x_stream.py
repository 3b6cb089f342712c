"""X API v2 filtered stream: newline-delimited JSON over one long HTTP response.

``GET /2/tweets/search/stream`` with the app's bearer token sends each tweet
matching the stream's rules (set on X's side) as one line,
``{"data": {tweet}, "includes": {"users": [...]}, "matching_rules": [...]}``:
the shape that :class:`~pipeline.sources.x.XSource` reads from a file, so each
line is parsed by it. A blank line is X's keep-alive, sent about every 20 s;
a stream silent for longer than ``silence_timeout`` is dropped and reconnected.
A line with ``errors`` and no ``data`` (an operational disconnect notice) is
logged and counted as skipped.

Reconnecting, as X's documentation asks: after a network error, linearly
(+250 ms an attempt, at most 16 s); after an HTTP error, exponentially (from
5 s, doubling, at most 320 s); after a 429, exponentially from a minute (at
most 16 minutes: X gives no ceiling). A 401 or 403 is no use retrying: it
raises LiveSourceError, as does any other 4xx (a bad URL or parameter).

Resuming: X keeps no cursor for a client; ``backfill_minutes`` (1 to 5) on the
reconnecting request resends what matched in those last minutes. It is sized
from the last moment the stream was heard (a tweet or a keep-alive), and what
it resends twice is dropped by tweet id: the ids received in the last
``dedupe_seconds`` (longer than the minute a whole-minute backfill can reach
back before that moment) are kept, in the cursor too. A gap longer than five
minutes cannot be filled: the loss is logged.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import httpx
from tenacity import RetryCallState
from tenacity.wait import wait_base

from pipeline.errors import LiveSourceError
from pipeline.schema import Rejection
from pipeline.sources.base import SKIPPED, Limits, Record
from pipeline.sources.framing import parse_record
from pipeline.sources.live.base import (
    Batch,
    Batcher,
    Cursor,
    Dropped,
    KeywordFilter,
    RecentKeys,
    StoredCursor,
    StreamSource,
    connect,
    http_stream,
    now_us,
    raw_key,
    read_cursor,
)
from pipeline.sources.x import XSource

log = logging.getLogger(__name__)

STREAM_PARAMS = {
    "tweet.fields": "created_at,author_id,lang,public_metrics,referenced_tweets,conversation_id",
    "expansions": "author_id",
    "user.fields": "username,name,public_metrics",
}
MAX_BACKFILL_MINUTES = 5


@dataclass(frozen=True)
class XBackoff:
    """X's documented reconnect waits, in seconds."""

    network_step: float = 0.25
    network_max: float = 16.0
    http_first: float = 5.0
    http_max: float = 320.0
    rate_limit_first: float = 60.0
    rate_limit_max: float = 960.0

    def scaled(self, factor: float) -> XBackoff:
        """Every wait times ``factor`` (tests use a small one)."""
        return replace(self, **{f.name: getattr(self, f.name) * factor for f in fields(self)})

    def wait(self) -> XWaits:
        return XWaits(self)


class XWaits(wait_base):
    """The wait before the next attempt, by the kind of the last failure
    (Dropped.kind), each kind counting its own attempts as X describes."""

    def __init__(self, backoff: XBackoff):
        self.backoff = backoff
        self.attempts: Counter[str] = Counter()

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        return self.next_wait(getattr(error, "kind", "network"))

    def next_wait(self, kind: str) -> float:
        self.attempts[kind] += 1
        attempt, backoff = self.attempts[kind], self.backoff
        doubling = 2 ** min(attempt - 1, 32)
        if kind == "network":
            return min(backoff.network_step * attempt, backoff.network_max)
        if kind == "rate_limit":
            return min(backoff.rate_limit_first * doubling, backoff.rate_limit_max)
        return min(backoff.http_first * doubling, backoff.http_max)


class XCursor(StoredCursor):
    """When the stream was last heard (µs), and the tweet ids received shortly before."""

    heard_us: int
    seen: list[tuple[str, int]] = []


class _Position:
    def __init__(self, heard_us: int | None, seen: RecentKeys):
        self.heard_us = heard_us
        self.seen = seen

    def cursor(self) -> Cursor:
        return XCursor(heard_us=self.heard_us or 0, seen=self.seen.entries()).model_dump(mode="json")

    def backfill_minutes(self) -> int | None:
        """Whole minutes back to the last moment heard, 1 to 5; None before the stream was ever heard."""
        if self.heard_us is None:
            return None
        gap_minutes = (now_us() - self.heard_us) / 60_000_000
        if gap_minutes > MAX_BACKFILL_MINUTES:
            log.warning(
                "X stream: unheard for %.1f minutes, longer than the %d minutes X can backfill; posts from the %.1f minutes before are lost",
                gap_minutes, MAX_BACKFILL_MINUTES, gap_minutes - MAX_BACKFILL_MINUTES,
            )
        return min(max(math.ceil(gap_minutes), 1), MAX_BACKFILL_MINUTES)


class XStreamSource(StreamSource[_Position]):
    name = "x"

    def __init__(
        self,
        url: str,
        *,
        bearer_token: str,
        keywords: Sequence[str] = (),
        silence_timeout: float = 60.0,
        backoff: XBackoff = XBackoff(),
        cursor_every: float = 5.0,
        dedupe_seconds: float = 120.0,
        limits: Limits | None = None,
    ):
        self.url = url
        self.origin = url
        self.headers = {"Authorization": f"Bearer {bearer_token}"}
        self.timeout = httpx.Timeout(10.0, read=silence_timeout)
        self.backoff = backoff
        self.cursor_every = cursor_every
        self.dedupe_us = round(dedupe_seconds * 1_000_000)
        self.parser = XSource(limits)
        self.keywords = KeywordFilter(keywords)

    def _resume(self, cursor: Cursor) -> _Position:
        if cursor is None:
            return _Position(None, RecentKeys(self.dedupe_us))
        stored = read_cursor(XCursor, cursor, self.origin)
        return _Position(stored.heard_us, RecentKeys(self.dedupe_us, stored.seen))

    async def _session(self, position: _Position) -> AsyncIterator[Batch]:
        async with httpx.AsyncClient(headers=self.headers, timeout=self.timeout) as client:
            response = await connect(self._open, client, position, wait=self.backoff.wait(), origin=self.origin)
            batcher = Batcher("x", self.origin, self.keywords, self.cursor_every)
            async with http_stream(response, self.timeout):
                async for line in response.aiter_lines():
                    position.heard_us = now_us()
                    batch = self._handle(line.encode(), position, batcher)
                    if batch is not None:
                        yield batch

    async def _open(self, client: httpx.AsyncClient, position: _Position) -> httpx.Response:
        params = dict(STREAM_PARAMS)
        if (minutes := position.backfill_minutes()) is not None:
            params["backfill_minutes"] = str(minutes)
        try:
            response = await client.send(client.build_request("GET", self.url, params=params), stream=True)
        except httpx.TransportError as error:
            raise Dropped(f"{type(error).__name__}: {error}") from None
        if response.status_code == 200:
            return response
        await response.aread()
        await response.aclose()
        status = response.status_code
        if status == 429:
            raise Dropped("HTTP 429 (too many requests or connections)", "rate_limit")
        if status >= 500:
            raise Dropped(f"HTTP {status}", "http")
        hint = "check the setting x_bearer_token" if status in (401, 403) else "check the setting x_stream_url"
        raise LiveSourceError(f"{self.url} answered HTTP {status}: {response.text[:200]}; {hint}")

    def _handle(self, line: bytes, position: _Position, batcher: Batcher) -> Batch | None:
        if not line.strip():  # keep-alive
            return batcher.batch([], position.cursor)
        parsed = parse_record(now_us(), line, self.parser.limits.max_record_bytes)
        tweet_id = None if isinstance(parsed, Rejection) else _tweet_id(parsed[1])
        key = tweet_id or raw_key(line)
        if key in position.seen:
            return None
        kept = batcher.keep(self._records(parsed, tweet_id))
        position.seen.add(key, position.heard_us or now_us())
        return batcher.batch(kept, position.cursor)

    def _records(self, parsed: tuple[int, Any, bytes] | Rejection, tweet_id: str | None) -> list[Record]:
        if isinstance(parsed, Rejection):
            return [parsed]
        _, response, raw = parsed
        if isinstance(response, dict) and "errors" in response and "data" not in response:
            log.warning("X stream: %s", raw[:300].decode("utf-8", "replace"))
            return [SKIPPED]
        # The tweet id is the rejection position: unique, and the same when the tweet comes again.
        position = int(tweet_id) if tweet_id and tweet_id.isdigit() else now_us()
        return list(self.parser.parse(position, response, raw))


def _tweet_id(response: Any) -> str | None:
    tweet = response.get("data") if isinstance(response, dict) else None
    tweet_id = tweet.get("id") if isinstance(tweet, dict) else None
    return tweet_id if isinstance(tweet_id, str) and tweet_id else None
