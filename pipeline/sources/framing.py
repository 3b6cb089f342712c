"""Splitting a JSON file into records: JSON lines, or one top-level JSON array.

Each record comes out as ``(position, parsed_value, raw_bytes)`` or, when it
cannot be read, as a Rejection saying why (wrong encoding, not JSON, oversize).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from pipeline.schema import Reason, Rejection

JsonRecord = tuple[int, Any, bytes]

_BOM = b"\xef\xbb\xbf"


def raw_text(data: bytes) -> str:
    """Bytes as text for the rejected table; undecodable bytes become \\x escapes."""
    return data.decode("utf-8", "backslashreplace")


def json_records(path: Path, max_record_bytes: int) -> Iterator[JsonRecord | Rejection]:
    """Records of a JSON-lines file, or the elements of a file holding one JSON array."""
    if is_json_lines(path):
        yield from _lines(path, max_record_bytes)
    else:
        yield from _array_elements(path, max_record_bytes)


def is_json_lines(path: Path) -> bool:
    """True unless the file's first non-blank character opens a JSON array."""
    with path.open("rb") as handle:
        head = handle.read(4096).removeprefix(_BOM).lstrip()
    return not head.startswith(b"[")


def _lines(path: Path, max_record_bytes: int) -> Iterator[JsonRecord | Rejection]:
    with path.open("rb") as handle:
        for position, line in enumerate(handle, start=1):
            if position == 1:
                line = line.removeprefix(_BOM)
            if not line.strip():
                continue
            yield parse_record(position, line, max_record_bytes)


def parse_record(position: int, data: bytes, max_record_bytes: int) -> JsonRecord | Rejection:
    """Parse one record's bytes, or say why they cannot be a record."""
    data = data.rstrip(b"\r\n")
    if len(data) > max_record_bytes:
        return Rejection(
            position, Reason.OVERSIZE, f"record is {len(data):,} bytes, over the limit of {max_record_bytes:,}", raw_text(data)
        )
    try:
        return position, orjson.loads(data), data
    except orjson.JSONDecodeError as error:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as decode_error:
            return Rejection(position, Reason.WRONG_ENCODING, f"not UTF-8: {decode_error.reason} at byte {decode_error.start}", raw_text(data))
        return Rejection(position, Reason.NOT_JSON, f"not JSON: {error}", raw_text(data))


def _array_elements(path: Path, max_record_bytes: int) -> Iterator[JsonRecord | Rejection]:
    data = path.read_bytes().removeprefix(_BOM)
    parsed = parse_record(1, data, max(max_record_bytes, len(data)))
    if isinstance(parsed, Rejection):
        # A broken array cannot be split into records: the whole file is one rejected record.
        yield parsed
        return
    for position, element in enumerate(parsed[1], start=1):
        raw = orjson.dumps(element)
        if len(raw) > max_record_bytes:
            yield Rejection(position, Reason.OVERSIZE, f"element is {len(raw):,} bytes, over the limit of {max_record_bytes:,}", raw_text(raw))
        else:
            yield position, element, raw
