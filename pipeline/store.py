"""The DuckDB store: schema, versioned migrations, bulk writes, read-only access.

One process writes at a time (DuckDB's rule), and while it holds the file no
other process can open it, not even read-only. So every process holds the file
briefly: writers open it, write in short transactions and close it; readers
(the dashboard, ``groundswell sql``) open it ``read_only`` for one round of
queries and close it. :meth:`Store.open` waits out a conflicting lock with
exponential backoff and jitter (``lock_timeout`` seconds in all) instead of
failing on the first conflict. Every write is a bulk append of an Arrow table
(``INSERT OR IGNORE`` on the primary key keeps re-ingests idempotent), never a
row-by-row insert.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random_exponential

from pipeline.errors import SchemaTooNew, StoreError


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "posts, rejected records and ingest runs",
        """
        CREATE TABLE posts (
            id               VARCHAR PRIMARY KEY,  -- '<source>:<native_id>'
            source           VARCHAR NOT NULL,     -- x | bluesky | mastodon | table
            native_id        VARCHAR NOT NULL,
            text             VARCHAR NOT NULL,     -- plain text (HTML stripped)
            created_at       TIMESTAMPTZ NOT NULL, -- when the post was published
            author_id        VARCHAR,
            author_handle    VARCHAR,
            author_name      VARCHAR,
            author_followers BIGINT,
            lang             VARCHAR,              -- as the source declared it (BCP 47)
            url              VARCHAR,
            reply_to_id      VARCHAR,
            repost_of_id     VARCHAR,
            quote_of_id      VARCHAR,
            like_count       BIGINT,
            repost_count     BIGINT,
            reply_count      BIGINT,
            quote_count      BIGINT,
            raw              VARCHAR,              -- the source record as JSON text
            origin           VARCHAR,              -- the file or stream it came from
            ingested_at      TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE rejected (
            key         VARCHAR PRIMARY KEY,       -- hash of source, origin, position, item
            source      VARCHAR NOT NULL,
            origin      VARCHAR NOT NULL,
            position    BIGINT NOT NULL,           -- 1-based line, or array element
            item        INTEGER,                   -- index inside a multi-post record
            reason      VARCHAR NOT NULL,
            detail      VARCHAR NOT NULL,
            raw         VARCHAR NOT NULL,          -- undecodable bytes kept as \\x escapes
            rejected_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE ingest_runs (
            run_id      VARCHAR PRIMARY KEY,
            origin      VARCHAR NOT NULL,
            format      VARCHAR NOT NULL,
            started_at  TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            read        BIGINT,
            accepted    BIGINT,
            duplicates  BIGINT,
            rejected    BIGINT,
            skipped     BIGINT
        );
        """,
    ),
    Migration(
        2,
        "incidents, their timeline events and server-side metrics",
        """
        CREATE TABLE incidents (
            id          VARCHAR PRIMARY KEY,
            name        VARCHAR NOT NULL,
            service     VARCHAR,
            timezone    VARCHAR NOT NULL DEFAULT 'UTC',
            started_at  TIMESTAMPTZ,
            resolved_at TIMESTAMPTZ,
            impact      VARCHAR,
            description VARCHAR,
            keywords    VARCHAR[],
            source      VARCHAR NOT NULL,
            imported_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE incident_events (
            id          VARCHAR PRIMARY KEY,       -- '<source>:<native id>'
            incident_id VARCHAR NOT NULL,
            occurred_at TIMESTAMPTZ NOT NULL,
            kind        VARCHAR NOT NULL,          -- status_update | alert | deploy | mitigation | statement | ...
            phase       VARCHAR,                   -- investigating | identified | monitoring | resolved
            title       VARCHAR,
            body        VARCHAR,
            components  VARCHAR[],
            source      VARCHAR NOT NULL,
            imported_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE metrics (
            metric VARCHAR NOT NULL,
            labels VARCHAR NOT NULL,               -- JSON object, keys sorted
            observed_at TIMESTAMPTZ NOT NULL,
            value  DOUBLE,
            source VARCHAR NOT NULL,
            PRIMARY KEY (metric, labels, observed_at)
        );
        """,
    ),
    Migration(
        3,
        "post labels from the classifiers, one row per post and model version",
        """
        CREATE TABLE post_labels (
            post_id          VARCHAR NOT NULL,     -- posts.id
            model_version    VARCHAR NOT NULL,     -- all heads' versions, e.g. 'sentiment-v1+live-audio@3f2a…'
            language         VARCHAR,              -- detected (ISO 639-1), 'und' when unknown
            is_english       BOOLEAN NOT NULL,     -- the English-only heads ran on it
            sentiment        VARCHAR,              -- negative | neutral | positive (NULL when not English)
            p_negative       DOUBLE,
            p_neutral        DOUBLE,
            p_positive       DOUBLE,
            complaint_type   VARCHAR,              -- a taxonomy label, or 'none'
            complaint_score  DOUBLE,
            complaint_scores MAP(VARCHAR, DOUBLE), -- every label's score
            relevance        DOUBLE,               -- 0..1, about the incident at all
            relevant         BOOLEAN,
            blame_target     VARCHAR,              -- company | person | attackers | third_party | none
            blame_entity     VARCHAR,              -- who exactly, e.g. 'Elon Musk', 'X'
            entities         JSON,                 -- [{"text", "label", "start", "end"}] from spaCy
            classified_at    TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (post_id, model_version)
        );
        """,
    ),
    Migration(
        4,
        "alignment of posts with the incident timeline (filled by pipeline.align.refresh) and alerts",
        """
        -- The newest label of each post (ties: the highest model version).
        CREATE VIEW post_labels_latest AS
            SELECT * FROM post_labels
            QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY classified_at DESC, model_version DESC) = 1;

        -- Each incident's window, first internal signal and resolution, as of the last refresh.
        CREATE TABLE alignment_windows (
            incident_id           VARCHAR PRIMARY KEY,
            window_start          TIMESTAMPTZ NOT NULL,  -- inclusive, on a minute
            window_end            TIMESTAMPTZ NOT NULL,  -- exclusive, on a minute
            first_internal_signal TIMESTAMPTZ,           -- first status_update / alert event
            resolution            TIMESTAMPTZ
        );
        -- The phase changes the ASOF JOIN looks up (one row per incident and instant).
        CREATE TABLE alignment_phases (
            incident_id VARCHAR NOT NULL,
            occurred_at TIMESTAMPTZ NOT NULL,
            phase       VARCHAR NOT NULL
        );
        -- Every post inside some incident's window, with its labels and phase; sorted by incident.
        CREATE TABLE aligned_posts (
            id                   VARCHAR NOT NULL,
            source               VARCHAR NOT NULL,
            created_at           TIMESTAMPTZ NOT NULL,
            minute               TIMESTAMPTZ NOT NULL,
            text                 VARCHAR NOT NULL,
            author_handle        VARCHAR,
            author_name          VARCHAR,
            author_followers     BIGINT,
            lang                 VARCHAR,
            url                  VARCHAR,
            like_count           BIGINT,
            repost_count         BIGINT,
            reply_count          BIGINT,
            quote_count          BIGINT,
            engagement           BIGINT NOT NULL,
            language             VARCHAR,
            is_english           BOOLEAN,
            sentiment            VARCHAR,
            p_negative           DOUBLE,
            p_neutral            DOUBLE,
            p_positive           DOUBLE,
            complaint_type       VARCHAR,
            complaint_score      DOUBLE,
            relevance            DOUBLE,
            relevant             BOOLEAN,
            blame_target         VARCHAR,
            blame_entity         VARCHAR,
            model_version        VARCHAR,
            incident_id          VARCHAR NOT NULL,
            phase                VARCHAR NOT NULL,
            minutes_since_signal DOUBLE
        );
        -- Every post, aligned: the materialised in-window posts, then every other post live.
        CREATE VIEW posts_aligned AS
            SELECT * FROM aligned_posts
            UNION ALL BY NAME
            SELECT p.id, p.source, p.created_at, date_trunc('minute', p.created_at) AS minute, p.text,
                   p.author_handle, p.author_name, p.author_followers, p.lang, p.url,
                   p.like_count, p.repost_count, p.reply_count, p.quote_count,
                   coalesce(p.like_count, 0) + coalesce(p.repost_count, 0) + coalesce(p.reply_count, 0)
                       + coalesce(p.quote_count, 0) AS engagement,
                   l.language, l.is_english, l.sentiment, l.p_negative, l.p_neutral, l.p_positive,
                   l.complaint_type, l.complaint_score, l.relevance, l.relevant, l.blame_target, l.blame_entity,
                   l.model_version,
                   NULL::VARCHAR AS incident_id, NULL::VARCHAR AS phase, NULL::DOUBLE AS minutes_since_signal
            FROM posts p
            LEFT JOIN post_labels_latest l ON l.post_id = p.id
            WHERE p.id NOT IN (SELECT id FROM aligned_posts);

        -- Posts per minute over the minutes the detector's seasonal baseline reads
        -- (each window's minutes on the previous days).
        CREATE TABLE minute_volume (
            minute          TIMESTAMPTZ NOT NULL,
            posts           BIGINT NOT NULL,
            relevant_posts  BIGINT NOT NULL,
            complaint_posts BIGINT NOT NULL
        );
        CREATE TABLE incident_minutes (
            incident_id     VARCHAR NOT NULL,
            minute          TIMESTAMPTZ NOT NULL,
            phase           VARCHAR NOT NULL,
            posts           BIGINT NOT NULL,
            relevant_posts  BIGINT NOT NULL,
            labelled_posts  BIGINT NOT NULL,
            complaint_posts BIGINT NOT NULL,
            negative        BIGINT NOT NULL,
            neutral         BIGINT NOT NULL,
            positive        BIGINT NOT NULL,
            negative_share  DOUBLE,
            neutral_share   DOUBLE,
            positive_share  DOUBLE
        );
        CREATE TABLE incident_minute_complaints (
            incident_id    VARCHAR NOT NULL,
            minute         TIMESTAMPTZ NOT NULL,
            complaint_type VARCHAR NOT NULL,
            posts          BIGINT NOT NULL
        );
        CREATE TABLE incident_minute_metrics (
            incident_id VARCHAR NOT NULL,
            minute      TIMESTAMPTZ NOT NULL,
            metric      VARCHAR NOT NULL,
            value       DOUBLE
        );
        CREATE VIEW incident_minute_events AS
            SELECT incident_id, date_trunc('minute', occurred_at) AS minute, occurred_at, kind, phase, title, source
            FROM incident_events;
        -- The detector's input: relevant complaint posts per minute beside their baseline.
        CREATE TABLE incident_minute_baseline (
            incident_id  VARCHAR NOT NULL,
            minute       TIMESTAMPTZ NOT NULL,
            observed     BIGINT NOT NULL,
            baseline     DOUBLE,                 -- NULL while too little history (warm-up)
            scale        DOUBLE,
            seasonal     BOOLEAN NOT NULL,       -- same minute of previous days, else a rolling window
            history_days INTEGER NOT NULL
        );
        CREATE TABLE incident_summary (
            incident_id           VARCHAR PRIMARY KEY,
            name                  VARCHAR,
            service               VARCHAR,
            timezone              VARCHAR,
            window_start          TIMESTAMPTZ,
            window_end            TIMESTAMPTZ,
            first_internal_signal TIMESTAMPTZ,
            first_social_spike    TIMESTAMPTZ,
            social_lead_minutes   DOUBLE,
            peak_posts_per_minute BIGINT,
            peak_posts_at         TIMESTAMPTZ,
            peak_negative_share   DOUBLE,
            peak_negative_at      TIMESTAMPTZ,
            recovery_minutes      DOUBLE,
            top_complaints        JSON,
            top_blamed            JSON,
            correlation_metric    VARCHAR,
            best_lag_minutes      INTEGER,
            best_lag_correlation  DOUBLE
        );
        -- What the last refresh covered, so the next one does only what changed.
        CREATE TABLE alignment_state (
            id                INTEGER PRIMARY KEY,
            refreshed_at      TIMESTAMPTZ NOT NULL,
            posts_watermark   TIMESTAMPTZ,
            labels_watermark  TIMESTAMPTZ
        );
        CREATE TABLE alerts (
            id                VARCHAR PRIMARY KEY,   -- '<incident>/<detector>/<minute>/<state>'
            incident_id       VARCHAR,
            detector          VARCHAR NOT NULL,
            minute            TIMESTAMPTZ NOT NULL,  -- the minute evaluated
            state             VARCHAR NOT NULL,      -- normal | elevated | incident
            previous_state    VARCHAR NOT NULL,
            observed          DOUBLE,
            baseline          DOUBLE,
            threshold         DOUBLE,
            message           VARCHAR NOT NULL,
            raised_at         TIMESTAMPTZ NOT NULL,
            delivery_status   VARCHAR NOT NULL,      -- pending | delivered | failed | not_configured
            delivery_attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_at   TIMESTAMPTZ,
            delivered_at      TIMESTAMPTZ,
            last_error        VARCHAR
        );
        """,
    ),
    Migration(
        5,
        "where each live stream was read up to, committed with its posts",
        """
        CREATE TABLE live_cursors (
            stream     VARCHAR PRIMARY KEY,        -- '<source kind>:<origin>', e.g. 'jetstream:wss://…'
            cursor     JSON,                       -- the source's resume position after the last committed batch
            updated_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    Migration(
        6,
        "posts_aligned: posts outside every window ranked per (id, created_at), so a time filter applies first",
        """
        CREATE OR REPLACE VIEW posts_aligned AS
            SELECT * FROM aligned_posts
            UNION ALL BY NAME
            SELECT p.id, p.source, p.created_at, date_trunc('minute', p.created_at) AS minute, p.text,
                   p.author_handle, p.author_name, p.author_followers, p.lang, p.url,
                   p.like_count, p.repost_count, p.reply_count, p.quote_count,
                   coalesce(p.like_count, 0) + coalesce(p.repost_count, 0) + coalesce(p.reply_count, 0)
                       + coalesce(p.quote_count, 0) AS engagement,
                   l.language, l.is_english, l.sentiment, l.p_negative, l.p_neutral, l.p_positive,
                   l.complaint_type, l.complaint_score, l.relevance, l.relevant, l.blame_target, l.blame_entity,
                   l.model_version,
                   NULL::VARCHAR AS incident_id, NULL::VARCHAR AS phase, NULL::DOUBLE AS minutes_since_signal
            FROM posts p
            LEFT JOIN post_labels l ON l.post_id = p.id
            WHERE NOT EXISTS (SELECT 1 FROM aligned_posts a WHERE a.id = p.id)
            QUALIFY row_number() OVER (PARTITION BY p.id, p.created_at
                    ORDER BY l.classified_at DESC NULLS LAST, l.model_version DESC NULLS LAST) = 1;
        """,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

POSTS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("native_id", pa.string()),
        ("text", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("author_id", pa.string()),
        ("author_handle", pa.string()),
        ("author_name", pa.string()),
        ("author_followers", pa.int64()),
        ("lang", pa.string()),
        ("url", pa.string()),
        ("reply_to_id", pa.string()),
        ("repost_of_id", pa.string()),
        ("quote_of_id", pa.string()),
        ("like_count", pa.int64()),
        ("repost_count", pa.int64()),
        ("reply_count", pa.int64()),
        ("quote_count", pa.int64()),
        ("raw", pa.string()),
        ("origin", pa.string()),
    ]
)

REJECTED_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("source", pa.string()),
        ("origin", pa.string()),
        ("position", pa.int64()),
        ("item", pa.int32()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("raw", pa.string()),
    ]
)


def rejection_key(source: str, origin: str, position: int, item: int | None) -> str:
    """Stable key so re-ingesting a file stores each bad record once."""
    return hashlib.blake2b(f"{source}\0{origin}\0{position}\0{item}".encode(), digest_size=12).hexdigest()


class Store:
    """An open DuckDB database with groundswell's schema."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path, read_only: bool):
        self.connection = connection
        self.path = path
        self.read_only = read_only

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False, lock_timeout: float = 30.0) -> Store:
        """Open (creating and migrating when writable); wait up to ``lock_timeout`` seconds
        for another process's lock on the file to be released."""
        path = Path(path)
        if read_only and not path.exists():
            raise StoreError(f"database {path} does not exist; run `groundswell ingest` or `groundswell demo` first")
        try:
            if not read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create the folder of database {path}: {error.strerror or error}") from None
        try:
            connection = _connect(path, read_only, lock_timeout)
        except duckdb.IOException as error:
            raise StoreError(f"cannot open database {path}: {_first_line(error)}") from None
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET enable_progress_bar = false")
        store = cls(connection, path, read_only)
        try:
            store._migrate()
        except Exception:
            connection.close()
            raise
        return store

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------

    def schema_version(self) -> int:
        exists = self.connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchall()[0][0]  # fetchall: a fetchone leaves the result open and blocks register() (DuckDB 2)
        if not exists:
            return 0
        return self.connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]

    def _migrate(self, target: int = LATEST_VERSION) -> None:
        current = self.schema_version()
        if current > LATEST_VERSION:
            raise SchemaTooNew(
                f"database {self.path} has schema version {current}, but this groundswell knows only up to "
                f"{LATEST_VERSION}; upgrade groundswell (pip install -U groundswell) to open it"
            )
        pending = [m for m in MIGRATIONS if current < m.version <= target]
        if pending and self.read_only:
            raise StoreError(
                f"database {self.path} has schema version {current} (current is {LATEST_VERSION}); "
                "open it once for writing (e.g. `groundswell ingest`) to upgrade it"
            )
        for migration in pending:
            with self.transaction():
                self.connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
                )
                self.connection.execute(migration.sql)
                self.connection.execute(
                    "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                    [migration.version, migration.description],
                )

    # -- writes ---------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction. A write the disk refuses (full, read-only, file too large)
        becomes one StoreError, and the database keeps everything committed before."""
        self.connection.execute("BEGIN TRANSACTION")
        try:
            yield
            self.connection.execute("COMMIT")
        except _WRITE_FAILURES as error:
            _rollback_quietly(self.connection)
            raise StoreError(
                f"cannot write to database {self.path}: {_first_line(error)}; "
                "this transaction was rolled back, everything stored before it is kept"
            ) from None
        except BaseException:
            _rollback_quietly(self.connection)
            raise

    @contextmanager
    def threads(self, count: int | None) -> Iterator[None]:
        """Limit DuckDB to ``count`` threads for the duration (None: leave as is)."""
        if count is None:
            yield
            return
        self.connection.execute(f"SET threads = {int(count)}")
        try:
            yield
        finally:
            self.connection.execute("RESET threads")

    def append_posts(self, batch: pa.Table) -> int:
        """Insert the posts whose id is not stored yet (nor earlier in the batch);
        returns how many were new. The primary-key index finds the repeats: an
        anti-join would rescan the whole table for every batch."""
        return self._append("posts", batch, "*, now() AS ingested_at")

    def append_rejections(self, batch: pa.Table) -> int:
        """Store rejected records not stored before; returns how many were new."""
        return self._append("rejected", batch, "*, now() AS rejected_at")

    def append_labels(self, batch: pa.Table) -> int:
        """Store label rows; a post already labelled by the same model version keeps its row."""
        return self._append("post_labels", batch, "* REPLACE (entities::JSON AS entities), now() AS classified_at")

    def _append(self, table: str, batch: pa.Table, columns: str) -> int:
        """``INSERT OR IGNORE`` an Arrow table by column name; returns the rows inserted."""
        name = f"incoming_{table}"
        self.connection.register(name, batch)
        try:
            return self._changed(
                self.connection.execute(f"INSERT OR IGNORE INTO {table} BY NAME SELECT {columns} FROM {name}")
            )
        finally:
            self.connection.unregister(name)

    def record_run(self, run: dict[str, Any]) -> None:
        columns = ", ".join(run)
        placeholders = ", ".join("?" for _ in run)
        with self.transaction():
            self.connection.execute(
                f"INSERT OR REPLACE INTO ingest_runs ({columns}) VALUES ({placeholders})", list(run.values())
            )

    def save_live_cursor(self, stream: str, cursor: Any) -> None:
        """Where ``stream`` was read up to; call inside the transaction that stores its batch."""
        self.connection.execute(
            "INSERT OR REPLACE INTO live_cursors VALUES (?, ?::JSON, now())",
            [stream, json.dumps(cursor, sort_keys=True, separators=(",", ":"))],
        )

    def append_metric(self, metric: str, labels: dict[str, str], observed_at: Any, value: float, source: str) -> None:
        """One sample of a series in ``metrics`` (the pipeline's own, beside the server-side ones)."""
        self.connection.execute(
            "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?)",
            [metric, json.dumps(labels, sort_keys=True), observed_at, value, source],
        )

    # -- reads ----------------------------------------------------------------

    def live_cursor(self, stream: str) -> Any:
        """The stored cursor of ``stream``, or None when it was never read."""
        rows = self.query("SELECT cursor FROM live_cursors WHERE stream = ?", [stream])
        return json.loads(rows[0][0]) if rows and rows[0][0] is not None else None

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple]:
        return self.connection.execute(sql, params or []).fetchall()

    @staticmethod
    def _changed(result: duckdb.DuckDBPyConnection) -> int:
        rows = result.fetchall()
        row = rows[0] if rows else None
        return int(row[0]) if row else 0


def _is_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def _connect(path: Path, read_only: bool, lock_timeout: float) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, retried while another process holds the file's lock."""
    retrying = Retrying(
        retry=retry_if_exception(_is_lock_conflict),
        wait=wait_random_exponential(multiplier=0.02, max=1.0),
        stop=stop_after_delay(lock_timeout),
        reraise=True,
    )
    return retrying(duckdb.connect, str(path), read_only=read_only)


_WRITE_FAILURES = (duckdb.IOException, duckdb.TransactionException, duckdb.FatalException)
"""What DuckDB raises when the disk refuses a write (and for the failed commit that follows)."""


def _rollback_quietly(connection: duckdb.DuckDBPyConnection) -> None:
    """Roll back what a failed write left; a failed commit has already ended the transaction."""
    try:
        connection.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
