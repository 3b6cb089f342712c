"""The live latency benchmark's machinery, against the real `groundswell live --source webhook`
subprocess, a real observer process and real DuckDB files; at a tiny rate, asserting nothing about speed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import ROOT, SAMPLE_DIR
from pipeline.bench_live import LiveBenchmarkError, LiveBenchOptions, RateRun, highest_sustained, next_bisection, run_live_benchmark
from pipeline.cli import app
from pipeline.config import load_settings
from pipeline.store import Store

MODEL = str(ROOT / "models" / "sentiment-v1")


def run(rate: float, *, sustained: bool) -> RateRun:
    return RateRun(
        rate=rate, seconds=20, offered=int(rate * 20), sent=int(rate * 20), held_back=0, acknowledged=int(rate * 20),
        failed_requests={}, stored=int(rate * 20) if sustained else int(rate * 10), p50=1.0, p95=2.0, p99=2.5, max=3.0,
        early_p50=1.0, late_p50=1.2, stored_per_second=rate, min_latency=0.5,
    )


def test_a_tiny_run_observes_every_post_sent_with_a_latency_and_writes_the_summary(tmp_path):
    settings = load_settings(sentiment_model=MODEL, sample_dir=SAMPLE_DIR, live_batch_seconds=0.5)
    options = LiveBenchOptions(
        rates=(5.0,), seconds=3.0, drain_seconds=60.0, bisect_steps=0, baseline_seconds=1.0, db_dir=tmp_path / "live", out_dir=tmp_path
    )

    result = run_live_benchmark(settings, options)

    [only] = result.runs
    assert (only.offered, only.sent, only.acknowledged, only.stored, only.held_back, only.failed_requests) == (15, 15, 15, 15, 0, {})
    assert 0 <= only.min_latency <= only.p50 <= only.p95 <= only.p99 <= only.max
    assert only.sustained and result.sustained_rate == 5.0
    observed = json.loads((tmp_path / "live" / "observed-5.json").read_text())
    with Store.open(tmp_path / "live" / "live-1.duckdb", read_only=True) as store:
        labelled = {row[0] for row in store.query("SELECT post_id FROM post_labels")}
    assert set(observed["seen"]) <= labelled and len(observed["seen"]) == 15
    assert result.baseline_posts >= 1 and result.ratio is not None
    summary = json.loads((tmp_path / "live.json").read_text())
    assert set(summary) >= {"runs", "sustained_rate", "saturated_posts_per_second", "baseline_posts_per_second", "ratio", "machine", "load_before", "load_after"}
    assert summary["saturated_posts_per_second"] is None  # nothing was overloaded
    assert set(summary["runs"][0]) >= {"rate", "sent", "stored", "p50", "p95", "p99", "max", "early_p50", "late_p50", "sustained", "verdict"}
    assert "| 5 | 15 | 15 |" in (tmp_path / "live.md").read_text()


def test_a_live_flow_that_dies_is_one_error_with_the_end_of_its_stderr(tmp_path, monkeypatch):
    settings = load_settings(sentiment_model=MODEL, sample_dir=SAMPLE_DIR)
    options = LiveBenchOptions(rates=(5.0,), seconds=1.0, bisect_steps=0, baseline_seconds=0, db_dir=tmp_path / "live", out_dir=tmp_path)
    monkeypatch.setenv("GROUNDSWELL_DETECTOR_MIN_POSTS", "0")  # the flow's own settings refuse it: it exits at once

    with pytest.raises(LiveBenchmarkError, match=r"(?s)the live flow exited with status 1 .*Error: setting detector_min_posts"):
        run_live_benchmark(settings, options)
    assert not (tmp_path / "live.json").exists()


def test_the_highest_sustained_rate_stops_below_the_first_failing_rate():
    assert highest_sustained([run(10, sustained=True), run(100, sustained=False), run(300, sustained=True)]) == 10
    assert highest_sustained([run(10, sustained=False)]) == 0


def test_bisection_tries_halfway_between_the_last_good_and_the_first_bad_rate_until_they_are_close():
    assert next_bisection([run(10, sustained=True), run(100, sustained=True), run(500, sustained=False)]) == 300
    assert next_bisection([run(100, sustained=True), run(105, sustained=False)]) is None
    assert next_bisection([run(10, sustained=True), run(100, sustained=True)]) is None


def test_a_latency_that_climbs_through_the_run_is_a_growing_backlog():
    climbing = run(100, sustained=True)
    climbing.early_p50, climbing.late_p50 = 1.0, 4.0
    assert not climbing.sustained and climbing.verdict() == "backlog grows: latency climbing"


def test_rates_that_are_not_positive_numbers_are_refused():
    result = CliRunner().invoke(app, ["bench", "live", "--rates", "10,fast"])
    assert result.exit_code == 2
    assert "write posts/s as positive numbers separated by commas" in result.output
