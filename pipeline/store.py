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
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
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
        ).fetchone()[0]
        if not exists:
            return 0
        return self.connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]

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
        self.connection.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

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
        self.connection.execute(
            f"INSERT OR REPLACE INTO ingest_runs ({columns}) VALUES ({placeholders})", list(run.values())
        )

    # -- reads ----------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple]:
        return self.connection.execute(sql, params or []).fetchall()

    @staticmethod
    def _changed(result: duckdb.DuckDBPyConnection) -> int:
        row = result.fetchone()
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


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
