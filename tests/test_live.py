"""The live loop: a replayed stream stored exactly once with its labels and cursor, and the
database shared by one writing process and several reading ones."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from itertools import islice

import pytest

from conftest import ROOT, SAMPLE_DIR
from pipeline.classify.labeller import Labeller
from pipeline.config import load_settings
from pipeline.live import LAG_METRIC, LiveIngest, stream_key
from pipeline.sources.live.replay import ReplaySource
from pipeline.store import Store

MODEL = str(ROOT / "models" / "sentiment-v1")


@pytest.fixture(scope="module")
def labeller():
    return Labeller.load(load_settings(sentiment_model=MODEL))


def recording(tmp_path, lines: int = 60):
    """The first ``lines`` Jetstream events of the sample (posts, a few non-posts), plus one broken line."""
    path = tmp_path / "stream.jsonl"
    with open(SAMPLE_DIR / "spaces-2024-08-12" / "posts.bluesky.jsonl", "rb") as sample:
        path.write_bytes(b"".join(islice(sample, lines)) + b'{"kind": "commit", "did": \n')
    return path


def run_replay(settings, path, labeller, speed: float = 1e6):
    return LiveIngest(settings, ReplaySource(path, speed=speed), labeller).run(threading.Event())


def expected_posts(path) -> set[str]:
    """The ids the file holds, read by the file ingest (the reference the live path must match)."""
    from pipeline.sources.base import Limits
    from pipeline.sources.registry import source_for

    records = list(source_for(path, "auto", limits=Limits()).read(path))
    return {f"bluesky:{r['native_id']}" for r in records if isinstance(r, dict)}


def test_a_replay_is_stored_once_each_post_labelled_with_the_cursor_committed(tmp_path, labeller):
    path = recording(tmp_path)
    settings = load_settings(db_path=tmp_path / "live.duckdb", live_batch_posts=16)
    stats = run_replay(settings, path, labeller)
    expected = expected_posts(path)
    with Store.open(settings.db_path, read_only=True) as store:
        stored = {row[0] for row in store.query("SELECT id FROM posts")}
        unlabelled = store.query("SELECT count(*) FROM posts ANTI JOIN post_labels l ON l.post_id = posts.id")[0][0]
        rejected = store.query("SELECT reason, source FROM rejected")
        cursor = store.live_cursor(stream_key(ReplaySource(path)))
        lag_samples = store.query("SELECT count(*) FROM metrics WHERE metric = ?", [LAG_METRIC])[0][0]
    assert stored == expected and stats.accepted == len(expected)
    assert unlabelled == 0 and stats.labelled == len(expected)
    assert rejected == [("not_json", "bluesky")]
    assert stats.commits >= 1 and lag_samples == stats.commits
    assert cursor["position"] == len(ReplaySource(path).play_order())

    again = run_replay(settings, path, labeller)  # resumes at the end: nothing left to play
    assert (again.commits, again.accepted) == (0, 0)


def test_a_stream_delivered_twice_adds_nothing_and_classifies_nothing_again(tmp_path, labeller):
    path = recording(tmp_path, 30)
    settings = load_settings(db_path=tmp_path / "live.duckdb")
    first = run_replay(settings, path, labeller)
    with Store.open(settings.db_path) as store:
        store.connection.execute("DELETE FROM live_cursors")  # as if the cursor had been lost
        before = store.query("SELECT count(*), max(classified_at) FROM post_labels")[0]
    second = run_replay(settings, path, labeller)
    with Store.open(settings.db_path, read_only=True) as store:
        after = store.query("SELECT count(*), max(classified_at) FROM post_labels")[0]
        posts, rejected = store.query("SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM rejected)")[0]
    assert second.accepted == 0 and second.labelled == 0 and second.duplicates == first.accepted
    assert after == before and posts == first.accepted and rejected == 1


def test_stopping_finishes_the_batch_in_hand_and_a_restart_resumes_without_gap(tmp_path, labeller):
    path = recording(tmp_path, 120)
    settings = load_settings(db_path=tmp_path / "live.duckdb", live_batch_posts=8, live_batch_seconds=0.2)
    stop = threading.Event()
    live = LiveIngest(settings, ReplaySource(path, speed=3000), labeller)
    stats = live.run(stop, on_commit=lambda s: stop.set() if s.commits == 2 else None)
    assert stats.commits == 2
    with Store.open(settings.db_path, read_only=True) as store:
        assert store.query("SELECT count(*) FROM posts")[0][0] == stats.accepted
    run_replay(settings, path, labeller)
    with Store.open(settings.db_path, read_only=True) as store:
        stored = {row[0] for row in store.query("SELECT id FROM posts")}
    assert stored == expected_posts(path)


WRITER = """
import sys, time
import pyarrow as pa
from pipeline.store import Store
path, batches, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for batch in range(batches):
    rows = [f"x:{batch}-{i}" for i in range(size)]
    table = pa.table({"id": rows, "source": ["x"] * size, "native_id": rows, "text": ["Spaces is down"] * size,
                      "created_at": pa.array([time.time_ns() // 1000] * size, pa.timestamp("us", tz="UTC"))})
    with Store.open(path) as store, store.transaction():
        for half in (table.slice(0, size // 2), table.slice(size // 2)):  # two statements: a torn batch would show
            store.connection.register("incoming", half)
            store.connection.execute("INSERT INTO posts BY NAME SELECT *, now() AS ingested_at FROM incoming")
            store.connection.unregister("incoming")
    time.sleep(0.02)
print("done", flush=True)
"""

READER = """
import sys, time
from pipeline.store import Store
path, seconds, size = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
counts, end = [], time.monotonic() + seconds
while time.monotonic() < end:
    with Store.open(path, read_only=True) as store:
        counts.append(store.query("SELECT count(*) FROM posts")[0][0])
torn = [c for c in counts if c % size]
assert not torn, f"half-written batch seen: {torn[:5]}"
assert counts == sorted(counts), "counts went backwards"
print(len(counts), counts[-1], flush=True)
"""


def test_one_writer_and_three_readers_in_other_processes_never_conflict_or_see_half_a_batch(db_path):
    Store.open(db_path).close()
    batches, size = 40, 50
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db_path), str(batches), str(size)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(db_path), "6", str(size)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    reads = []
    for reader in readers:
        out_r, err_r = reader.communicate(timeout=120)
        assert reader.returncode == 0, err_r  # no lock error, no torn batch, no going back
        reads.append(int(out_r.split()[0]))
    assert all(count > 5 for count in reads)  # each reader got in many times while the writer ran
    with Store.open(db_path, read_only=True) as store:
        assert store.query("SELECT count(*) FROM posts")[0][0] == batches * size
