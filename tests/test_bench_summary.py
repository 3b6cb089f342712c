"""`groundswell bench`: every stage in one run, each figure beside its same-run baseline, one summary."""

import json

import pytest

from pipeline import bench_summary, docs
from pipeline.config import load_settings
from pipeline.errors import StoreError
from pipeline.bench_dask import DaskBenchmark, DaskRun
from pipeline.bench_summary import BenchOptions, Figure
from test_cli import run


def test_the_ratio_says_how_many_times_groundswell_is_ahead_whichever_way_the_unit_points():
    assert Figure("s", "rate", 300.0, "posts/s", "naive", 100.0).ratio == 3.0
    assert Figure("s", "latency", 2.0, "ms", "naive", 10.0, higher_is_better=False).ratio == 5.0
    assert Figure("s", "slower than naive", 20.0, "ms", "naive", 10.0, higher_is_better=False).ratio == 0.5
    assert Figure("s", "no baseline", 2.0, "s").ratio is None
    assert Figure("s", "baseline failed to measure", 2.0, "s", "naive", 0.0).ratio is None


def test_a_real_stage_and_a_failing_one_give_a_summary_with_the_figures_and_the_failure(db_path, tmp_path):
    settings = load_settings(db_path=db_path, ingest_workers=1)  # no process pool in the main test run (see the Makefile)

    def broken(settings, options, echo):
        raise RuntimeError("chromium is missing")

    options = BenchOptions(workdir=tmp_path / "bench", ingest_posts=2_000, ingest_baseline_posts=100)
    lines: list[str] = []
    summary = bench_summary.run_all(
        settings, options, ("ingest", "dashboard"), echo=lines.append,
        runners={"ingest": bench_summary.RUNNERS["ingest"], "dashboard": broken},
    )

    assert bench_summary.failed_stages(summary) == ["dashboard"]
    assert any(line.startswith("Traceback") for line in lines), "an unexpected error keeps its traceback"
    ingest, dashboard = summary["stages"]
    assert dashboard["error"] == "RuntimeError: chromium is missing" and dashboard["figures"] == []
    rate = Figure.from_json(ingest["figures"][0])
    assert rate.unit == "posts/s" and rate.value > 0 and rate.baseline_value > 0
    assert rate.ratio > 1, "the bulk path must beat one INSERT per post"
    assert ingest["detail"]["posts_in_file"] >= 2_000 and "naive baseline" in ingest["report"]
    assert summary["machine"]["logical_cpus"] >= 1 and summary["machine"]["versions"]["duckdb"]

    json_path, md_path = bench_summary.write_summary(summary, tmp_path / "out")
    again = json.loads(json_path.read_text())
    assert bench_summary.figures(again) == bench_summary.figures(summary)
    text = md_path.read_text()
    assert "| ingest | file ingest, " in text and "failed: RuntimeError: chromium is missing" in text
    assert "Stages that failed in this run (see docs/benchmarks.md): dashboard." in bench_summary.readme_table(again)


def test_the_dask_figures_compare_each_cluster_with_in_process_and_two_workers_with_one():
    runs = [DaskRun("in-process", 0, 2, 1000, 10.0, 3.0, 1.0), DaskRun("1 worker", 1, 2, 1000, 12.5, 4.0, 20.0),
            DaskRun("2 workers", 2, 1, 1000, 8.0, 4.0, 20.0)]
    figures = DaskBenchmark(runs, 512, 4, "test machine").figures()
    assert [(figure.value, figure.baseline_value) for figure in figures] == [(80.0, 100.0), (125.0, 100.0), (125.0, 80.0)]
    assert figures[-1].ratio == pytest.approx(1.5625)
    assert runs[1].cold_rate == pytest.approx(1000 / 36.5)


def test_a_stage_failing_with_groundswells_own_error_prints_its_one_line(settings):
    def missing_database(settings, options, echo):
        raise StoreError("database data/groundswell.duckdb does not exist; build the labelled sample with `groundswell demo --no-live`")

    lines: list[str] = []
    summary = bench_summary.run_all(settings, BenchOptions(), ("dashboard",), echo=lines.append, runners={"dashboard": missing_database})
    assert lines[1:] == ["Error: database data/groundswell.duckdb does not exist; build the labelled sample with `groundswell demo --no-live`"]
    assert summary["stages"][0]["error"].startswith("StoreError: database data/groundswell.duckdb does not exist")


def test_only_a_full_run_of_every_stage_replaces_the_committed_summary(tmp_path):
    docs_dir, work = tmp_path / "docs", tmp_path / "bench"
    assert bench_summary.summary_folder(bench_summary.STAGES, False, None, docs_dir, work) == (docs_dir, True)
    assert bench_summary.summary_folder(("ingest",), False, None, docs_dir, work) == (work, False)
    assert bench_summary.summary_folder(bench_summary.STAGES, True, None, docs_dir, work) == (work, False)
    assert bench_summary.summary_folder(("ingest",), False, tmp_path / "mine", docs_dir, work) == (tmp_path / "mine", False)


def test_an_unknown_stage_is_a_usage_error(monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "bench", "--only", "ingest,gpu")
    assert code == 2
    assert "unknown stage gpu; choose from ingest, classify, align, dask, dashboard, live" in err


def test_the_committed_summary_covers_every_stage_each_beside_a_baseline_and_its_markdown_is_current():
    summary = json.loads(docs.BENCHMARKS.read_text())
    assert [stage["stage"] for stage in summary["stages"]] == list(bench_summary.STAGES)
    assert bench_summary.failed_stages(summary) == []
    assert summary["options"]["ingest_posts"] == BenchOptions().ingest_posts, "the committed figures must come from the full sizes"
    for stage in summary["stages"]:
        assert any(figure["baseline_value"] for figure in stage["figures"]), f"{stage['stage']} has no figure beside a baseline"
    md = docs.BENCHMARKS.with_suffix(".md").read_text()
    assert md == bench_summary.markdown(summary), "docs/benchmarks.md is stale: rerun `groundswell bench`"
