"""Bluesky Jetstream: post events over a websocket, filtered by keyword on our side.

Jetstream (``wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post``)
sends every new Bluesky post as one JSON text message, the same event that a
line of a ``posts.bluesky.jsonl`` file holds, so each message is parsed by
:class:`~pipeline.sources.bluesky.BlueskySource`. Identity and account events,
and deletes, come too: they are counted as skipped. Jetstream cannot filter by
words, so the keywords are applied here.

Resuming. Every event has ``time_us``, and ``?cursor=<time_us>`` makes Jetstream
replay from that moment. Its documentation advises rewinding a few seconds on
reconnect, since an exact-boundary replay is not guaranteed gapless; so each
reconnect asks for ``rewind_seconds`` before the newest event handled, and the
repeats are dropped by their key (time_us, did, commit rev and record key),
which is exact. The keys of the posts handed on within the rewind window are
part of the cursor (a handful: only kept posts count), so a restart from a
stored cursor is exact too. Between reconnect attempts: exponential backoff
with jitter (:class:`~pipeline.sources.live.base.Backoff`); websocket pings
detect a connection that died without a word.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from pipeline.errors import LiveSourceError
from pipeline.schema import Rejection
from pipeline.sources.base import Limits, Record
from pipeline.sources.bluesky import BlueskySource
from pipeline.sources.framing import parse_record
from pipeline.sources.live.base import (
    Backoff,
    Batch,
    Batcher,
    Cursor,
    Dropped,
    KeywordFilter,
    RecentKeys,
    StoredCursor,
    StreamSource,
    connect,
    now_us,
    raw_key,
    read_cursor,
)

_PING_SECONDS = 20.0


class JetstreamCursor(StoredCursor):
    """``time_us`` of the newest event handled (None: none yet, follow from now), and the keys
    of the posts handed on within the rewind before it."""

    time_us: int | None
    seen: list[tuple[str, int]] = []


class _Position:
    def __init__(self, time_us: int | None, seen: RecentKeys):
        self.time_us = time_us
        self.seen = seen

    def cursor(self) -> Cursor:
        return JetstreamCursor(time_us=self.time_us, seen=self.seen.entries()).model_dump(mode="json")


class JetstreamSource(StreamSource[_Position]):
    name = "jetstream"

    def __init__(
        self,
        url: str,
        *,
        keywords: Sequence[str] = (),
        rewind_seconds: float = 3.0,
        backoff: Backoff = Backoff(),
        cursor_every: float = 5.0,
        open_timeout: float = 10.0,
        limits: Limits | None = None,
    ):
        self.url = url
        self.origin = url
        self.rewind_us = round(rewind_seconds * 1_000_000)
        self.backoff = backoff
        self.open_timeout = open_timeout
        self.parser = BlueskySource(limits)
        self.keywords = KeywordFilter(keywords)
        self.cursor_every = cursor_every

    def _resume(self, cursor: Cursor) -> _Position:
        if cursor is None:
            return _Position(None, RecentKeys(self.rewind_us))
        stored = read_cursor(JetstreamCursor, cursor, self.origin)
        return _Position(stored.time_us, RecentKeys(self.rewind_us, stored.seen))

    def connect_url(self, position: _Position) -> str:
        """The stream's URL, with ``cursor`` set to the rewound resume point once there is one."""
        if position.time_us is None:
            return self.url
        return str(httpx.URL(self.url).copy_set_param("cursor", str(max(position.time_us - self.rewind_us, 0))))

    async def _session(self, position: _Position) -> AsyncIterator[Batch]:
        url = self.connect_url(position)
        connection = await connect(self._open, url, wait=self.backoff.wait(), origin=self.origin)
        batcher = Batcher("bluesky", self.origin, self.keywords, self.cursor_every)
        counted_up_to = position.time_us or 0  # the rewound stretch was counted the first time
        async with connection:
            try:
                async for message in connection:
                    batch = self._handle(message, position, batcher, counted_up_to)
                    if batch is not None:
                        yield batch
            except ConnectionClosed as closed:
                raise Dropped(f"connection lost ({closed})") from None

    async def _open(self, url: str) -> ClientConnection:
        try:
            # No max_size: an oversized event must become a Rejection, not a
            # closed connection that the same event would close again on resume.
            return await websocket_connect(
                url, open_timeout=self.open_timeout, max_size=None, ping_interval=_PING_SECONDS, ping_timeout=_PING_SECONDS
            )
        except InvalidStatus as refused:
            status = refused.response.status_code
            if status == 429 or status >= 500:
                raise Dropped(f"HTTP {status}", "http") from None
            raise LiveSourceError(f"{self.origin} refused the websocket with HTTP {status}; check the setting jetstream_url") from None
        except (InvalidURI, ValueError) as error:
            raise LiveSourceError(f"{self.origin} is not a websocket URL ({error}); check the setting jetstream_url") from None
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as error:
            raise Dropped(f"{type(error).__name__}: {error}") from None

    def _handle(self, message: str | bytes, position: _Position, batcher: Batcher, counted_up_to: int) -> Batch | None:
        raw = message.encode() if isinstance(message, str) else message
        key, time_us, records = self._read(raw)
        if key in position.seen:
            return None
        if time_us is not None:
            position.time_us = max(position.time_us or 0, time_us)
        kept = batcher.keep(records, count=time_us is None or time_us > counted_up_to)
        if kept:
            position.seen.add(key, time_us if time_us is not None else position.time_us or 0)
        return batcher.batch(kept, position.cursor)

    def _read(self, raw: bytes) -> tuple[str, int | None, list[Record]]:
        """The event's key, its time_us, and its records as the file adapter reads them."""
        parsed = parse_record(now_us(), raw, self.parser.limits.max_record_bytes)
        if isinstance(parsed, Rejection):
            return raw_key(raw), None, [parsed]
        _, event, raw = parsed
        time_us = self.parser.cursor_of(event)
        # time_us is the event's rejection position: unique, and the same when the event is replayed.
        return _event_key(event, raw), time_us, list(self.parser.parse(time_us or now_us(), event, raw))


def _event_key(event: Any, raw: bytes) -> str:
    """What tells one event from another, the same when Jetstream replays it."""
    if not isinstance(event, dict):
        return raw_key(raw)
    commit = event.get("commit") if isinstance(event.get("commit"), dict) else {}
    return f"{event.get('time_us')}|{event.get('did')}|{commit.get('rev')}|{commit.get('rkey')}"
