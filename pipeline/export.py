"""Parquet export of every post with its labels and alignment, for tools outside DuckDB.

Rows come from the ``posts_aligned`` view (see pipeline/align.py): the post, its
latest labels, the incident whose window it fell in and the phase. They are
written as Hive-style partitions by incident and UTC day::

    DIR/incident_id=spaces-2024-08-12/day=2024-08-13/data_0.parquet
    DIR/incident_id=__HIVE_DEFAULT_PARTITION__/day=2024-08-10/data_0.parquet
    DIR/_groundswell_export.json

Posts outside every incident's window go under ``__HIVE_DEFAULT_PARTITION__``,
Hive's name for NULL, which DuckDB, pyarrow, Spark and Polars read back as null.
The partition columns live in the folder names, not in the files: read with
hive partitioning on, e.g. ``read_parquet('DIR/**/*.parquet', hive_partitioning = true)``.

DuckDB writes the files itself (``COPY ... PARTITION_BY``) from a read-only
connection, so an export runs while the pipeline writes. It writes into a new
folder beside the target and swaps it in at the end: nobody sees half an
export, a failed one leaves nothing behind, and a folder holding anything but
an earlier export is never replaced.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipeline.errors import ExportError
from pipeline.store import Store

MANIFEST = "_groundswell_export.json"
"""Written last into every export: what it holds, and the mark that it may be replaced."""

PARTITION_BY = ("incident_id", "day")

_QUERY = """
COPY (
    SELECT *, CAST(created_at AS DATE) AS day  -- the connection's time zone is UTC
    FROM posts_aligned
    ORDER BY incident_id, created_at, id
) TO ? (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (incident_id, day))
"""


@dataclass(frozen=True)
class ExportReport:
    folder: Path
    posts: int
    partitions: int
    files: int
    bytes: int

    def render(self) -> str:
        return (
            f"exported {self.posts:,} posts to {self.folder}: {self.partitions:,} partitions (incident_id, day), "
            f"{self.files:,} Parquet files, {self.bytes / 1_000_000:,.1f} MB\n"
            f"read them from DuckDB through a view: {reading_view(self.folder)}"
        )


def reading_view(folder: Path, name: str = "posts_archive") -> str:
    """The SQL of a DuckDB view over an export: every column of ``posts_aligned`` plus ``day``, the
    partition columns read back from the folder names."""
    location = str(Path(folder).resolve() / "**" / "*.parquet").replace("'", "''")
    return f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{location}', hive_partitioning = true);"


def export_parquet(db_path: Path, folder: Path, *, lock_timeout: float = 30.0) -> ExportReport:
    """Write ``posts_aligned`` to ``folder`` as Parquet partitioned by incident and day."""
    folder = Path(folder)
    _check_replaceable(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    except OSError as error:
        raise ExportError(f"cannot write the export to {folder}: {error}") from None
    try:
        with Store.open(db_path, read_only=True, lock_timeout=lock_timeout) as store:
            posts = _write(store, staging)
            version = store.schema_version()
        report = _describe(staging, folder, posts)
        _write_manifest(staging, report, db_path, version)
        _swap(staging, folder)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise ExportError(f"cannot write the export to {folder}: {error} (nothing was written)") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _check_replaceable(folder: Path) -> None:
    if not folder.exists():
        return
    if not folder.is_dir() or (any(folder.iterdir()) and not (folder / MANIFEST).is_file()):
        raise ExportError(
            f"{folder} exists and is not an earlier groundswell export; choose a new or empty folder (nothing was written)"
        )


def _write(store: Store, staging: Path) -> int:
    try:
        return int(store.connection.execute(_QUERY, [str(staging)]).fetchone()[0])
    except duckdb.Error as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ExportError(f"cannot export {store.path}: {first_line} (nothing was written)") from None


def _describe(staging: Path, folder: Path, posts: int) -> ExportReport:
    files = list(staging.rglob("*.parquet"))
    return ExportReport(
        folder=folder,
        posts=posts,
        partitions=len({file.parent for file in files}),
        files=len(files),
        bytes=sum(file.stat().st_size for file in files),
    )


def _write_manifest(staging: Path, report: ExportReport, db_path: Path, schema_version: int) -> None:
    manifest = {
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "database": str(db_path),
        "schema_version": schema_version,
        "view": "posts_aligned",
        "partition_by": list(PARTITION_BY),
        "posts": report.posts,
        "partitions": report.partitions,
        "files": report.files,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _swap(staging: Path, folder: Path) -> None:
    """Put the new export in place of the old (if any), then remove the old."""
    if not folder.exists():
        staging.rename(folder)
        return
    retired = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
    folder.rename(retired)
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)
