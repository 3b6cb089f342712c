"""PagerDuty incident log entries: ``GET /incidents/{id}/log_entries`` (or ``/log_entries``).

Each log entry becomes an ``incident_events`` row ``pagerduty:<entry id>``:

========================  ================  =============
entry type                kind              phase
========================  ================  =============
trigger_log_entry         alert             investigating
acknowledge_log_entry     acknowledge       investigating
annotate_log_entry        note              none
resolve_log_entry         alert_resolved    resolved
any other ``X_log_entry`` X (e.g. escalate)  none
========================  ================  =============

The title is the entry's ``summary``; the body is what its channel says (the
alert's summary for a trigger, the note for an annotation) when that adds
anything. Each PagerDuty incident becomes an ``incidents`` row
``pagerduty:<incident id>`` (or the ``incident_id`` you pass) named by its
summary, started at its first trigger and resolved at its last resolve entry.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError

from pipeline.timeline.importer import EventRow, Id, IncidentRow, Timeline, UtcTime, failure, invalid, unique

KINDS: dict[str, tuple[str, str | None]] = {
    "trigger": ("alert", "investigating"),
    "acknowledge": ("acknowledge", "investigating"),
    "annotate": ("note", None),
    "resolve": ("alert_resolved", "resolved"),
}
HINT = (
    "a PagerDuty export (/incidents/{id}/log_entries) has log_entries[],"
    " each with id, type, created_at, summary and incident"
)
_CHANNEL_TEXT = ("summary", "content", "description", "subject")


class _Reference(BaseModel):
    id: Id
    summary: str | None = None


class _Entry(BaseModel):
    id: Id
    type: Annotated[str, Field(pattern=r"^[a-z_]+$")]
    created_at: UtcTime
    summary: str | None = None
    channel: dict[str, Any] | None = None
    incident: _Reference | None = None
    service: _Reference | None = None


class _Log(BaseModel):
    log_entries: list[_Entry]


def parse_pagerduty(document: Any, *, origin: str = "<pagerduty>", incident_id: str | None = None) -> Timeline:
    """Rows from a PagerDuty log entries document (already decoded from JSON)."""
    if not isinstance(document, dict):
        raise failure(origin, "the document", f"is JSON {type(document).__name__}, not an object", HINT)
    try:
        entries = _Log.model_validate(document).log_entries
    except ValidationError as error:
        raise invalid(error, origin, HINT) from None
    groups = _by_incident(entries, origin, incident_id)
    incidents = [_incident(target, group) for target, group in groups.items()]
    events = sorted((_event(entry, target) for target, group in groups.items() for entry in group), key=_order)
    return Timeline(
        source="pagerduty",
        incidents=unique(incidents, lambda r: r.id, origin, "incident"),
        events=unique(events, lambda e: e.id, origin, "log entry"),
    )


def _by_incident(entries: list[_Entry], origin: str, incident_id: str | None) -> dict[str, list[_Entry]]:
    native = {entry.incident.id for entry in entries if entry.incident}
    if incident_id is not None and len(native) > 1:
        raise failure(
            origin,
            "log_entries",
            f"belong to {len(native)} PagerDuty incidents ({', '.join(sorted(native)[:5])}) "
            f"but one incident id ({incident_id!r}) was given, so their timelines would mix",
            "import it without an incident id, or export one incident's log entries per file",
        )
    groups: dict[str, list[_Entry]] = defaultdict(list)
    for position, entry in enumerate(entries):
        if incident_id is None and entry.incident is None:
            raise failure(
                origin,
                f"log_entries[{position}].incident",
                "is missing, so the entry belongs to no incident",
                "export log entries with their incident, or pass the incident id to attach them to",
            )
        groups[incident_id or f"pagerduty:{entry.incident.id}"].append(entry)  # type: ignore[union-attr]
    return groups


def _incident(target: str, entries: list[_Entry]) -> IncidentRow:
    triggers = [e.created_at for e in entries if e.type == "trigger_log_entry"]
    resolves = [e.created_at for e in entries if e.type == "resolve_log_entry"]
    reference = next((e.incident for e in entries if e.incident), None)
    service = next((e.service.summary for e in entries if e.service and e.service.summary), None)
    return IncidentRow(
        id=target,
        source="pagerduty",
        name=_name(reference),
        service=service,
        started_at=min(triggers or [e.created_at for e in entries]),
        resolved_at=max(resolves) if resolves else None,
    )


def _name(reference: _Reference | None) -> str | None:
    if reference is None:
        return None
    return reference.summary or f"PagerDuty incident {reference.id}"


def _event(entry: _Entry, incident_id: str) -> EventRow:
    action = entry.type.removesuffix("_log_entry")
    kind, phase = KINDS.get(action, (action, None))
    return EventRow(
        id=f"pagerduty:{entry.id}",
        incident_id=incident_id,
        occurred_at=entry.created_at,
        kind=kind,
        source="pagerduty",
        phase=phase,
        title=entry.summary or None,
        body=_channel_text(entry),
    )


def _channel_text(entry: _Entry) -> str | None:
    """What the channel adds: a trigger's alert summary, an annotation's note."""
    channel = entry.channel or {}
    for key in _CHANNEL_TEXT:
        text = channel.get(key)
        if isinstance(text, str) and text.strip() and text != entry.summary:
            return text
    return None


def _order(event: EventRow) -> tuple[datetime, str]:
    return event.occurred_at, event.id
