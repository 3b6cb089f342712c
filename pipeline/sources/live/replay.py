"""Replay: a recorded file played as a live stream, in real time or faster: the way to rehearse.

The file (any format ``groundswell ingest`` reads: ``posts.x.jsonl``, a
Jetstream or Mastodon capture, a CSV with a column mapping) is read by its file
adapter, and its posts are played in the order they were published, each at its
moment: the first post now, the next one its ``created_at`` later, divided by
``speed`` (60 plays an hour of posts in a minute). Records that are not posts
(rejections, skipped events) have no time of their own and come first.

Each post's ``created_at`` is shifted by one fixed offset so that the first post
is dated now; native ids stay as recorded, so replaying the same file again adds
nothing to the store. Spacing follows the recording: at ``speed`` above 1 the
posts' times run that many times faster than the clock (the stream's own clock
is its newest post). ``shift`` is the offset, for shifting the incident
timeline the same way. With ``original_times`` the posts keep their recorded
times (no shift): a rehearsal against the recorded incident's own timeline,
which is how ``make demo`` replays the sample.

The cursor is the position reached in that play order, with the offset: a
resumed replay continues with the next record, dated as before, its first
record due at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pydantic import NonNegativeInt

from pipeline.errors import ConfigError, LiveSourceError
from pipeline.schema import Rejection
from pipeline.sources.base import SKIPPED, Limits, Record
from pipeline.sources.live.base import Batch, Cursor, LiveSource, StoredCursor, read_cursor
from pipeline.sources.registry import source_for

_TOGETHER_US = 2_000  # records due within 2 ms of each other go out as one batch


class ReplayCursor(StoredCursor):
    """How many records of the play order were handed on, and the offset added to every created_at."""

    position: NonNegativeInt
    shift_us: int


class ReplaySource(LiveSource):
    name = "replay"

    def __init__(
        self,
        path: Path | Sequence[Path],
        *,
        fmt: str = "auto",
        speed: float = 1.0,
        limits: Limits | None = None,
        columns: Mapping[str, str] | None = None,
        original_times: bool = False,
    ):
        if not speed > 0:
            raise ConfigError(f"replay speed must be above 0, got {speed!r}")
        self.paths = [path] if isinstance(path, Path | str) else list(path)
        self.paths = [Path(p) for p in self.paths]
        self.adapters = [source_for(p, fmt, limits=limits or Limits(), columns=columns) for p in self.paths]
        self.origin = "+".join(str(p) for p in self.paths)
        self.speed = speed
        self.original_times = original_times
        self.shift: timedelta | None = None

    async def batches(self, cursor: Cursor = None) -> AsyncIterator[Batch]:
        order = await asyncio.to_thread(self.play_order)
        start, shift_us = self._start(cursor, order)
        self.shift = timedelta(microseconds=shift_us)
        position = start
        if position >= len(order):
            return
        began, first_moment = time.monotonic(), order[position][0]
        while position < len(order):
            due = began + (order[position][0] - first_moment) / 1_000_000 / self.speed
            await asyncio.sleep(max(due - time.monotonic(), 0.0))
            # Everything due by now goes out together: one record, or more when the consumer lags.
            reached = first_moment + (time.monotonic() - began) * 1_000_000 * self.speed + _TOGETHER_US * self.speed
            # ...and from one file: a batch's records share their source and origin.
            end = position + 1
            while end < len(order) and order[end][0] <= reached and order[end][1] == order[position][1]:
                end += 1
            yield self._batch(order[position][1], [record for _, _, record in order[position:end]], end, shift_us)
            position = end

    def play_order(self) -> list[tuple[int, int, Record]]:
        """Every record of the files as (moment in µs after the first post, file index, record), in
        play order: the files' posts merged by time."""
        records = [(index, record) for index, adapter in enumerate(self.adapters) for record in adapter.read(self.paths[index])]
        times = [_epoch_us(record["created_at"]) for _, record in records if _is_post(record)]
        first = min(times, default=0)
        moments = [_epoch_us(record["created_at"]) - first if _is_post(record) else 0 for _, record in records]
        return sorted(((moment, index, record) for moment, (index, record) in zip(moments, records, strict=True)),
                      key=lambda entry: entry[0])

    def _start(self, cursor: Cursor, order: list[tuple[int, Record]]) -> tuple[int, int]:
        if cursor is not None:
            stored = read_cursor(ReplayCursor, cursor, self.origin)
            if stored.position > len(order):
                raise LiveSourceError(f"{self.origin}: the stored cursor is at record {stored.position}, but the file has {len(order)}")
            return stored.position, stored.shift_us
        if self.original_times:
            return 0, 0
        posts = [record for _, _, record in order if _is_post(record)]
        first = _epoch_us(posts[0]["created_at"]) if posts else 0
        return 0, _epoch_us(datetime.now(timezone.utc)) - first

    def _batch(self, index: int, records: list[Record], position: int, shift_us: int) -> Batch:
        shift = timedelta(microseconds=shift_us)
        kept = [
            {**record, "created_at": record["created_at"] + shift} if _is_post(record) else record
            for record in records
            if record is not SKIPPED
        ]
        cursor = ReplayCursor(position=position, shift_us=shift_us).model_dump()
        adapter, origin = self.adapters[index], str(self.paths[index])
        return Batch(kept, cursor, adapter.name, origin, skipped=len(records) - len(kept))  # type: ignore[arg-type]


def _is_post(record: Record) -> bool:
    return record is not SKIPPED and not isinstance(record, Rejection)


def _epoch_us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)
