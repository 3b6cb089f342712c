"""`groundswell sql`: read-only queries on a real DuckDB file; every refusal happens before anything runs."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import tweet, write_lines, x_response
from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.errors import QueryFailed, QueryRefused
from pipeline.ingest import ingest_paths
from pipeline.sql import Session, inputs


@pytest.fixture(scope="module")
def posts_db(tmp_path_factory) -> Path:
    """A real database holding three posts from a real ingest (the tests prove they leave it unchanged)."""
    folder = tmp_path_factory.mktemp("posts-db")
    path = folder / "groundswell.duckdb"
    posts = write_lines(
        folder / "posts.jsonl",
        x_response(tweet("1", "Spaces is down"), tweet("2", "Still down", created_at="2024-08-13T00:06:00.000Z")),
        x_response(tweet("3", "It works now", created_at="2024-08-13T01:40:00.000Z")),
    )
    list(ingest_paths(load_settings(db_path=path), [posts]))
    return path


@pytest.fixture
def session(posts_db, tmp_path) -> Session:
    return Session(posts_db, tmp_path / "exports", lock_timeout=5)


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(session: Session, sql: str) -> list[dict]:
    return [result.table.to_pylist() for result in session.run(sql)][-1]


def run_cli(monkeypatch, capsys, *args: str, stdin: str | None = None):
    monkeypatch.setattr(sys, "argv", ["groundswell", *args])
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as exit:
        main()
    captured = capsys.readouterr()
    return exit.value.code, captured.out, captured.err


# -- what runs -------------------------------------------------------------------------


def test_a_select_returns_its_rows(session):
    assert rows(session, "SELECT native_id, text FROM posts ORDER BY native_id") == [
        {"native_id": "1", "text": "Spaces is down"},
        {"native_id": "2", "text": "Still down"},
        {"native_id": "3", "text": "It works now"},
    ]


@pytest.mark.parametrize(
    "sql,expected",
    [
        ("WITH d AS (SELECT count(*) AS n FROM posts) SELECT n FROM d", [{"n": 3}]),
        ("FROM posts SELECT count(*) AS n", [{"n": 3}]),
        ("VALUES (1, 'a')", [{"col0": 1, "col1": "a"}]),
        ("SELECT column_name FROM (DESCRIBE posts) LIMIT 2", [{"column_name": "id"}, {"column_name": "source"}]),
        ("SELECT name FROM (SHOW TABLES) WHERE name = 'posts'", [{"name": "posts"}]),
        ("SELECT column_name, count FROM (SUMMARIZE SELECT native_id FROM posts)", [{"column_name": "native_id", "count": 3}]),
        ("PIVOT (SELECT source FROM posts) ON source IN ('x', 'bluesky') USING count(*)", [{"x": 3, "bluesky": 0}]),
        ("SELECT count(*) AS n FROM pragma_table_info('posts')", [{"n": 21}]),
        ("CALL pragma_table_info('rejected')", None),
        ("CALL duckdb_tables()", None),
        ("PRAGMA show_tables", None),
        ("EXPLAIN SELECT * FROM posts", None),
        ("EXPLAIN ANALYZE SELECT count(*) FROM posts", None),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_read_only_statements_run(session, posts_db, sql, expected):
    before = fingerprint(posts_db)
    result = rows(session, sql)
    assert result == expected if expected is not None else len(result) >= 1
    assert fingerprint(posts_db) == before


def test_several_statements_run_in_order_and_each_returns_its_rows(session):
    results = session.run("SELECT 1 AS a; SELECT 2 AS b;")
    assert [result.table.to_pylist() for result in results] == [[{"a": 1}], [{"b": 2}]]


def test_a_session_setting_applies_to_the_rest_of_the_session(session):
    assert session.run("SET TimeZone = 'America/New_York'") == []
    (result,) = session.run("SELECT created_at FROM posts WHERE native_id = '1'")
    assert result.timezone == "America/New_York"
    assert rows(session, "SELECT strftime(created_at, '%H:%M %Z') AS t FROM posts WHERE native_id = '1'") == [
        {"t": "20:05 America/New_York"}
    ]


def test_a_setting_duckdb_rejects_is_one_error_and_not_kept(session):
    with pytest.raises(QueryFailed, match="Unknown TimeZone 'Nowhere'"):
        session.run("SET TimeZone = 'Nowhere'")
    assert rows(session, "SELECT current_setting('TimeZone') AS tz") == [{"tz": "UTC"}]


def test_copy_to_a_file_in_the_export_folder_is_written(session, tmp_path):
    (result,) = session.run(f"COPY (SELECT native_id FROM posts ORDER BY 1) TO '{tmp_path}/exports/ids.csv'")
    assert result.table.to_pylist() == [{"Count": 3}]
    assert (tmp_path / "exports" / "ids.csv").read_text() == "native_id\n1\n2\n3\n"


def test_copy_to_a_partitioned_folder_inside_the_export_folder_is_written(session, tmp_path):
    session.run(f"COPY (SELECT native_id, source FROM posts) TO '{tmp_path}/exports/by-source' (FORMAT parquet, PARTITION_BY (source))")
    assert [path.relative_to(tmp_path / "exports").as_posix() for path in (tmp_path / "exports").rglob("*.parquet")] == [
        "by-source/source=x/data_0.parquet"
    ]


def test_a_relative_copy_target_is_read_from_the_working_directory(posts_db):
    session = Session(posts_db, Path("data/exports"))
    session.run("COPY (SELECT 42 AS answer) TO 'data/exports/answer.json' (FORMAT json)")
    assert json.loads(Path("data/exports/answer.json").read_text()) == {"answer": 42}


# -- what is refused, one test per kind --------------------------------------------------

REFUSED = {
    "create table": ("CREATE TABLE t AS SELECT 1", "DDL (CREATE)"),
    "create temp table": ("CREATE TEMP TABLE t AS SELECT 1", "DDL (CREATE)"),
    "create view": ("CREATE VIEW v AS SELECT 1", "DDL (CREATE)"),
    "create macro": ("CREATE MACRO m(x) AS x + 1", "DDL (CREATE"),
    "create secret": ("CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "DDL (CREATE)"),
    "drop": ("DROP TABLE posts", "DDL (DROP)"),
    "alter": ("ALTER TABLE posts ADD COLUMN mood VARCHAR", "DDL (ALTER"),
    "comment on": ("COMMENT ON TABLE posts IS 'mine'", "DDL (ALTER"),
    "insert": ("INSERT INTO rejected SELECT * FROM rejected", "INSERT writes rows"),
    "update": ("UPDATE posts SET text = 'x'", "UPDATE writes rows"),
    "delete": ("DELETE FROM posts", "DELETE/TRUNCATE writes rows"),
    "truncate": ("TRUNCATE posts", "DELETE/TRUNCATE writes rows"),
    "merge": ("MERGE INTO posts USING posts AS p ON posts.id = p.id WHEN MATCHED THEN DELETE", "MERGE INTO writes rows"),
    "attach for writing": ("ATTACH 'other.duckdb' AS other", "ATTACH opens another database"),
    "attach read-only": ("ATTACH 'other.duckdb' AS other (READ_ONLY)", "ATTACH opens another database"),
    "detach": ("DETACH other", "DETACH"),
    "copy from": ("COPY posts FROM 'posts.csv'", "COPY ... FROM loads a file into a table"),
    "copy to outside": ("COPY posts TO '/tmp/posts.csv'", "COPY ... TO writes only inside the export folder"),
    "copy to the working directory": ("COPY posts TO 'posts.csv'", "COPY ... TO writes only inside the export folder"),
    "copy to a parent through ..": ("COPY posts TO '{exports}/../posts.csv'", "COPY ... TO writes only inside the export folder"),
    "copy to a sibling with the same prefix": ("COPY posts TO '{exports}2/posts.csv'", "COPY ... TO writes only inside the export folder"),
    "copy database": ("COPY FROM DATABASE memory TO other", "only the read-only PRAGMAs run"),
    "export database": ("EXPORT DATABASE '{exports}/dump'", "EXPORT DATABASE writes files"),
    "import database": ("IMPORT DATABASE '{exports}/dump'", "only the read-only PRAGMAs run"),
    "install": ("INSTALL httpfs", "INSTALL/LOAD of extensions"),
    "force install": ("FORCE INSTALL httpfs", "INSTALL/LOAD of extensions"),
    "load": ("LOAD parquet", "INSTALL/LOAD of extensions"),
    "update extensions": ("UPDATE EXTENSIONS", "a kind of statement groundswell sql does not run"),
    "set external access": ("SET enable_external_access = true", "only SET of"),
    "set allowed directories": ("SET allowed_directories = ['/']", "only SET of"),
    "set global": ("SET GLOBAL TimeZone = 'UTC'", "only SET of"),
    "set variable": ("SET VARIABLE x = 1", "only SET of"),
    "reset": ("RESET TimeZone", "only SET of"),
    "use": ("USE memory", "only SET of"),
    "pragma setting": ("PRAGMA threads = 1", "only SET of"),
    "pragma that writes": ("PRAGMA force_checkpoint", "only the read-only PRAGMAs run"),
    "pragma that configures": ("PRAGMA enable_profiling", "only the read-only PRAGMAs run"),
    "checkpoint": ("CHECKPOINT", "CALL runs only catalog functions"),
    "call checkpoint": ("CALL checkpoint()", "CALL runs only catalog functions"),
    "call a qualified function": ("CALL main.duckdb_tables()", "CALL runs only catalog functions"),
    "vacuum": ("VACUUM", "VACUUM/ANALYZE"),
    "analyze": ("ANALYZE", "VACUUM/ANALYZE"),
    "transaction": ("BEGIN TRANSACTION", "transactions are not needed"),
    "prepare": ("PREPARE q AS SELECT 1", "prepared statements"),
    "explain analyze of a write": ("EXPLAIN ANALYZE DELETE FROM posts", "DELETE/TRUNCATE writes rows"),
    "pivot that creates a type": ("PIVOT posts ON source", "PIVOT without an IN list"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_statement_that_would_write_or_escape_is_refused_before_anything_runs(session, posts_db, tmp_path, name):
    sql, reason = REFUSED[name]
    sql = sql.format(exports=tmp_path / "exports")
    before = fingerprint(posts_db)
    with pytest.raises(QueryRefused) as refused:
        session.run(f"COPY (SELECT 1) TO '{tmp_path}/exports/first.csv'; {sql}")
    assert reason in str(refused.value)
    assert str(refused.value).startswith("statement 2 (")
    assert str(refused.value).endswith("; nothing was run")
    assert not (tmp_path / "exports" / "first.csv").exists()  # the allowed first statement did not run either
    assert fingerprint(posts_db) == before
    assert not list(Path.cwd().iterdir()) and not (tmp_path / "other.duckdb").exists()


def test_a_select_that_reads_a_file_outside_the_export_folder_is_stopped_by_the_connection(session):
    with pytest.raises(QueryFailed, match="Permission Error: Cannot access file"):
        session.run("SELECT * FROM read_text('/etc/hostname')")


def test_a_select_may_read_back_what_was_exported(session, tmp_path):
    session.run(f"COPY (SELECT native_id FROM posts) TO '{tmp_path}/exports/ids.parquet'")
    assert rows(session, f"SELECT count(*) AS n FROM '{tmp_path}/exports/ids.parquet'") == [{"n": 3}]


def test_the_connection_configuration_is_locked(session, posts_db):
    """Were a SET to slip past the check, DuckDB itself would refuse it."""
    store = session._open()
    try:
        with pytest.raises(Exception, match="the configuration has been locked"):
            store.connection.execute("SET enable_external_access = true")
    finally:
        store.close()


def test_a_syntax_error_is_one_query_failed_line(session):
    with pytest.raises(QueryFailed, match='^Parser Error: syntax error at or near "SELEC"$'):
        session.run("SELEC 1")


def test_an_unknown_table_names_the_statement(session):
    with pytest.raises(QueryFailed, match=r"^statement 1 \(SELECT \* FROM nope\): Catalog Error: Table with name nope does not exist!"):
        session.run("SELECT * FROM nope")


# -- while the pipeline writes --------------------------------------------------------------

HOLD_AND_WRITE = """
import sys, time
from pipeline.store import Store
store = Store.open(sys.argv[1])
store.connection.execute("UPDATE posts SET text = 'written while held' WHERE native_id = '3'")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
store.close()
print("released", time.time(), flush=True)
"""


def test_a_query_issued_while_a_writer_holds_the_file_runs_once_it_lets_go(posts_db, tmp_path):
    database = Path(shutil.copy(posts_db, tmp_path / "written.duckdb"))
    session = Session(database, tmp_path / "exports")
    writer = subprocess.Popen([sys.executable, "-c", HOLD_AND_WRITE, str(database), "1.0"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "held"
        result = rows(session, "SELECT text FROM posts WHERE native_id = '3'")
        answered = time.time()
        word, released = writer.stdout.readline().split()
    finally:
        writer.wait()
    assert word == "released" and float(released) <= answered  # it could only open once the writer let go
    assert result == [{"text": "written while held"}]


# -- the command line -----------------------------------------------------------------------


def test_sql_prints_a_table_with_the_row_count(monkeypatch, capsys, posts_db):
    code, out, err = run_cli(monkeypatch, capsys, "sql", "SELECT native_id, author_name, reply_to_id FROM posts ORDER BY 1", "--db", str(posts_db))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].replace("┃", "│").split() == ["native_id", "│", "author_name", "│", "reply_to_id"]
    assert [line.split() for line in lines[2:5]] == [["1", "│", "Ann", "Outage", "│", "NULL"], ["2", "│", "Ann", "Outage", "│", "NULL"], ["3", "│", "Ann", "Outage", "│", "NULL"]]
    assert lines[-1] == "3 rows"


def test_sql_writes_csv_to_standard_output(monkeypatch, capsys, posts_db):
    code, out, err = run_cli(monkeypatch, capsys, "sql", "SELECT native_id, created_at, like_count FROM posts ORDER BY 1", "--format", "csv", "--db", str(posts_db))
    assert (code, err) == (0, "")
    assert out == (
        "native_id,created_at,like_count\n"
        "1,2024-08-13 00:05:00+00,7\n"
        "2,2024-08-13 00:06:00+00,7\n"
        "3,2024-08-13 01:40:00+00,7\n"
    )


def test_sql_writes_json_to_standard_output(monkeypatch, capsys, posts_db):
    code, out, err = run_cli(monkeypatch, capsys, "sql", "SELECT native_id, like_count, [1, 2] AS list FROM posts ORDER BY 1 LIMIT 2", "-f", "json", "--db", str(posts_db))
    assert (code, err) == (0, "")
    assert json.loads(out) == [{"native_id": "1", "like_count": 7, "list": [1, 2]}, {"native_id": "2", "like_count": 7, "list": [1, 2]}]


def test_sql_writes_parquet_to_the_out_file(monkeypatch, capsys, posts_db, tmp_path):
    target = tmp_path / "result.parquet"
    code, out, err = run_cli(monkeypatch, capsys, "sql", "SELECT native_id, created_at FROM posts ORDER BY 1", "--format", "parquet", "--out", str(target), "--db", str(posts_db))
    assert (code, out, err) == (0, f"wrote 3 rows to {target}\n", "")
    table = pq.read_table(target)
    assert table.column("native_id").to_pylist() == ["1", "2", "3"]
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"


def test_parquet_without_out_is_a_usage_error(monkeypatch, capsys, posts_db):
    code, out, err = run_cli(monkeypatch, capsys, "sql", "SELECT 1", "--format", "parquet", "--db", str(posts_db))
    assert code == 2 and "--format parquet writes a file: add --out FILE" in err


def test_a_refused_statement_is_one_error_line_and_exit_status_1(monkeypatch, capsys, posts_db):
    code, out, err = run_cli(monkeypatch, capsys, "sql", "DELETE FROM posts", "--db", str(posts_db))
    assert (code, out, err) == (1, "", "Error: statement 1 (DELETE FROM posts) refused: DELETE/TRUNCATE writes rows; nothing was run\n")


def test_a_missing_database_is_one_error_line(monkeypatch, capsys, tmp_path):
    code, out, err = run_cli(monkeypatch, capsys, "sql", "SELECT 1", "--db", str(tmp_path / "none.duckdb"))
    assert code == 1 and err.startswith("Error: database ") and err.count("\n") == 1


def test_the_interactive_mode_runs_each_statement_ended_by_a_semicolon(monkeypatch, capsys, posts_db):
    typed = "SELECT count(*)\n  AS n FROM posts;\nDROP TABLE posts;\n\nSET TimeZone = 'Asia/Tokyo';\nSELECT strftime(min(created_at), '%H:%M') AS t FROM posts;\n"
    code, out, err = run_cli(monkeypatch, capsys, "sql", "--format", "csv", "--db", str(posts_db), stdin=typed)
    assert code == 0
    assert out.splitlines() == [
        "Read-only SQL on " + str(posts_db) + ". End each statement with ';'. Ctrl-D leaves.",
        "sql> ...> n",
        "3",
        "sql> sql> sql> sql> t",
        "09:05",
        "sql> ",
    ]
    assert err == "Error: statement 1 (DROP TABLE posts) refused: DDL (DROP) changes the schema; nothing was run\n"


def test_the_interactive_mode_edits_lines_with_readline_in_a_real_terminal(posts_db):
    """In a pseudo-terminal, the up arrow brings back the last line (readline's history)."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the installed command, as a user runs it
        os.execv(GROUNDSWELL, [GROUNDSWELL, "sql", "--db", str(posts_db)])
    try:
        assert "sql> " in read_until(terminal, "sql> ")
        os.write(terminal, b"SELECT 40 + 2 AS answer;\r")
        first = read_until(terminal, "sql> ")
        os.write(terminal, b"\x1b[A\r")  # up arrow, enter
        second = read_until(terminal, "sql> ")
        os.write(terminal, b"\x04")  # Ctrl-D
        read_until(terminal, "")
    finally:
        _, status = os.waitpid(pid, 0)
    assert " 42 " in first and "1 row" in first
    assert "SELECT 40 + 2 AS answer;" in second and " 42 " in second
    assert os.waitstatus_to_exitcode(status) == 0


GROUNDSWELL = str(Path(sys.executable).parent / "groundswell")


def read_until(terminal: int, marker: str, timeout: float = 30.0) -> str:
    """What the terminal shows until ``marker`` appears (or it closes)."""
    seen, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline and not (marker and seen.decode(errors="replace").endswith(marker)):
        ready, _, _ = select.select([terminal], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            seen += chunk
    return seen.decode(errors="replace")


def test_typed_lines_are_grouped_into_statements_at_each_final_semicolon():
    lines = ["", "SELECT 1", "  FROM posts;", "SELECT ';' AS a;", "SELECT 2"]
    assert list(inputs(lines)) == ["SELECT 1\n  FROM posts;", "SELECT ';' AS a;", "SELECT 2"]
