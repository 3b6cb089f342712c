"""Prefect flows: orchestration only, every step a call into the library.

With no ``PREFECT_API_URL`` set, Prefect runs them against a temporary local
server (ephemeral mode); set it to use your Prefect server or Prefect Cloud.
File reads may fail transiently (network file systems), so I/O tasks retry;
re-running an ingest is idempotent, so a retry never duplicates a post.
"""

from __future__ import annotations

import os
import time
from collections import deque
from pathlib import Path

# Prefect's own settings, defaulted before it is imported: its temporary server can
# take longer than its 20 s default to start on a small machine, and nothing here
# may phone home (machines without internet log a failure on every run otherwise).
# A user's own values win.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from pipeline.classify.labeller import ClassifyReport, model_settings, pending_page  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.demo import ATTACHED_TIMELINES, sample_incidents  # noqa: E402
from pipeline.ingest import ingest_paths  # noqa: E402
from pipeline.store import Store  # noqa: E402


def retry_on_io_error(task, task_run, state) -> bool:
    """Retry only what a retry can fix: an OSError (a file system hiccup), not bad input or a bug."""
    return isinstance(state.result(raise_on_failure=False), OSError)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=retry_on_io_error)
def ingest_task(db_path: str, path: str, fmt: str = "auto", columns: dict[str, str] | None = None) -> str:
    settings = load_settings(db_path=db_path)
    (report,) = ingest_paths(settings, [Path(path)], fmt, columns)
    return report.render()


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=retry_on_io_error)
def timeline_task(db_path: str, path: str, fmt: str = "auto", incident_id: str | None = None) -> str:
    from pipeline.timeline import import_timeline

    with Store.open(db_path) as store:
        return import_timeline(store, Path(path), fmt, incident_id).render()


@task
def classify_task(db_path: str) -> str:
    from pipeline.classify.labeller import classify_pending, labeller_for, model_settings

    settings = load_settings(db_path=db_path)
    labeller = labeller_for(model_settings(settings))  # loaded once per process, as on a Dask worker
    with Store.open(db_path) as store:
        return classify_pending(store, labeller, page_size=settings.classify_page_size).render()


@task(cache_policy=NO_CACHE)
def model_version_task(models: dict) -> str:
    """The label version of ``models``, from a worker (which loads and keeps them for its batches)."""
    from pipeline.classify.labeller import labeller_for

    return labeller_for(models).version


@task(cache_policy=NO_CACHE)
def label_page_task(models: dict, post_ids: list[str], texts: list[str]) -> pa.Table:
    """Classify one page on whichever worker runs it; the rows come back to the single writer."""
    from pipeline.classify.labeller import label_page

    return label_page(models, post_ids, texts)


@flow(name="groundswell-classify", log_prints=True)
def classify_flow(db_path: str | None = None, dask_address: str | None = None) -> str:
    """Label every post not yet labelled by the current model versions: in this process, or on the
    Dask cluster at ``dask_address`` (default: the ``dask_address`` setting)."""
    settings = load_settings(**({"db_path": db_path} if db_path else {}))
    address = dask_address or settings.dask_address
    if not address:
        return classify_task(str(settings.db_path))
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner(address=address)
    return distributed_classify_flow.with_options(task_runner=runner)(
        str(settings.db_path), model_settings(settings), settings.classify_page_size, settings.dask_pages_in_flight
    )


@flow(name="groundswell-classify-distributed", log_prints=True)
def distributed_classify_flow(db_path: str, models: dict, page_size: int = 512, in_flight: int = 4) -> str:
    """Pages of pending posts go to the workers, ``in_flight`` at a time; their labels come back here
    and this process alone writes them, a page per transaction, in the order submitted. The database
    is opened only for each read and each write, so readers are never locked out for long."""
    version = model_version_task.submit(models).result()
    report = ClassifyReport(version)
    started = time.perf_counter()
    futures: deque = deque()
    last_id = ""
    while True:
        with Store.open(db_path) as store:
            page = pending_page(store, version, last_id, page_size)
        if page:
            post_ids, texts = (list(column) for column in zip(*page))
            futures.append(label_page_task.submit(models, post_ids, texts))
            last_id = post_ids[-1]
        if futures and (len(futures) >= in_flight or not page):
            _write_labels(db_path, futures.popleft().result(), report)
        elif not page:
            break
    report.seconds = time.perf_counter() - started
    return report.render()


def _write_labels(db_path: str, rows: pa.Table, report: ClassifyReport) -> None:
    with Store.open(db_path) as store, store.transaction():
        store.append_labels(rows)
    report.labelled += rows.num_rows
    report.english += pc.sum(rows["is_english"]).as_py() or 0


@flow(name="groundswell-ingest", log_prints=True)
def ingest_flow(paths: list[str], db_path: str | None = None, fmt: str = "auto", columns: dict[str, str] | None = None) -> list[str]:
    """Ingest post files into the database, one task per file (DuckDB has one writer, so in order)."""
    db = db_path or str(load_settings().db_path)
    return [ingest_task(db, path, fmt, columns) for path in paths]


@task
def align_task(db_path: str) -> str:
    from pipeline.align import refresh

    with Store.open(db_path) as store:
        return refresh(store, load_settings(db_path=db_path)).render()


@task
def detect_task(db_path: str) -> str:
    from pipeline.detect import run_detector

    with Store.open(db_path) as store:
        return run_detector(store, load_settings(db_path=db_path)).render()


@task
def notify_task(db_path: str) -> str:
    """Never fails on a failed delivery: the alert stays pending in ``alerts`` for the next run."""
    from pipeline.notify import deliver_pending

    return deliver_pending(load_settings(db_path=db_path)).render()


@flow(name="groundswell-align", log_prints=True)
def align_flow(db_path: str | None = None) -> list[str]:
    """Bring the alignment up to date, run the spike detector and send its new alerts to the webhook."""
    db = db_path or str(load_settings().db_path)
    return [align_task(db), detect_task(db), notify_task(db)]


@flow(name="groundswell-export", log_prints=True)
def export_flow(db_path: str | None = None, out_dir: str | None = None) -> str:
    """Write ``posts_aligned`` as Parquet partitioned by incident and day (default: <export_dir>/posts),
    for archiving finished incidents and for tools outside DuckDB; schedule it after the align flow."""
    from pipeline.export import export_parquet

    settings = load_settings(**({"db_path": db_path} if db_path else {}))
    report = export_parquet(settings.db_path, Path(out_dir) if out_dir else settings.export_dir / "posts")
    return report.render()


@flow(name="groundswell-demo", log_prints=True)
def demo_flow(
    db_path: str | None = None, sample_dir: str | None = None, fresh: bool = True, hold_back: str | None = None
) -> dict[str, list[str]]:
    """Build the sample-incident database: timelines and metrics, then posts, their labels, and
    the alignment with its alerts. The posts of incident ``hold_back`` are left out (the live demo
    replays them)."""
    settings = load_settings(db_path=db_path, sample_dir=sample_dir)
    if fresh:
        for suffix in ("", ".wal"):
            Path(f"{settings.db_path}{suffix}").unlink(missing_ok=True)
    lines = []
    for incident in sample_incidents(settings.sample_dir):
        for path in incident.timeline_files:
            attach = incident.incident_id if path.name in ATTACHED_TIMELINES else None
            lines.append(timeline_task(str(settings.db_path), str(path), "auto", attach))
        if incident.incident_id == hold_back:
            continue
        for path in incident.post_files:
            lines.append(ingest_task(str(settings.db_path), str(path)))
    if Path(settings.sentiment_model, "config.json").is_file():
        lines.append(classify_task(str(settings.db_path)))
    else:
        lines.append(
            f"classification skipped: no sentiment model in {settings.sentiment_model} "
            "(train one: groundswell train sentiment --data ../shared/datasets)"
        )
    lines.extend(align_flow(str(settings.db_path)))
    return {"lines": lines}


@flow(name="groundswell-live")  # its progress lines go to the terminal, whatever the log level
def live_flow(
    source: str,
    paths: list[str] | None = None,
    incident_id: str | None = None,
    db_path: str | None = None,
    speed: float | None = None,
    original_times: bool = False,
) -> str:
    """Follow a live source until Ctrl-C (or SIGTERM; a replay: until its file ends): micro-batches
    classified and committed with the source's cursor, the alignment refreshed, the detector run and
    its alerts delivered every ``live_refresh_seconds``. Restarting resumes from the stored cursor."""
    import signal
    import threading

    from pipeline.classify.labeller import Labeller
    from pipeline.live import LiveIngest, ensure_incident, refresh_alignment
    from pipeline.sources.live import live_source

    overrides = {key: value for key, value in {"db_path": db_path, "replay_speed": speed}.items() if value is not None}
    if original_times:
        overrides["replay_original_times"] = True
    settings = load_settings(**overrides)
    if incident_id:
        keywords = ensure_incident(settings, incident_id)
        if keywords and not settings.live_keywords:
            settings = load_settings(**overrides, live_keywords=keywords)
    recordings = [Path(path) for path in paths or []]
    live = LiveIngest(settings, live_source(source, settings, path=recordings or None), Labeller.load(settings))
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    refreshed = 0.0

    def after_commit(stats) -> None:
        nonlocal refreshed
        if time.monotonic() - refreshed >= settings.live_refresh_seconds:
            refreshed = time.monotonic()
            print(stats.render())
            for line in refresh_alignment(settings):
                print(line)

    print(f"following {live.key} into {settings.db_path}; Ctrl-C stops after the batch in hand")
    try:
        stats = live.run(stop, after_commit)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for line in refresh_alignment(settings):
        print(line)
    return stats.render()
