import re
import subprocess
import sys
import time

import duckdb
import pytest

from pipeline.errors import SchemaTooNew, StoreError
from pipeline.store import LATEST_VERSION, MIGRATIONS, Store

CORE = {"schema_version", "posts", "rejected", "ingest_runs", "incidents", "incident_events", "metrics", "post_labels", "alerts", "live_cursors"}
TABLES = CORE | {
    name for migration in MIGRATIONS
    for name in re.findall(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", migration.sql, re.I)
}
"""Every table and view some migration creates (and the ones other code relies on by name)."""


def tables(store: Store) -> set[str]:
    return {name for (name,) in store.query("SELECT table_name FROM information_schema.tables")}


def test_opening_a_new_file_creates_every_table_at_the_latest_version(db_path):
    with Store.open(db_path) as store:
        assert store.schema_version() == LATEST_VERSION
        assert tables(store) == TABLES


def make_version_1_database(path):
    connection = duckdb.connect(str(path))
    connection.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    connection.execute(MIGRATIONS[0].sql)
    connection.execute("INSERT INTO schema_version (version, description) VALUES (1, 'old')")
    return connection


def test_opening_an_older_database_upgrades_it_and_keeps_its_rows(db_path):
    connection = make_version_1_database(db_path)
    connection.execute(
        "INSERT INTO posts (id, source, native_id, text, created_at, ingested_at) "
        "VALUES ('x:1', 'x', '1', 'old post', TIMESTAMPTZ '2024-08-13 00:00:00+00', now())"
    )
    connection.close()

    with Store.open(db_path) as store:
        assert store.schema_version() == LATEST_VERSION
        assert tables(store) == TABLES
        assert store.query("SELECT id, text FROM posts") == [("x:1", "old post")]
        assert [v for (v,) in store.query("SELECT version FROM schema_version ORDER BY version")] == list(range(1, LATEST_VERSION + 1))


def test_a_database_from_a_newer_groundswell_is_refused_with_a_clear_error(db_path):
    with Store.open(db_path) as store:
        store.query("INSERT INTO schema_version (version, description) VALUES (999, 'from the future')")
    with pytest.raises(SchemaTooNew, match="schema version 999, but this groundswell knows only up to"):
        Store.open(db_path)


def test_read_only_open_of_a_missing_file_says_how_to_create_it(tmp_path):
    with pytest.raises(StoreError, match="does not exist; run `groundswell ingest`"):
        Store.open(tmp_path / "absent.duckdb", read_only=True)


def test_read_only_open_of_an_outdated_database_asks_for_a_write_open_first(db_path):
    make_version_1_database(db_path).close()
    with pytest.raises(StoreError, match="open it once for writing"):
        Store.open(db_path, read_only=True)


def test_a_file_that_is_not_a_database_gives_one_line_error(tmp_path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("this is not a database\n" * 100)
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open(bogus)


def test_a_failed_transaction_leaves_nothing_behind(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.query(
                "INSERT INTO posts (id, source, native_id, text, created_at, ingested_at) "
                "VALUES ('x:1', 'x', '1', 't', now(), now())"
            )
            raise RuntimeError("crash mid-batch")
    assert store.query("SELECT count(*) FROM posts") == [(0,)]


HOLD_FILE = """
import sys, time
from pipeline.store import Store
store = Store.open(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
store.close()
"""


def _holder(db_path, seconds: float) -> subprocess.Popen:
    """Another process holding the database open for writing for ``seconds``."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_FILE, str(db_path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_reader_waits_for_a_writer_in_another_process_to_let_go(db_path):
    Store.open(db_path).close()
    holder = _holder(db_path, 1.5)
    started = time.monotonic()
    with Store.open(db_path, read_only=True) as store:
        waited = time.monotonic() - started
        assert store.schema_version() == LATEST_VERSION
    holder.wait()
    assert waited >= 1.0  # it could open only once the writer had let go, about 1.5 s after it took the file


def test_a_lock_held_past_the_timeout_is_one_clear_error(db_path):
    Store.open(db_path).close()
    holder = _holder(db_path, 3)
    try:
        with pytest.raises(StoreError, match="Conflicting lock"):
            Store.open(db_path, read_only=True, lock_timeout=0.3)
    finally:
        holder.wait()
