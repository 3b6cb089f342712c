"""Hand-written timelines, YAML or CSV: what no tool recorded (public statements,
deploys, scaling tests, schedule changes).

The YAML shape (one incident per file)::

    incident:
      id: spaces-2024-08-12            # required: your id for the incident
      name: X Spaces fails at launch   # required
      service: X Spaces                # optional
      timezone: America/New_York       # optional IANA name, default UTC; naive times are read in it
      started_at: 2024-08-12 20:00     # optional
      resolved_at: 2024-08-12 22:10    # optional
      impact: major                    # optional
      description: ...                 # optional
      keywords: [spaces, ddos]         # optional
    events:                            # optional list
      - at: 2024-08-12 20:00           # required: naive (incident timezone) or with an offset (...-04:00, ...Z)
        kind: statement                # required: a lowercase word (statement, deploy, mitigation, scaling_test, ...)
        title: "Spaces will start in a few minutes"   # required
        body: ...                      # optional
        phase: investigating           # optional: investigating | identified | monitoring | resolved
        components: [audio]            # optional list

The CSV shape: a header row with ``incident_id, at, kind, title`` and, optionally,
``body, phase, timezone`` (an IANA name for that row's naive ``at``; without it a
naive time is UTC). An incident a CSV names but no other import defined gets a
row named by its id.

Event ids are ``yaml:<incident id>:<n>`` (``csv:...``), n counting that
incident's events from 1 in file order. A hand-written file holds the whole
hand-written timeline of its incidents: re-importing an edited file replaces
what the previous import of that format wrote for them (keep one YAML file per
incident).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from pipeline.timeline.importer import (
    EventRow,
    Id,
    IncidentRow,
    LocalTime,
    Phase,
    Text,
    Timeline,
    ZoneName,
    failure,
    invalid,
    short,
    to_utc,
    unique,
)

YAML_HINT = (
    "the YAML shape is incident: {id, name, timezone?, started_at?, resolved_at?, description?, keywords?} and "
    "events: [{at, kind, title, body?, phase?, components?}] (see pipeline/timeline/manual.py)"
)
CSV_COLUMNS = ("incident_id", "at", "kind", "title", "body", "phase", "timezone")
CSV_REQUIRED = CSV_COLUMNS[:4]
CSV_HINT = f"the CSV needs a header row with {', '.join(CSV_REQUIRED)} and optionally body, phase, timezone"


def _kind(value: Any) -> Any:
    if isinstance(value, str) and not (value[:1].isalpha() and value.replace("_", "a").isalnum() and value.islower()):
        raise ValueError(
            f"kind {value!r} is not a lowercase word; write e.g. statement, deploy, mitigation, scaling_test"
        )
    return value


Kind = Annotated[str, BeforeValidator(_kind)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Incident(_Strict):
    id: Id
    name: Text
    service: str | None = None
    timezone: ZoneName = "UTC"
    started_at: LocalTime | None = None
    resolved_at: LocalTime | None = None
    impact: str | None = None
    description: str | None = None
    keywords: list[Text] | None = None


class _Event(_Strict):
    at: LocalTime
    kind: Kind
    title: Text
    body: str | None = None
    phase: Phase | None = None
    components: list[Text] | None = None


class _Document(_Strict):
    incident: _Incident
    events: list[_Event] = []


class _CsvRow(_Strict):
    incident_id: Id
    at: LocalTime
    kind: Kind
    title: Text
    body: str | None = None
    phase: Phase | None = None
    timezone: ZoneName = "UTC"


# -- YAML ----------------------------------------------------------------------------


def load_yaml(text: str, origin: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "the document"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise failure(origin, where, f"not YAML ({problem})", YAML_HINT) from None


def parse_yaml(document: Any, *, origin: str = "<yaml>") -> Timeline:
    """Rows from a hand-written YAML timeline (already decoded by ``yaml.safe_load``)."""
    if not isinstance(document, dict):
        what = f"is {short(document)}, not a mapping with incident and events"
        raise failure(origin, "the document", what, YAML_HINT)
    try:
        parsed = _Document.model_validate(document)
    except ValidationError as error:
        raise invalid(error, origin, YAML_HINT) from None
    incident, zone = parsed.incident, parsed.incident.timezone
    row = IncidentRow(
        id=incident.id,
        source="yaml",
        name=incident.name,
        service=incident.service,
        timezone=zone,
        started_at=to_utc(incident.started_at, zone) if incident.started_at else None,
        resolved_at=to_utc(incident.resolved_at, zone) if incident.resolved_at else None,
        impact=incident.impact,
        description=incident.description,
        keywords=tuple(incident.keywords) if incident.keywords is not None else None,
    )
    events = [_event("yaml", incident.id, n, event, zone) for n, event in enumerate(parsed.events, 1)]
    return Timeline(source="yaml", incidents=(row,), events=_sorted(events, origin), replaces=(incident.id,))


def _event(source: str, incident_id: str, n: int, event: _Event | _CsvRow, zone: str) -> EventRow:
    return EventRow(
        id=f"{source}:{incident_id}:{n}",
        incident_id=incident_id,
        occurred_at=to_utc(event.at, zone),
        kind=event.kind,
        source=source,
        phase=event.phase,
        title=event.title,
        body=event.body or None,
        components=tuple(event.components) if getattr(event, "components", None) else None,
    )


def _sorted(events: list[EventRow], origin: str) -> tuple[EventRow, ...]:
    return unique(sorted(events, key=lambda e: (e.occurred_at, e.id)), lambda e: e.id, origin, "event")


# -- CSV -----------------------------------------------------------------------------


def parse_csv(text: str, *, origin: str = "<csv>") -> Timeline:
    """Rows from a hand-written CSV timeline (the file's text)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    _check_header(reader.fieldnames, origin)
    counts: dict[str, int] = defaultdict(int)
    events = []
    for fields in reader:
        row = _csv_row(fields, reader.line_num, origin)
        counts[row.incident_id] += 1
        events.append(_event("csv", row.incident_id, counts[row.incident_id], row, row.timezone))
    incidents = tuple(IncidentRow(id=incident_id, source="csv") for incident_id in counts)
    return Timeline(source="csv", incidents=incidents, events=_sorted(events, origin), replaces=tuple(counts))


def _check_header(header: list[str] | None, origin: str) -> None:
    columns = [c.strip() for c in header or []]
    missing = [c for c in CSV_REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if missing or unknown:
        what = "; ".join(
            part
            for part in (
                f"lacks column{'s' if len(missing) > 1 else ''} {', '.join(missing)}" if missing else "",
                f"has unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
                if unknown
                else "",
            )
            if part
        )
        raise failure(origin, "line 1 (the header)", what, CSV_HINT)


def _csv_row(fields: dict[str | None, Any], line: int, origin: str) -> _CsvRow:
    if None in fields:
        what = f"has more cells than the header ({short(fields[None])} left over)"
        raise failure(origin, f"line {line}", what, CSV_HINT)
    present = {key.strip(): value for key, value in fields.items() if key and value is not None and value.strip()}
    try:
        return _CsvRow.model_validate(present)
    except ValidationError as error:
        raise invalid(error, origin, CSV_HINT, prefix=f"line {line}, column ") from None
