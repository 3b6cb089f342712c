"""The Prefect flows, run for real against Prefect's temporary local server."""

import pytest
from prefect.testing.utilities import prefect_test_harness

from conftest import SAMPLE_DIR, tweet, write_lines, x_response
from pipeline.flows import demo_flow, ingest_flow
from pipeline.store import Store

pytestmark = pytest.mark.flow


@pytest.fixture(scope="session", autouse=True)
def prefect_server(tmp_path_factory):
    import os

    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_the_ingest_flow_ingests_each_file_and_reports_its_counts(tmp_path):
    first = write_lines(tmp_path / "a.jsonl", x_response(tweet("1"), tweet("2")))
    second = write_lines(tmp_path / "b.jsonl", x_response(tweet("2"), tweet("3", created_at="soon")))
    db = tmp_path / "flow.duckdb"
    lines = ingest_flow([str(first), str(second)], db_path=str(db))
    assert lines == [
        f"{first}: read 2 = 2 accepted + 0 duplicates + 0 rejected",
        f"{second}: read 2 = 0 accepted + 1 duplicates + 1 rejected; rejects: bad_time 1",
    ]
    with Store.open(db, read_only=True) as store:
        assert store.query("SELECT count(*) FROM posts") == [(2,)]


def test_the_demo_flow_builds_the_sample_database_end_to_end(tmp_path):
    db = tmp_path / "demo.duckdb"
    result = demo_flow(db_path=str(db), sample_dir=str(SAMPLE_DIR))
    assert any("posts.x.jsonl: read" in line for line in result["lines"])
    with Store.open(db, read_only=True) as store:
        posts_by_source = dict(store.query("SELECT source, count(*) FROM posts GROUP BY source"))
        assert posts_by_source["x"] >= 5_000 and posts_by_source["bluesky"] > 0 and posts_by_source["mastodon"] > 0
        assert store.query("SELECT count(*) > 0 FROM rejected") == [(True,)]
        incidents = {incident for (incident,) in store.query("SELECT id FROM incidents")}
        assert {"spaces-2024-08-12", "spaces-2023-05-24"} <= incidents
        assert store.query("SELECT count(DISTINCT metric) >= 3 FROM metrics") == [(True,)]
    again = demo_flow(db_path=str(db), sample_dir=str(SAMPLE_DIR), fresh=False)
    assert all(" 0 accepted" in line for line in again["lines"] if ": read " in line)
