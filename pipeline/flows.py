"""Prefect flows: orchestration only, every step a call into the library.

With no ``PREFECT_API_URL`` set, Prefect runs them against a temporary local
server (ephemeral mode); set it to use your Prefect server or Prefect Cloud.
File reads may fail transiently (network file systems), so I/O tasks retry;
re-running an ingest is idempotent, so a retry never duplicates a post.
"""

from __future__ import annotations

import os
from pathlib import Path

# Prefect's own settings, defaulted before it is imported: its temporary server can
# take longer than its 20 s default to start on a small machine, and nothing here
# may phone home (machines without internet log a failure on every run otherwise).
# A user's own values win.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, task  # noqa: E402

from pipeline.config import load_settings  # noqa: E402
from pipeline.demo import ATTACHED_TIMELINES, sample_incidents
from pipeline.ingest import ingest_paths
from pipeline.store import Store


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
    from pipeline.classify.labeller import Labeller, classify_pending

    settings = load_settings(db_path=db_path)
    labeller = Labeller.load(settings)
    with Store.open(db_path) as store:
        return classify_pending(store, labeller).render()


@flow(name="groundswell-classify", log_prints=True)
def classify_flow(db_path: str | None = None) -> str:
    """Label every post not yet labelled by the current model versions."""
    return classify_task(db_path or str(load_settings().db_path))


@flow(name="groundswell-ingest", log_prints=True)
def ingest_flow(paths: list[str], db_path: str | None = None, fmt: str = "auto", columns: dict[str, str] | None = None) -> list[str]:
    """Ingest post files into the database, one task per file (DuckDB has one writer, so in order)."""
    db = db_path or str(load_settings().db_path)
    return [ingest_task(db, path, fmt, columns) for path in paths]


@flow(name="groundswell-demo", log_prints=True)
def demo_flow(db_path: str | None = None, sample_dir: str | None = None, fresh: bool = True) -> dict[str, list[str]]:
    """Build the sample-incident database: timelines and metrics, then posts."""
    settings = load_settings(db_path=db_path, sample_dir=sample_dir)
    if fresh:
        for suffix in ("", ".wal"):
            Path(f"{settings.db_path}{suffix}").unlink(missing_ok=True)
    lines = []
    for incident in sample_incidents(settings.sample_dir):
        for path in incident.timeline_files:
            attach = incident.incident_id if path.name in ATTACHED_TIMELINES else None
            lines.append(timeline_task(str(settings.db_path), str(path), "auto", attach))
        for path in incident.post_files:
            lines.append(ingest_task(str(settings.db_path), str(path)))
    if Path(settings.sentiment_model, "config.json").is_file():
        lines.append(classify_task(str(settings.db_path)))
    else:
        lines.append(
            f"classification skipped: no sentiment model in {settings.sentiment_model} "
            "(train one: groundswell train sentiment --data ../shared/datasets)"
        )
    return {"lines": lines}
