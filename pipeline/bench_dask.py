"""Benchmark: the classify flow on a local Dask cluster of one and of two workers, against the
in-process classify flow on the same posts in the same run.

Each run starts from the same unlabelled database (a copy), so every run classifies the same posts.
Every run goes through ``classify_flow`` (a Prefect flow) after a warm-up flow on 16 posts, so the
figures compare the task runners on warm processes, as a long-lived cluster runs: each cluster's
workers load the models first (``client.run``) and then run the warm-up, whose time is reported on
its own. It is large: with no ``PREFECT_API_URL`` set, each worker's first Prefect task starts an
ephemeral Prefect server in that worker (about 20 s here); a real cluster points its workers at a
Prefect server instead (README, "Classify on a Dask cluster"). The cold figure is posts over
model load + warm-up + flow.

On one machine the workers share its cores, so each worker gets ``cores // workers`` classify
threads: the figure shows what the Dask path costs and how it scales with workers on the same
cores, not what a cluster of machines gains (that scales with the machines; the single writer is
not the bottleneck: it takes milliseconds per page).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from unittest.mock import patch

from pipeline.bench import machine_description
from pipeline.config import Settings
from pipeline.store import Store


@dataclass
class DaskRun:
    name: str
    workers: int  # 0: in-process
    threads_per_worker: int
    posts: int
    seconds: float  # the flow, models already loaded
    model_load_seconds: float  # loading the models on every worker (in parallel), before the flow
    first_flow_seconds: float  # the warm-up flow on 16 posts (a fresh worker starts Prefect's client and server)

    @property
    def rate(self) -> float:
        return self.posts / self.seconds if self.seconds else 0.0

    @property
    def cold_rate(self) -> float:
        total = self.seconds + self.model_load_seconds + self.first_flow_seconds
        return self.posts / total if total else 0.0


@dataclass
class DaskBenchmark:
    runs: list[DaskRun]
    page_size: int
    pages_in_flight: int
    machine: str

    def render(self) -> str:
        lines = [
            f"Dask benchmark on {self.machine}: classify_flow on the same posts, pages of {self.page_size}, "
            f"{self.pages_in_flight} in flight",
            f"  {'run':<32}{'threads':>8}{'posts':>7}{'flow s':>8}{'posts/s':>9}{'model load s':>14}{'warm-up flow s':>16}{'cold posts/s':>14}",
        ]
        for run in self.runs:
            lines.append(
                f"  {run.name:<32}{run.threads_per_worker:>8}{run.posts:>7,}{run.seconds:>8.1f}{run.rate:>9.1f}"
                f"{run.model_load_seconds:>14.1f}{run.first_flow_seconds:>16.1f}{run.cold_rate:>14.1f}"
            )
        base = self.runs[0]
        for run in self.runs[1:]:
            lines.append(f"  {run.name}: {run.rate / base.rate:.2f}x the in-process rate")
        if len(self.runs) > 2:
            lines.append(f"  {self.runs[-1].workers} workers / 1 worker: {self.runs[-1].rate / self.runs[1].rate:.2f}x (same cores)")
        return "\n".join(lines)

    def figures(self):
        from pipeline.bench_summary import Figure

        base = self.runs[0]
        rows = []
        for run in self.runs[1:]:
            rows.append(Figure("dask", f"classify flow on a LocalCluster of {run.workers}, {run.posts:,} posts", run.rate, "posts/s",
                               "the same flow in-process", base.rate))
        if len(self.runs) > 2:
            one, many = self.runs[1], self.runs[-1]
            rows.append(Figure("dask", f"{many.workers} workers against 1, same {os.cpu_count()} cores", many.rate, "posts/s",
                               "1 worker", one.rate))
        return rows

    def to_json(self) -> dict:
        return asdict(self) | {"runs": [asdict(run) | {"posts_per_s": run.rate, "cold_posts_per_s": run.cold_rate} for run in self.runs]}


def run_dask_benchmark(
    settings: Settings, out_dir: Path, posts: int = 2_000, workers: tuple[int, ...] = (1, 2), echo: Callable[[str], None] = print
) -> DaskBenchmark:
    """Classify ``posts`` sample posts in-process, then on LocalClusters of each size in ``workers``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    template = out_dir / "dask-template.duckdb"
    _unlabelled_copy(settings, template, posts)
    with Store.open(template, read_only=True) as store:
        count = store.query("SELECT count(*) FROM posts")[0][0]
    # classify_flow reads its settings from the environment (as on a deployment): these runs' settings, restored after.
    shared = {f"GROUNDSWELL_{name.upper()}": str(getattr(settings, name)) for name in ("sentiment_model", "classify_page_size")}
    with patch.dict(os.environ, shared):
        runs = _runs(settings, template, out_dir, count, workers, echo)
    result = DaskBenchmark(runs, settings.classify_page_size, settings.dask_pages_in_flight, machine_description())
    (out_dir / "dask.json").write_text(json.dumps(result.to_json(), indent=1))
    return result


def _runs(settings: Settings, template: Path, out_dir: Path, count: int, workers: tuple[int, ...], echo: Callable[[str], None]) -> list[DaskRun]:
    """The in-process run, then one on a fresh LocalCluster of each size in ``workers``."""
    from distributed import Client, LocalCluster

    from pipeline.classify.labeller import labeller_for, model_settings
    from pipeline.flows import classify_flow

    cores = os.cpu_count() or 1
    echo("in-process: loading the models, a warm-up flow, then the measured flow ...")
    started = time.perf_counter()
    labeller_for(model_settings(settings))
    load = time.perf_counter() - started
    first = _warm_up(template, out_dir, None)
    db = _fresh(template, out_dir / "dask-in-process.duckdb")
    started = time.perf_counter()
    classify_flow(str(db))
    runs = [DaskRun("in-process (no task runner)", 0, cores, count, time.perf_counter() - started, load, first)]
    echo(f"{runs[-1].name}: {count:,} posts in {runs[-1].seconds:.1f} s = {runs[-1].rate:,.1f} posts/s")

    for size in workers:
        threads = max(cores // size, 1)
        models = model_settings(settings.model_copy(update={"classify_threads": threads}))
        db = _fresh(template, out_dir / f"dask-{size}.duckdb")
        with patch.dict(os.environ, {"GROUNDSWELL_CLASSIFY_THREADS": str(threads)}), \
                LocalCluster(n_workers=size, threads_per_worker=1, processes=True, dashboard_address=None,
                             env={"OMP_NUM_THREADS": str(threads)}) as cluster, Client(cluster) as client:
            echo(f"{size} worker(s): loading the models, a warm-up flow, then the measured flow ...")
            started = time.perf_counter()
            client.run(preload, models)  # every worker, in parallel
            load = time.perf_counter() - started
            first = _warm_up(template, out_dir, cluster.scheduler_address)
            started = time.perf_counter()
            classify_flow(str(db), cluster.scheduler_address)
            runs.append(DaskRun(f"Dask LocalCluster, {size} worker{'s' if size > 1 else ''}", size, threads, count,
                                time.perf_counter() - started, load, first))
        echo(f"{runs[-1].name}: {count:,} posts in {runs[-1].seconds:.1f} s = {runs[-1].rate:,.1f} posts/s "
             f"(before it: models loaded in {load:.1f} s, warm-up flow {first:.1f} s)")
    return runs


def preload(models: dict) -> int:
    """Load the models on this worker (the Labeller stays in the worker's cache); returns how many it holds."""
    from pipeline.classify.labeller import labeller_for, loaded_labeller_count

    labeller_for(models)
    return loaded_labeller_count()


def _warm_up(template: Path, out_dir: Path, address: str | None) -> float:
    """Seconds of one classify flow on 16 of the posts: the first flow a process runs pays Prefect's start."""
    from pipeline.flows import classify_flow

    warm = _fresh(template, out_dir / "dask-warm-up.duckdb")
    with Store.open(warm) as store:
        store.connection.execute("DELETE FROM posts WHERE id NOT IN (SELECT id FROM posts ORDER BY id LIMIT 16)")
    started = time.perf_counter()
    classify_flow(str(warm), address)
    return time.perf_counter() - started


def _unlabelled_copy(settings: Settings, path: Path, posts: int) -> None:
    """``posts`` sample posts (from the X recording, several per line) in a fresh database."""
    from itertools import islice

    from pipeline.config import load_settings
    from pipeline.ingest import ingest_paths

    path.unlink(missing_ok=True)
    lines = path.with_suffix(".jsonl")
    with open(settings.sample_dir / "spaces-2024-08-12" / "posts.x.jsonl", "rb") as sample:
        lines.write_bytes(b"".join(islice(sample, max(posts // 10, 1))))
    list(ingest_paths(load_settings(db_path=path), [lines], "auto", None))
    with Store.open(path) as store:
        store.connection.execute("DELETE FROM posts WHERE id NOT IN (SELECT id FROM posts ORDER BY id LIMIT ?)", [posts])
        store.connection.execute("CHECKPOINT")


def _fresh(template: Path, path: Path) -> Path:
    path.unlink(missing_ok=True)
    shutil.copy(template, path)
    return path
