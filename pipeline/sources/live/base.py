"""Live sources: posts as they are published, behind one small interface.

The interface the live flow builds on
-------------------------------------

A live source has one async generator method, ``batches(cursor)``, and a
thread-safe ``acknowledge(cursor)``::

    async with contextlib.aclosing(source.batches(stored_cursor)) as batches:
        async for batch in batches:
            ...  # store batch.records and batch.cursor in one transaction, then:
            source.acknowledge(batch.cursor)

A :class:`Batch` holds:

* ``records``: the Posts and Rejections of one message (a Jetstream event, a
  Mastodon ``update`` or one page of its catch-up, an X stream line, a webhook
  request, a replay tick), parsed by the *file* adapter of that format
  (:mod:`pipeline.sources.bluesky`, ``mastodon``, ``x``): a live message becomes
  exactly the Post or Rejection its line in a file would. Records that are no
  post (a like, a delete: the file adapters' SKIPPED) are counted in
  ``skipped``, posts without any of the keywords in ``filtered``; neither is
  carried.
* ``cursor``: a JSON value (store it as JSON text). ``batches(cursor)`` with the
  cursor of the last batch stored continues right after that batch: nothing
  published after it is missed, nothing up to it comes again. A batch may carry
  no record and only a newer cursor (the stream moved on through posts that
  were filtered out), so that a restart does not wade through them again.
  ``batches(None)`` starts live, from now (a replay: from its first post).
* ``source``: the format of the records (``x``, ``bluesky``, ``mastodon``), which
  is the ``source`` of their ``rejected`` rows; ``origin``: the stream's URL or
  the file, the same across restarts (the ``origin`` column).

``batches`` runs until it is closed (a replay: until the file ends). It
reconnects by itself after a dropped connection, with backoff and jitter; a
refusal that retrying cannot fix (a bad token, a wrong URL, a cursor it cannot
read) raises :class:`~pipeline.errors.LiveSourceError`. Close it with
``aclose()`` (``contextlib.aclosing``), which closes its connection.

``acknowledge(cursor)`` tells the source that the batch with that cursor (and
every one before it) is committed. The pull sources need not know; the webhook
answers a sender only then, so a crash before the commit makes the sender send
again instead of losing the posts.

Why async generators rather than sync ones
------------------------------------------

The three streaming protocols and the webhook all have asyncio clients and
servers of their own (websockets, httpx with httpx-sse, uvicorn). Cancelling a
task stops a read blocked on a silent socket at once, where a thread blocked in
a sync read cannot be stopped from outside; "silent for N seconds" is a read
deadline; and the webhook's server, its queue and its acknowledgements live in
one event loop. A flow that is synchronous runs ``batches`` in a reader thread
(``asyncio.run``) and hands batches on through a bounded ``queue.Queue``: while
the queue is full the generator is not advanced, the socket is not read, and the
sender is slowed down (TCP backpressure), or drops us and is resumed from the
cursor, so nothing is lost when classification falls behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential
from tenacity.wait import wait_base

from pipeline.classify.taxonomy import EvidenceMatcher
from pipeline.errors import LiveSourceError
from pipeline.schema import Post, Rejection
from pipeline.sources.base import SKIPPED, Record

log = logging.getLogger(__name__)

Cursor = Any
"""A JSON value (None, a number, or an object of numbers, strings and lists)."""

T = TypeVar("T")
State = TypeVar("State")
CursorModel = TypeVar("CursorModel", bound="StoredCursor")


@dataclass(frozen=True)
class Batch:
    """The records of one message and the cursor right after it."""

    records: list[Post | Rejection]
    cursor: Cursor
    source: str
    origin: str
    skipped: int = 0
    filtered: int = 0


class LiveSource(ABC):
    """A stream of posts. Subclasses set ``name`` (the kind of source) and ``origin``."""

    name: str
    origin: str

    @abstractmethod
    def batches(self, cursor: Cursor = None) -> AsyncIterator[Batch]:
        """Batches from just after ``cursor`` (None: from now), until closed."""

    def acknowledge(self, cursor: Cursor) -> None:
        """The batch with this cursor, and all before it, are committed (callable from any thread)."""


def now_us() -> int:
    """Wall-clock time in microseconds since the epoch (Jetstream's unit)."""
    return time.time_ns() // 1000


def raw_key(raw: bytes) -> str:
    """A key for a message that cannot be parsed: a digest of its bytes."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


class StoredCursor(BaseModel):
    """A source's cursor as stored: exactly its fields, so one source's cursor is never taken for another's."""

    model_config = ConfigDict(extra="forbid")


def read_cursor(model: type[CursorModel], cursor: Cursor, origin: str) -> CursorModel:
    """A stored cursor, validated; one that does not fit is a LiveSourceError, not a silent restart."""
    try:
        return model.model_validate(cursor)
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        raise LiveSourceError(
            f"{origin}: the stored cursor {cursor!r} is not one this source wrote ({problem['msg']}); "
            "start without a cursor to follow the stream from now"
        ) from None


class KeywordFilter:
    """Keeps the posts whose text has one of the keywords: whole words or phrases,
    any case, matched as the incident profile's keywords are. No keywords keeps all.
    Rejections are always kept: a record that could not be read is never dropped unseen."""

    def __init__(self, keywords: Sequence[str]):
        self.keywords = list(keywords)
        self._regex = EvidenceMatcher([(self.keywords, [])]).regexes[0] if self.keywords else None

    def keeps(self, record: Post | Rejection) -> bool:
        return self._regex is None or isinstance(record, Rejection) or self._regex.search(record["text"]) is not None


class RecentKeys:
    """Keys of the records already handed on, remembered while they can come again.

    Each key is stored with its place in the stream (a time in microseconds);
    keys more than ``window`` before the newest place are forgotten. A source
    that rewinds (Jetstream) or is sent a backfill (X) on reconnect drops the
    repeats by key, exactly, and keeps whatever it had not seen; the keys travel
    in the cursor, so a restart is as exact as a reconnect."""

    def __init__(self, window: int, entries: Iterable[tuple[str, int]] = ()):
        self.window = window
        self._places: dict[str, int] = {}
        for key, place in sorted(entries, key=lambda entry: entry[1]):
            self.add(key, place)

    def __contains__(self, key: str) -> bool:
        return key in self._places

    def __len__(self) -> int:
        return len(self._places)

    def add(self, key: str, place: int) -> None:
        self._places[key] = place
        self.forget_before(place - self.window)

    def forget_before(self, place: int) -> None:
        # Places arrive nearly in order, so the oldest sit at the front of the dict.
        while self._places:
            oldest = next(iter(self._places))
            if self._places[oldest] >= place:
                break
            del self._places[oldest]

    def entries(self) -> list[tuple[str, int]]:
        return list(self._places.items())


@dataclass
class Batcher:
    """Turns the records of each message into a Batch: keyword filter, counts of
    what was left out, and a cursor-only batch at most every ``cursor_every``
    seconds while nothing is kept, so the stored cursor keeps up with the stream."""

    source: str
    origin: str
    keywords: KeywordFilter
    cursor_every: float
    skipped: int = 0
    filtered: int = 0
    _last: float = field(default_factory=time.monotonic)

    def keep(self, records: Iterable[Record], count: bool = True) -> list[Post | Rejection]:
        """The records to hand on; the others are counted (unless ``count`` is False: a
        replayed stretch of the stream, counted the first time)."""
        kept: list[Post | Rejection] = []
        for record in records:
            if record is SKIPPED:
                self.skipped += count
            elif self.keywords.keeps(record):  # type: ignore[arg-type]
                kept.append(record)  # type: ignore[arg-type]
            else:
                self.filtered += count
        return kept

    def batch(self, kept: list[Post | Rejection], cursor: Callable[[], Cursor]) -> Batch | None:
        """A batch of ``kept``; with nothing kept, a cursor-only batch when one is due, else None."""
        if not kept and time.monotonic() - self._last < self.cursor_every:
            return None
        return self.flush(kept, cursor())

    def flush(self, kept: list[Post | Rejection], cursor: Cursor) -> Batch:
        """A batch of ``kept`` with the counts gathered since the last one."""
        batch = Batch(kept, cursor, self.source, self.origin, self.skipped, self.filtered)
        self.skipped = self.filtered = 0
        self._last = time.monotonic()
        return batch


class Dropped(Exception):
    """A connection failed, or ended, in a way that reconnecting can repair.

    Internal to the live sources: it never leaves ``batches``. ``kind`` picks the
    backoff: ``network``, ``http`` (a 5xx answer) or ``rate_limit`` (429)."""

    def __init__(self, detail: str, kind: str = "network"):
        super().__init__(detail)
        self.kind = kind


@asynccontextmanager
async def http_stream(response: httpx.Response, timeout: httpx.Timeout) -> AsyncIterator[httpx.Response]:
    """An open streaming HTTP response, read inside the block: a silence past the read timeout or
    a lost connection becomes Dropped (so the source reconnects), and the response is closed after."""
    try:
        yield response
    except httpx.ReadTimeout:
        raise Dropped(f"silent for more than {timeout.read:g} s") from None
    except httpx.TransportError as error:
        raise Dropped(f"connection lost ({type(error).__name__}: {error})") from None
    finally:
        await response.aclose()


@dataclass(frozen=True)
class Backoff:
    """Waits between reconnect attempts: exponential with full jitter (a random
    wait up to ``first`` * 2^attempt, at most ``maximum`` seconds), so that many
    clients dropped at once do not come back at once."""

    first: float = 1.0
    maximum: float = 60.0

    def wait(self) -> wait_base:
        return wait_random_exponential(multiplier=self.first, max=self.maximum)


async def connect(open_connection: Callable[..., Awaitable[T]], *args: Any, wait: wait_base, origin: str) -> T:
    """``await open_connection(*args)``, tried again after each wait for as long as it raises
    Dropped. A live monitor keeps trying (each failure is logged); anything else is raised."""
    retrying = AsyncRetrying(
        wait=wait, retry=retry_if_exception_type(Dropped), reraise=True, before_sleep=_log_retry(origin)
    )
    return await retrying(open_connection, *args)


def _log_retry(origin: str) -> Callable[[RetryCallState], None]:
    def log_it(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s: cannot connect (%s); attempt %d, trying again in %.2f s", origin, error, state.attempt_number, wait)

    return log_it


class StreamSource(LiveSource, Generic[State]):
    """A source read over one long-lived connection at a time, reconnected each
    time it drops. Subclasses say how a cursor becomes a resume state
    (``_resume``) and how one connection is read (``_session``): the state is
    kept up to date as batches go out, so the next session starts after the
    last batch handed on."""

    async def batches(self, cursor: Cursor = None) -> AsyncIterator[Batch]:
        state = self._resume(cursor)
        quiet_drops = 0
        while True:
            handed_on = False
            try:
                async with aclosing(self._session(state)) as session:
                    async for batch in session:
                        handed_on = True
                        yield batch
                detail = "the server ended the stream"
            except Dropped as drop:
                detail = str(drop)
            quiet_drops = 0 if handed_on else quiet_drops + 1
            log.warning("%s: %s; reconnecting", self.origin, detail)
            if quiet_drops:  # a server that lets us in and drops us at once is not hammered
                await asyncio.sleep(random.uniform(0, min(0.5 * 2**quiet_drops, 30.0)))

    @abstractmethod
    def _resume(self, cursor: Cursor) -> State:
        """The resume state for a stored cursor (None: follow from now)."""

    @abstractmethod
    def _session(self, state: State) -> AsyncIterator[Batch]:
        """Connect (with retries), then the batches of that connection; Dropped when it fails."""
