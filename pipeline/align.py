"""Line the posts up with the incident timeline, in DuckDB: phases, per-minute statistics, one
summary row per incident.

What analysts, the report and the dashboard read (the schema is migration 4 in
:mod:`pipeline.store`):

- ``post_labels_latest`` (view): each post's newest label.
- ``posts_aligned`` (view): every post with its labels, its incident, the phase it
  fell in and the minutes since the incident's first internal signal.
- ``alignment_windows``: each incident's window, first internal signal, resolution.
- ``incident_minutes``, ``incident_minute_complaints``, ``incident_minute_metrics``,
  ``incident_minute_events`` (a view) and ``incident_minute_baseline``: per incident
  and minute; ``incident_minutes`` has every minute of the window.
- ``incident_summary``: one row per incident.

**Windows.** An incident's window runs from 60 minutes before the earliest of its
start (``started_at``, else its first internal signal, else its first event) and
its events, to 60 minutes after the latest of its resolution (``resolved_at``, else
its first ``resolved`` event) and its events, on whole minutes (end exclusive).
Events more than 2 hours before the start or after the resolution do not stretch
it: a capacity claim made that afternoon is context, not the incident. An incident
not resolved yet extends to the newest post. A post in two windows belongs to the
incident whose window started last.

**Phases.** The phase of an instant is the phase of the latest timeline event that
carries one (Statuspage updates, PagerDuty entries, hand-written events with a
``phase``) at or before it; ``before`` ahead of the first. A post exactly at an
event's time is in that event's phase. Each window minute gets the phase at its
first instant from an ``ASOF JOIN`` of the minutes on the timeline, plus the rare
changes inside the minute; a post takes the last of those at or before it (the
answer of an ``ASOF JOIN`` of each post, without sorting millions of posts). A
minute's own phase (``incident_minutes.phase``) is the phase at its first instant.
The *first internal signal* is the first ``status_update`` or ``alert`` event with
a phase (not a schedule, statement or claim).

**Materialisation.** Aligning means joining posts with their labels and the
windows, so :func:`refresh` does it once and keeps the result: ``aligned_posts``
holds every post inside some window with its labels, in the posts' storage order
(time order, so an incident's rows sit together); ``posts_aligned`` is that table
plus every other post, joined live, and a filter on one incident reads only the
table. ``minute_volume`` counts posts per minute over exactly the minutes the
detector's seasonal baseline reads. A refresh realigns only the posts ingested or
labelled since the last one (watermarks on ``ingested_at`` and ``classified_at``;
writes are serial, see :mod:`pipeline.store`) and the windows of the incidents
whose window or phases changed; ``full`` rebuilds everything. The per-minute
tables and the summary are small and are recomputed every time. Readers see the
state of the last refresh.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pyarrow as pa

from pipeline import detect
from pipeline.config import Settings, load_settings
from pipeline.errors import StoreError, UnknownIncident
from pipeline.store import Store

WINDOW_MARGIN_MINUTES = 60
LEAD_IN_LIMIT_HOURS = 2
SIGNAL_KINDS = ("status_update", "alert")
PHASES = ("investigating", "identified", "monitoring", "resolved")
SHARE_MIN_POSTS = 10
"""A negative share counts (peak, pre-incident level, recovery) only over at least this many labelled relevant posts."""
RECOVERY_WINDOW_MINUTES = 10
RECOVERY_TOLERANCE = 0.05
"""Recovered: the trailing 10-minute negative share is at most the pre-incident share plus this."""
MAX_LAG_MINUTES = 30
MIN_LAG_PAIRS = 10
TOP = 5


@dataclass(frozen=True)
class RefreshReport:
    mode: str  # full | incremental
    incidents: int
    posts_realigned: int
    aligned_posts: int
    seconds: float

    def render(self) -> str:
        return (
            f"alignment refreshed ({self.mode}): {self.posts_realigned:,} posts realigned, "
            f"{self.aligned_posts:,} posts in {self.incidents} incident window{'' if self.incidents == 1 else 's'}, "
            f"{self.seconds:.1f} s"
        )


def refresh(store: Store, settings: Settings | None = None, *, full: bool = False) -> RefreshReport:
    """Bring every alignment table up to date, in one transaction; ``full`` rebuilds from scratch."""
    if store.read_only:
        raise StoreError(f"database {store.path} is open read-only; the alignment is refreshed by a writer (`groundswell align`)")
    settings = settings or load_settings()
    started = time.perf_counter()
    with store.transaction():
        watermarks = store.query("SELECT (SELECT max(ingested_at) FROM posts), (SELECT max(classified_at) FROM post_labels)")[0]
        previous = store.query("SELECT posts_watermark, labels_watermark FROM alignment_state")
        full = full or not previous
        _stage_timeline(store)
        _stage_scope(store, None if full else previous[0])
        _install_timeline(store)
        realigned = _realign(store, full)
        _refresh_history(store, settings, full, None if full else previous[0][1])
        _refresh_minutes(store)
        detect.refresh_baseline(store, settings)
        _refresh_summary(store, settings)
        store.connection.execute("INSERT OR REPLACE INTO alignment_state VALUES (1, now(), ?, ?)", watermarks)
        incidents, aligned = store.query("SELECT (SELECT count(*) FROM alignment_windows), (SELECT count(*) FROM aligned_posts)")[0]
    mode = "full" if full else "incremental"
    return RefreshReport(mode, incidents, realigned, aligned, time.perf_counter() - started)


# -- windows and phases --------------------------------------------------------------


def _stage_timeline(store: Store) -> None:
    """Compute the windows and phase changes from the timeline into temp tables."""
    signal_kinds = ", ".join(f"'{kind}'" for kind in SIGNAL_KINDS)
    execute = store.connection.execute
    execute(
        f"""
        CREATE OR REPLACE TEMP TABLE staged_windows AS
        WITH anchors AS (
            SELECT i.id AS incident_id,
                   min(e.occurred_at) FILTER (e.kind IN ({signal_kinds}) AND e.phase IS NOT NULL) AS first_signal,
                   coalesce(i.started_at, first_signal, min(e.occurred_at)) AS start_at,
                   coalesce(i.resolved_at, min(e.occurred_at) FILTER (e.phase = 'resolved')) AS resolution
            FROM incidents i LEFT JOIN incident_events e ON e.incident_id = i.id
            GROUP BY i.id, i.started_at, i.resolved_at
        ),
        extents AS (
            SELECT a.incident_id, a.first_signal, a.resolution,
                   least(a.start_at, min(e.occurred_at)
                       FILTER (e.occurred_at >= a.start_at - INTERVAL {LEAD_IN_LIMIT_HOURS} HOUR)) AS first_at,
                   CASE WHEN a.resolution IS NULL
                        THEN greatest(a.start_at, max(e.occurred_at), (SELECT max(created_at) FROM posts))
                        ELSE greatest(a.resolution, max(e.occurred_at)
                            FILTER (e.occurred_at <= a.resolution + INTERVAL {LEAD_IN_LIMIT_HOURS} HOUR)) END AS last_at
            FROM anchors a LEFT JOIN incident_events e ON e.incident_id = a.incident_id
            WHERE a.start_at IS NOT NULL
            GROUP BY a.incident_id, a.first_signal, a.resolution, a.start_at
        )
        SELECT incident_id,
               date_trunc('minute', first_at - INTERVAL {WINDOW_MARGIN_MINUTES} MINUTE) AS window_start,
               date_trunc('minute', last_at + INTERVAL {WINDOW_MARGIN_MINUTES} MINUTE) + INTERVAL 1 MINUTE AS window_end,
               first_signal AS first_internal_signal, resolution
        FROM extents
        """
    )
    execute(
        f"""
        CREATE OR REPLACE TEMP TABLE staged_phases AS
        SELECT incident_id, occurred_at, arg_max(phase, list_position({list(PHASES)}, phase)) AS phase
        FROM incident_events WHERE phase IS NOT NULL
        GROUP BY incident_id, occurred_at
        """
    )


_INCIDENT_DIGEST = """
    SELECT w.incident_id,
           md5(concat_ws('|', w.window_start, w.window_end, coalesce(w.first_internal_signal::VARCHAR, '-'),
                         coalesce(w.resolution::VARCHAR, '-'),
                         coalesce(string_agg(p.occurred_at::VARCHAR || p.phase, ',' ORDER BY p.occurred_at), ''))) AS digest
    FROM {windows} w LEFT JOIN {phases} p USING (incident_id)
    GROUP BY w.incident_id, w.window_start, w.window_end, w.first_internal_signal, w.resolution
"""


def _stage_scope(store: Store, watermarks: tuple | None) -> None:
    """What an incremental refresh realigns: the posts ingested or labelled since ``watermarks``
    (``alignment_delta``), and every post in the old or new window of an incident whose window
    or phases changed (``realign_minutes``). Runs before the new timeline is installed."""
    execute = store.connection.execute
    # ``post_rowid`` finds the posts again cheaply: row ids hold for the transaction.
    execute("CREATE OR REPLACE TEMP TABLE alignment_delta (post_rowid BIGINT, id VARCHAR, minute TIMESTAMPTZ, fresh BOOLEAN)")
    execute("CREATE OR REPLACE TEMP TABLE realign_minutes (minute TIMESTAMPTZ)")
    if watermarks is None:
        return
    posts_watermark, labels_watermark = watermarks
    execute(
        "INSERT INTO alignment_delta SELECT rowid, id, date_trunc('minute', created_at), true FROM posts "
        "WHERE ingested_at > coalesce(?::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ)",
        [posts_watermark],
    )
    execute(
        "CREATE OR REPLACE TEMP TABLE relabelled AS "
        "SELECT post_id FROM post_labels WHERE classified_at > coalesce(?::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ) "
        "EXCEPT SELECT id FROM alignment_delta",
        [labels_watermark],
    )
    if store.query("SELECT count(*) FROM relabelled")[0][0]:  # older posts with a new label
        execute(
            "INSERT INTO alignment_delta SELECT rowid, id, date_trunc('minute', created_at), false FROM posts "
            "WHERE id IN (SELECT post_id FROM relabelled)"
        )
    old = _INCIDENT_DIGEST.format(windows="alignment_windows", phases="alignment_phases")
    new = _INCIDENT_DIGEST.format(windows="staged_windows", phases="staged_phases")
    execute(
        f"""
        INSERT INTO realign_minutes
        WITH changed AS (
            SELECT incident_id FROM ({old}) o FULL JOIN ({new}) n USING (incident_id)
            WHERE o.digest IS DISTINCT FROM n.digest
        )
        SELECT DISTINCT unnest(generate_series(window_start, window_end - INTERVAL 1 MINUTE, INTERVAL 1 MINUTE))
        FROM (SELECT * FROM alignment_windows UNION ALL SELECT * FROM staged_windows)
        WHERE incident_id IN (SELECT incident_id FROM changed)
        """
    )


def _install_timeline(store: Store) -> None:
    """Make the staged windows and phases current, and list every window minute with the incident
    that owns it (of overlapping windows, the one that started last), the phase at its first
    instant (an ``ASOF JOIN`` on the timeline) and the phase changes inside it, if any."""
    execute = store.connection.execute
    execute("DELETE FROM alignment_windows")
    execute("INSERT INTO alignment_windows SELECT * FROM staged_windows ORDER BY incident_id")
    execute("DELETE FROM alignment_phases")
    execute("INSERT INTO alignment_phases SELECT * FROM staged_phases ORDER BY incident_id, occurred_at")
    execute(
        """
        CREATE OR REPLACE TEMP TABLE window_minutes AS
        WITH owned AS (
            SELECT minute, incident_id, first_internal_signal FROM (
                SELECT unnest(generate_series(window_start, window_end - INTERVAL 1 MINUTE, INTERVAL 1 MINUTE)) AS minute,
                       incident_id, first_internal_signal, window_start
                FROM alignment_windows
            )
            QUALIFY row_number() OVER (PARTITION BY minute ORDER BY window_start DESC, incident_id) = 1
        ),
        changes AS (
            SELECT incident_id, date_trunc('minute', occurred_at) AS minute,
                   list({'at': occurred_at, 'phase': phase} ORDER BY occurred_at) AS changes
            FROM alignment_phases WHERE occurred_at > date_trunc('minute', occurred_at)
            GROUP BY ALL
        )
        SELECT o.minute, o.incident_id, o.first_internal_signal, coalesce(ph.phase, 'before') AS phase, c.changes
        FROM owned o
        ASOF LEFT JOIN alignment_phases ph ON o.incident_id = ph.incident_id AND o.minute >= ph.occurred_at
        LEFT JOIN changes c ON c.incident_id = o.incident_id AND c.minute = o.minute
        """
    )


# -- posts -----------------------------------------------------------------------------

_LATEST = "QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY classified_at DESC, model_version DESC) = 1"


def _realign(store: Store, full: bool) -> int:
    """Rewrite the ``aligned_posts`` rows in scope; returns how many were written."""
    execute = store.connection.execute
    if full:
        execute("DELETE FROM aligned_posts")
        return _insert_aligned(store, f"WHERE {_in_minutes(store, 'window_minutes')}")
    execute(
        "DELETE FROM aligned_posts WHERE id IN (SELECT id FROM alignment_delta) "
        "OR minute IN (SELECT minute FROM realign_minutes)"
    )
    in_realigned = _in_minutes(store, "realign_minutes")
    return _insert_aligned(store, f"WHERE {in_realigned}") + _insert_aligned(
        store, f"WHERE rowid IN (SELECT post_rowid FROM alignment_delta) AND NOT coalesce({in_realigned}, false)"
    )


MAX_RANGES = 500


def _in_minutes(store: Store, minutes_table: str) -> str:
    """A filter on ``created_at`` keeping exactly the minutes listed in ``minutes_table``, written
    out as literal time ranges (its runs of consecutive minutes) so that DuckDB skips the row
    groups of posts outside them (posts are stored roughly in time order) and reads the other
    columns only for the rows kept."""
    runs = store.query(
        f"""
        SELECT min(minute), max(minute) + INTERVAL 1 MINUTE FROM (
            SELECT minute, minute - to_minutes(row_number() OVER (ORDER BY minute)) AS run FROM {minutes_table}
        ) GROUP BY run ORDER BY 1
        """
    )
    if not runs:
        return "false"
    if len(runs) > MAX_RANGES:  # too many to write out: their hull, then the exact minutes
        return (
            f"(created_at >= '{runs[0][0].isoformat()}'::TIMESTAMPTZ AND created_at < '{runs[-1][1].isoformat()}'::TIMESTAMPTZ "
            f"AND date_trunc('minute', created_at) IN (SELECT minute FROM {minutes_table}))"
        )
    return "(" + " OR ".join(
        f"(created_at >= '{start.isoformat()}'::TIMESTAMPTZ AND created_at < '{end.isoformat()}'::TIMESTAMPTZ)"
        for start, end in runs
    ) + ")"


def _insert_aligned(store: Store, post_filter: str) -> int:
    """Insert the posts (those ``post_filter`` keeps) that fall in a window, with labels and phase.

    Window minutes are an equi-join key, so the posts stream past a small hash table in storage
    order (time order, so one incident's rows stay together) instead of being sorted, and a post
    takes its minute's phase, or the last change inside that minute at or before it: the same
    answer as an ``ASOF JOIN`` of every post on the timeline, without sorting millions of rows."""
    result = store.connection.execute(
        f"""
        INSERT INTO aligned_posts
        WITH located AS (
            SELECT p.id, p.source, p.created_at, p.text, p.author_handle, p.author_name, p.author_followers,
                   p.lang, p.url, p.like_count, p.repost_count, p.reply_count, p.quote_count,
                   w.minute, w.incident_id, w.first_internal_signal,
                   CASE WHEN w.changes IS NULL THEN w.phase
                        ELSE coalesce(list_filter(w.changes, lambda c: c.at <= p.created_at)[-1].phase, w.phase)
                   END AS phase
            FROM (SELECT * FROM posts {post_filter}) p
            JOIN window_minutes w ON w.minute = date_trunc('minute', p.created_at)
        ),
        labels AS (
            SELECT post_id, language, is_english, sentiment, p_negative, p_neutral, p_positive, complaint_type,
                   complaint_score, relevance, relevant, blame_target, blame_entity, model_version
            FROM post_labels WHERE post_id IN (SELECT id FROM located) {_latest(store)}
        )
        SELECT p.id, p.source, p.created_at, p.minute, p.text,
               p.author_handle, p.author_name, p.author_followers, p.lang, p.url,
               p.like_count, p.repost_count, p.reply_count, p.quote_count,
               coalesce(p.like_count, 0) + coalesce(p.repost_count, 0) + coalesce(p.reply_count, 0)
                   + coalesce(p.quote_count, 0),
               l.language, l.is_english, l.sentiment, l.p_negative, l.p_neutral, l.p_positive,
               l.complaint_type, l.complaint_score, l.relevance, l.relevant, l.blame_target, l.blame_entity,
               l.model_version,
               p.incident_id, p.phase,
               (epoch_us(p.created_at) - epoch_us(p.first_internal_signal)) / 60e6
        FROM located p LEFT JOIN labels l ON l.post_id = p.id
        """
    )
    return result.fetchall()[0][0]


def _latest(store: Store) -> str:
    """The clause keeping each post's newest label. With one model version in the table a post
    has at most one label (the primary key), and the window over the labels is skipped."""
    versions = store.query("SELECT count(DISTINCT model_version) FROM post_labels")[0][0]
    return "" if versions <= 1 else _LATEST


def _refresh_history(store: Store, settings: Settings, full: bool, labels_watermark: datetime | None) -> None:
    """Keep ``minute_volume`` to exactly the minutes the seasonal baseline reads (each window
    minute on each of the previous ``detector_history_days`` days, give or take the spread),
    every one of them present (zero when no post). A full refresh counts them all; an
    incremental one adds what the changed posts change (a new post counts
    with its label, a relabelled one moves from its old label to its new), drops the minutes no
    longer read and counts the ones newly read."""
    execute = store.connection.execute
    spread = detect.SEASONAL_SPREAD_MINUTES
    execute(
        f"""
        CREATE OR REPLACE TEMP TABLE history_minutes AS
        SELECT DISTINCT w.minute - to_days(d.days_back::INTEGER) + to_minutes(o.offset_minutes::INTEGER) AS minute
        FROM window_minutes w
        CROSS JOIN range(1, {settings.detector_history_days + 1}) d(days_back)
        CROSS JOIN range(-{spread}, {spread + 1}) o(offset_minutes)
        """
    )
    if full:
        execute("DELETE FROM minute_volume")
    else:
        _add_changes_to_history(store, labels_watermark)
        execute("DELETE FROM minute_volume WHERE minute NOT IN (SELECT minute FROM history_minutes)")
    execute(
        "CREATE OR REPLACE TEMP TABLE missing_minutes AS "
        "SELECT minute FROM history_minutes EXCEPT SELECT minute FROM minute_volume"
    )
    execute(
        f"""
        INSERT INTO minute_volume
        WITH touched AS (
            SELECT id, date_trunc('minute', created_at) AS minute FROM posts WHERE {_in_minutes(store, "missing_minutes")}
        ),
        labels AS (
            SELECT post_id, relevant, complaint_type FROM post_labels
            WHERE post_id IN (SELECT id FROM touched) {_latest(store)}
        ),
        counts AS (
            SELECT t.minute, count(*) AS posts, count(*) FILTER (l.relevant) AS relevant_posts,
                   count(*) FILTER (l.relevant AND l.complaint_type <> 'none') AS complaint_posts
            FROM touched t LEFT JOIN labels l ON l.post_id = t.id
            GROUP BY t.minute
        )
        SELECT m.minute, coalesce(c.posts, 0), coalesce(c.relevant_posts, 0), coalesce(c.complaint_posts, 0)
        FROM missing_minutes m LEFT JOIN counts c USING (minute)
        ORDER BY m.minute
        """
    )


def _add_changes_to_history(store: Store, labels_watermark: datetime | None) -> None:
    """Update the stored ``minute_volume`` rows by what the posts in ``alignment_delta`` change."""
    latest = "QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY classified_at DESC, model_version DESC) = 1"
    store.connection.execute(
        f"""
        UPDATE minute_volume SET posts = minute_volume.posts + c.posts,
                                 relevant_posts = minute_volume.relevant_posts + c.relevant_posts,
                                 complaint_posts = minute_volume.complaint_posts + c.complaint_posts
        FROM (
            WITH labels AS (
                SELECT post_id, classified_at, model_version, relevant, complaint_type FROM post_labels
                WHERE post_id IN (SELECT id FROM alignment_delta)
            ),
            new AS (SELECT * FROM labels {latest}),
            old AS (SELECT * FROM labels WHERE classified_at <= ?::TIMESTAMPTZ {latest})
            SELECT d.minute, count(*) FILTER (d.fresh) AS posts,
                   count(*) FILTER (n.relevant) - count(*) FILTER (NOT d.fresh AND o.relevant) AS relevant_posts,
                   count(*) FILTER (n.relevant AND n.complaint_type <> 'none')
                       - count(*) FILTER (NOT d.fresh AND o.relevant AND o.complaint_type <> 'none') AS complaint_posts
            FROM alignment_delta d
            LEFT JOIN new n ON n.post_id = d.id
            LEFT JOIN old o ON o.post_id = d.id
            GROUP BY d.minute
        ) c
        WHERE minute_volume.minute = c.minute
        """,
        [labels_watermark],
    )


# -- per minute ------------------------------------------------------------------------


def _refresh_minutes(store: Store) -> None:
    """Recompute the per-minute tables of every incident from ``aligned_posts`` and ``metrics``."""
    execute = store.connection.execute
    for table in ("incident_minutes", "incident_minute_complaints", "incident_minute_metrics"):
        execute(f"DELETE FROM {table}")
    execute(
        """
        INSERT INTO incident_minutes
        WITH grid AS (
            SELECT incident_id,
                   unnest(generate_series(window_start, window_end - INTERVAL 1 MINUTE, INTERVAL 1 MINUTE)) AS minute
            FROM alignment_windows
        ),
        phased AS (
            SELECT g.incident_id, g.minute, coalesce(ph.phase, 'before') AS phase
            FROM grid g ASOF LEFT JOIN alignment_phases ph ON g.incident_id = ph.incident_id AND g.minute >= ph.occurred_at
        ),
        counts AS (
            SELECT incident_id, minute, count(*) AS posts,
                   count(*) FILTER (relevant) AS relevant_posts,
                   count(*) FILTER (model_version IS NOT NULL) AS labelled_posts,
                   count(*) FILTER (relevant AND complaint_type <> 'none') AS complaint_posts,
                   count(*) FILTER (relevant AND sentiment = 'negative') AS negative,
                   count(*) FILTER (relevant AND sentiment = 'neutral') AS neutral,
                   count(*) FILTER (relevant AND sentiment = 'positive') AS positive
            FROM aligned_posts GROUP BY incident_id, minute
        )
        SELECT g.incident_id, g.minute, g.phase,
               coalesce(c.posts, 0), coalesce(c.relevant_posts, 0), coalesce(c.labelled_posts, 0),
               coalesce(c.complaint_posts, 0), coalesce(c.negative, 0), coalesce(c.neutral, 0), coalesce(c.positive, 0),
               c.negative / nullif(c.negative + c.neutral + c.positive, 0),
               c.neutral / nullif(c.negative + c.neutral + c.positive, 0),
               c.positive / nullif(c.negative + c.neutral + c.positive, 0)
        FROM phased g LEFT JOIN counts c USING (incident_id, minute)
        ORDER BY g.incident_id, g.minute
        """
    )
    execute(
        """
        INSERT INTO incident_minute_complaints
        SELECT incident_id, minute, complaint_type, count(*) FROM aligned_posts
        WHERE relevant AND complaint_type <> 'none'
        GROUP BY ALL ORDER BY ALL
        """
    )
    execute(
        """
        INSERT INTO incident_minute_metrics
        SELECT w.incident_id, date_trunc('minute', m.observed_at) AS minute, m.metric, avg(m.value)
        FROM metrics m JOIN alignment_windows w ON m.observed_at >= w.window_start AND m.observed_at < w.window_end
        GROUP BY ALL ORDER BY ALL
        """
    )


# -- the summary -------------------------------------------------------------------------


def _spikes(store: Store, settings: Settings) -> pa.Table:
    """Each incident's first social spike, as the detector sees it."""
    params = detect.DetectorParams.from_settings(settings)
    series = detect.baselines(store)
    return pa.table(
        {
            "incident_id": pa.array(list(series), pa.string()),
            "first_social_spike": pa.array(
                [detect.first_spike(detect.evaluate(minutes, params)) for minutes in series.values()],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )


def _refresh_summary(store: Store, settings: Settings) -> None:
    phase_rank = "list_position(" + str(["before", *PHASES]) + ", phase)"
    store.connection.register("detected_spikes", _spikes(store, settings))
    try:
        store.connection.execute("CREATE OR REPLACE TEMP TABLE alignment_spikes AS SELECT * FROM detected_spikes")
    finally:
        store.connection.unregister("detected_spikes")
    store.connection.execute("DELETE FROM incident_summary")
    store.connection.execute(
        f"""
        INSERT INTO incident_summary
        WITH marks AS (
            SELECT w.*, s.first_social_spike,
                   least(s.first_social_spike, w.first_internal_signal) AS incident_onset
            FROM alignment_windows w LEFT JOIN alignment_spikes s USING (incident_id)
        ),
        labelled AS (
            SELECT *, negative + neutral + positive AS rated FROM incident_minutes
        ),
        peaks AS (
            SELECT incident_id,
                   max(posts) AS peak_posts, first(minute ORDER BY posts DESC, minute) AS peak_posts_at,
                   max(negative_share) FILTER (rated >= {SHARE_MIN_POSTS}) AS peak_negative,
                   first(minute ORDER BY negative_share DESC, minute) FILTER (rated >= {SHARE_MIN_POSTS}) AS peak_negative_at
            FROM labelled GROUP BY incident_id
        ),
        pre_incident AS (
            SELECT l.incident_id, sum(l.negative) / sum(l.rated) AS share
            FROM labelled l JOIN marks m USING (incident_id)
            WHERE l.minute < m.incident_onset
            GROUP BY l.incident_id HAVING sum(l.rated) >= {SHARE_MIN_POSTS}
        ),
        recent_shares AS (
            SELECT incident_id, minute,
                   sum(negative) OVER recent / nullif(sum(rated) OVER recent, 0) AS share,
                   sum(rated) OVER recent AS rated
            FROM labelled
            WINDOW recent AS (PARTITION BY incident_id ORDER BY minute
                              ROWS BETWEEN {RECOVERY_WINDOW_MINUTES - 1} PRECEDING AND CURRENT ROW)
        ),
        recovered AS (
            SELECT t.incident_id,
                   greatest(0, (epoch_us(min(t.minute) + INTERVAL 1 MINUTE) - epoch_us(any_value(m.resolution))) / 60e6) AS minutes
            FROM recent_shares t JOIN marks m USING (incident_id) JOIN pre_incident p USING (incident_id)
            WHERE t.minute >= date_trunc('minute', m.resolution) AND t.rated >= {SHARE_MIN_POSTS}
              AND t.share <= p.share + {RECOVERY_TOLERANCE}
            GROUP BY t.incident_id
        ),
        complaint_counts AS (
            SELECT incident_id, phase, complaint_type, count(*) AS posts FROM aligned_posts
            WHERE relevant AND complaint_type <> 'none' GROUP BY incident_id, phase, complaint_type
            QUALIFY row_number() OVER (PARTITION BY incident_id, phase ORDER BY posts DESC, complaint_type) <= {TOP}
        ),
        complaints_per_phase AS (
            SELECT incident_id, phase,
                   to_json(list(json_object('type', complaint_type, 'posts', posts) ORDER BY posts DESC, complaint_type)) AS items
            FROM complaint_counts GROUP BY incident_id, phase
        ),
        top_complaints AS (
            SELECT incident_id,
                   to_json(map(list(phase ORDER BY {phase_rank}), list(items ORDER BY {phase_rank}))) AS top_complaints
            FROM complaints_per_phase GROUP BY incident_id
        ),
        blame_counts AS (
            SELECT incident_id, blame_target, blame_entity, count(*) AS posts FROM aligned_posts
            WHERE relevant AND blame_target IS NOT NULL AND blame_target <> 'none'
            GROUP BY incident_id, blame_target, blame_entity
            QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY posts DESC, blame_target, blame_entity) <= {TOP}
        ),
        top_blamed AS (
            SELECT incident_id,
                   to_json(list(json_object('target', blame_target, 'entity', blame_entity, 'posts', posts)
                                ORDER BY posts DESC, blame_target, blame_entity)) AS top_blamed
            FROM blame_counts GROUP BY incident_id
        ),
        metric AS (
            SELECT incident_id, minute, value FROM incident_minute_metrics
            WHERE metric = $metric AND value IS NOT NULL AND NOT isnan(value)
        ),
        lagged AS (
            SELECT c.incident_id, lag.minutes AS lag, corr(c.complaint_posts, m.value) AS r
            FROM incident_minutes c CROSS JOIN range(0, {MAX_LAG_MINUTES + 1}) lag(minutes)
            JOIN metric m ON m.incident_id = c.incident_id AND m.minute = c.minute - to_minutes(lag.minutes::INTEGER)
            GROUP BY ALL HAVING count(*) >= {MIN_LAG_PAIRS}
        ),
        best_lag AS (
            SELECT incident_id, first(lag ORDER BY r DESC, lag) AS lag, max(r) AS r
            FROM lagged WHERE r IS NOT NULL AND NOT isnan(r) GROUP BY incident_id
        )
        SELECT i.id, i.name, i.service, i.timezone, m.window_start, m.window_end,
               m.first_internal_signal, m.first_social_spike,
               (epoch_us(m.first_internal_signal) - epoch_us(m.first_social_spike)) / 60e6,
               p.peak_posts, p.peak_posts_at, p.peak_negative, p.peak_negative_at,
               r.minutes,
               coalesce(c.top_complaints, '{{}}'::JSON), coalesce(b.top_blamed, '[]'::JSON),
               $metric, l.lag, l.r
        FROM incidents i
        LEFT JOIN marks m ON m.incident_id = i.id
        LEFT JOIN peaks p ON p.incident_id = i.id
        LEFT JOIN recovered r ON r.incident_id = i.id
        LEFT JOIN top_complaints c ON c.incident_id = i.id
        LEFT JOIN top_blamed b ON b.incident_id = i.id
        LEFT JOIN best_lag l ON l.incident_id = i.id
        ORDER BY i.id
        """,
        {"metric": settings.correlation_metric},
    )


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    """One ``incident_summary`` row, as Python values (times are aware UTC datetimes)."""

    incident_id: str
    name: str | None
    service: str | None
    timezone: str | None
    window_start: datetime | None
    window_end: datetime | None
    first_internal_signal: datetime | None
    first_social_spike: datetime | None
    social_lead_minutes: float | None
    peak_posts_per_minute: int | None
    peak_posts_at: datetime | None
    peak_negative_share: float | None
    peak_negative_at: datetime | None
    recovery_minutes: float | None
    top_complaints: dict[str, list[dict]]
    top_blamed: list[dict]
    correlation_metric: str | None
    best_lag_minutes: int | None
    best_lag_correlation: float | None

    def render(self) -> str:
        """The row for people: times in the incident's zone, missing values said in words."""
        zone = ZoneInfo(self.timezone or "UTC")
        day = self.window_start.astimezone(zone).date() if self.window_start else None

        def at(moment: datetime | None, seconds: bool = False) -> str:
            if moment is None:
                return "-"
            local = moment.astimezone(zone)
            clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
            return clock if local.date() == day else f"{local:%Y-%m-%d} {clock}"

        lines = [
            f"{self.incident_id}: {self.name} (times in {zone.key})",
            f"  window                 {self.window_start.astimezone(zone):%Y-%m-%d %H:%M} to {at(self.window_end)}"
            if self.window_start else "  window                 - (no start time known)",
            f"  first internal signal  {at(self.first_internal_signal, seconds=True)}",
            f"  first social spike     {at(self.first_social_spike)}{self._lead()}",
            f"  peak posts/min         {self.peak_posts_per_minute} at {at(self.peak_posts_at)}",
            f"  peak negative share    "
            + (f"{self.peak_negative_share:.0%} at {at(self.peak_negative_at)}" if self.peak_negative_share is not None else "-"),
            f"  recovery               "
            + (f"{self.recovery_minutes:.0f} min after resolution, the negative share was back to its pre-incident level"
               if self.recovery_minutes is not None else "- (not back to its pre-incident level in the window, or no labels)"),
        ]
        phases = [f"{phase}: " + ", ".join(f"{item['type']} {item['posts']}" for item in items) for phase, items in self.top_complaints.items()]
        lines += [f"  {'top complaints' if i == 0 else '':<22} {text}" for i, text in enumerate(phases or ["-"])]
        blamed = ", ".join(f"{item['entity'] or item['target']} ({item['target']}) {item['posts']}" for item in self.top_blamed)
        lines.append(f"  top blamed             {blamed or '-'}")
        lines.append(
            f"  correlation            {self.correlation_metric} leads complaint volume by {self.best_lag_minutes} min "
            f"(r = {self.best_lag_correlation:.2f})"
            if self.best_lag_minutes is not None else f"  correlation            - (no {self.correlation_metric} samples or no complaints)"
        )
        return "\n".join(lines)

    def _lead(self) -> str:
        if self.social_lead_minutes is None:
            return ""
        lead = self.social_lead_minutes
        side = "before" if lead >= 0 else "after"
        return f", {abs(lead):.1f} min {side} the first internal signal"


def summary_rows(store: Store, incident_id: str | None = None) -> list[SummaryRow]:
    """The ``incident_summary`` rows (one incident's, when given), by incident id."""
    rows = store.query(
        "SELECT * FROM incident_summary WHERE ?::VARCHAR IS NULL OR incident_id = ? ORDER BY incident_id",
        [incident_id, incident_id],
    )
    if incident_id is not None and not rows:
        known = ", ".join(row[0] for row in store.query("SELECT incident_id FROM incident_summary ORDER BY 1")) or "none"
        raise UnknownIncident(f"no incident {incident_id!r} in the alignment; incidents: {known}")
    return [
        SummaryRow(*row[:14], json.loads(row[14] or "{}"), json.loads(row[15] or "[]"), *row[16:])
        for row in rows
    ]
