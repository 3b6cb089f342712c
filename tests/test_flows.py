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


def _unlabelled_sample(path, lines: int) -> None:
    """A database with the posts of the first ``lines`` Jetstream events of the sample (one post or a
    skipped non-post per line; several languages), none labelled."""
    from itertools import islice

    from pipeline.config import load_settings
    from pipeline.ingest import ingest_paths

    events = path.parent / "posts.bluesky.jsonl"
    with open(SAMPLE_DIR / "spaces-2024-08-12" / "posts.bluesky.jsonl", "rb") as sample:  # bytes: some are broken on purpose
        events.write_bytes(b"".join(islice(sample, lines)))
    list(ingest_paths(load_settings(db_path=path), [events], "auto", None))


LABELS = "post_id, model_version, language, is_english, sentiment, complaint_type, relevant, blame_target, blame_entity, entities::VARCHAR"
SCORES = "post_id, p_negative, p_neutral, p_positive, complaint_score, relevance, map_values(complaint_scores)"


def _close(left: list[tuple], right: list[tuple], tolerance: float = 1e-5) -> bool:
    """Scores equal up to float rounding (a worker's BLAS may sum in another order than this process's)."""
    import math

    def numbers(row):
        return [math.nan if x is None else x for value in row[1:] for x in (value if isinstance(value, list) else [value])]

    return len(left) == len(right) and all(
        a[0] == b[0] and len(numbers(a)) == len(numbers(b))
        and all(math.isclose(x, y, abs_tol=tolerance) or (math.isnan(x) and math.isnan(y)) for x, y in zip(numbers(a), numbers(b)))
        for a, b in zip(left, right)
    )


@pytest.mark.processes
def test_the_classify_flow_on_a_two_worker_dask_cluster_labels_exactly_as_in_process(tmp_path):
    import os
    import shutil

    from distributed import Client, LocalCluster

    from pipeline.classify.labeller import Labeller, classify_pending, loaded_labeller_count
    from pipeline.config import load_settings
    from pipeline.flows import classify_flow

    model = str(SAMPLE_DIR.parent / "models" / "sentiment-v1")
    in_process, distributed = tmp_path / "in-process.duckdb", tmp_path / "dask.duckdb"
    _unlabelled_sample(in_process, 200)
    shutil.copy(in_process, distributed)
    settings = load_settings(db_path=in_process, sentiment_model=model, classify_page_size=32)
    with Store.open(in_process) as store:
        classify_pending(store, Labeller.load(settings), page_size=settings.classify_page_size)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        os.environ["GROUNDSWELL_SENTIMENT_MODEL"] = model
        os.environ["GROUNDSWELL_CLASSIFY_PAGE_SIZE"] = "32"
        try:
            line = classify_flow(db_path=str(distributed), dask_address=cluster.scheduler_address)
        finally:
            del os.environ["GROUNDSWELL_SENTIMENT_MODEL"], os.environ["GROUNDSWELL_CLASSIFY_PAGE_SIZE"]
        with Client(cluster) as client:
            loaded = client.run(loaded_labeller_count)

    with Store.open(in_process, read_only=True) as one, Store.open(distributed, read_only=True) as two:
        posts = one.query("SELECT count(*) FROM posts")[0][0]
        expected = one.query(f"SELECT {LABELS} FROM post_labels ORDER BY post_id")
        got = two.query(f"SELECT {LABELS} FROM post_labels ORDER BY post_id")
        scores = [store.query(f"SELECT {SCORES} FROM post_labels ORDER BY post_id") for store in (one, two)]
    assert f"labelled {posts:,} posts" in line and posts > 4 * 32  # several pages, so both workers get some
    assert len(expected) == len(got) == posts
    assert got == expected  # every label the same
    assert _close(*scores)
    assert list(loaded.values()) == [1, 1]  # each worker loaded the models once and kept them


def test_the_align_flow_aligns_detects_and_delivers_each_alert_to_the_webhook_once(tmp_path, labelled_sample_db, monkeypatch):
    import re
    import shutil

    from pipeline.detect import alerts_of
    from pipeline.flows import align_flow
    from webhook_server import webhook_server

    db = tmp_path / "aligned.duckdb"
    shutil.copy(labelled_sample_db, db)
    with webhook_server() as webhook:
        webhook.script = [500]  # the first POST fails; the task's retry delivers it
        monkeypatch.setenv("GROUNDSWELL_ALERT_WEBHOOK_URL", webhook.url)
        first = align_flow(db_path=str(db))
        again = align_flow(db_path=str(db))
    with Store.open(db, read_only=True) as store:
        alerts = alerts_of(store)
    assert re.fullmatch(r"alignment refreshed \((full|incremental)\): [\d,]+ posts realigned, [\d,]+ posts in 2 incident windows, [\d.]+ s", first[0])
    assert first[1:] == [
        f"detector complaint_volume: {len(alerts)} alerts ({len(alerts)} new)",
        f"alerts sent: {len(alerts)} delivered, 0 failed (retried on the next run)",
    ]
    assert again[0].startswith("alignment refreshed (incremental): 0 posts realigned")
    assert again[1:] == [f"detector complaint_volume: {len(alerts)} alerts (0 new)", "alerts sent: none pending"]
    assert {alert.state for alert in alerts} >= {"incident"}
    assert webhook.answered() == [alert.message for alert in alerts]
    assert {alert.delivery_status for alert in alerts} == {"delivered"}


def test_the_export_flow_writes_partitions_that_a_duckdb_view_reads_back_whole(tmp_path, labelled_sample_db):
    import shutil

    import duckdb

    from pipeline import align
    from pipeline.flows import export_flow

    db = tmp_path / "export.duckdb"
    shutil.copy(labelled_sample_db, db)
    with Store.open(db) as store:
        align.refresh(store)
        expected = store.query("SELECT incident_id, count(*), count(DISTINCT id) FROM posts_aligned GROUP BY ALL ORDER BY ALL")

    report = export_flow(db_path=str(db), out_dir=str(tmp_path / "archive"))

    view = report.splitlines()[-1].removeprefix("read them from DuckDB through a view: ")
    reader = duckdb.connect()
    reader.execute(view)
    got = reader.execute("SELECT incident_id, count(*), count(DISTINCT id) FROM posts_archive GROUP BY ALL ORDER BY ALL").fetchall()
    assert got == expected and len(expected) == 2
    assert report.startswith(f"exported {sum(row[1] for row in expected):,} posts to {tmp_path / 'archive'}")


def test_the_live_flow_killed_at_random_points_resumes_with_every_post_once_and_labelled(tmp_path):
    """kill -9 the live flow three times mid-replay, restart it each time, let it finish: the database
    holds exactly the replayed posts, each once, each labelled."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time
    from itertools import islice

    from prefect.settings import PREFECT_API_URL

    from pipeline.sources.base import Limits
    from pipeline.sources.registry import source_for

    recording = tmp_path / "stream.jsonl"
    with open(SAMPLE_DIR / "spaces-2024-08-12" / "posts.bluesky.jsonl", "rb") as sample:
        recording.write_bytes(b"".join(islice(sample, 150)))
    expected = {f"bluesky:{r['native_id']}" for r in source_for(recording, "auto", limits=Limits()).read(recording) if isinstance(r, dict)}
    db = tmp_path / "live.duckdb"
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),  # the test harness's server: no ephemeral start per run
        "GROUNDSWELL_SENTIMENT_MODEL": str(SAMPLE_DIR.parent / "models" / "sentiment-v1"),
        "GROUNDSWELL_LIVE_BATCH_POSTS": "8",
        "GROUNDSWELL_LIVE_BATCH_SECONDS": "0.2",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    command = [sys.executable, "-m", "pipeline.cli", "live", "--source", "replay", "--file", str(recording), "--speed", "200", "--db", str(db)]

    def stored() -> int:
        if not db.exists():
            return 0
        with Store.open(db, read_only=True) as store:
            return store.query("SELECT count(*) FROM posts")[0][0]

    rng = random.Random(7)
    kills = 0
    while kills < 3:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        before, deadline = stored(), time.monotonic() + 240
        while stored() == before and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)  # wait for this run's first commit, then kill at a random moment after it
        time.sleep(rng.uniform(0.0, 2.0))
        if process.poll() is not None:
            break  # it finished before we could kill it again
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
    finish = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finish.returncode == 0, finish.stderr[-2000:]

    assert kills == 3
    with Store.open(db, read_only=True) as store:
        ids = [row[0] for row in store.query("SELECT id FROM posts")]
        unlabelled = store.query("SELECT count(*) FROM posts ANTI JOIN post_labels l ON l.post_id = posts.id")[0][0]
        label_rows = store.query("SELECT count(*), count(DISTINCT post_id) FROM post_labels")[0]
    assert sorted(ids) == sorted(expected)  # each once, none missing
    assert unlabelled == 0 and label_rows == (len(expected), len(expected))
