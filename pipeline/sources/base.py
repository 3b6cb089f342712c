"""The one interface every post source implements, and the checks they share.

A source reads one file (or, later, one stream) and yields, for every raw record
it meets, exactly one of: a validated :class:`Post`, a :class:`Rejection` with
its reason, or :data:`SKIPPED` for a well-formed record that is not a post (a
Jetstream like or delete). Counting those three is how an ingest reconciles.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

import orjson
from pipeline.schema import Post, Reason, Rejection, validate_post
from pipeline.sources.framing import json_records, parse_record


class _Skipped:
    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED: Final = _Skipped()

Record = Post | Rejection | _Skipped


@dataclass(frozen=True)
class Limits:
    """Size limits a source enforces (from the settings)."""

    max_record_bytes: int = 4 * 1024 * 1024
    max_text_chars: int = 25_000


class Source(ABC):
    """A format of post records. Subclasses set ``name`` and implement ``read``."""

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()

    @abstractmethod
    def read(self, path: Path) -> Iterator[Record]:
        """Yield one Post, Rejection or SKIPPED per raw record of the file."""

    def make_post(self, fields: dict[str, Any], position: int, item: int | None = None) -> Post | Rejection:
        """Validate the fields of one post; any failure becomes a Rejection, never an exception."""
        raw = fields["raw"]
        text = fields.get("text")
        if isinstance(text, str) and len(text) > self.limits.max_text_chars:
            return Rejection(
                position, Reason.OVERSIZE, f"text has {len(text):,} characters, over the limit of {self.limits.max_text_chars:,}", raw, item
            )
        fields["source"] = self.name
        return validate_post(fields, position, item)


class JsonSource(Source):
    """A source whose files are JSON lines (or one JSON array) of records.

    Subclasses implement :meth:`parse` for one parsed record; reading, framing
    and the parallel ingest of large files come from here.
    """

    @abstractmethod
    def parse(self, position: int, value: Any, raw: bytes) -> Iterator[Record]:
        """The results of one parsed JSON record (one or more posts, or a rejection)."""

    def read(self, path: Path) -> Iterator[Record]:
        for record in json_records(path, self.limits.max_record_bytes):
            if isinstance(record, Rejection):
                yield record
            else:
                yield from self.parse(*record)

    def read_lines(self, lines: list[bytes], first_position: int) -> Iterator[Record]:
        """The results of a run of lines from a JSON-lines file, numbered from ``first_position``."""
        for position, line in enumerate(lines, start=first_position):
            if not line.strip():
                continue
            record = parse_record(position, line, self.limits.max_record_bytes)
            if isinstance(record, Rejection):
                yield record
            else:
                yield from self.parse(*record)


def dumps(value: Any) -> str:
    """Compact JSON text of a parsed record, for the ``raw`` column."""
    return orjson.dumps(value).decode()


def wrong_type(position: int, error: Exception, raw: str, item: int | None = None) -> Rejection:
    """A record whose parts have the wrong JSON types (e.g. a string where an object belongs)."""
    return Rejection(position, Reason.WRONG_TYPE, f"unexpected shape: {error}", raw, item)


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def json_object(value: Any, name: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, {} if absent; anything else is a TypeError naming the field."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{name} is {_JSON_TYPES.get(type(value), type(value).__name__)}, expected an object")
    return value
