"""Benchmark: the classify flow on a local Dask cluster of one and of two workers, against the
in-process classify of the same posts in the same run.

Each run starts from the same unlabelled database (a copy), so every run classifies the same posts.
On one machine the workers share its cores with each other: the figure shows what the Dask path
costs and how it scales with workers, not what a cluster of machines gains (that scales with the
machines; the writer is not the bottleneck: it takes milliseconds per page).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.config import Settings
from pipeline.store import Store


@dataclass
class DaskRun:
    name: str
    posts: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.posts / self.seconds if self.seconds else 0.0


def run_dask_benchmark(
    settings: Settings, out_dir: Path, posts: int = 2_000, workers: tuple[int, ...] = (1, 2), echo: Callable[[str], None] = print
) -> list[DaskRun]:
    """Classify ``posts`` sample posts in-process, then on LocalClusters of each size in ``workers``."""
    from distributed import LocalCluster

    from pipeline.classify.labeller import Labeller, classify_pending
    from pipeline.flows import classify_flow

    out_dir.mkdir(parents=True, exist_ok=True)
    template = out_dir / "dask-template.duckdb"
    _unlabelled_copy(settings, template, posts)
    with Store.open(template, read_only=True) as store:
        count = store.query("SELECT count(*) FROM posts")[0][0]
    runs = []

    db = _fresh(template, out_dir / "dask-in-process.duckdb")
    labeller = Labeller.load(settings)
    started = time.perf_counter()
    with Store.open(db) as store:
        classify_pending(store, labeller, page_size=settings.classify_page_size)
    runs.append(DaskRun("in-process (torch on all cores)", count, time.perf_counter() - started))
    echo(f"in-process: {count:,} posts in {runs[-1].seconds:.1f} s = {runs[-1].rate:,.1f} posts/s")

    os.environ.update({f"GROUNDSWELL_{name.upper()}": str(getattr(settings, name)) for name in ("sentiment_model", "classify_page_size")})
    cores = os.cpu_count() or 1
    for size in workers:
        db = _fresh(template, out_dir / f"dask-{size}.duckdb")
        # Each worker process gets its share of the cores for torch, as `dask worker --nthreads 1` on a node would.
        with LocalCluster(n_workers=size, threads_per_worker=1, processes=True, dashboard_address=None,
                          env={"OMP_NUM_THREADS": str(max(cores // size, 1))}) as cluster:
            started = time.perf_counter()  # includes each worker's model load, once
            classify_flow(str(db), cluster.scheduler_address)
            runs.append(DaskRun(f"Dask LocalCluster, {size} worker{'s' if size > 1 else ''}", count, time.perf_counter() - started))
        echo(f"{runs[-1].name}: {count:,} posts in {runs[-1].seconds:.1f} s = {runs[-1].rate:,.1f} posts/s")
    (out_dir / "dask.json").write_text(json.dumps([asdict(run) | {"posts_per_s": run.rate} for run in runs], indent=1))
    return runs


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
