"""The sample incidents as a demo: which files to load, in which order.

Each folder under the sample directory is one incident, named by its id. Its
hand-written timeline goes first (it declares the incident), then the
Statuspage document (attached to that incident), the metrics, and the posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import InputError

TIMELINE_FILES = ("timeline.yaml", "timeline.csv", "statuspage.json", "pagerduty.json", "metrics.prometheus.json")
ATTACHED_TIMELINES = ("statuspage.json", "pagerduty.json")
"""Timeline files that name their own incident ids; the sample attaches them to the folder's incident."""


@dataclass(frozen=True)
class SampleIncident:
    incident_id: str
    timeline_files: tuple[Path, ...]
    post_files: tuple[Path, ...]


def sample_incidents(sample_dir: Path) -> list[SampleIncident]:
    """Every incident folder in ``sample_dir`` with its timeline and post files."""
    folders = sorted(p for p in sample_dir.iterdir() if p.is_dir() and any(p.glob("posts.*"))) if sample_dir.is_dir() else []
    if not folders:
        raise InputError(
            f"no sample incidents in {sample_dir}; regenerate them with `groundswell sample generate {sample_dir}`"
        )
    return [
        SampleIncident(
            incident_id=folder.name,
            timeline_files=tuple(folder / name for name in TIMELINE_FILES if (folder / name).is_file()),
            post_files=tuple(sorted(folder.glob("posts.*"))),
        )
        for folder in folders
    ]


def build_sample_database(settings: Settings, *, classify: bool = True) -> list[str]:
    """Load every sample incident into ``settings.db_path`` (timelines, metrics, posts) and,
    when ``classify`` and a sentiment model exists, label every post. Returns one line per step.
    The library form of the demo flow, for tests and scripts that need no Prefect run."""
    from pipeline.ingest import ingest_paths
    from pipeline.store import Store
    from pipeline.timeline import import_timeline

    lines = []
    for incident in sample_incidents(settings.sample_dir):
        with Store.open(settings.db_path) as store:
            for path in incident.timeline_files:
                attach = incident.incident_id if path.name in ATTACHED_TIMELINES else None
                lines.append(import_timeline(store, path, "auto", attach).render())
        lines.extend(report.render() for report in ingest_paths(settings, list(incident.post_files), "auto", None))
    if classify:
        from pipeline.classify.labeller import Labeller, classify_pending

        labeller = Labeller.load(settings)
        with Store.open(settings.db_path) as store:
            lines.append(classify_pending(store, labeller).render())
    return lines
