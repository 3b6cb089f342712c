"""docs/schema.md, generated from the code so that it cannot go stale.

The tables and views, their columns and types are read from a freshly migrated
database (``information_schema.columns``, ``duckdb_tables()``, ``duckdb_views()``),
so the reference shows exactly what the migrations in pipeline/store.py build.
What a column means comes from the ``-- comment`` after it in the migration;
where a column has none (a view's columns, mostly), from :data:`MEANINGS`. What
a relation is comes from the comment lines right above its ``CREATE`` or, failing
that, from :data:`DESCRIPTIONS`. The example queries (:data:`EXAMPLES`) are run
against the labelled sample database by the tests.

``python -m pipeline.schema_doc`` rewrites docs/schema.md; tests/test_schema_doc.py
fails when the committed file differs from what the code generates now.
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.store import MIGRATIONS, Store

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DOC = ROOT / "docs" / "schema.md"
COMMAND = "python -m pipeline.schema_doc"

DESCRIPTIONS: dict[str, str] = {
    "posts": "One row per post, from any source; re-ingesting the same post changes nothing (the first copy stored wins).",
    "rejected": "Every input record that failed validation, with where it was and why: bad input is kept, never dropped.",
    "ingest_runs": "One row per ingest of a file or stream, with its reconciled counts (read = accepted + duplicates + rejected).",
    "incidents": "One row per incident, from a timeline import (Statuspage, PagerDuty, YAML/CSV).",
    "incident_events": "The server-side timeline: status updates, alerts, deploys, mitigations, public statements.",
    "metrics": "Server-side time series (Prometheus query_range and the like): one row per sample.",
    "post_labels": "What the classifiers said about each post, one row per post and model version: re-classifying with a new model keeps the old rows comparable.",
    "incident_minutes": "One row per incident and minute of its window (zeros filled): volume, complaints and sentiment shares among relevant posts.",
    "incident_minute_complaints": "Relevant complaint posts per incident, minute and complaint type (the complaint mix over time).",
    "incident_minute_metrics": "Each server-side metric's mean per incident and minute, labels collapsed, to set beside the posts.",
    "incident_minute_events": "The timeline events with the minute they fell in, to join with the per-minute tables.",
    "incident_summary": "One row per incident: when the posts moved against our own first signal, the peaks, the recovery, what people complained about and whom they blamed.",
    "alerts": "Every state change a spike detector raised, and whether its webhook delivery succeeded.",
    "schema_version": "The migrations applied to this file (groundswell upgrades older files when it opens them for writing).",
    "live_cursors": "Where each live stream was read up to, committed in the same transaction as its posts, so a restart resumes without a gap.",
}
"""What a relation is, where no comment above its CREATE says so."""

MEANINGS: dict[str, str] = {
    # posts
    "posts.native_id": "the id the source gave the post (X tweet id, Bluesky at-URI, Mastodon status URI)",
    "posts.author_id": "the source's id of the author (X user id, Bluesky DID, Mastodon account URI)",
    "posts.author_handle": "the author's handle, e.g. 'ann' or 'ann@fosstodon.org'",
    "posts.author_name": "the author's display name",
    "posts.author_followers": "the author's follower count when the post was read",
    "posts.url": "link to the post",
    "posts.reply_to_id": "the native id of the post it replies to",
    "posts.repost_of_id": "the native id of the post it reposts",
    "posts.quote_of_id": "the native id of the post it quotes",
    "posts.like_count": "likes (favourites) when the post was read",
    "posts.repost_count": "reposts (retweets, reblogs) when the post was read",
    "posts.reply_count": "replies when the post was read",
    "posts.quote_count": "quotes when the post was read",
    "posts.ingested_at": "when groundswell stored it",
    # rejected
    "rejected.source": "the adapter that read it: x | bluesky | mastodon | table",
    "rejected.origin": "the file or stream it came from",
    "rejected.reason": "not_json | wrong_encoding | oversize | missing_id | missing_text | missing_time | bad_time | wrong_type | not_a_post",
    "rejected.detail": "what exactly was wrong, with the offending value",
    "rejected.rejected_at": "when it was rejected",
    # ingest_runs
    "ingest_runs.run_id": "a random id per run",
    "ingest_runs.origin": "the file or stream ingested",
    "ingest_runs.format": "the adapter used: x | bluesky | mastodon | table",
    "ingest_runs.started_at": "when the run started",
    "ingest_runs.finished_at": "when it finished",
    "ingest_runs.read": "records read (= accepted + duplicates + rejected)",
    "ingest_runs.accepted": "new posts stored",
    "ingest_runs.duplicates": "posts already stored (or earlier in the same run)",
    "ingest_runs.rejected": "records kept in rejected",
    "ingest_runs.skipped": "well-formed records that are not posts (Jetstream likes, follows, deletes)",
    # incidents
    "incidents.id": "the incident's id, e.g. 'spaces-2024-08-12'",
    "incidents.name": "its title",
    "incidents.service": "the service affected",
    "incidents.timezone": "the time zone its people work in, for display (storage is UTC)",
    "incidents.started_at": "when it started, as the timeline says",
    "incidents.resolved_at": "when it was resolved, as the timeline says",
    "incidents.impact": "the impact the timeline declared (e.g. Statuspage's none | minor | major | critical)",
    "incidents.description": "free text from the timeline",
    "incidents.keywords": "words that make a post about this incident",
    "incidents.source": "the timeline format it came from: statuspage | pagerduty | yaml | csv",
    "incidents.imported_at": "when it was imported",
    # incident_events
    "incident_events.incident_id": "incidents.id",
    "incident_events.occurred_at": "when it happened",
    "incident_events.title": "a short title",
    "incident_events.body": "the full text (a status update's message, a statement's words)",
    "incident_events.components": "the components it names",
    "incident_events.source": "the timeline format it came from",
    "incident_events.imported_at": "when it was imported",
    # metrics
    "metrics.metric": "the series' name, e.g. 'spaces_join_error_ratio'",
    "metrics.observed_at": "the sample's time",
    "metrics.value": "the sample's value (NULL for NaN)",
    "metrics.source": "where it came from, e.g. 'prometheus'",
    # post_labels
    "post_labels.p_negative": "probability the post is negative",
    "post_labels.p_neutral": "probability it is neutral",
    "post_labels.p_positive": "probability it is positive",
    "post_labels.complaint_score": "the winning complaint type's score",
    "post_labels.relevant": "relevance over the profile's threshold",
    "post_labels.classified_at": "when it was labelled",
    # the alignment layer's shared columns
    "incident_id": "incidents.id (NULL: the post falls in no incident's window)",
    "minute": "the minute (UTC), truncated",
    "phase": "the incident's phase at that time: before | investigating | identified | monitoring | resolved",
    "minutes_since_signal": "minutes from the incident's first internal signal (negative: before it)",
    "engagement": "likes + reposts + replies + quotes (missing counts as 0)",
    "posts": "posts in that minute",
    "relevant_posts": "posts about the incident",
    "labelled_posts": "relevant posts the classifiers have labelled",
    "complaint_posts": "relevant posts whose complaint type is not 'none'",
    "negative": "relevant labelled posts that are negative",
    "neutral": "relevant labelled posts that are neutral",
    "positive": "relevant labelled posts that are positive",
    "negative_share": "negative / labelled relevant posts (NULL when there are none)",
    "neutral_share": "neutral / labelled relevant posts (NULL when there are none)",
    "positive_share": "positive / labelled relevant posts (NULL when there are none)",
    "incident_minute_complaints.complaint_type": "a taxonomy label (never 'none')",
    "incident_minute_complaints.posts": "relevant posts of that type in that minute",
    "incident_minute_metrics.metric": "metrics.metric",
    "incident_minute_metrics.value": "the mean of the metric's samples in that minute, over all labels",
    "incident_minute_events.occurred_at": "incident_events.occurred_at",
    "incident_minute_events.kind": "incident_events.kind",
    "incident_minute_events.phase": "incident_events.phase",
    "incident_minute_events.title": "incident_events.title",
    "incident_minute_events.source": "incident_events.source",
    # incident_summary
    "incident_summary.name": "incidents.name",
    "incident_summary.service": "incidents.service",
    "incident_summary.timezone": "incidents.timezone",
    "incident_summary.window_start": "start of the incident's window (inclusive)",
    "incident_summary.window_end": "end of the incident's window (exclusive)",
    "incident_summary.first_internal_signal": "our first status update or alert",
    "incident_summary.first_social_spike": "the first minute the posts broke from their baseline",
    "incident_summary.social_lead_minutes": "first_internal_signal - first_social_spike in minutes (positive: the posts moved first)",
    "incident_summary.peak_posts_per_minute": "the most posts in one minute",
    "incident_summary.peak_posts_at": "that minute",
    "incident_summary.peak_negative_share": "the highest negative share in a minute",
    "incident_summary.peak_negative_at": "that minute",
    "incident_summary.recovery_minutes": "minutes from resolution until the negative share was back to its pre-incident level (NULL: never)",
    "incident_summary.top_complaints": 'JSON: {phase: [{"type": t, "posts": n}, ...]}',
    "incident_summary.top_blamed": 'JSON: [{"target": t, "entity": e, "posts": n}, ...]',
    "incident_summary.correlation_metric": "the server-side metric that tracks the complaints best",
    "incident_summary.best_lag_minutes": "the lag (minutes) at which it tracks them best",
    "incident_summary.best_lag_correlation": "the correlation at that lag",
    # alerts
    "alerts.incident_id": "incidents.id (NULL: no incident declared yet)",
    "alerts.detector": "the detector that raised it",
    "alerts.previous_state": "the state before",
    "alerts.observed": "the value observed in that minute",
    "alerts.baseline": "the baseline it was compared with",
    "alerts.threshold": "the level that changes the state",
    "alerts.message": "the text sent to the webhook",
    "alerts.raised_at": "when it was raised",
    "alerts.delivery_attempts": "webhook POSTs tried",
    "alerts.last_attempt_at": "when the last one was tried",
    "alerts.delivered_at": "when one succeeded",
    "alerts.last_error": "why the last one failed",
    # the alignment's bookkeeping
    "alignment_windows.resolution": "when it was resolved (resolved_at, else its first 'resolved' event)",
    "alignment_phases.occurred_at": "when the phase began",
    "alignment_state.id": "always 1: the table has one row",
    "alignment_state.refreshed_at": "when pipeline.align.refresh last ran",
    "alignment_state.posts_watermark": "the newest posts.ingested_at it had seen",
    "alignment_state.labels_watermark": "the newest post_labels.classified_at it had seen",
    "incident_minute_baseline.observed": "relevant complaint posts in that minute",
    "incident_minute_baseline.scale": "the spread around the baseline (robust, floored at the Poisson spread)",
    "incident_minute_baseline.history_days": "how many previous days the seasonal baseline drew on",
    "live_cursors.updated_at": "when the cursor was last committed",
    # schema_version
    "schema_version.version": "the migration's number",
    "schema_version.description": "what it added",
    "schema_version.applied_at": "when it was applied to this file",
}
"""Column meanings where the migration has no comment: ``relation.column``, else
the column name alone for the columns the alignment layer shares."""

DERIVED: dict[str, tuple[str, ...]] = {
    "post_labels_latest": ("post_labels",),
    "aligned_posts": ("posts", "post_labels"),
    "posts_aligned": ("posts", "post_labels"),
}
"""Relations whose columns mean what the same columns of these tables mean."""


@dataclass(frozen=True)
class Example:
    question: str
    sql: str


EXAMPLES: tuple[Example, ...] = (
    Example(
        "When did the social reaction start, relative to our own first alert?",
        """
SELECT incident_id, first_internal_signal, first_social_spike, social_lead_minutes
FROM incident_summary
ORDER BY window_start;
""",
    ),
    Example(
        "How bad did it get, when, and how long did sentiment take to recover after the fix?",
        """
SELECT incident_id, peak_posts_per_minute, peak_posts_at,
       round(peak_negative_share, 2) AS peak_negative_share, peak_negative_at, recovery_minutes
FROM incident_summary
ORDER BY window_start;
""",
    ),
    Example(
        "Which complaints followed which server-side event? (each complaint is counted after the latest event before it)",
        """
SELECT e.incident_id, e.occurred_at, e.kind, e.title, p.complaint_type, count(*) AS posts
FROM posts_aligned p
ASOF JOIN incident_events e
  ON p.incident_id = e.incident_id AND p.created_at >= e.occurred_at
WHERE p.relevant AND p.complaint_type <> 'none'
GROUP BY ALL
ORDER BY e.incident_id, e.occurred_at, posts DESC;
""",
    ),
    Example(
        "Minute by minute: volume and negative share, with the server-side metric that tracks them best",
        """
SELECT m.incident_id, m.minute, m.phase, m.posts, m.complaint_posts,
       round(m.negative_share, 2) AS negative_share, s.correlation_metric, round(x.value, 3) AS metric_value
FROM incident_minutes m
JOIN incident_summary s USING (incident_id)
LEFT JOIN incident_minute_metrics x
  ON x.incident_id = m.incident_id AND x.minute = m.minute AND x.metric = s.correlation_metric
ORDER BY m.incident_id, m.minute;
""",
    ),
    Example(
        "What did people complain about in each phase?",
        """
SELECT incident_id, phase, complaint_type, count(*) AS posts
FROM posts_aligned
WHERE relevant AND complaint_type <> 'none'
GROUP BY incident_id, phase, complaint_type
ORDER BY incident_id, list_position(['before', 'investigating', 'identified', 'monitoring', 'resolved'], phase), posts DESC;
""",
    ),
    Example(
        "Whom did people blame, and did it change after the company's statement?",
        """
SELECT incident_id, phase, blame_target, blame_entity, count(*) AS posts
FROM posts_aligned
WHERE relevant AND blame_target <> 'none'
GROUP BY incident_id, phase, blame_target, blame_entity
ORDER BY incident_id, list_position(['before', 'investigating', 'identified', 'monitoring', 'resolved'], phase), posts DESC;
""",
    ),
    Example(
        "Which negative posts spread the most?",
        """
SELECT incident_id, created_at, author_handle, engagement, complaint_type, left(text, 80) AS text
FROM posts_aligned
WHERE relevant AND sentiment = 'negative' AND incident_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY engagement DESC, id) <= 5
ORDER BY incident_id, engagement DESC;
""",
    ),
    Example(
        "Which alerts did the detector raise, and were they delivered?",
        """
SELECT incident_id, minute, detector, previous_state, state, observed, baseline, delivery_status
FROM alerts
ORDER BY minute;
""",
    ),
    Example(
        "What was rejected on ingest, and why?",
        """
SELECT source, reason, count(*) AS records, any_value(detail) AS example
FROM rejected
GROUP BY ALL
ORDER BY records DESC;
""",
    ),
)
"""The questions analysts ask after an incident, each answered by one query."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    primary_key: bool
    meaning: str


@dataclass(frozen=True)
class Relation:
    name: str
    kind: str  # table | view
    migration: int | None
    description: str
    columns: tuple[Column, ...]


# -- what the migrations' comments say ------------------------------------------------

_CREATE = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)
_COLUMN = re.compile(r"^\s*(\w+)\s+[A-Za-z][^-]*?--\s*(.+?)\s*$")
_ADD_COLUMN = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+(?:COLUMN\s+)?(\w+)\s.*?--\s*(.+?)\s*$", re.I)
_COMMENT = re.compile(r"^\s*--\s?(.*?)\s*$")


@dataclass
class _Commented:
    order: list[str]
    migration: dict[str, int]
    descriptions: dict[str, str]
    columns: dict[tuple[str, str], str]


def commented_sql() -> _Commented:
    """Relations in the order the migrations create them, with the comments above
    each CREATE and after each column."""
    found = _Commented([], {}, {}, {})
    for migration in MIGRATIONS:
        _read_migration(migration.version, migration.sql, found)
    return found


def _read_migration(version: int, sql: str, found: _Commented) -> None:
    table: str | None = None
    above: list[str] = []
    for line in sql.splitlines():
        if create := _CREATE.match(line):
            name = create[1]
            found.order.append(name)
            found.migration[name] = version
            if above:
                found.descriptions[name] = " ".join(above)
            table = name if "(" in line and re.search(r"\bTABLE\b", line, re.I) else None
        elif added := _ADD_COLUMN.match(line):
            found.columns[(added[1], added[2])] = added[3]
        elif table and line.strip().startswith(")"):
            table = None
        elif table and (column := _COLUMN.match(line)):
            found.columns[(table, column[1])] = column[2]
        comment = _COMMENT.match(line)
        above = [*above, comment[1]] if comment else []


# -- what the database has --------------------------------------------------------------


def relations() -> list[Relation]:
    """Every table and view of a freshly migrated database, in the order the migrations made them."""
    commented = commented_sql()
    with tempfile.TemporaryDirectory(prefix="groundswell-schema-") as folder, Store.open(Path(folder) / "schema.duckdb") as store:
        kinds = dict(
            store.query(
                "SELECT table_name, 'table' FROM duckdb_tables() WHERE schema_name = 'main' "
                "UNION ALL SELECT view_name, 'view' FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal"
            )
        )
        keys = {(table, column) for table, columns in store.query(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ) for column in columns}  # fmt: skip
        rows = store.query(
            "SELECT table_name, column_name, data_type, is_nullable = 'NO' FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        )
    order = [name for name in commented.order if name in kinds] + sorted(set(kinds) - set(commented.order))
    columns: dict[str, list[Column]] = {name: [] for name in order}
    for table, name, type_, not_null in rows:
        meaning = _meaning(table, name, commented)
        columns[table].append(Column(name, type_, bool(not_null), (table, name) in keys, meaning))
    return [
        Relation(
            name,
            kinds[name],
            commented.migration.get(name),
            commented.descriptions.get(name) or DESCRIPTIONS.get(name, ""),
            tuple(columns[name]),
        )
        for name in order
    ]


def _meaning(relation: str, column: str, commented: _Commented) -> str:
    """The column's own comment, else MEANINGS, else what it means in the table it comes from."""
    candidates = [(relation, column), *((base, column) for base in DERIVED.get(relation, ()))]
    for table, name in candidates:
        meaning = commented.columns.get((table, name)) or MEANINGS.get(f"{table}.{name}")
        if meaning:
            return meaning
    return MEANINGS.get(column, "")


# -- the document --------------------------------------------------------------------------

_INTRO = """\
# Schema reference

Generated from the code by `{command}` (the migrations in `pipeline/store.py`, applied to an
empty database; column meanings from their comments and `pipeline/schema_doc.py`). Do not edit:
`tests/test_schema_doc.py` fails when this file is stale.

**Asking questions.** `groundswell sql "SELECT ..."` runs read-only SQL on the database, also
while the pipeline writes to it (`--format table|csv|json|parquet`, `--out FILE`); `groundswell sql`
alone opens an interactive session (statements end with `;`). Statements that would write or reach
outside the database are refused before anything runs; `COPY (...) TO 'data/exports/...'` writes
inside the export folder. `groundswell export --format parquet` writes `posts_aligned` as Parquet
partitioned by `incident_id` and `day` for tools outside DuckDB.

**Times** are `TIMESTAMPTZ`, stored and shown in UTC; `SET TimeZone = 'America/New_York';` shows
them in another zone for the rest of a session. The alignment tables (`aligned_posts`,
`incident_minutes`, `incident_summary`, ...) hold what `pipeline.align.refresh` computed when it
last ran.
"""


def render() -> str:
    """docs/schema.md as the code defines it now."""
    found = relations()
    parts = [_INTRO.format(command=COMMAND), "## Contents", ""]
    parts += [f"- [`{r.name}`](#{r.name}) ({r.kind}): {_first_sentence(r.description)}" for r in found]
    parts += ["", "## Questions analysts ask after an incident", ""]
    for example in EXAMPLES:
        parts += [f"### {example.question}", "", "```sql", example.sql.strip(), "```", ""]
    parts += ["## Tables and views", ""]
    for relation in found:
        parts += _relation_section(relation)
    return "\n".join(parts).rstrip() + "\n"


def _relation_section(relation: Relation) -> list[str]:
    added = f" Added by migration {relation.migration}." if relation.migration else " Kept by the migrator itself."
    lines = [f"### {relation.name}", "", f"*{relation.kind}.* {relation.description}{added}", ""]
    lines += ["| column | type | meaning |", "|---|---|---|"]
    for column in relation.columns:
        flags = [column.type] + (["primary key"] if column.primary_key else []) + (["not null"] if column.not_null and not column.primary_key else [])
        lines.append(f"| `{column.name}` | {', '.join(flags)} | {_cell(column.meaning)} |")
    return [*lines, ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _first_sentence(text: str) -> str:
    return _cell(re.split(r"(?<=[.;]) ", text)[0].rstrip(".;"))


def main() -> None:
    SCHEMA_DOC.parent.mkdir(exist_ok=True)
    SCHEMA_DOC.write_text(render())
    print(f"wrote {SCHEMA_DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
