"""Plain exports: CSV, TSV, JSON lines (or a JSON array of objects) and Parquet.

The format comes from the extension (``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``/
``.json``, ``.parquet``; any other extension is read as JSON when the file opens
with ``{`` or ``[``). A column mapping ``{post field: input column}`` says
where each post field is, e.g. ``{"native_id": "tweet_id", "text": "body"}``;
a field it leaves out is read from a column of the field's own name, when there
is one. ``native_id``, ``text`` and ``created_at`` must be found one way or the
other, and every column the mapping names must exist: otherwise
:class:`MappingError` says so, with the columns the file has, before any row is
read. (A JSON file's columns are the keys of its first hundred objects.)

Rows are numbered from 1: a CSV row by its data row (the header and blank lines
not counted), a JSON-lines row by its line, an array element or Parquet row by
its index. A bad row is rejected with its number and reason and the rest go
on; that includes a CSV row whose number of fields differs from the header's
(wrong_type) and one that is not UTF-8 (wrong_encoding). ``raw`` is the row as
a JSON object.

Cells: an empty string or a NaN is a missing value (CSV has no other way to
say so); integer ids become strings. Times may be ISO 8601 with an offset or
``Z``, or a unix time as a number or a string of digits (seconds, milliseconds
or microseconds, told apart by size). **A time without an offset is taken as
UTC**: exports drop the zone more often than they mean local time, and UTC is
the only reading that does not depend on the machine doing the ingest.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import ConfigError, InputError, MappingError, UnknownFormat
from pipeline.schema import REQUIRED_FIELDS, Post, Reason, Rejection
from pipeline.sources.base import Limits, Record, Source, wrong_type
from pipeline.sources.framing import is_json_lines, json_records, raw_text

FIELDS = tuple(name for name in Post.__annotations__ if name not in ("source", "raw"))
"""The post fields a mapping may name."""
NEEDED = tuple(name for name in REQUIRED_FIELDS if name in FIELDS)
_ID_FIELDS = frozenset({"native_id", "author_id", "reply_to_id", "repost_of_id", "quote_of_id"})
_JSON_SNIFF_ROWS = 100
_PARQUET_BATCH_ROWS = 10_000
_WRONG_SHAPE = (TypeError, AttributeError, KeyError, ValueError)

Row = tuple[int, dict[str, Any], str]
"""One readable row: its number, its cells by column, its JSON text."""


@dataclass(frozen=True)
class _Format:
    columns: Callable[[Path], list[str] | None]  # None: the file has no rows to tell
    rows: Callable[[Path, Limits], Iterator[Row | Rejection]]


class TableSource(Source):
    name = "table"
    description = "CSV, TSV, JSON lines or Parquet exports, read through a column mapping"

    def __init__(self, mapping: Mapping[str, str] | None = None, limits: Limits | None = None, *, source: str | None = None):
        """``mapping`` is ``{post field: input column}``; ``source`` labels the posts
        (e.g. ``"reddit"``) in place of ``"table"``, and so scopes their ids."""
        super().__init__(limits)
        self.mapping = checked_mapping(dict(mapping or {}))
        if source is not None:
            self.name = checked_label(source)

    def columns_for(self, path: Path) -> dict[str, str]:
        """``{post field: column}`` for this file, or MappingError saying what is missing."""
        return resolve(self.mapping, format_of(path).columns(path), path)

    def read(self, path: Path) -> Iterator[Record]:
        columns = self.columns_for(path)
        for row in format_of(path).rows(path, self.limits):
            yield row if isinstance(row, Rejection) else self._post(columns, *row)

    def _post(self, columns: dict[str, str], position: int, row: dict[str, Any], raw: str) -> Post | Rejection:
        try:
            fields = {field: cell(field, row.get(column)) for field, column in columns.items()}
        except _WRONG_SHAPE as error:
            return wrong_type(position, error, raw)
        fields["raw"] = raw
        return self.make_post(fields, position)


# -- the mapping ---------------------------------------------------------------------


def checked_mapping(mapping: dict[str, str]) -> dict[str, str]:
    unknown = [field for field in mapping if field not in FIELDS]
    if unknown:
        raise MappingError(f"the column mapping names unknown post fields: {', '.join(unknown)}; the fields are: {', '.join(FIELDS)}")
    return mapping


def checked_label(source: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", source):
        raise ConfigError(f"source label {source!r}: use lower-case letters, digits, '-' and '_', starting with a letter (e.g. reddit)")
    return source


def resolve(mapping: dict[str, str], columns: list[str] | None, path: Path) -> dict[str, str]:
    """The mapping completed by same-named columns, checked against the file's columns."""
    if columns is None:
        return {**{field: field for field in FIELDS}, **mapping}
    resolved = {**{field: field for field in FIELDS if field in columns}, **mapping}
    absent = [f"{field}={column}" for field, column in mapping.items() if column not in columns]
    unmapped = [field for field in NEEDED if field not in resolved]
    if absent or unmapped:
        raise MappingError(_mapping_problem(path, absent, unmapped, columns))
    return resolved


def _mapping_problem(path: Path, absent: list[str], unmapped: list[str], columns: list[str]) -> str:
    problems = []
    if absent:
        problems.append(f"the mapping names columns it does not have ({', '.join(absent)})")
    if unmapped:
        problems.append(f"no column gives {', '.join(unmapped)}")
    have = ", ".join(columns) or "none"
    return f"{path.name}: {' and '.join(problems)}. Its columns are: {have}. Map a field to a column as FIELD=COLUMN, e.g. text=body."


# -- cells -------------------------------------------------------------------------------


def cell(field: str, value: Any) -> Any:
    """One cell made ready for validation: missing values None, ids text, times UTC."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if field == "created_at":
        return utc_time(value)
    if field in _ID_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NUMBER = re.compile(r"[-+]?\d+(\.\d*)?")


def utc_time(value: Any) -> Any:
    """A time cell as an aware datetime; what cannot be read is returned as it came,
    for validation to reject with its reason."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = value.strip()
        value = float(number) if "." in number else int(number)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_unix(value)
    if isinstance(value, str):
        return _from_iso(value)
    return value


def _from_unix(number: int | float) -> Any:
    # Seconds reach 1e11 only in the year 5138, milliseconds 1e14 likewise.
    scale = 1 if abs(number) < 1e11 else 1_000 if abs(number) < 1e14 else 1_000_000
    try:
        return _EPOCH + timedelta(microseconds=number * (1_000_000 // scale))
    except (OverflowError, ValueError):
        return number


def _from_iso(text: str) -> Any:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# -- formats ---------------------------------------------------------------------------


def format_of(path: Path) -> _Format:
    """The reader for a file, by its extension (JSON for others that open like JSON)."""
    suffix = path.suffix.lower()
    if suffix in _FORMATS:
        return _FORMATS[suffix]
    if _opens_like_json(path):
        return _JSON
    raise UnknownFormat(f"cannot tell the table format of {path.name}: name it .csv, .tsv, .jsonl, .ndjson, .json or .parquet")


def _opens_like_json(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:1] in (b"{", b"[")


def _sized(position: int, row: dict[str, Any], raw: str, limits: Limits) -> Row | Rejection:
    size = len(raw.encode())
    if size > limits.max_record_bytes:
        return Rejection(position, Reason.OVERSIZE, f"row is {size:,} bytes, over the limit of {limits.max_record_bytes:,}", raw)
    return position, row, raw


# CSV and TSV. Undecodable bytes are carried through as surrogates so one bad row
# is rejected as wrong_encoding instead of ending the read.


def _open_text(path: Path) -> TextIO:
    return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")


def _csv_columns(path: Path, delimiter: str) -> list[str] | None:
    with _open_text(path) as handle:
        try:
            return next(csv.reader(handle, delimiter=delimiter), None)
        except csv.Error as error:
            raise InputError(f"cannot read the header of {path.name}: {error}") from None


def _csv_rows(path: Path, limits: Limits, delimiter: str) -> Iterator[Row | Rejection]:
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_record_bytes))
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        for position, fields in enumerate(_csv_records(reader), start=1):
            if isinstance(fields, csv.Error):
                yield _unreadable_row(position, fields, reader.line_num)
            else:
                yield _csv_row(position, header or [], fields, limits)


def _csv_records(reader: Any) -> Iterator[list[str] | csv.Error]:
    """The reader's rows, blank lines left out, with an error in place of a row it cannot read."""
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield error
            continue
        if fields:
            yield fields


def _unreadable_row(position: int, error: csv.Error, line: int) -> Rejection:
    reason = Reason.OVERSIZE if "field larger than field limit" in str(error) else Reason.WRONG_TYPE
    return Rejection(position, reason, f"unreadable CSV at line {line}: {error}", "")


def _csv_row(position: int, header: list[str], fields: list[str], limits: Limits) -> Row | Rejection:
    row = dict(zip(header, fields)) if len(fields) == len(header) else None
    try:
        raw = orjson.dumps(fields if row is None else row).decode()
    except orjson.JSONEncodeError:
        text = [field.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") for field in fields]
        return Rejection(position, Reason.WRONG_ENCODING, "not UTF-8: the row holds bytes that are not valid UTF-8", orjson.dumps(text).decode())
    if row is None:
        return Rejection(position, Reason.WRONG_TYPE, f"the row has {len(fields)} fields, the header {len(header)}", raw)
    return _sized(position, row, raw, limits)


# JSON lines, or one JSON array of objects.


def _json_columns(path: Path) -> list[str] | None:
    columns: dict[str, None] = {}
    objects = (record[1] for record in json_records(path, 2**62) if not isinstance(record, Rejection) and isinstance(record[1], dict))
    for row in islice(objects, _JSON_SNIFF_ROWS):
        columns.update(dict.fromkeys(row))
    return list(columns) if columns else None


def _json_rows(path: Path, limits: Limits) -> Iterator[Row | Rejection]:
    for record in json_records(path, limits.max_record_bytes):
        if isinstance(record, Rejection):
            yield record
        elif isinstance(record[1], dict):
            yield record[0], record[1], raw_text(record[2])
        else:
            yield Rejection(record[0], Reason.NOT_A_POST, f"a JSON {type(record[1]).__name__}, not a row object", raw_text(record[2]))


# Parquet, a batch of rows at a time.


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path.name} is not a readable Parquet file: {error}") from None


def _parquet_columns(path: Path) -> list[str]:
    return _parquet_file(path).schema_arrow.names


def _parquet_rows(path: Path, limits: Limits) -> Iterator[Row | Rejection]:
    position = 0
    for batch in _parquet_file(path).iter_batches(batch_size=_PARQUET_BATCH_ROWS):
        for row in _microsecond_times(batch).to_pylist():
            position += 1
            yield _sized(position, row, orjson.dumps(row, default=_jsonable, option=orjson.OPT_NON_STR_KEYS).decode(), limits)


def _microsecond_times(batch: pa.RecordBatch) -> pa.RecordBatch:
    # Python datetimes stop at microseconds; pyarrow will not drop nanoseconds unasked.
    columns = [
        column.cast(pa.timestamp("us", column.type.tz), safe=False)
        if pa.types.is_timestamp(column.type) and column.type.unit == "ns"
        else column
        for column in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _jsonable(value: Any) -> Any:
    """Parquet values orjson does not write itself (decimals, bytes, durations)."""
    if isinstance(value, bytes):
        return raw_text(value)
    return str(value)


_JSON = _Format(_json_columns, _json_rows)
_FORMATS = {
    ".csv": _Format(partial(_csv_columns, delimiter=","), partial(_csv_rows, delimiter=",")),
    ".tsv": _Format(partial(_csv_columns, delimiter="\t"), partial(_csv_rows, delimiter="\t")),
    ".jsonl": _JSON,
    ".ndjson": _JSON,
    ".json": _JSON,
    ".parquet": _Format(_parquet_columns, _parquet_rows),
}
