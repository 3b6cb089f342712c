"""Read a timeline or metrics file, validate all of it, then write it in one transaction.

Every adapter is a pure parser (document in, :class:`Timeline` of rows out) that
raises one :class:`TimelineError` for the first thing wrong with the document,
so a malformed file imports nothing at all. :func:`import_timeline` then writes
the rows in one transaction:

- ``incident_events`` and ``metrics`` are upserted by key: re-importing a file
  changes nothing, not even ``imported_at``. A hand-written timeline (YAML, CSV)
  is the whole hand-written timeline of its incidents, so its events that are no
  longer in the file are removed (an edited YAML file re-imports cleanly).
- ``incidents`` rows from several sources merge column by column. A null never
  replaces a value. When both sides have a value, the column's preferred family
  wins: hand-written sources (``yaml``, ``csv``) for name, service, timezone,
  description and keywords; tool-recorded sources (``statuspage``,
  ``pagerduty``) for started_at, resolved_at and impact. Within one family the
  latest import wins. ``incidents.source`` lists every source merged into the
  row, comma-separated and sorted (``statuspage,yaml``), which is how a later
  import knows which family the stored values came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
from pydantic import BeforeValidator, PlainValidator, ValidationError

from pipeline.errors import InputError, TimelineError, UnknownFormat
from pipeline.store import Store

FORMATS = ("statuspage", "pagerduty", "prometheus", "yaml", "csv")
PHASES = ("investigating", "identified", "monitoring", "resolved")
Phase = Literal["investigating", "identified", "monitoring", "resolved"]

_FAMILY = {"statuspage": "recorded", "pagerduty": "recorded", "yaml": "manual", "csv": "manual"}
_PREFERRED_FAMILY = {
    "name": "manual",
    "service": "manual",
    "timezone": "manual",
    "description": "manual",
    "keywords": "manual",
    "started_at": "recorded",
    "resolved_at": "recorded",
    "impact": "recorded",
}
NOTHING_IMPORTED = "nothing from the file was imported"


# -- rows ------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentRow:
    """One ``incidents`` row. ``None`` means "this source does not say" (see the merge rules)."""

    id: str
    source: str
    name: str | None = None
    service: str | None = None
    timezone: str | None = None
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    impact: str | None = None
    description: str | None = None
    keywords: tuple[str, ...] | None = None


@dataclass(frozen=True)
class EventRow:
    """One ``incident_events`` row; times are UTC."""

    id: str
    incident_id: str
    occurred_at: datetime
    kind: str
    source: str
    phase: str | None = None
    title: str | None = None
    body: str | None = None
    components: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MetricPoint:
    """One ``metrics`` row. ``labels`` is compact JSON with sorted keys; ``value`` None is a gap."""

    metric: str
    labels: str
    observed_at: datetime
    value: float | None
    source: str


@dataclass(frozen=True)
class Timeline:
    """What one document holds, ready to write. ``replaces`` names the incidents whose
    events from ``source`` this document holds in full (hand-written timelines)."""

    source: str
    incidents: tuple[IncidentRow, ...] = ()
    events: tuple[EventRow, ...] = ()
    metrics: tuple[MetricPoint, ...] = ()
    replaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    """How many rows of each kind one file held, and how many of them the import changed."""

    origin: str
    format: str
    incidents: int = 0
    events: int = 0
    metrics: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0

    def render(self) -> str:
        line = (
            f"{self.origin} ({self.format}): {_count(self.incidents, 'incident')}, {_count(self.events, 'event')},"
            f" {_count(self.metrics, 'metric point')}; {self.written:,} new or changed,"
            f" {self.unchanged:,} already stored"
        )
        if self.removed:
            line += f", {_count(self.removed, 'event')} no longer in the file removed"
        return line


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


# -- validation helpers shared by the adapters ---------------------------------------


def invalid(error: ValidationError, origin: str, hint: str, prefix: str = "") -> TimelineError:
    """One TimelineError for pydantic's first problem: file, entry, what was wrong, what to do."""
    problems = error.errors(include_url=False)
    first = problems[0]
    where = entry_path(first["loc"], prefix) or "the document"
    more = f" (and {_count(len(problems) - 1, 'more problem')})" if len(problems) > 1 else ""
    return TimelineError(f"{origin}: {where}: {_problem(first)}{more}; {hint}; {NOTHING_IMPORTED}")


def failure(origin: str, where: str, what: str, hint: str) -> TimelineError:
    return TimelineError(f"{origin}: {where}: {what}; {hint}; {NOTHING_IMPORTED}")


def entry_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """``('incidents', 1, 'incident_updates', 3)`` -> ``incidents[1].incident_updates[3]``."""
    path = prefix
    for part in loc:
        joined = not path or path.endswith(" ")
        path += f"[{part}]" if isinstance(part, int) else (str(part) if joined else f".{part}")
    return path


def _problem(problem: dict[str, Any]) -> str:
    kind, message, value = problem["type"], problem["msg"], problem.get("input")
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return f"is not a key this format knows (got {short(value)})"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "literal_error":
        return f"unknown value {short(value)}, {message.replace('Input should be', 'expected')}"
    return f"{message.replace('Input should be', 'expected')}, got {_type_name(value)} {short(value)}"


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", int: "a number", float: "a number", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _time_of(value: Any) -> datetime:
    """A datetime from ISO 8601 text (or a datetime YAML already parsed); naive stays naive."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        day = value.isoformat()
        raise ValueError(f"{day} is a date without a time of day; write e.g. {day}T20:42:00")
    if isinstance(value, bool) or isinstance(value, int | float):
        raise ValueError(
            f"got the number {value!r} where a date and time belongs (YAML reads 20:42 as a number);"
            " write the full date and time, e.g. 2024-08-12T20:42:00-04:00"
        )
    if not isinstance(value, str):
        raise ValueError(f"expected a date and time, got {_type_name(value)} {short(value)}")
    if not value.strip():
        raise ValueError("is blank; expected a date and time like 2024-08-12T20:42:00-04:00")
    if not re.search(r"\d:\d\d", value):
        raise ValueError(f"time {value!r} has no time of day; write e.g. 2024-08-12T20:42:00-04:00")
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"unparseable time {value!r}, expected ISO 8601 like 2024-08-12T20:42:00-04:00") from None


def _utc_time(value: Any) -> datetime:
    parsed = _time_of(value)
    if parsed.utcoffset() is None:
        raise ValueError(f"time {value!s} has no UTC offset; expected e.g. 2024-08-12T20:42:00-04:00 or ...Z")
    return parsed.astimezone(timezone.utc)


def _zone_name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected an IANA time zone name, got {_type_name(value)} {short(value)}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name like America/New_York or UTC") from None
    return value


def _text_id(value: Any) -> Any:
    """YAML reads ``id: 2024-08-12`` as a date and ``id: 42`` as a number; an id is text."""
    if isinstance(value, date | int) and not isinstance(value, bool):
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


def _not_blank(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("is blank")
    return value


UtcTime = Annotated[datetime, PlainValidator(_utc_time)]
"""A time that must carry its offset (API exports); converted to UTC."""
LocalTime = Annotated[datetime, PlainValidator(_time_of)]
"""A time that may be naive (hand-written); :func:`to_utc` reads it in the incident's zone."""
ZoneName = Annotated[str, PlainValidator(_zone_name)]
Id = Annotated[str, BeforeValidator(_text_id), BeforeValidator(_not_blank)]
Text = Annotated[str, BeforeValidator(_not_blank)]


def to_utc(value: datetime, zone: str) -> datetime:
    if value.utcoffset() is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.astimezone(timezone.utc)


def unique(rows: list[Any], key: Any, origin: str, what: str) -> tuple[Any, ...]:
    """Drop exact repeats (an export concatenated from overlapping pages); conflicting ones are an error."""
    seen: dict[Any, Any] = {}
    for row in rows:
        other = seen.setdefault(key(row), row)
        if other != row:
            raise failure(origin, f"{what} {key(row)}", "appears twice with different contents", "keep one of them")
    return tuple(seen.values())


# -- reading a file ----------------------------------------------------------------


def read_timeline(
    path: Path, fmt: str = "auto", incident_id: str | None = None, metric_name: str | None = None
) -> tuple[str, Timeline]:
    """Parse and validate one file without touching a database; returns (format, rows)."""
    from pipeline.timeline import manual, pagerduty, prometheus, statuspage  # they import the row types above

    text = _read_text(path)
    fmt = detect_format(path, text) if fmt == "auto" else _known(fmt, path)
    origin = str(path)
    _check_options(origin, fmt, incident_id, metric_name)
    if fmt == "yaml":
        return fmt, manual.parse_yaml(manual.load_yaml(text, origin), origin=origin)
    if fmt == "csv":
        return fmt, manual.parse_csv(text, origin=origin)
    document = load_json(text, origin)
    if fmt == "statuspage":
        return fmt, statuspage.parse_statuspage(document, origin=origin, incident_id=incident_id)
    if fmt == "pagerduty":
        return fmt, pagerduty.parse_pagerduty(document, origin=origin, incident_id=incident_id)
    return fmt, prometheus.parse_prometheus(document, origin=origin, metric_name=metric_name)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}; check the path") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TimelineError(
            f"{path}: byte {error.start}: not UTF-8 text; save the file as UTF-8; {NOTHING_IMPORTED}"
        ) from None


def _known(fmt: str, path: Path) -> str:
    if fmt not in FORMATS:
        raise UnknownFormat(f"unknown timeline format {fmt!r} for {path}; use one of {', '.join(FORMATS)} or auto")
    return fmt


def _check_options(origin: str, fmt: str, incident_id: str | None, metric_name: str | None) -> None:
    if incident_id is not None and fmt not in ("statuspage", "pagerduty"):
        where = "metrics belong to no incident" if fmt == "prometheus" else "the file names its own incidents"
        raise TimelineError(
            f"{origin}: an incident id applies only to Statuspage and PagerDuty files ({where}); drop it"
        )
    if metric_name is not None and fmt != "prometheus":
        raise TimelineError(f"{origin}: a metric name applies only to Prometheus files; drop it")


def load_json(text: str, origin: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise failure(
            origin,
            f"line {error.lineno} column {error.colno}",
            f"not JSON ({error.msg})",
            "export the file again as JSON",
        ) from None


def detect_format(path: Path, text: str) -> str:
    """The format by extension (.yaml/.yml, .csv), else by the shape of the JSON."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".csv":
        return "csv"
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        if suffix == ".json":
            load_json(text, str(path))  # raises the precise "not JSON" error
        raise UnknownFormat(f"cannot tell the format of {path}; name it .yaml/.csv/.json or pass --format") from None
    return _json_format(document, path)


def _json_format(document: Any, path: Path) -> str:
    if isinstance(document, dict):
        if "log_entries" in document:
            return "pagerduty"
        if document.get("status") in ("success", "error") and ("data" in document or "errorType" in document):
            return "prometheus"
        if "incidents" in document or "incident_updates" in document:
            return "statuspage"
        shape = f"a JSON object with keys {', '.join(sorted(document)[:8]) or '(none)'}"
    elif isinstance(document, list) and document and all(_is_statuspage_incident(i) for i in document):
        return "statuspage"
    else:
        shape = f"a JSON {_type_name(document).removeprefix('a ').removeprefix('an ')}"
    raise UnknownFormat(
        f"cannot tell the format of {path} ({shape}); pass --format statuspage, pagerduty or prometheus"
    )


def _is_statuspage_incident(item: Any) -> bool:
    return isinstance(item, dict) and "incident_updates" in item


# -- writing -------------------------------------------------------------------------


def import_timeline(
    store: Store,
    path: Path,
    fmt: str = "auto",
    incident_id: str | None = None,
    metric_name: str | None = None,
) -> ImportReport:
    """Validate the whole file, then write it in one transaction (all of it or nothing).

    ``incident_id`` attaches a Statuspage or PagerDuty document's events to an
    incident you already have (e.g. the one your YAML timeline defines);
    ``metric_name`` names a Prometheus series whose query had no ``__name__``."""
    path = Path(path)
    fmt, timeline = read_timeline(path, fmt, incident_id, metric_name)
    with store.transaction():
        incidents = _merge_incidents(store, timeline.incidents)
        events = _upsert_events(store, timeline.events)
        removed = _remove_vanished_events(store, timeline)
        metrics = _upsert_metrics(store, timeline.metrics)
    total = len(timeline.incidents) + len(timeline.events) + len(timeline.metrics)
    written = incidents + events + metrics
    return ImportReport(
        origin=str(path),
        format=fmt,
        incidents=len(timeline.incidents),
        events=len(timeline.events),
        metrics=len(timeline.metrics),
        written=written,
        unchanged=total - written,
        removed=removed,
    )


_UTC = pa.timestamp("us", tz="UTC")
_TEXTS = pa.list_(pa.string())
_INCIDENT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("name", pa.string()),
        ("service", pa.string()),
        ("timezone", pa.string()),
        ("started_at", _UTC),
        ("resolved_at", _UTC),
        ("impact", pa.string()),
        ("description", pa.string()),
        ("keywords", _TEXTS),
    ]
)
_EVENT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("incident_id", pa.string()),
        ("occurred_at", _UTC),
        ("kind", pa.string()),
        ("source", pa.string()),
        ("phase", pa.string()),
        ("title", pa.string()),
        ("body", pa.string()),
        ("components", _TEXTS),
    ]
)
_METRIC_SCHEMA = pa.schema(
    [
        ("metric", pa.string()),
        ("labels", pa.string()),
        ("observed_at", _UTC),
        ("value", pa.float64()),
        ("source", pa.string()),
    ]
)
_INCIDENT_COLUMNS = ", ".join(_INCIDENT_SCHEMA.names)
_EVENT_VALUES = [name for name in _EVENT_SCHEMA.names if name != "id"]


def merge_incident(stored: IncidentRow | None, incoming: IncidentRow) -> IncidentRow:
    """The row to store when ``incoming`` meets what is stored (module docstring: merge rules)."""
    if stored is None:
        return replace(incoming, name=incoming.name or incoming.id, timezone=incoming.timezone or "UTC")
    sources = set(stored.source.split(","))
    stored_families = {_FAMILY.get(s) for s in sources}
    family = _FAMILY[incoming.source]
    merged = {}
    for column, preferred in _PREFERRED_FAMILY.items():
        new, old = getattr(incoming, column), getattr(stored, column)
        keep_old = new is None or (old is not None and family != preferred and preferred in stored_families)
        merged[column] = old if keep_old else new
    return replace(stored, **merged, source=",".join(sorted(sources | {incoming.source})))


def _merge_incidents(store: Store, incidents: tuple[IncidentRow, ...]) -> int:
    """Merge each incoming incident into its stored row; returns how many rows changed."""
    if not incidents:
        return 0
    stored = {
        row[0]: _incident_row(dict(zip(_INCIDENT_SCHEMA.names, row)))
        for row in store.query(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id IN (SELECT unnest(?::VARCHAR[]))",
            [[i.id for i in incidents]],
        )
    }
    changed: dict[str, IncidentRow] = {}
    for incident in incidents:
        merged = merge_incident(stored.get(incident.id), incident)
        if merged != stored.get(incident.id):
            changed[incident.id] = stored[incident.id] = merged
    if changed:
        with _registered(store, "incoming_incidents", _table(list(changed.values()), _INCIDENT_SCHEMA)):
            store.connection.execute(
                f"INSERT OR REPLACE INTO incidents ({_INCIDENT_COLUMNS}, imported_at) "
                f"SELECT {_INCIDENT_COLUMNS}, now() FROM incoming_incidents"
            )
    return len(changed)


def _upsert_events(store: Store, events: tuple[EventRow, ...]) -> int:
    """Insert new events and replace changed ones (an unchanged row keeps its imported_at)."""
    if not events:
        return 0
    incoming = ", ".join(f"n.{c}" for c in _EVENT_VALUES)
    stored = ", ".join(f"e.{c}" for c in _EVENT_VALUES)
    with _registered(store, "incoming_events", _table(list(events), _EVENT_SCHEMA)):
        return _rows_changed(
            store.connection.execute(
                f"INSERT OR REPLACE INTO incident_events (id, {', '.join(_EVENT_VALUES)}, imported_at) "
                f"SELECT n.id, {incoming}, now() FROM incoming_events n LEFT JOIN incident_events e ON e.id = n.id "
                f"WHERE e.id IS NULL OR ({incoming}) IS DISTINCT FROM ({stored})"
            )
        )


def _remove_vanished_events(store: Store, timeline: Timeline) -> int:
    """A hand-written file is its incidents' whole hand-written timeline: drop what left it."""
    if not timeline.replaces:
        return 0
    return _rows_changed(
        store.connection.execute(
            "DELETE FROM incident_events WHERE source = ? AND incident_id IN (SELECT unnest(?::VARCHAR[])) "
            "AND id NOT IN (SELECT unnest(?::VARCHAR[]))",
            [timeline.source, list(timeline.replaces), [e.id for e in timeline.events]],
        )
    )


def _upsert_metrics(store: Store, points: tuple[MetricPoint, ...]) -> int:
    """Insert new points and replace changed ones; the key is (metric, labels, observed_at)."""
    if not points:
        return 0
    with _registered(store, "incoming_metrics", _table(list(points), _METRIC_SCHEMA)):
        return _rows_changed(
            store.connection.execute(
                "INSERT OR REPLACE INTO metrics (metric, labels, observed_at, value, source) "
                "SELECT n.metric, n.labels, n.observed_at, n.value, n.source FROM incoming_metrics n "
                "LEFT JOIN metrics m ON m.metric = n.metric AND m.labels = n.labels AND m.observed_at = n.observed_at "
                "WHERE m.metric IS NULL OR (n.value, n.source) IS DISTINCT FROM (m.value, m.source)"
            )
        )


@contextmanager
def _registered(store: Store, name: str, table: pa.Table) -> Iterator[None]:
    store.connection.register(name, table)
    try:
        yield
    finally:
        store.connection.unregister(name)


def _rows_changed(result: Any) -> int:
    row = result.fetchone()
    return int(row[0]) if row else 0


def _table(rows: list[Any], schema: pa.Schema) -> pa.Table:
    columns = {name: [_list(getattr(row, name)) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def _list(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _incident_row(stored: dict[str, Any]) -> IncidentRow:
    keywords = stored.pop("keywords")
    return IncidentRow(**stored, keywords=None if keywords is None else tuple(keywords))
