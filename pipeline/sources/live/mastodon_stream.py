"""Mastodon's streaming API (server-sent events), with a REST catch-up after every gap.

The stream is ``GET /api/v1/streaming/hashtag?tag=<tag>`` (or
``/api/v1/streaming/public``) with the access token as a bearer token. Each
``update`` event's data is one status, the same JSON that a line of a
streaming-payload file holds, so it is parsed by
:class:`~pipeline.sources.mastodon.MastodonSource`; other events (``delete``,
``status.update``) are counted as skipped; ``:thump`` heartbeats only keep the
connection from counting as silent.

A stream has no replay, so the cursor is the highest status id handed on
(starting, without a stored cursor, at the newest status on the timeline), and
every connection goes:

1. open the stream (from here on, new statuses wait in it);
2. catch up through REST, ``GET /api/v1/timelines/tag/<tag>?min_id=<cursor>``,
   page after page (``min_id`` pages forward, oldest first, through the
   ``Link: rel="prev"`` header, 40 a page), up to what is published now;
3. read the stream, dropping the statuses the catch-up already handed on.

Opening the stream before the catch-up is what makes the gap close: a status
published during the catch-up is in the stream too, and its id, remembered
from the catch-up, makes it a repeat. (``since_id`` would give the newest page
first and leave a hole when more than a page was missed; ``min_id`` does not.)
Ids compare as Mastodon orders them: by length, then by character. A limit the
API sets: the REST timeline is in id order, so a status that reached the server
late, with an id below the cursor, is caught only by the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any, NoReturn

import httpx
import orjson
from httpx_sse import EventSource, SSEError

from pipeline.errors import LiveSourceError
from pipeline.schema import Rejection
from pipeline.sources.base import Limits, Record
from pipeline.sources.framing import parse_record
from pipeline.sources.live.base import (
    Backoff,
    Batch,
    Batcher,
    Cursor,
    Dropped,
    KeywordFilter,
    StoredCursor,
    StreamSource,
    connect,
    http_stream,
    now_us,
    read_cursor,
)
from pipeline.sources.mastodon import MastodonSource

PAGE_SIZE = 40  # the most a Mastodon timeline page holds


class MastodonCursor(StoredCursor):
    """The highest status id handed on."""

    last_id: str


class _Position:
    def __init__(self, last_id: str | None):
        self.last_id = last_id

    def advance(self, status_id: str) -> None:
        if self.last_id is None or _id_order(status_id) > _id_order(self.last_id):
            self.last_id = status_id

    def cursor(self) -> Cursor:
        return MastodonCursor(last_id=self.last_id).model_dump() if self.last_id else None


class MastodonStreamSource(StreamSource[_Position]):
    name = "mastodon"

    def __init__(
        self,
        server_url: str,
        *,
        access_token: str | None = None,
        hashtag: str | None = None,
        streaming_url: str | None = None,
        keywords: Sequence[str] = (),
        silence_timeout: float = 60.0,
        backoff: Backoff = Backoff(),
        cursor_every: float = 5.0,
        page_size: int = PAGE_SIZE,
        limits: Limits | None = None,
    ):
        self.page_size = page_size
        self.cursor_every = cursor_every
        self.server_url = server_url.rstrip("/")
        self.hashtag = hashtag.lstrip("#") if hashtag else None
        streaming = (streaming_url or server_url).rstrip("/")
        if self.hashtag:
            self.stream_url, self.timeline_url = f"{streaming}/api/v1/streaming/hashtag", f"{self.server_url}/api/v1/timelines/tag/{self.hashtag}"
        else:
            self.stream_url, self.timeline_url = f"{streaming}/api/v1/streaming/public", f"{self.server_url}/api/v1/timelines/public"
        self.origin = f"{self.stream_url}?tag={self.hashtag}" if self.hashtag else self.stream_url
        self.headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        self.timeout = httpx.Timeout(10.0, read=silence_timeout)
        self.backoff = backoff
        self.parser = MastodonSource(limits)
        self.keywords = KeywordFilter(keywords)

    def _resume(self, cursor: Cursor) -> _Position:
        return _Position(None if cursor is None else read_cursor(MastodonCursor, cursor, self.origin).last_id)

    async def _session(self, position: _Position) -> AsyncIterator[Batch]:
        async with httpx.AsyncClient(headers=self.headers, timeout=self.timeout) as client:
            if position.last_id is None:
                await connect(self._mark_now, client, position, wait=self.backoff.wait(), origin=self.origin)
            response = await connect(self._open, client, wait=self.backoff.wait(), origin=self.origin)
            async with http_stream(response, self.timeout):
                caught_up: set[str] = set()
                async with aclosing(self._catch_up(client, position, caught_up)) as pages:
                    async for batch in pages:
                        yield batch
                async with aclosing(self._stream(response, position, caught_up)) as updates:
                    async for batch in updates:
                        yield batch

    async def _open(self, client: httpx.AsyncClient) -> httpx.Response:
        params = {"tag": self.hashtag} if self.hashtag else {}
        request = client.build_request(
            "GET", self.stream_url, params=params, headers={"Accept": "text/event-stream", "Cache-Control": "no-store"}
        )
        try:
            response = await client.send(request, stream=True)
        except httpx.TransportError as error:
            raise Dropped(f"{type(error).__name__}: {error}") from None
        if response.status_code != 200:
            await response.aread()
            await response.aclose()
            self._refused(response)
        return response

    def _refused(self, response: httpx.Response) -> NoReturn:
        """Raise Dropped for an answer worth retrying, LiveSourceError for one that is not."""
        status = response.status_code
        if status == 429:
            raise Dropped("HTTP 429 (rate limited)", "rate_limit")
        if status >= 500:
            raise Dropped(f"HTTP {status}", "http")
        hint = "check the setting mastodon_access_token" if status in (401, 403) else "check the settings mastodon_url and mastodon_hashtag"
        raise LiveSourceError(f"{response.request.url} answered HTTP {status}: {response.text[:200]}; {hint}")

    def _update(self, raw: bytes, position: _Position, caught_up: set[str], batcher: Batcher) -> Batch | None:
        """The batch of one ``update`` event, or None for a status the catch-up handed on."""
        parsed = parse_record(now_us(), raw, self.parser.limits.max_record_bytes)
        status_id = None if isinstance(parsed, Rejection) else _status_id(parsed[1])
        if status_id in caught_up:
            return None
        records = [parsed] if isinstance(parsed, Rejection) else self._parse(parsed[1], raw)
        if status_id:
            position.advance(status_id)
        return batcher.batch(batcher.keep(records), position.cursor)

    async def _mark_now(self, client: httpx.AsyncClient, position: _Position) -> None:
        """"From now" is after the newest status there is ("0" on an empty timeline): the
        catch-up then covers whatever is published before the stream is open."""
        try:
            page = await client.get(self.timeline_url, params={"limit": 1})
        except httpx.TransportError as error:
            raise Dropped(f"{type(error).__name__}: {error}") from None
        if page.status_code != 200:
            self._refused(page)
        position.advance("0")
        for status in _statuses(page):
            if status_id := _status_id(status):
                position.advance(status_id)

    async def _catch_up(self, client: httpx.AsyncClient, position: _Position, caught_up: set[str]) -> AsyncIterator[Batch]:
        """Every status after the cursor, oldest page first, one batch a page."""
        url, params = self.timeline_url, {"min_id": position.last_id, "limit": self.page_size}
        while True:
            page = await client.get(url, params=params)
            if page.status_code != 200:
                self._refused(page)
            statuses = _statuses(page)
            if not statuses:
                return
            batcher = Batcher("mastodon", self.origin, self.keywords, cursor_every=0.0)
            records: list[Record] = []
            for status in sorted(statuses, key=lambda status: _id_order(_status_id(status) or "")):
                records += self._parse(status, orjson.dumps(status))
                if status_id := _status_id(status):
                    caught_up.add(status_id)
                    position.advance(status_id)
            yield batcher.flush(batcher.keep(records), position.cursor())
            url, params = self._previous_page(page, position)

    async def _stream(self, response: httpx.Response, position: _Position, caught_up: set[str]) -> AsyncIterator[Batch]:
        batcher = Batcher("mastodon", self.origin, self.keywords, self.cursor_every)
        try:
            async with aclosing(EventSource(response).aiter_sse()) as events:
                async for event in events:
                    if event.event == "update":
                        batch = self._update(event.data.encode(), position, caught_up, batcher)
                    else:
                        batcher.skipped += 1
                        batch = batcher.batch([], position.cursor)
                    if batch is not None:
                        yield batch
        except SSEError as error:
            raise LiveSourceError(f"{self.origin} is not a Mastodon stream ({error}); check mastodon_url / mastodon_streaming_url") from None

    def _previous_page(self, page: httpx.Response, position: _Position) -> tuple[str, dict[str, Any] | None]:
        """The next page forward: Mastodon's ``Link: rel="prev"`` (with our page size), else ``min_id`` = the newest id so far."""
        link = page.links.get("prev", {}).get("url")
        if link:
            return str(httpx.URL(link).copy_set_param("limit", self.page_size)), None
        return self.timeline_url, {"min_id": position.last_id, "limit": self.page_size}

    def _parse(self, status: Any, raw: bytes) -> list[Record]:
        # The status id is the rejection position: unique, and the same when the status comes again.
        status_id = _status_id(status)
        position = int(status_id) if status_id and status_id.isdigit() else now_us()
        return list(self.parser.parse(position, status, raw))


def _status_id(status: Any) -> str | None:
    status_id = status.get("id") if isinstance(status, dict) else None
    return status_id if isinstance(status_id, str) and status_id else None


def _id_order(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numbers in strings of any length (other servers: fixed-length strings)."""
    return len(status_id), status_id


def _statuses(page: httpx.Response) -> list[Any]:
    try:
        statuses = orjson.loads(page.content)
    except orjson.JSONDecodeError:
        statuses = None
    if not isinstance(statuses, list):
        raise Dropped(f"{page.request.url} did not answer with a list of statuses: {page.text[:120]!r}", "http")
    return statuses
