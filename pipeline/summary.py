"""The plain-text summary of a database: what was ingested, around each incident,
and what was rejected. Queries here; the CLI renders them with rich."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.store import Store


@dataclass(frozen=True)
class MinuteRow:
    minute: datetime  # in the incident's time zone
    posts: int
    events: tuple[str, ...]


@dataclass(frozen=True)
class IncidentWindow:
    incident_id: str
    name: str
    timezone: str
    started_at: datetime | None
    posts_in_window: int
    minutes: tuple[MinuteRow, ...]


@dataclass(frozen=True)
class Summary:
    posts_by_source: tuple[tuple[str, int, datetime | None, datetime | None], ...]
    rejects: tuple[tuple[str, str, int, str], ...]
    incidents: tuple[IncidentWindow, ...]
    metric_points: int
    events: int


def summarize(store: Store, *, before: timedelta = timedelta(minutes=15), after: timedelta = timedelta(minutes=45)) -> Summary:
    """Counts per source, per-minute volume around each incident's start, rejects by reason."""
    return Summary(
        posts_by_source=tuple(
            store.query(
                "SELECT source, count(*), min(created_at), max(created_at) FROM posts GROUP BY source ORDER BY count(*) DESC"
            )
        ),
        rejects=tuple(
            store.query(
                "SELECT source, reason, count(*), min(detail) FROM rejected GROUP BY source, reason ORDER BY source, count(*) DESC, reason"
            )
        ),
        incidents=tuple(_windows(store, before, after)),
        metric_points=store.query("SELECT count(*) FROM metrics")[0][0],
        events=store.query("SELECT count(*) FROM incident_events")[0][0],
    )


def _windows(store: Store, before: timedelta, after: timedelta) -> list[IncidentWindow]:
    incidents = store.query(
        "SELECT i.id, i.name, i.timezone, coalesce(i.started_at, min(e.occurred_at)) AS start "
        "FROM incidents i LEFT JOIN incident_events e ON e.incident_id = i.id "
        "GROUP BY i.id, i.name, i.timezone, i.started_at ORDER BY start"
    )
    return [_window(store, *incident, before, after) for incident in incidents]


def _window(
    store: Store, incident_id: str, name: str, tz: str, started_at: datetime | None, before: timedelta, after: timedelta
) -> IncidentWindow:
    if started_at is None:
        return IncidentWindow(incident_id, name, tz, None, 0, ())
    rows = store.query(
        """
        WITH minutes AS (
            SELECT unnest(generate_series(date_trunc('minute', $start::TIMESTAMPTZ) - $before,
                                          date_trunc('minute', $start::TIMESTAMPTZ) + $after,
                                          INTERVAL 1 MINUTE)) AS minute
        ),
        volume AS (
            SELECT date_trunc('minute', created_at) AS minute, count(*) AS posts
            FROM posts
            WHERE created_at >= $start::TIMESTAMPTZ - $before - INTERVAL 1 MINUTE
              AND created_at <  $start::TIMESTAMPTZ + $after + INTERVAL 1 MINUTE
            GROUP BY 1
        ),
        events AS (
            SELECT date_trunc('minute', occurred_at) AS minute,
                   list(CASE WHEN kind = 'status_update' THEN 'status: ' || coalesce(phase, title)
                             ELSE kind || ': ' || coalesce(title, left(body, 60)) END
                        ORDER BY occurred_at) AS labels
            FROM incident_events WHERE incident_id = $incident
            GROUP BY 1
        )
        SELECT m.minute, coalesce(v.posts, 0), coalesce(e.labels, [])
        FROM minutes m LEFT JOIN volume v USING (minute) LEFT JOIN events e USING (minute)
        ORDER BY m.minute
        """,
        {"start": started_at, "before": before, "after": after, "incident": incident_id},
    )
    zone = ZoneInfo(tz)
    minutes = tuple(MinuteRow(minute.astimezone(zone), posts, tuple(labels)) for minute, posts, labels in rows)
    return IncidentWindow(incident_id, name, tz, started_at, sum(m.posts for m in minutes), minutes)
