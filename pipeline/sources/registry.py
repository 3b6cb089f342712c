"""Which adapter reads a file: named by the user, or detected from its content."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

import orjson

from pipeline.errors import InputError, UnknownFormat
from pipeline.sources.base import Limits, Source
from pipeline.sources.framing import is_json_lines

# Adapters load on first use: a command that reads X files need not import an HTML parser.
FORMATS: dict[str, str] = {
    "x": "pipeline.sources.x:XSource",
    "bluesky": "pipeline.sources.bluesky:BlueskySource",
    "mastodon": "pipeline.sources.mastodon:MastodonSource",
    "table": "pipeline.sources.table:TableSource",
}
TABLE_EXTENSIONS = {".csv", ".tsv", ".parquet"}
_SNIFF_LINES = 50


def source_for(path: Path, fmt: str = "auto", *, limits: Limits, columns: Mapping[str, str] | None = None) -> Source:
    """The adapter for ``path``: ``fmt`` if given, else detected from the file."""
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    name = detect_format(path) if fmt == "auto" else fmt
    if name not in FORMATS:
        raise UnknownFormat(f"unknown format {fmt!r}; choose one of: auto, {', '.join(FORMATS)}")
    adapter = _adapter_class(name)
    if name == "table":
        return adapter(dict(columns or {}), limits)
    return adapter(limits)


def _adapter_class(name: str) -> type[Source]:
    module, _, attribute = FORMATS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def detect_format(path: Path) -> str:
    """Name the format from the extension, else from the first readable record's keys."""
    if path.suffix.lower() in TABLE_EXTENSIONS:
        return "table"
    for record in _first_records(path):
        if isinstance(record, dict):
            return record_format(record) or "table"
    raise UnknownFormat(
        f"cannot tell the format of {path}: no readable JSON record in its first {_SNIFF_LINES} lines; "
        "name it with --format"
    )


def record_format(record: dict) -> str | None:
    """The post format one parsed record is in (x, bluesky, mastodon), from its keys; None if none.
    Also names the format of a webhook request's body."""
    if "data" in record and ("includes" in record or "meta" in record or "matching_rules" in record or isinstance(record["data"], list)):
        return "x"
    if "did" in record and "time_us" in record:
        return "bluesky"
    if "account" in record and "content" in record:
        return "mastodon"
    return None


def _first_records(path: Path) -> list[object]:
    if not is_json_lines(path):
        try:
            document = orjson.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
        except orjson.JSONDecodeError:
            return []
        return document[:_SNIFF_LINES] if isinstance(document, list) else []
    records = []
    with path.open("rb") as handle:
        for _, line in zip(range(_SNIFF_LINES), handle):
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    return records
