import pytest

from conftest import tweet, write_lines, x_response
from pipeline import ingest as ingest_module
from pipeline.ingest import ingest_file, ingest_records
from pipeline.sources import XSource


def sample_file(path, responses=30, per_response=10, bad_every=7):
    records = []
    for r in range(responses):
        if bad_every and r % bad_every == 3:
            records.append(b'{"data": [ truncated')
        tweets = [tweet(f"{r * per_response + i}", f"post {r}-{i}") for i in range(per_response)]
        if bad_every and r % bad_every == 5:
            tweets[0] = tweet(tweets[0]["id"], created_at="not a time")
        records.append(x_response(*tweets))
    records.append(x_response(tweet("0", "post 0-0"), tweet("1", "post 0-1")))  # repeats from the first page
    return write_lines(path, *records)


def counts(store):
    return store.query("SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM rejected)")[0]


def test_counts_reconcile_exactly_and_every_reject_is_stored_with_its_reason(store, tmp_path):
    path = sample_file(tmp_path / "posts.jsonl")
    report = ingest_file(store, path, XSource(), batch_size=64)
    assert (report.read, report.accepted, report.duplicates, report.rejected) == (306, 296, 2, 8)
    assert report.read == report.accepted + report.duplicates + report.rejected
    assert dict(report.reasons) == {"not_json": 4, "bad_time": 4}
    assert counts(store) == (296, 8)
    assert store.query("SELECT reason, count(*) FROM rejected GROUP BY reason ORDER BY reason") == [("bad_time", 4), ("not_json", 4)]
    assert store.query("SELECT source, origin, position, item FROM rejected WHERE reason = 'bad_time' ORDER BY position LIMIT 1") == [
        ("x", str(path), 7, 0)
    ]


def test_re_ingesting_the_same_file_adds_nothing(store, tmp_path):
    path = sample_file(tmp_path / "posts.jsonl")
    ingest_file(store, path, XSource(), batch_size=64)
    again = ingest_file(store, path, XSource(), batch_size=64)
    assert (again.read, again.accepted, again.duplicates, again.rejected) == (306, 0, 298, 8)
    assert counts(store) == (296, 8)


def test_every_run_is_recorded_with_its_counts(store, tmp_path):
    path = sample_file(tmp_path / "posts.jsonl")
    ingest_file(store, path, XSource())
    ingest_file(store, path, XSource())
    assert store.query("SELECT format, read, accepted, duplicates, rejected FROM ingest_runs ORDER BY started_at") == [
        ("x", 306, 296, 2, 8),
        ("x", 306, 0, 298, 8),
    ]


def test_a_crash_mid_run_keeps_the_committed_batches_and_a_rerun_finishes_without_duplicates(store, tmp_path):
    path = sample_file(tmp_path / "posts.jsonl", bad_every=None)
    records = list(XSource().read(path))

    def crashing():
        for number, record in enumerate(records):
            if number == 250:
                raise OSError("disk went away")
            yield record

    monkey_chunk = 50
    original = ingest_module.CHUNK_RECORDS
    ingest_module.CHUNK_RECORDS = monkey_chunk
    try:
        with pytest.raises(OSError):
            ingest_records(store, crashing(), source="x", origin=str(path), batch_size=100)
    finally:
        ingest_module.CHUNK_RECORDS = original
    assert counts(store) == (200, 0)  # two whole batches committed, the third lost in flight
    rerun = ingest_file(store, path, XSource(), batch_size=100)
    assert (rerun.accepted, rerun.duplicates) == (100, 202)
    assert store.query("SELECT count(*), count(DISTINCT id) FROM posts") == [(300, 300)]


@pytest.mark.processes
def test_parallel_parsing_gives_the_same_rows_as_one_process(tmp_path, monkeypatch):
    from pipeline.store import Store

    path = sample_file(tmp_path / "posts.jsonl", responses=60)
    monkeypatch.setattr(ingest_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ingest_module, "CHUNK_BYTES", 2_000)
    results = []
    for workers in (1, 2):
        with Store.open(tmp_path / f"w{workers}.duckdb") as store:
            report = ingest_file(store, path, XSource(), batch_size=100, workers=workers)
            rows = store.query("SELECT * EXCLUDE (ingested_at) FROM posts ORDER BY id")
            rejects = store.query("SELECT * EXCLUDE (rejected_at) FROM rejected ORDER BY key")
            results.append(((report.read, report.accepted, report.duplicates, report.rejected), rows, rejects))
    assert results[0] == results[1]
    assert results[0][0] == (611, 592, 2, 17)
