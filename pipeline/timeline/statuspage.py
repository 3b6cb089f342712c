"""Atlassian Statuspage incidents: ``GET /api/v2/incidents.json`` and friends.

Accepted shapes: the page response ``{"page": {...}, "incidents": [...]}``, a bare
list of incidents, or one incident object. Each incident becomes an ``incidents``
row (``statuspage:<id>``, or the ``incident_id`` you pass); each of its
``incident_updates`` becomes an ``incident_events`` row ``statuspage:<update id>``
of kind ``status_update``, at ``display_at`` (else ``created_at``) in UTC, its
title the status as Statuspage shows it ("Investigating", "Postmortem", ...).

Status to phase:

============================================  ===============
investigating, identified, monitoring          the same
resolved, postmortem (published afterwards)    resolved
scheduled (maintenance announced, not begun)   none
in_progress (maintenance under way)            identified
verifying (maintenance being checked)          monitoring
completed (maintenance done)                   resolved
============================================  ===============

The incident's started_at is its ``started_at`` or else its earliest update;
resolved_at is its ``resolved_at``; impact, name and the page's name (as the
service) and time zone are kept.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, model_validator

from pipeline.errors import TimelineError
from pipeline.timeline.importer import (
    EventRow,
    Id,
    IncidentRow,
    Text,
    Timeline,
    UtcTime,
    ZoneName,
    failure,
    invalid,
    unique,
)

STATUS_PHASES: dict[str, str | None] = {
    "investigating": "investigating",
    "identified": "identified",
    "monitoring": "monitoring",
    "resolved": "resolved",
    "postmortem": "resolved",
    "scheduled": None,
    "in_progress": "identified",
    "verifying": "monitoring",
    "completed": "resolved",
}
Status = Literal[tuple(STATUS_PHASES)]  # type: ignore[valid-type]
HINT = (
    "a Statuspage export (/api/v2/incidents.json) has incidents[].incident_updates[],"
    " each with id, status and created_at"
)


class _Component(BaseModel):
    name: Text


class _Update(BaseModel):
    id: Id
    status: Status
    body: str | None = None
    created_at: UtcTime | None = None
    display_at: UtcTime | None = None
    affected_components: list[_Component] | None = None

    @model_validator(mode="after")
    def _has_a_time(self) -> _Update:
        if self.display_at is None and self.created_at is None:
            raise ValueError("has neither display_at nor created_at, so it has no time")
        return self


class _Incident(BaseModel):
    id: Id
    name: Text
    impact: str | None = None
    started_at: UtcTime | None = None
    resolved_at: UtcTime | None = None
    incident_updates: list[_Update] = []


class _PageInfo(BaseModel):
    name: str | None = None
    time_zone: ZoneName | None = None


class _Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page: _PageInfo | None = None
    incidents: list[_Incident]


_INCIDENTS = TypeAdapter(list[_Incident])


def parse_statuspage(document: Any, *, origin: str = "<statuspage>", incident_id: str | None = None) -> Timeline:
    """Rows from a Statuspage document (already decoded from JSON)."""
    page, incidents = _validate(document, origin)
    if incident_id is not None and len(incidents) != 1:
        raise _mixed(origin, incidents, incident_id)
    rows, events = [], []
    for incident in incidents:
        row, its_events = _rows(incident, page, incident_id)
        rows.append(row)
        events.extend(its_events)
    events.sort(key=lambda e: (e.occurred_at, e.id))
    return Timeline(
        source="statuspage",
        incidents=unique(rows, lambda r: r.id, origin, "incident"),
        events=unique(events, lambda e: e.id, origin, "incident update"),
    )


def _validate(document: Any, origin: str) -> tuple[_PageInfo, list[_Incident]]:
    if not isinstance(document, dict | list):
        raise failure(origin, "the document", f"is JSON {type(document).__name__}, not an object or a list", HINT)
    try:
        if isinstance(document, list):
            return _PageInfo(), _INCIDENTS.validate_python(document)
        if "incidents" in document:
            page = _Page.model_validate(document)
            return page.page or _PageInfo(), page.incidents
        return _PageInfo(), [_Incident.model_validate(document)]
    except ValidationError as error:
        raise invalid(error, origin, HINT) from None


def _mixed(origin: str, incidents: list[_Incident], incident_id: str) -> TimelineError:
    ids = ", ".join(i.id for i in incidents[:5]) + (", ..." if len(incidents) > 5 else "")
    return failure(
        origin,
        "the document",
        f"holds {len(incidents)} incidents ({ids or 'none'}) but one incident id ({incident_id!r}) was given, "
        "so their updates would mix into one timeline",
        "import it without an incident id, or split it into one file per incident",
    )


def _rows(incident: _Incident, page: _PageInfo, incident_id: str | None) -> tuple[IncidentRow, list[EventRow]]:
    target = incident_id or f"statuspage:{incident.id}"
    events = sorted((_event(update, target) for update in incident.incident_updates), key=lambda e: e.occurred_at)
    row = IncidentRow(
        id=target,
        source="statuspage",
        name=incident.name,
        service=page.name,
        timezone=page.time_zone,
        started_at=incident.started_at or (events[0].occurred_at if events else None),
        resolved_at=incident.resolved_at,
        impact=incident.impact,
    )
    return row, events


def _event(update: _Update, incident_id: str) -> EventRow:
    components = tuple(c.name for c in update.affected_components or ())
    return EventRow(
        id=f"statuspage:{update.id}",
        incident_id=incident_id,
        occurred_at=update.display_at or update.created_at,  # type: ignore[arg-type]  # the validator ensures one
        kind="status_update",
        source="statuspage",
        phase=STATUS_PHASES[update.status],
        title=update.status.replace("_", " ").capitalize(),
        body=update.body or None,
        components=components or None,
    )
