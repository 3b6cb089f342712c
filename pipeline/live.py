"""The live loop: posts as they are published, classified in micro-batches, stored exactly once.

::

    source.batches(cursor)            a reader thread runs the source's asyncio generator
        │  bounded queue              full: the generator is not advanced, the socket not read (backpressure)
        ▼
    micro-batch                       up to ``live_batch_posts`` posts or ``live_batch_seconds``, whichever first
        │  classify                   only posts not stored yet (a re-delivered post is not classified again)
        ▼
    one transaction                   posts + rejected + post_labels + the source's cursor (``live_cursors``)
        │
    acknowledge(cursor)               the webhook answers its sender only now

A crash (even ``kill -9``) between two commits loses nothing: the stored cursor
is that of the last committed micro-batch, the source resumes right after it,
and what was read but not committed is read again. A post delivered twice is
stored once (``posts.id`` is its primary key). Nothing in the queue is dropped
when classification falls behind: the queue fills, the source waits, and the
lag (how long a batch waited between arriving and being committed) is written
as the ``groundswell_live_lag_seconds`` metric and warned about past
``live_lag_warning_seconds``.

Readers and the writer share the file the way :mod:`pipeline.store` describes:
the loop opens the database for each commit and closes it (milliseconds), so
the dashboard's and analysts' read-only opens get in between; a half-written
batch is never visible because each one is a single transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa

from pipeline.classify.labeller import Labeller
from pipeline.config import Settings
from pipeline.errors import LiveSourceError
from pipeline.ingest import posts_table, rejections_table
from pipeline.schema import Post, Rejection, post_id
from pipeline.sources.live.base import Batch, Cursor, LiveSource
from pipeline.store import Store

log = logging.getLogger(__name__)

LAG_METRIC = "groundswell_live_lag_seconds"
_END = object()  # the source finished (a replay reached the end of its file)


def stream_key(source: LiveSource) -> str:
    """The ``live_cursors`` key of a source: its kind and origin, the same across restarts."""
    return f"{source.name}:{source.origin}"


@dataclass
class LiveStats:
    """Running totals of one live run."""

    commits: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0
    filtered: int = 0
    labelled: int = 0
    lag_seconds: float = 0.0
    max_lag_seconds: float = 0.0
    queued: int = 0
    started: float = field(default_factory=time.monotonic)

    def render(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"{self.accepted:,} posts stored ({self.accepted / elapsed:,.1f}/s), {self.duplicates:,} duplicates, "
            f"{self.rejected:,} rejected, {self.skipped:,} skipped, {self.filtered:,} filtered out; "
            f"{self.commits:,} commits; lag {self.lag_seconds:.1f} s (max {self.max_lag_seconds:.1f} s), "
            f"{self.queued:,} batches queued"
        )


class LiveIngest:
    """Runs one source into the database until stopped or, for a replay, until its file ends."""

    def __init__(self, settings: Settings, source: LiveSource, labeller: Labeller):
        self.settings = settings
        self.source = source
        self.labeller = labeller
        self.key = stream_key(source)
        self.stats = LiveStats()
        self._queue: queue.Queue = queue.Queue(maxsize=settings.live_queue_batches)
        self._reader_error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._warned_at = 0.0

    # -- the run ----------------------------------------------------------------

    def run(self, stop: threading.Event, on_commit: Callable[[LiveStats], None] | None = None) -> LiveStats:
        """Read, classify and commit until ``stop`` is set (the micro-batch in hand is finished and
        committed first) or the source ends. A source that fails for good raises LiveSourceError."""
        with Store.open(self.settings.db_path) as store:
            cursor = store.live_cursor(self.key)
        reader = threading.Thread(target=self._read, args=(cursor, stop), name=f"live-reader {self.key}", daemon=True)
        reader.start()
        try:
            while not stop.is_set():
                items, ended = self._take(stop)
                if items:
                    self._commit(items)
                    if on_commit:
                        on_commit(self.stats)
                if ended:
                    break
        finally:
            self._stop_reader(reader)
        if self._reader_error is not None:
            raise LiveSourceError(f"{self.key}: {self._reader_error}") from self._reader_error
        return self.stats

    def _read(self, cursor: Cursor, stop: threading.Event) -> None:
        """The reader thread: the source's async generator into the bounded queue."""

        async def pump() -> None:
            async with contextlib.aclosing(self.source.batches(cursor)) as batches:
                async for batch in batches:
                    arrived = time.monotonic()
                    while not stop.is_set():
                        try:
                            await asyncio.to_thread(self._queue.put, (arrived, batch), timeout=0.25)
                            break
                        except queue.Full:
                            self._warn_if_behind(time.monotonic() - arrived, full=True)
                    if stop.is_set():
                        return

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            await pump()

        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass
        except BaseException as error:  # handed to the main thread, which raises it
            self._reader_error = error
        finally:
            while not stop.is_set():
                try:
                    self._queue.put(_END, timeout=0.25)
                    break
                except queue.Full:
                    continue

    def _stop_reader(self, reader: threading.Thread) -> None:
        if reader.is_alive() and self._loop is not None and self._task is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                self._loop.call_soon_threadsafe(self._task.cancel)
        reader.join(timeout=10)

    def _take(self, stop: threading.Event) -> tuple[list[tuple[float, Batch]], bool]:
        """One micro-batch: wait for a first batch, then gather until enough posts or time is up."""
        items: list[tuple[float, Batch]] = []
        posts = 0
        deadline = None
        while not stop.is_set():
            timeout = 0.25 if deadline is None else max(deadline - time.monotonic(), 0)
            try:
                item = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
            except queue.Empty:
                if deadline is not None:
                    break
                continue
            if item is _END:
                return items, True
            items.append(item)
            posts += len(item[1].records)
            if deadline is None:
                deadline = time.monotonic() + self.settings.live_batch_seconds
            if posts >= self.settings.live_batch_posts:
                break
        return items, False

    # -- one commit -------------------------------------------------------------

    def _commit(self, items: list[tuple[float, Batch]]) -> None:
        batches = [batch for _, batch in items]
        delivered = [(b.origin, r) for b in batches for r in b.records if not isinstance(r, Rejection)]
        posts = _first_of_each(delivered)
        with Store.open(self.settings.db_path) as store:
            stored = _stored_ids(store, [post_id(post) for _, post in posts])
        fresh = [(origin, post) for origin, post in posts if post_id(post) not in stored]
        labels = self.labeller.label([post["text"] for _, post in fresh]) if fresh else []
        lag = time.monotonic() - items[0][0]
        rejected = 0
        with Store.open(self.settings.db_path) as store, store.transaction():
            accepted = sum(store.append_posts(posts_table(group, origin)) for origin, group in _by_origin(fresh))
            for batch in batches:
                rows = [r for r in batch.records if isinstance(r, Rejection)]
                if rows:
                    store.append_rejections(_live_rejections(batch.source, batch.origin, rows))
                    rejected += len(rows)
            store.append_labels(self.labeller.table([post_id(post) for _, post in fresh], labels))
            store.save_live_cursor(self.key, batches[-1].cursor)
            store.append_metric(LAG_METRIC, {"stream": self.key}, datetime.now(timezone.utc), lag, "groundswell")
        self.source.acknowledge(batches[-1].cursor)
        self._count(batches, len(delivered), accepted, rejected, len(labels), lag)

    def _count(self, batches: list[Batch], delivered: int, accepted: int, rejected: int, labelled: int, lag: float) -> None:
        stats = self.stats
        stats.commits += 1
        stats.accepted += accepted
        stats.duplicates += delivered - accepted
        stats.rejected += rejected
        stats.skipped += sum(b.skipped for b in batches)
        stats.filtered += sum(b.filtered for b in batches)
        stats.labelled += labelled
        stats.lag_seconds = lag
        stats.max_lag_seconds = max(stats.max_lag_seconds, lag)
        stats.queued = self._queue.qsize()
        self._warn_if_behind(lag)

    def _warn_if_behind(self, lag: float, full: bool = False) -> None:
        threshold = self.settings.live_lag_warning_seconds
        if lag >= threshold and time.monotonic() - self._warned_at >= threshold:
            self._warned_at = time.monotonic()
            why = "the queue is full, the source is held back" if full else "classification is behind the stream"
            log.warning("%s: %s: lag %.1f s (nothing is dropped; it catches up when the rate falls)", self.key, why, lag)


def _first_of_each(posts: list[tuple[str, Post]]) -> list[tuple[str, Post]]:
    """(origin, post) pairs with repeats inside the micro-batch removed (the first copy kept)."""
    seen: dict[str, tuple[str, Post]] = {}
    for origin, post in posts:
        seen.setdefault(post_id(post), (origin, post))
    return list(seen.values())


def _by_origin(posts: list[tuple[str, Post]]) -> list[tuple[str, list[Post]]]:
    groups: dict[str, list[Post]] = {}
    for origin, post in posts:
        groups.setdefault(origin, []).append(post)
    return list(groups.items())


def _stored_ids(store: Store, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    table = pa.table({"id": pa.array(ids, pa.string())})
    store.connection.register("incoming_ids", table)
    try:
        return {row[0] for row in store.query("SELECT p.id FROM posts p SEMI JOIN incoming_ids i ON i.id = p.id")}
    finally:
        store.connection.unregister("incoming_ids")


def _live_rejections(source: str, origin: str, rows: list[Rejection]) -> pa.Table:
    """Rejections of a stream: keyed by their raw text, since a stream has no stable line numbers
    (a re-delivered malformed message is stored once)."""
    table = rejections_table(source, origin, rows)
    keys = [hashlib.sha256(f"{source}\0{origin}\0{row.item}\0{row.raw}".encode()).hexdigest()[:32] for row in rows]
    return table.set_column(table.schema.get_field_index("key"), "key", pa.array(keys, pa.string()))


def refresh_alignment(settings: Settings) -> list[str]:
    """The live loop's periodic step: alignment brought up to date, the detector run, new alerts
    delivered. The database is held for the refresh and the detector only, not for the delivery."""
    from pipeline.align import refresh
    from pipeline.detect import run_detector
    from pipeline.notify import deliver_pending

    with Store.open(settings.db_path) as store:
        lines = [refresh(store, settings).render(), run_detector(store, settings).render()]
    lines.append(deliver_pending(settings).render())
    return lines


def ensure_incident(settings: Settings, incident_id: str) -> list[str]:
    """The keywords a live run follows for ``incident_id``; an incident not in the database yet is
    created (named after its id, starting now), so a brand-new outage can be followed at once."""
    with Store.open(settings.db_path) as store, store.transaction():
        store.connection.execute(
            "INSERT OR IGNORE INTO incidents (id, name, timezone, started_at, source, imported_at) "
            "VALUES (?, ?, ?, now(), 'live', now())",
            [incident_id, incident_id, settings.display_timezone],
        )
        (keywords,) = store.query("SELECT keywords FROM incidents WHERE id = ?", [incident_id])[0]
    return list(keywords or [])
