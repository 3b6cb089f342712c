"""`groundswell export --format parquet`: posts_aligned as Hive partitions, read back and counted."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import tweet, write_lines, x_response
from pipeline import align
from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.errors import ExportError, StoreError
from pipeline.export import MANIFEST, ExportReport, export_parquet
from pipeline.ingest import ingest_paths
from pipeline.store import Store

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


@pytest.fixture(scope="module")
def database(labelled_sample_db, tmp_path_factory) -> Path:
    """The labelled sample, aligned, plus two posts a week before any incident (in no window)."""
    folder = tmp_path_factory.mktemp("export-db")
    path = Path(shutil.copy(labelled_sample_db, folder / "groundswell.duckdb"))
    stray = write_lines(
        folder / "stray.jsonl",
        x_response(tweet("stray-1", "Is Spaces slow for anyone?", created_at="2024-08-05T12:00:00.000Z")),
        x_response(tweet("stray-2", "Spaces fine again", created_at="2024-08-06T08:30:00.000Z")),
    )
    list(ingest_paths(load_settings(db_path=path), [stray]))
    with Store.open(path) as store:
        align.refresh(store)
    return path


@pytest.fixture(scope="module")
def exported(database, tmp_path_factory) -> ExportReport:
    return export_parquet(database, tmp_path_factory.mktemp("exports") / "posts")


def read_back(folder: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"CREATE VIEW exported AS SELECT * FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true)")
    return connection


def query(database: Path, sql: str) -> list[tuple]:
    with Store.open(database, read_only=True) as store:
        return store.query(sql)


def test_posts_are_partitioned_by_incident_and_day_with_the_databases_counts(exported, database):
    expected = query(
        database,
        "SELECT incident_id, CAST(created_at AS DATE) AS day, count(*) FROM posts_aligned GROUP BY ALL ORDER BY ALL",
    )
    with read_back(exported.folder) as connection:
        assert connection.sql("SELECT incident_id, day, count(*) FROM exported GROUP BY ALL ORDER BY ALL").fetchall() == expected
    folders = {path.parent.relative_to(exported.folder).as_posix() for path in exported.folder.rglob("*.parquet")}
    assert folders == {f"incident_id={incident or NULL_PARTITION}/day={day}" for incident, day, _ in expected}
    assert {f"incident_id={NULL_PARTITION}/day=2024-08-05", f"incident_id={NULL_PARTITION}/day=2024-08-06"} <= folders
    assert {incident for incident, _, _ in expected} == {None, "spaces-2023-05-24", "spaces-2024-08-12"}
    assert (exported.posts, exported.partitions) == (sum(count for _, _, count in expected), len(expected))


def test_every_row_and_column_of_posts_aligned_comes_back_from_the_files(exported, database):
    columns = [name for (name,) in query(database, "SELECT column_name FROM (DESCRIBE posts_aligned)")]
    with read_back(exported.folder) as connection:
        names = [name for (name,) in connection.sql("SELECT column_name FROM (DESCRIBE exported)").fetchall()]
        # the file columns in the view's order, then the partition columns read from the folder names
        assert names[:-2] == [name for name in columns if name != "incident_id"]
        assert sorted(names[-2:]) == ["day", "incident_id"]
        listed = ", ".join(columns)
        connection.execute(f"ATTACH '{database}' AS db (READ_ONLY)")
        assert connection.sql(f"SELECT count(*) FROM (SELECT {listed} FROM exported EXCEPT ALL SELECT {listed} FROM db.posts_aligned)").fetchall() == [(0,)]
        assert connection.sql(f"SELECT count(*) FROM (SELECT {listed} FROM db.posts_aligned EXCEPT ALL SELECT {listed} FROM exported)").fetchall() == [(0,)]


def test_the_manifest_says_what_the_export_holds(exported, database):
    manifest = json.loads((exported.folder / MANIFEST).read_text())
    assert {key: manifest[key] for key in ("view", "partition_by", "posts", "partitions", "files")} == {
        "view": "posts_aligned",
        "partition_by": ["incident_id", "day"],
        "posts": exported.posts,
        "partitions": exported.partitions,
        "files": exported.files,
    }


def test_an_export_replaces_an_earlier_one_and_leaves_nothing_beside_it(database, tmp_path):
    target = tmp_path / "posts"
    first = export_parquet(database, target)
    (target / f"incident_id={NULL_PARTITION}" / "day=1999-01-01").mkdir(parents=True)  # a leftover the new export must not keep
    second = export_parquet(database, target)
    assert (second.posts, second.partitions) == (first.posts, first.partitions)
    assert not (target / f"incident_id={NULL_PARTITION}" / "day=1999-01-01").exists()
    assert [path.name for path in tmp_path.iterdir()] == ["posts"]


def test_a_folder_that_is_not_an_earlier_export_is_never_replaced(database, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="exists and is not an earlier groundswell export; choose a new or empty folder"):
        export_parquet(database, mine)
    assert [path.name for path in tmp_path.iterdir()] == ["mine"]
    assert [path.name for path in mine.iterdir()] == ["notes.txt"]


def test_a_failed_export_leaves_nothing_behind(tmp_path):
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"not a database" * 1000)
    with pytest.raises(StoreError, match="cannot open database"):
        export_parquet(broken, tmp_path / "posts")
    assert [path.name for path in tmp_path.iterdir()] == ["broken.duckdb"]


def test_the_export_command_writes_parquet_and_says_what_it_wrote(database, tmp_path, monkeypatch, capsys):
    target = tmp_path / "posts"
    monkeypatch.setattr(sys, "argv", ["groundswell", "export", "--format", "parquet", "--out", str(target), "--db", str(database)])
    with pytest.raises(SystemExit) as exit:
        main()
    out, err = capsys.readouterr()
    (total,) = query(database, "SELECT count(*) FROM posts_aligned")[0]
    assert (exit.value.code, err) == (0, "")
    assert out.startswith(f"exported {total:,} posts to {target}: ") and "partitions (incident_id, day)" in out
    assert (target / MANIFEST).is_file()
