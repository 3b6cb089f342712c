"""Spike detection on relevant complaint volume: a baseline, three states, hysteresis, alerts.

The observed series is, per incident and minute, the number of relevant posts whose
complaint type is not ``none`` (``incident_minutes.complaint_posts``). Its expected
level comes from one of two baselines, both computed in DuckDB by
:func:`refresh_baseline` (called by :func:`pipeline.align.refresh`):

- **seasonal**, where history exists: the same minutes of day (the minute and two
  on each side) on each of the previous ``detector_history_days`` days whose hour
  holds posts, when at least :data:`MIN_HISTORY_DAYS` do. Downdetector's "above
  the typical volume for this time of day": a nightly show that always draws
  complaints at 20:00 is not an outage.
- **rolling** otherwise: the preceding ``detector_baseline_minutes`` minutes of the
  incident's window, once :data:`WARM_UP_MINUTES` of them exist.

Either way the level is the median and the spread the MAD (times 1.4826, the
normal-consistent scale), floored at the Poisson spread ``sqrt(level)`` and at 1,
so a flat run of zeros does not make one post a spike. A minute is *above* a
state's threshold when it reaches ``level + z * spread`` (``detector_elevated_z``,
``detector_incident_z``) and at least ``detector_min_posts`` posts.

:func:`evaluate` walks the minutes in order (a state machine is sequential; the
minutes are few) with hysteresis: it enters a state after
``detector_enter_minutes`` minutes in a row above its threshold and leaves it
only after ``detector_exit_minutes`` in a row below a lower one
(``detector_exit_ratio`` of the entering deviations), so one burst does not flap.
While out of the normal state a rolling baseline is frozen at its last normal
value: otherwise a long outage would become its own baseline within half an hour.
Every state change is an alert; :func:`run_detector` stores them in ``alerts``
under stable ids, so running the detector again raises nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa

from pipeline.config import Settings
from pipeline.errors import UnknownIncident
from pipeline.store import Store

DETECTOR = "complaint_volume"
STATES = ("normal", "elevated", "incident")
MIN_HISTORY_DAYS = 3
WARM_UP_MINUTES = 10
SEASONAL_SPREAD_MINUTES = 2
MAD_SCALE = 1.4826


@dataclass(frozen=True)
class DetectorParams:
    elevated_z: float
    incident_z: float
    exit_ratio: float
    min_posts: int
    enter_minutes: int
    exit_minutes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> DetectorParams:
        return cls(
            elevated_z=settings.detector_elevated_z,
            incident_z=settings.detector_incident_z,
            exit_ratio=settings.detector_exit_ratio,
            min_posts=settings.detector_min_posts,
            enter_minutes=settings.detector_enter_minutes,
            exit_minutes=settings.detector_exit_minutes,
        )

    def z(self, level: int) -> float:
        return (0.0, self.elevated_z, self.incident_z)[level]

    def enter_threshold(self, level: int, baseline: float, scale: float) -> float:
        return max(baseline + self.z(level) * scale, float(self.min_posts))

    def exit_threshold(self, level: int, baseline: float, scale: float) -> float:
        return baseline + self.exit_ratio * self.z(level) * scale


@dataclass(frozen=True)
class MinuteBaseline:
    """One row of ``incident_minute_baseline``: what was seen and what was expected."""

    minute: datetime
    observed: int
    baseline: float | None
    scale: float | None
    seasonal: bool


@dataclass(frozen=True)
class Transition:
    """A change of state at ``minute``; ``run_start`` is the first minute of the run that caused it."""

    minute: datetime
    state: str
    previous_state: str
    observed: int
    baseline: float
    threshold: float
    seasonal: bool
    run_start: datetime


@dataclass(frozen=True)
class Alert:
    id: str
    incident_id: str
    detector: str
    minute: datetime
    state: str
    previous_state: str
    observed: float
    baseline: float
    threshold: float
    message: str
    delivery_status: str

    def render(self) -> str:
        return (
            f"{self.minute:%Y-%m-%d %H:%M} UTC  {self.incident_id}  {self.previous_state} -> {self.state}  "
            f"{self.observed:g} complaints/min (baseline {self.baseline:.1f}, threshold {self.threshold:.1f})  "
            f"[{self.delivery_status}]"
        )


@dataclass(frozen=True)
class DetectionReport:
    alerts: tuple[Alert, ...]
    """Every stored alert of the incidents evaluated, old and new, in time order."""
    new: int

    def render(self) -> str:
        return f"detector {DETECTOR}: {len(self.alerts)} alerts ({self.new} new)"


# -- the baseline, in SQL --------------------------------------------------------------


def refresh_baseline(store: Store, settings: Settings) -> None:
    """Rewrite ``incident_minute_baseline`` from ``incident_minutes`` and ``minute_volume``."""
    window = settings.detector_baseline_minutes
    store.connection.execute("DELETE FROM incident_minute_baseline")
    store.connection.execute(
        f"""
        INSERT INTO incident_minute_baseline
        WITH series AS (
            SELECT incident_id, minute, complaint_posts AS observed FROM incident_minutes
        ),
        rolling AS (
            SELECT incident_id, minute, observed,
                   median(observed) OVER preceding AS level,
                   mad(observed) OVER preceding AS mad,
                   count(*) OVER preceding AS minutes
            FROM series
            WINDOW preceding AS (PARTITION BY incident_id ORDER BY minute ROWS BETWEEN {window} PRECEDING AND 1 PRECEDING)
        ),
        covered_hours AS (
            SELECT date_trunc('hour', minute) AS hour FROM minute_volume GROUP BY 1 HAVING sum(posts) > 0
        ),
        history_days AS (
            SELECT s.incident_id, s.minute, d.days_back
            FROM series s CROSS JOIN range(1, {settings.detector_history_days + 1}) d(days_back)
            SEMI JOIN covered_hours c ON c.hour = date_trunc('hour', s.minute - to_days(d.days_back::INTEGER))
        ),
        seasonal AS (
            SELECT h.incident_id, h.minute, count(DISTINCT h.days_back) AS days,
                   median(coalesce(v.complaint_posts, 0)) AS level,
                   mad(coalesce(v.complaint_posts, 0)) AS mad
            FROM history_days h
            CROSS JOIN range(-{SEASONAL_SPREAD_MINUTES}, {SEASONAL_SPREAD_MINUTES + 1}) o(offset_minutes)
            LEFT JOIN minute_volume v
                ON v.minute = h.minute - to_days(h.days_back::INTEGER) + to_minutes(o.offset_minutes::INTEGER)
            GROUP BY h.incident_id, h.minute
        ),
        chosen AS (
            SELECT r.incident_id, r.minute, r.observed,
                   coalesce(s.days, 0) >= {MIN_HISTORY_DAYS} AS seasonal,
                   coalesce(s.days, 0)::INTEGER AS history_days,
                   CASE WHEN coalesce(s.days, 0) >= {MIN_HISTORY_DAYS} THEN s.level
                        WHEN r.minutes >= {min(WARM_UP_MINUTES, window)} THEN r.level END AS level,
                   CASE WHEN coalesce(s.days, 0) >= {MIN_HISTORY_DAYS} THEN s.mad ELSE r.mad END AS mad
            FROM rolling r LEFT JOIN seasonal s USING (incident_id, minute)
        )
        SELECT incident_id, minute, observed, level AS baseline,
               CASE WHEN level IS NOT NULL THEN greatest({MAD_SCALE} * mad, sqrt(greatest(level, 1))) END AS scale,
               seasonal, history_days
        FROM chosen
        ORDER BY incident_id, minute
        """
    )


def baselines(store: Store, incident_ids: Sequence[str] | None = None) -> dict[str, list[MinuteBaseline]]:
    """Each incident's minutes with their baseline, in time order, up to the newest post's minute:
    the minutes after it have not happened yet (a live run, a replay), and their zeros must not
    read as the complaints dying down."""
    where, params = ("AND incident_id IN (SELECT unnest(?::VARCHAR[]))", [list(incident_ids)]) if incident_ids else ("", [])
    rows = store.query(
        "SELECT incident_id, minute, observed, baseline, scale, seasonal FROM incident_minute_baseline "
        f"WHERE minute <= (SELECT date_trunc('minute', max(created_at)) FROM posts) {where} "
        "ORDER BY incident_id, minute",
        params,
    )
    series: dict[str, list[MinuteBaseline]] = {incident: [] for incident in incident_ids or ()}
    for incident, *values in rows:
        series.setdefault(incident, []).append(MinuteBaseline(*values))
    return series


# -- the state machine ---------------------------------------------------------------------


def evaluate(minutes: Iterable[MinuteBaseline], params: DetectorParams) -> list[Transition]:
    """The state changes over ``minutes`` (in time order), with hysteresis; see the module docstring."""
    state = 0
    frozen: tuple[float, float] | None = None
    above = [0, 0, 0]  # minutes in a row at or above each state's entering threshold
    below = [0, 0, 0]  # minutes in a row below each state's leaving threshold
    transitions = []
    for row in minutes:
        if row.baseline is None or row.scale is None:
            above, below = [0, 0, 0], [0, 0, 0]
            continue
        baseline, scale = frozen if frozen and not row.seasonal else (row.baseline, row.scale)
        for level in (1, 2):
            above[level] = above[level] + 1 if row.observed >= params.enter_threshold(level, baseline, scale) else 0
            below[level] = below[level] + 1 if row.observed < params.exit_threshold(level, baseline, scale) else 0
        target = next((level for level in (2, 1) if level > state and above[level] >= params.enter_minutes), state)
        if target == state:
            while target > 0 and below[target] >= params.exit_minutes:
                target -= 1
        if target == state:
            continue
        rising = target > state
        run = above[target] if rising else below[state]
        transitions.append(
            Transition(
                minute=row.minute,
                state=STATES[target],
                previous_state=STATES[state],
                observed=row.observed,
                baseline=baseline,
                threshold=(params.enter_threshold(target, baseline, scale) if rising else params.exit_threshold(state, baseline, scale)),
                seasonal=row.seasonal,
                run_start=row.minute - timedelta(minutes=run - 1),
            )
        )
        if state == 0:
            frozen = (baseline, scale)
        state = target
        if state == 0:
            frozen = None
    return transitions


def first_spike(transitions: Sequence[Transition]) -> datetime | None:
    """When the complaint volume first broke from its baseline: the start of the run that
    first took the detector out of the normal state."""
    return next((t.run_start for t in transitions if t.previous_state == "normal"), None)


# -- alerts ------------------------------------------------------------------------------


def run_detector(store: Store, settings: Settings, incident_id: str | None = None) -> DetectionReport:
    """Evaluate one incident (or every aligned one) and store its state changes in ``alerts``,
    each once (ids are stable, so a rerun raises nothing twice)."""
    incidents = _incidents(store, incident_id)
    params = DetectorParams.from_settings(settings)
    status = "pending" if settings.alert_webhook_url else "not_configured"
    alerts = [
        _alert(incident, transition, status)
        for incident, minutes in baselines(store, incidents).items()
        for transition in evaluate(minutes, params)
    ]
    new = store_alerts(store, alerts)
    return DetectionReport(tuple(alerts_of(store, incidents)), new)


def _incidents(store: Store, incident_id: str | None) -> list[str]:
    known = [row[0] for row in store.query("SELECT incident_id FROM alignment_windows ORDER BY incident_id")]
    if incident_id is None:
        return known
    if incident_id not in known:
        listed = ", ".join(known) or "none aligned yet (run `groundswell align`)"
        raise UnknownIncident(f"no aligned incident {incident_id!r}; incidents: {listed}")
    return [incident_id]


def _alert(incident_id: str, transition: Transition, status: str) -> Alert:
    minute = transition.minute
    run = int((minute - transition.run_start).total_seconds() // 60) + 1
    kind = "seasonal" if transition.seasonal else "rolling"
    if STATES.index(transition.state) > STATES.index(transition.previous_state):
        what = f"{transition.observed} relevant complaint posts/min, at or above {transition.threshold:.1f} for {run} min"
    else:
        what = f"below {transition.threshold:.1f} relevant complaint posts/min for {run} min, now {transition.observed}"
    message = (
        f"[{incident_id}] {transition.previous_state} -> {transition.state} at {minute:%Y-%m-%d %H:%M} UTC: "
        f"{what} ({kind} baseline {transition.baseline:.1f})"
    )
    return Alert(
        id=f"{incident_id}/{DETECTOR}/{minute:%Y-%m-%dT%H:%MZ}/{transition.state}",
        incident_id=incident_id,
        detector=DETECTOR,
        minute=minute,
        state=transition.state,
        previous_state=transition.previous_state,
        observed=float(transition.observed),
        baseline=transition.baseline,
        threshold=transition.threshold,
        message=message,
        delivery_status=status,
    )


_ALERT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("incident_id", pa.string()),
        ("detector", pa.string()),
        ("minute", pa.timestamp("us", tz="UTC")),
        ("state", pa.string()),
        ("previous_state", pa.string()),
        ("observed", pa.float64()),
        ("baseline", pa.float64()),
        ("threshold", pa.float64()),
        ("message", pa.string()),
        ("delivery_status", pa.string()),
    ]
)


def store_alerts(store: Store, alerts: Sequence[Alert]) -> int:
    """Insert the alerts not stored yet, in one transaction; returns how many were new."""
    if not alerts:
        return 0
    table = pa.Table.from_pylist([alert.__dict__ for alert in alerts], schema=_ALERT_SCHEMA)
    with store.transaction():
        store.connection.register("incoming_alerts", table)
        try:
            inserted = store.connection.execute(
                "INSERT OR IGNORE INTO alerts BY NAME SELECT *, now() AS raised_at, 0 AS delivery_attempts FROM incoming_alerts"
            ).fetchall()
        finally:
            store.connection.unregister("incoming_alerts")
    return inserted[0][0]


def alerts_of(
    store: Store, incident_ids: Sequence[str] | None = None, statuses: Sequence[str] | None = None
) -> list[Alert]:
    """The stored alerts of these incidents (all when None) with these delivery statuses (any
    when None), in time order."""
    rows = store.query(
        "SELECT id, incident_id, detector, minute, state, previous_state, observed, baseline, threshold, message, "
        "delivery_status FROM alerts "
        "WHERE (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], incident_id)) "
        "AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], delivery_status)) "
        "ORDER BY incident_id, minute, id",
        [incident_ids and list(incident_ids), incident_ids and list(incident_ids), statuses and list(statuses), statuses and list(statuses)],
    )
    return [Alert(*row) for row in rows]
