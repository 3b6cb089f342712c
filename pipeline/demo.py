"""The sample incidents as a demo: which files to load, in which order.

Each folder under the sample directory is one incident, named by its id. Its
hand-written timeline goes first (it declares the incident), then the
Statuspage document (attached to that incident), the metrics, and the posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError

TIMELINE_FILES = ("timeline.yaml", "timeline.csv", "statuspage.json", "pagerduty.json", "metrics.prometheus.json")


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
