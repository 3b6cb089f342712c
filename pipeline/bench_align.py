"""``groundswell bench align``: the alignment on a month of generated posts, beside pandas.

The database is generated in DuckDB SQL (no Python loop over posts): posts over
``days`` days with a daily rhythm, a handful of outages whose complaint bursts
trail a join-error metric by a few minutes, each with a Statuspage-like timeline,
and one label row per post drawn with realistic proportions (most posts neither
relevant nor complaints outside an outage, most of them both during one). Then it
measures, in one run:

- a full refresh of the alignment, and an incremental one after a late batch of
  posts and labels arrives;
- the per-minute query for the busiest incident, as the dashboard asks it (the
  materialised ``incident_minutes``), and recomputed from the raw ``posts`` and
  ``post_labels`` tables in DuckDB without any of the materialisation;
- the same per-minute answer computed in pandas from the same raw tables (read
  into data frames first; that read is timed apart), checked equal to DuckDB's.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from pipeline import align
from pipeline.bench import machine_description
from pipeline.config import Settings
from pipeline.store import Store

START = datetime(2024, 7, 1, tzinfo=timezone.utc)
INCIDENTS = 6
COMPLAINT_TYPES = ("cannot_join", "audio_quality", "app_crash", "capacity", "delay", "errors")
PER_MINUTE_COLUMNS = ("minute", "phase", "posts", "relevant_posts", "labelled_posts", "complaint_posts", "negative", "neutral", "positive")


@dataclass(frozen=True)
class Outage:
    incident_id: str
    onset: datetime  # when complaints start
    minutes: int  # how long the failure lasts
    lag: int  # minutes complaints trail the metric
    signal_delay: int  # minutes from onset to the first status update


@dataclass
class AlignBenchmark:
    posts: int
    days: int
    incidents: int
    generate_seconds: float
    full_refresh_seconds: float
    aligned_posts: int
    late_posts: int
    incremental_refresh_seconds: float
    incident_id: str
    incident_posts: int
    minutes: int
    materialised_query_seconds: float
    raw_sql_seconds: float
    pandas_load_seconds: float
    pandas_seconds: float
    top_posts_seconds: float
    machine: str

    def render(self) -> str:
        return "\n".join(
            [
                f"alignment benchmark on {self.machine}",
                f"  database            : {self.posts:,} posts over {self.days} days, {self.incidents} incidents "
                f"(generated in DuckDB SQL in {self.generate_seconds:.1f} s)",
                f"  full refresh        : {self.full_refresh_seconds:.1f} s ({self.aligned_posts:,} posts inside incident windows)",
                f"  incremental refresh : {self.incremental_refresh_seconds:.2f} s after {self.late_posts:,} late posts and their labels",
                f"  per-minute query    : incident {self.incident_id} ({self.incident_posts:,} posts, {self.minutes} minutes)",
                f"    incident_minutes (materialised)       : {1000 * self.materialised_query_seconds:8.1f} ms",
                f"    DuckDB from raw posts + labels         : {1000 * self.raw_sql_seconds:8.1f} ms",
                f"    pandas from raw posts + labels         : {1000 * self.pandas_seconds:8.1f} ms"
                f"  (+ {self.pandas_load_seconds:.1f} s to read the tables into pandas)",
                f"    pandas / materialised = {self.pandas_seconds / self.materialised_query_seconds:,.0f}x, "
                f"pandas / DuckDB raw = {self.pandas_seconds / self.raw_sql_seconds:,.1f}x; all three answers equal",
                f"  top 20 posts of the incident by engagement (posts_aligned): {1000 * self.top_posts_seconds:.1f} ms",
            ]
        )

    def figures(self):
        from pipeline.bench_summary import Figure

        question = f"per-minute figures of one incident ({self.incident_posts:,} posts), {self.posts:,}-post database"
        return [
            Figure("align", f"incremental refresh after {self.late_posts:,} late posts", self.incremental_refresh_seconds, "s",
                   "full refresh", self.full_refresh_seconds, higher_is_better=False),
            Figure("align", question, 1000 * self.materialised_query_seconds, "ms", "DuckDB SQL from the raw tables",
                   1000 * self.raw_sql_seconds, higher_is_better=False),
            Figure("align", question, 1000 * self.materialised_query_seconds, "ms", "pandas from the raw tables (loaded)",
                   1000 * self.pandas_seconds, higher_is_better=False),
        ]


def run_align_benchmark(
    workdir: Path, posts: int, *, days: int = 30, settings: Settings, echo: Callable[[str], None] = print
) -> AlignBenchmark:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench-align.duckdb"
    for suffix in ("", ".wal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    outages = plan_outages(days)
    with Store.open(db) as store:
        echo(f"generating {posts:,} posts over {days} days in {db} ...")
        started = time.perf_counter()
        generate(store, posts, days, outages)
        generate_seconds = time.perf_counter() - started
        store.connection.execute("CHECKPOINT")

        echo("full refresh ...")
        full = align.refresh(store, settings, full=True)
        store.connection.execute("CHECKPOINT")
        late = max(posts // 1000, 100)
        append_late_posts(store, late, days)
        incremental = align.refresh(store, settings)
        assert incremental.mode == "incremental" and incremental.posts_realigned > 0
        store.connection.execute("CHECKPOINT")
    incident_id, incident_posts, minutes = _busiest(db)

    echo(f"per-minute query for {incident_id} ...")
    materialised_seconds, materialised = _timed_query(db, _MATERIALISED, incident_id)
    raw_seconds, raw = _timed_query(db, _RAW, incident_id)
    echo("pandas ...")
    load_seconds, frames = _timed(lambda: _load_frames(db))
    pandas_seconds, computed = _timed(lambda: pandas_per_minute(frames, incident_id))
    _check_equal(materialised, raw, "DuckDB from the raw tables")
    _check_equal(materialised, computed, "pandas")
    top_seconds, _ = _timed_query(db, _TOP_POSTS, incident_id)
    return AlignBenchmark(
        posts=posts,
        days=days,
        incidents=len(outages),
        generate_seconds=generate_seconds,
        full_refresh_seconds=full.seconds,
        aligned_posts=full.aligned_posts,
        late_posts=late,
        incremental_refresh_seconds=incremental.seconds,
        incident_id=incident_id,
        incident_posts=incident_posts,
        minutes=minutes,
        materialised_query_seconds=materialised_seconds,
        raw_sql_seconds=raw_seconds,
        pandas_load_seconds=load_seconds,
        pandas_seconds=pandas_seconds,
        top_posts_seconds=top_seconds,
        machine=machine_description(),
    )


# -- the generated database ---------------------------------------------------------------


def plan_outages(days: int, seed: int = 20240701) -> list[Outage]:
    """Six outages spread over the period, at different hours of the day."""
    rng = random.Random(seed)
    outages = []
    for number in range(INCIDENTS):
        day = (number + 0.5) * days / INCIDENTS
        onset = START + timedelta(days=int(day), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        outages.append(
            Outage(f"bench-{number + 1:02d}", onset, rng.randint(40, 100), rng.randint(1, 5), rng.randint(4, 12))
        )
    return outages


def _outage_values(outages: list[Outage]) -> str:
    return ", ".join(
        f"({k}, '{o.incident_id}', '{o.onset.isoformat()}'::TIMESTAMPTZ, {o.minutes}, {o.lag}, {o.signal_delay})"
        for k, o in enumerate(outages)
    )


def generate(store: Store, posts: int, days: int, outages: list[Outage]) -> None:
    """Posts, labels, incidents, events and metrics, all in SQL."""
    execute = store.connection.execute
    execute(
        f"CREATE OR REPLACE TEMP TABLE outages AS SELECT * FROM (VALUES {_outage_values(outages)}) "
        "o(k, incident_id, onset, minutes, lag, signal_delay)"
    )
    # Uniform [0, 1) from a hash: deterministic whatever the thread count.
    execute("CREATE OR REPLACE TEMP MACRO u(i, salt) AS (hash(i, salt) % 1000000007)::DOUBLE / 1000000007")
    _generate_posts(store, "range(?)", [posts], days, len(outages))
    _generate_timeline(store, days)


def _generate_posts(store: Store, ids: str, params: list, days: int, incidents: int) -> None:
    """Posts and labels for the ids of the table function ``ids``: 30 % in outage bursts."""
    complaint_types = str(list(COMPLAINT_TYPES))
    store.connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE generated AS
        WITH drawn AS (
            SELECT i, u(i, 1) < 0.3 AS burst, u(i, 2) AS day, u(i, 3) AS clock, u(i, 4) AS decay, u(i, 5) AS chatter,
                   u(i, 6) AS rel, u(i, 7) AS comp, u(i, 8) AS sent, u(i, 9) AS kind, u(i, 10) AS blame,
                   u(i, 11) AS src, u(i, 12) AS likes, u(i, 13) AS author
            FROM {ids} t(i)
        ),
        timed AS (
            SELECT d.*, o.incident_id,
                   CASE WHEN NOT d.burst
                        -- a daily rhythm: busier in the evening (UTC), quieter at night
                        THEN TIMESTAMPTZ '{START.isoformat()}' + to_days(floor(d.day * {days})::INTEGER)
                             + to_microseconds(((d.clock + 0.1 * sin(2 * pi() * d.clock)) * 86400e6)::BIGINT)
                        WHEN d.chatter < 0.15
                        THEN o.onset + to_microseconds(((d.decay * 240 - 60) * 60e6)::BIGINT)
                        ELSE o.onset + to_microseconds((-ln(1 - d.decay) * o.minutes / 2.5 * 60e6)::BIGINT)
                   END AS created_at,
                   d.burst AND d.chatter >= 0.15 AS outage_post
            FROM drawn d LEFT JOIN outages o ON o.k = d.i % {incidents}
        )
        SELECT i, created_at, outage_post,
               rel < CASE WHEN outage_post THEN 0.85 ELSE 0.35 END AS relevant,
               CASE WHEN rel < CASE WHEN outage_post THEN 0.85 ELSE 0.35 END
                         AND comp < CASE WHEN outage_post THEN 0.7 ELSE 0.1 END
                    THEN {complaint_types}[1 + floor(kind * {len(COMPLAINT_TYPES)})::INTEGER] ELSE 'none' END AS complaint_type,
               CASE WHEN sent < CASE WHEN outage_post THEN 0.65 ELSE 0.25 END THEN 'negative'
                    WHEN sent < CASE WHEN outage_post THEN 0.9 ELSE 0.8 END THEN 'neutral' ELSE 'positive' END AS sentiment,
               CASE WHEN NOT outage_post OR blame < 0.4 THEN 'none' WHEN blame < 0.65 THEN 'person'
                    WHEN blame < 0.85 THEN 'company' WHEN blame < 0.95 THEN 'attackers' ELSE 'third_party' END AS blame_target,
               CASE WHEN src < 0.8 THEN 'x' WHEN src < 0.92 THEN 'bluesky' ELSE 'mastodon' END AS source,
               floor(pow(1 - likes, -0.9))::BIGINT - 1 AS like_count,
               floor(author * 400000)::BIGINT AS author
        FROM timed
        """,
        params,
    )
    store.connection.execute(
        """
        INSERT INTO posts (id, source, native_id, text, created_at, author_id, author_handle, author_name,
                           author_followers, lang, like_count, repost_count, reply_count, quote_count, origin, ingested_at)
        SELECT source || ':' || i, source, i::VARCHAR,
               CASE complaint_type
                   WHEN 'none' THEN CASE WHEN relevant THEN 'Waiting for the Space to start, who else is in?'
                                         ELSE 'Great game tonight, what a finish' END
                   WHEN 'cannot_join' THEN 'Cannot join the Space, it just spins forever'
                   WHEN 'audio_quality' THEN 'Audio keeps cutting out on Spaces, unlistenable'
                   WHEN 'app_crash' THEN 'The app crashed twice trying to open the Space'
                   WHEN 'capacity' THEN 'Space is full?? they said 8 million listeners'
                   WHEN 'delay' THEN 'Still not started, 30 minutes late now'
                   ELSE 'Getting an error every time I tap the Space' END || ' #' || (i % 997),
               created_at, 'u' || author, 'user' || author, 'User ' || author, (author * 37) % 100000, 'en',
               like_count, like_count // 4, like_count // 8, like_count // 20, 'bench', now()
        FROM generated ORDER BY created_at
        """
    )
    store.connection.execute(
        """
        INSERT INTO post_labels (post_id, model_version, language, is_english, sentiment, p_negative, p_neutral,
                                 p_positive, complaint_type, complaint_score, relevance, relevant, blame_target,
                                 blame_entity, classified_at)
        SELECT source || ':' || i, 'bench-v1', 'en', true, sentiment,
               CASE sentiment WHEN 'negative' THEN 0.8 ELSE 0.1 END, CASE sentiment WHEN 'neutral' THEN 0.8 ELSE 0.1 END,
               CASE sentiment WHEN 'positive' THEN 0.8 ELSE 0.1 END,
               complaint_type, 0.7, CASE WHEN relevant THEN 0.9 ELSE 0.1 END, relevant, blame_target,
               CASE blame_target WHEN 'person' THEN 'Elon Musk' WHEN 'company' THEN 'X' WHEN 'attackers' THEN 'attackers'
                                 WHEN 'third_party' THEN 'internet provider' END,
               now()
        FROM generated ORDER BY created_at
        """
    )
    store.connection.execute("DROP TABLE generated")


def _generate_timeline(store: Store, days: int) -> None:
    execute = store.connection.execute
    execute(
        """
        INSERT INTO incidents (id, name, service, timezone, started_at, resolved_at, impact, source, imported_at)
        SELECT incident_id, 'Generated outage ' || incident_id, 'X Spaces', 'UTC',
               onset + to_minutes(signal_delay), onset + to_minutes(minutes + 15), 'major', 'statuspage', now()
        FROM outages
        """
    )
    execute(
        """
        INSERT INTO incident_events (id, incident_id, occurred_at, kind, phase, title, source, imported_at)
        SELECT 'statuspage:' || incident_id || '-' || phase, incident_id, onset + to_minutes(at_minute::INTEGER),
               'status_update', phase, upper(phase[1]) || phase[2:], 'statuspage', now()
        FROM outages, LATERAL (VALUES ('investigating', signal_delay), ('identified', signal_delay + 12),
                                      ('monitoring', minutes * 0.8), ('resolved', minutes + 15)) v(phase, at_minute)
        UNION ALL
        SELECT 'yaml:' || incident_id || '-statement', incident_id, onset + to_minutes(signal_delay + 5), 'statement',
               NULL, 'The owner blames a DDoS attack', 'yaml', now()
        FROM outages
        """
    )
    # One join-error sample a minute for the whole period; during an outage it is high,
    # starting ``lag`` minutes before the complaints do.
    execute(
        f"""
        INSERT INTO metrics (metric, labels, observed_at, value, source)
        SELECT 'spaces_join_error_ratio', '{{"service":"spaces"}}', t,
               CASE WHEN o.k IS NULL THEN 0.01 + 0.005 * u(epoch(t)::BIGINT, 20)
                    ELSE 0.25 + 0.2 * exp(-epoch(t - o.onset + to_minutes(o.lag)) / 60 / o.minutes)
                         + 0.02 * u(epoch(t)::BIGINT, 21) END,
               'prometheus'
        FROM generate_series(TIMESTAMPTZ '{START.isoformat()}', TIMESTAMPTZ '{START.isoformat()}' + to_days({days}),
                             INTERVAL 1 MINUTE) s(t)
        LEFT JOIN outages o ON t >= o.onset - to_minutes(o.lag) AND t < o.onset - to_minutes(o.lag) + to_minutes(o.minutes)
        """
    )


def append_late_posts(store: Store, count: int, days: int) -> None:
    """A late batch (a backfill) of ``count`` posts with their labels, spread like the rest."""
    with store.transaction():
        first = store.query("SELECT count(*) FROM posts")[0][0] + 10**9
        _generate_posts(store, f"range({first}, {first} + ?)", [count], days, INCIDENTS)


# -- the per-minute query, three ways -------------------------------------------------------

_MATERIALISED = f"SELECT {', '.join(PER_MINUTE_COLUMNS)} FROM incident_minutes WHERE incident_id = $incident ORDER BY minute"

_RAW = """
WITH w AS (
    SELECT window_start, window_end FROM alignment_windows WHERE incident_id = $incident
),
p AS (
    SELECT id, created_at, date_trunc('minute', created_at) AS minute FROM posts
    WHERE created_at >= (SELECT window_start FROM w) AND created_at < (SELECT window_end FROM w)
),
l AS (
    SELECT post_id, relevant, complaint_type, sentiment FROM post_labels WHERE post_id IN (SELECT id FROM p)
    QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY classified_at DESC, model_version DESC) = 1
),
counts AS (
    SELECT minute, count(*) AS posts, count(*) FILTER (l.relevant) AS relevant_posts,
           count(l.post_id) AS labelled_posts,
           count(*) FILTER (l.relevant AND l.complaint_type <> 'none') AS complaint_posts,
           count(*) FILTER (l.relevant AND l.sentiment = 'negative') AS negative,
           count(*) FILTER (l.relevant AND l.sentiment = 'neutral') AS neutral,
           count(*) FILTER (l.relevant AND l.sentiment = 'positive') AS positive
    FROM p LEFT JOIN l ON l.post_id = p.id GROUP BY minute
),
grid AS (
    SELECT unnest(generate_series(window_start, window_end - INTERVAL 1 MINUTE, INTERVAL 1 MINUTE)) AS minute FROM w
),
phases AS (
    SELECT occurred_at, arg_max(phase, list_position(['investigating', 'identified', 'monitoring', 'resolved'], phase)) AS phase
    FROM incident_events WHERE incident_id = $incident AND phase IS NOT NULL GROUP BY occurred_at
)
SELECT g.minute, coalesce(ph.phase, 'before') AS phase,
       coalesce(c.posts, 0), coalesce(c.relevant_posts, 0), coalesce(c.labelled_posts, 0), coalesce(c.complaint_posts, 0),
       coalesce(c.negative, 0), coalesce(c.neutral, 0), coalesce(c.positive, 0)
FROM grid g ASOF LEFT JOIN phases ph ON g.minute >= ph.occurred_at
LEFT JOIN counts c ON c.minute = g.minute
ORDER BY g.minute
"""

_TOP_POSTS = """
SELECT id, created_at, text, engagement, sentiment, complaint_type, phase FROM posts_aligned
WHERE incident_id = $incident ORDER BY engagement DESC, id LIMIT 20
"""


def _busiest(db: Path) -> tuple[str, int, int]:
    with Store.open(db, read_only=True) as store:
        return store.query(
            "SELECT incident_id, sum(posts), count(*) FROM incident_minutes GROUP BY incident_id ORDER BY sum(posts) DESC LIMIT 1"
        )[0]


def _timed(work: Callable):
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def _timed_query(db: Path, sql: str, incident_id: str, repeats: int = 5) -> tuple[float, list[tuple]]:
    """Median seconds of ``repeats`` runs on an open read-only connection (the dashboard's case)."""
    with Store.open(db, read_only=True) as store:
        times, rows = [], []
        for _ in range(repeats):
            seconds, rows = _timed(lambda: store.query(sql, {"incident": incident_id}))
            times.append(seconds)
    return statistics.median(times), rows


def _load_frames(db: Path) -> dict[str, pd.DataFrame]:
    """The raw tables pandas needs, as an analyst would export them."""
    with Store.open(db, read_only=True) as store:
        fetch = lambda sql: store.connection.sql(sql).to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)  # noqa: E731
        return {
            "posts": fetch("SELECT id, created_at FROM posts"),
            "labels": fetch("SELECT post_id, model_version, classified_at, relevant, complaint_type, sentiment FROM post_labels"),
            "events": fetch("SELECT incident_id, occurred_at, phase FROM incident_events"),
            "windows": fetch("SELECT incident_id, window_start, window_end FROM alignment_windows"),
        }


def pandas_per_minute(frames: dict[str, pd.DataFrame], incident_id: str) -> list[tuple]:
    """The per-minute answer for one incident in pandas, from the raw tables."""
    window = frames["windows"].set_index("incident_id").loc[incident_id]
    posts = frames["posts"]
    posts = posts[(posts["created_at"] >= window["window_start"]) & (posts["created_at"] < window["window_end"])]
    labels = frames["labels"]
    labels = labels[labels["post_id"].isin(posts["id"])]
    labels = labels.sort_values(["classified_at", "model_version"]).drop_duplicates("post_id", keep="last")
    joined = posts.merge(labels, left_on="id", right_on="post_id", how="left")
    joined["minute"] = joined["created_at"].dt.floor("min")
    relevant = joined["relevant"].fillna(False).astype(bool)
    complaint = relevant & (joined["complaint_type"] != "none").fillna(False).astype(bool)
    sentiment = joined["sentiment"]
    counts = pd.DataFrame(
        {
            "minute": joined["minute"],
            "posts": 1,
            "relevant_posts": relevant.astype(int),
            "labelled_posts": joined["post_id"].notna().astype(int),
            "complaint_posts": complaint.astype(int),
            "negative": (relevant & (sentiment == "negative").fillna(False).astype(bool)).astype(int),
            "neutral": (relevant & (sentiment == "neutral").fillna(False).astype(bool)).astype(int),
            "positive": (relevant & (sentiment == "positive").fillna(False).astype(bool)).astype(int),
        }
    ).groupby("minute").sum()
    grid = pd.date_range(window["window_start"], window["window_end"], freq="min", inclusive="left")
    counts = counts.reindex(grid, fill_value=0)
    counts.index.name = "minute"
    events = frames["events"]
    events = events[(events["incident_id"] == incident_id) & events["phase"].notna()].copy()
    events["rank"] = events["phase"].map({"investigating": 1, "identified": 2, "monitoring": 3, "resolved": 4}).astype(int)
    events = events.sort_values(["occurred_at", "rank"]).drop_duplicates("occurred_at", keep="last")
    events["occurred_at"] = events["occurred_at"].astype("datetime64[us, UTC]")
    minutes = counts.reset_index()
    minutes["minute"] = minutes["minute"].astype("datetime64[us, UTC]")
    phased = pd.merge_asof(minutes, events[["occurred_at", "phase"]], left_on="minute", right_on="occurred_at")
    phased["phase"] = phased["phase"].astype(object).fillna("before")
    return [
        (row.minute.to_pydatetime(), row.phase, *(int(getattr(row, c)) for c in PER_MINUTE_COLUMNS[2:]))
        for row in phased.itertuples()
    ]


def _check_equal(expected: list[tuple], got: list[tuple], what: str) -> None:
    normalise = lambda rows: [(r[0].timestamp(), *r[1:]) for r in rows]  # noqa: E731
    if normalise(expected) != normalise(got):
        first = next(i for i, (a, b) in enumerate(zip(normalise(expected), normalise(got))) if a != b) if len(expected) == len(got) else None
        raise AssertionError(f"{what} disagrees with incident_minutes ({len(got)} vs {len(expected)} rows, first difference at row {first})")
