"""The dashboard's SQL: small aggregates and bounded pages over the alignment views.

The pages never pull all posts into pandas. Volumes, shares and mixes are
aggregated by DuckDB; post tables are one ``LIMIT``/``OFFSET`` page; every
filter is a bound parameter, so nothing a visitor types becomes SQL text. Each
function takes an open :class:`~pipeline.store.Store` (the pages open it
read-only for one round of queries and close it again, because the live flow
writes to the same file from another process). Times are UTC here; the pages
convert them for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import pandas as pd
import pyarrow as pa

from pipeline.store import Store

CONTRACT_OBJECTS = (
    "posts_aligned",
    "incident_minutes",
    "incident_minute_complaints",
    "incident_minute_metrics",
    "incident_summary",
    "alerts",
)
"""What the alignment layer (pipeline/align.py) provides and the dashboard reads."""

RECENT = timedelta(minutes=15)
"""The live page's "now" window: the complaint mix and blame of the last 15 minutes ..."""
BEFORE = timedelta(minutes=60)
"""... against the hour before it."""
RATE_WINDOW = timedelta(minutes=5)
TREND = timedelta(minutes=120)

POST_COLUMNS = (
    "created_at, source, author_handle, text, sentiment, complaint_type, relevance, "
    "blame_target, blame_entity, language, engagement, url, id"
)

Relevance = Literal["any", "relevant", "not_relevant"]


def frame(store: Store, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    return store.connection.execute(sql, params or {}).df()


def missing_objects(store: Store) -> list[str]:
    """Which of the alignment views and tables this database lacks."""
    present = {row[0] for row in store.query("SELECT table_name FROM information_schema.tables")}
    return [name for name in CONTRACT_OBJECTS if name not in present]


# -- incidents ------------------------------------------------------------------


def incidents(store: Store) -> pd.DataFrame:
    """Every incident, the most recent first: id, name, timezone."""
    return frame(
        store,
        "SELECT id AS incident_id, name, timezone FROM incidents ORDER BY started_at DESC NULLS LAST, id",
    )


@dataclass(frozen=True)
class Span:
    """An incident's window, and the part of it that has posts (the pages' default range)."""

    window_start: datetime
    window_end: datetime
    first_post_minute: datetime | None
    last_post_minute: datetime | None

    @property
    def default(self) -> tuple[datetime, datetime]:
        if self.first_post_minute is None or self.last_post_minute is None:
            return self.window_start, self.window_end
        return self.first_post_minute, self.last_post_minute + timedelta(minutes=1)


def incident_span(store: Store, incident_id: str) -> Span | None:
    row = store.query(
        """
        SELECT min(minute), max(minute) + INTERVAL 1 MINUTE,
               min(minute) FILTER (WHERE posts > 0), max(minute) FILTER (WHERE posts > 0)
        FROM incident_minutes WHERE incident_id = $incident
        """,
        {"incident": incident_id},
    )[0]
    return None if row[0] is None else Span(*row)


def summary(store: Store, incident_id: str) -> dict[str, Any] | None:
    """The incident's row of ``incident_summary`` as a dict (JSON columns still text)."""
    rows = frame(store, "SELECT * FROM incident_summary WHERE incident_id = $incident", {"incident": incident_id})
    return None if rows.empty else rows.iloc[0].to_dict()


@dataclass(frozen=True)
class Timeline:
    """What the timeline chart draws for one incident and time range."""

    minutes: pd.DataFrame  # minute, phase, posts, relevant_posts, labelled_posts, negative, neutral, positive, negative_share
    events: pd.DataFrame  # occurred_at, kind, phase, title, body
    metrics: pd.DataFrame  # minute, metric, value
    complaints: pd.DataFrame  # bucket, complaint_type, posts

    @property
    def phases(self) -> pd.DataFrame:
        """Runs of consecutive minutes in one phase: phase, start, end."""
        minutes = self.minutes
        if minutes.empty:
            return pd.DataFrame(columns=["phase", "start", "end"])
        run = (minutes["phase"] != minutes["phase"].shift()).cumsum()
        grouped = minutes.groupby(run)
        return pd.DataFrame(
            {
                "phase": grouped["phase"].first(),
                "start": grouped["minute"].min(),
                "end": grouped["minute"].max() + pd.Timedelta(minutes=1),
            }
        ).reset_index(drop=True)

    @property
    def totals(self) -> dict[str, float | None]:
        sums = self.minutes[["posts", "relevant_posts", "labelled_posts", "negative", "neutral", "positive"]].sum()
        rated = sums["negative"] + sums["neutral"] + sums["positive"]
        return {
            "posts": int(sums["posts"]),
            "relevant_posts": int(sums["relevant_posts"]),
            "labelled_posts": int(sums["labelled_posts"]),
            "negative_share": float(sums["negative"] / rated) if rated else None,
        }


def bucket_minutes(span: timedelta) -> int:
    """A bar width that keeps a complaints-over-time chart to about 120 bars."""
    for minutes in (1, 2, 5, 10, 15, 30, 60):
        if span / timedelta(minutes=minutes) <= 120:
            return minutes
    return 120


def timeline(store: Store, incident_id: str, start: datetime, end: datetime) -> Timeline:
    params = {"incident": incident_id, "start": start, "end": end}
    in_range = "incident_id = $incident AND minute >= $start AND minute < $end"
    return Timeline(
        minutes=frame(
            store,
            "SELECT minute, phase, posts, relevant_posts, labelled_posts, negative, neutral, positive, negative_share "
            f"FROM incident_minutes WHERE {in_range} ORDER BY minute",
            params,
        ),
        events=frame(
            store,
            "SELECT occurred_at, kind, phase, title, body FROM incident_events "
            "WHERE incident_id = $incident AND occurred_at >= $start AND occurred_at < $end ORDER BY occurred_at, id",
            params,
        ),
        metrics=frame(
            store, f"SELECT minute, metric, value FROM incident_minute_metrics WHERE {in_range} ORDER BY metric, minute", params
        ),
        complaints=frame(
            store,
            f"""
            SELECT time_bucket(to_minutes($width), minute) AS bucket, complaint_type, sum(posts)::BIGINT AS posts
            FROM incident_minute_complaints WHERE {in_range}
            GROUP BY ALL ORDER BY bucket, complaint_type
            """,
            {**params, "width": bucket_minutes(end - start)},
        ),
    )


def phase_complaints(store: Store, incident_id: str) -> pd.DataFrame:
    """The complaint mix of each phase over the whole incident: phase, complaint_type, posts, share."""
    return frame(
        store,
        """
        WITH counts AS (
            SELECT m.phase, c.complaint_type, sum(c.posts)::BIGINT AS posts
            FROM incident_minute_complaints c JOIN incident_minutes m USING (incident_id, minute)
            WHERE c.incident_id = $incident
            GROUP BY ALL
        )
        SELECT *, posts / sum(posts) OVER (PARTITION BY phase) AS share FROM counts ORDER BY phase, posts DESC, complaint_type
        """,
        {"incident": incident_id},
    )


def top_blamed(store: Store, incident_id: str) -> pd.DataFrame:
    """``incident_summary.top_blamed`` as rows: blame_target, blame_entity, posts."""
    return frame(
        store,
        """
        SELECT item.target AS blame_target, coalesce(item.entity, item.target) AS blame_entity, item.posts AS posts
        FROM (
            SELECT unnest(from_json(top_blamed, '[{"target": "VARCHAR", "entity": "VARCHAR", "posts": "BIGINT"}]')) AS item
            FROM incident_summary WHERE incident_id = $incident
        )
        ORDER BY posts DESC, blame_entity
        """,
        {"incident": incident_id},
    )


def representative_posts(store: Store, incident_id: str, start: datetime, end: datetime, types: int = 3, per_type: int = 3) -> pd.DataFrame:
    """``per_type`` posts for each of the ``types`` most common complaint types: among the
    negative posts the complaint head is surer of than its median for the type, the most
    engaged (what most people saw), one per wording (retweets, mentions, case and punctuation aside)."""
    return frame(
        store,
        f"""
        WITH top_types AS (
            SELECT complaint_type, sum(posts)::BIGINT AS type_posts FROM incident_minute_complaints
            WHERE incident_id = $incident AND minute >= $start AND minute < $end
            GROUP BY ALL ORDER BY type_posts DESC, complaint_type LIMIT $types
        ),
        scored AS (  -- numbers only: the text is fetched for the few posts that make the cut
            SELECT id, complaint_type, complaint_score, engagement
            FROM posts_aligned JOIN top_types USING (complaint_type)
            WHERE incident_id = $incident AND created_at >= $start AND created_at < $end
              AND relevant AND sentiment = 'negative'
        ),
        most_engaged AS (
            SELECT s.id FROM scored s
            JOIN (SELECT complaint_type, median(complaint_score) AS median_score FROM scored GROUP BY ALL) m USING (complaint_type)
            WHERE s.complaint_score >= m.median_score
            QUALIFY row_number() OVER (PARTITION BY complaint_type ORDER BY engagement DESC, complaint_score DESC, id) <= 100
        ),
        distinct_texts AS (
            SELECT {POST_COLUMNS}, complaint_score, type_posts
            FROM posts_aligned JOIN top_types USING (complaint_type)
            WHERE incident_id = $incident AND id IN (SELECT id FROM most_engaged)
            QUALIFY row_number() OVER (
                PARTITION BY complaint_type, left(regexp_replace(lower(text), '^rt @\\w+:|@\\w+|[^a-z]', '', 'g'), 40)
                ORDER BY engagement DESC, id
            ) = 1
        )
        SELECT * FROM distinct_texts
        QUALIFY row_number() OVER (PARTITION BY complaint_type ORDER BY engagement DESC, complaint_score DESC, id) <= $per_type
        ORDER BY type_posts DESC, complaint_type, engagement DESC, complaint_score DESC, id
        """,
        {"incident": incident_id, "start": start, "end": end, "types": types, "per_type": per_type},
    )


# -- posts ----------------------------------------------------------------------


@dataclass(frozen=True)
class PostFilter:
    """Which of an incident's posts to list; empty choices mean "any"."""

    incident_id: str
    start: datetime
    end: datetime
    sentiments: tuple[str, ...] = ()
    complaint_types: tuple[str, ...] = ()
    blame_targets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    relevance: Relevance = "any"
    search: str = ""
    order: Literal["time", "engagement"] = "time"

    def where(self) -> tuple[str, dict[str, Any]]:
        """The SQL condition and its bound parameters."""
        clauses = ["incident_id = $incident", "created_at >= $start", "created_at < $end"]
        params: dict[str, Any] = {"incident": self.incident_id, "start": self.start, "end": self.end}
        for column, values in (
            ("sentiment", self.sentiments),
            ("complaint_type", self.complaint_types),
            ("blame_target", self.blame_targets),
            ("language", self.languages),
            ("source", self.sources),
        ):
            if values:
                clauses.append(f"list_contains(${column}, {column})")
                params[column] = list(values)
        if self.relevance == "relevant":
            clauses.append("relevant")
        elif self.relevance == "not_relevant":
            clauses.append("NOT relevant")
        if self.search.strip():
            clauses.append("contains(lower(text), lower($search))")
            params["search"] = self.search.strip()
        return " AND ".join(clauses), params

    @property
    def order_by(self) -> str:
        return "engagement DESC, created_at, id" if self.order == "engagement" else "created_at, id"


@dataclass(frozen=True)
class PostPage:
    rows: pd.DataFrame
    total: int
    offset: int


def posts_page(store: Store, where: PostFilter, limit: int = 50, offset: int = 0) -> PostPage:
    condition, params = where.where()
    total = store.query(f"SELECT count(*) FROM posts_aligned WHERE {condition}", params)[0][0]
    rows = frame(
        store,
        f"SELECT {POST_COLUMNS} FROM posts_aligned WHERE {condition} ORDER BY {where.order_by} LIMIT $limit OFFSET $offset",
        {**params, "limit": limit, "offset": offset},
    )
    return PostPage(rows, int(total), offset)


def posts_export(store: Store, where: PostFilter) -> pa.Table:
    """Every post the filter matches, with all its label columns, for a CSV or Parquet download."""
    condition, params = where.where()
    return store.connection.sql(
        f"SELECT * EXCLUDE (minute) FROM posts_aligned WHERE {condition} ORDER BY {where.order_by}", params=params
    ).to_arrow_table()


@dataclass(frozen=True)
class FilterOptions:
    sentiments: tuple[str, ...] = ()
    complaint_types: tuple[str, ...] = ()
    blame_targets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


def filter_options(store: Store, incident_id: str) -> FilterOptions:
    """The values each filter can take among the incident's posts."""
    row = store.query(
        """
        SELECT list_sort(list(DISTINCT sentiment) FILTER (WHERE sentiment IS NOT NULL)), list_sort(list(DISTINCT complaint_type) FILTER (WHERE complaint_type IS NOT NULL)),
               list_sort(list(DISTINCT blame_target) FILTER (WHERE blame_target IS NOT NULL)), list_sort(list(DISTINCT language) FILTER (WHERE language IS NOT NULL)),
               list_sort(list(DISTINCT source) FILTER (WHERE source IS NOT NULL))
        FROM posts_aligned WHERE incident_id = $incident
        """,
        {"incident": incident_id},
    )[0]
    return FilterOptions(*(tuple(values or ()) for values in row))


# -- live -----------------------------------------------------------------------

Clock = Literal["auto", "wall", "latest"]


@dataclass(frozen=True)
class Now:
    """The instant the live page calls "now", and why."""

    at: datetime
    replaying: bool  # True: the latest post's time (the data is history), False: the wall clock
    latest_post: datetime | None


def choose_now(latest_post: datetime | None, wall: datetime, clock: Clock = "auto") -> Now:
    """Wall clock while posts are arriving; the latest post's time when the database holds
    history (nothing in the last 15 minutes), so a replayed or finished incident still reads
    as "the last 15 minutes of it"."""
    if latest_post is None or clock == "wall":
        return Now(wall, False, latest_post)
    if clock == "latest" or wall - latest_post > RECENT:
        return Now(latest_post, True, latest_post)
    return Now(wall, False, latest_post)


def latest_post_time(store: Store) -> datetime | None:
    return store.query("SELECT max(created_at) FROM posts")[0][0]


@dataclass(frozen=True)
class LiveSnapshot:
    now: Now
    total_posts: int
    labelled: bool  # any post classified at all
    figures: dict[str, Any]  # recent_posts, rate_now, baseline_rate, negative_share_now, negative_share_before
    trend: pd.DataFrame  # minute, posts, negative_share
    complaint_mix: pd.DataFrame  # period, complaint_type, posts, share
    blame: pd.DataFrame  # blame_target, blame_entity, posts
    top_posts: pd.DataFrame
    events: pd.DataFrame
    alerts: pd.DataFrame
    detector: dict[str, Any] | None = None  # the latest alerts row at or before now


def live_snapshot(store: Store, now: Now) -> LiveSnapshot:
    """Every live figure from one pass over ``posts_aligned``: the last two hours' posts
    (label columns only) go into a temporary table that the figures then aggregate."""
    params = {"now": now.at, "recent": now.at - RECENT, "since": now.at - RECENT - BEFORE}
    store.connection.execute(
        """
        CREATE OR REPLACE TEMP TABLE live_posts AS
        SELECT id, created_at, minute, engagement, language, sentiment, complaint_type, relevance, relevant,
               blame_target, blame_entity
        FROM posts_aligned WHERE created_at >= $start AND created_at <= $now
        """,
        {"start": _minute(now.at) - TREND, "now": now.at},
    )
    alerts = frame(
        store,
        "SELECT minute, incident_id, detector, state, previous_state, observed, baseline, threshold, message, "
        "delivery_status FROM alerts WHERE minute <= $now ORDER BY minute DESC, raised_at DESC, id LIMIT 10",
        {"now": now.at},
    )
    return LiveSnapshot(
        now=now,
        total_posts=store.query("SELECT count(*) FROM posts")[0][0],
        labelled=store.query("SELECT EXISTS (SELECT 1 FROM post_labels)")[0][0],
        figures=_live_figures(store, params),
        trend=_live_trend(store, now.at),
        complaint_mix=frame(
            store,
            """
            WITH counts AS (
                SELECT CASE WHEN created_at > $recent THEN 'last 15 min' ELSE 'hour before' END AS period,
                       complaint_type, count(*) AS posts
                FROM live_posts
                WHERE created_at > $since AND relevant AND complaint_type <> 'none'
                GROUP BY ALL
            )
            SELECT *, posts / sum(posts) OVER (PARTITION BY period) AS share
            FROM counts ORDER BY period DESC, posts DESC, complaint_type
            """,
            {"recent": params["recent"], "since": params["since"]},
        ),
        blame=frame(
            store,
            """
            SELECT blame_target, coalesce(blame_entity, blame_target) AS blame_entity, count(*) AS posts
            FROM live_posts
            WHERE created_at > $recent AND relevant AND blame_target <> 'none'
            GROUP BY ALL ORDER BY posts DESC, blame_entity LIMIT 8
            """,
            {"recent": params["recent"]},
        ),
        top_posts=frame(
            store,
            """
            SELECT w.created_at, p.source, p.author_handle, p.text, w.sentiment, w.complaint_type, w.relevance,
                   w.blame_target, w.blame_entity, w.language, w.engagement, p.url, w.id
            FROM (SELECT * FROM live_posts WHERE created_at > $recent ORDER BY engagement DESC, created_at DESC, id LIMIT 10) w
            JOIN posts p USING (id)
            ORDER BY w.engagement DESC, w.created_at DESC, w.id
            """,
            {"recent": params["recent"]},
        ),
        events=frame(
            store,
            "SELECT occurred_at, incident_id, kind, phase, title FROM incident_events "
            "WHERE occurred_at <= $now ORDER BY occurred_at DESC, id LIMIT 8",
            {"now": now.at},
        ),
        alerts=alerts,
        detector=None if alerts.empty else alerts.iloc[0].to_dict(),
    )


def _minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


def _live_figures(store: Store, params: dict[str, Any]) -> dict[str, Any]:
    row = store.query(
        f"""
        SELECT count(*) FILTER (WHERE created_at > $recent) AS recent_posts,
               count(*) FILTER (WHERE created_at > $now - to_minutes({RATE_WINDOW.seconds // 60})) AS rate_posts,
               count(*) FILTER (WHERE created_at <= $recent) AS before_posts,
               count(*) FILTER (WHERE created_at > $recent AND relevant AND sentiment = 'negative')
                 / nullif(count(*) FILTER (WHERE created_at > $recent AND relevant AND sentiment IS NOT NULL), 0),
               count(*) FILTER (WHERE created_at <= $recent AND relevant AND sentiment = 'negative')
                 / nullif(count(*) FILTER (WHERE created_at <= $recent AND relevant AND sentiment IS NOT NULL), 0)
        FROM live_posts WHERE created_at > $since
        """,
        params,
    )[0]
    recent, rate_posts, before, negative_now, negative_before = row
    return {
        "recent_posts": recent,
        "rate_now": rate_posts / (RATE_WINDOW / timedelta(minutes=1)),
        "baseline_rate": before / (BEFORE / timedelta(minutes=1)),
        "negative_share_now": negative_now,
        "negative_share_before": negative_before,
    }


def _live_trend(store: Store, now: datetime) -> pd.DataFrame:
    """Posts and negative share per minute over the last two hours, empty minutes as zero."""
    return frame(
        store,
        """
        WITH minutes AS (
            SELECT unnest(generate_series(date_trunc('minute', $now::TIMESTAMPTZ) - $span,
                                          date_trunc('minute', $now::TIMESTAMPTZ), INTERVAL 1 MINUTE)) AS minute
        ),
        counts AS (
            SELECT minute, count(*) AS posts,
                   count(*) FILTER (WHERE relevant AND sentiment = 'negative')
                     / nullif(count(*) FILTER (WHERE relevant AND sentiment IS NOT NULL), 0) AS negative_share
            FROM live_posts
            GROUP BY minute
        )
        SELECT minute, coalesce(posts, 0) AS posts, negative_share FROM minutes LEFT JOIN counts USING (minute) ORDER BY minute
        """,
        {"now": now, "span": TREND},
    )
