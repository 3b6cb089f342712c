"""Shared fixtures: isolated settings, real DuckDB files in tmp_path, sample records."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from pipeline.config import load_settings
from pipeline.store import Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data"


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path_factory):
    """No GROUNDSWELL_* variable or groundswell.toml from the developer's shell leaks in."""
    for name in list(os.environ):
        if name.startswith("GROUNDSWELL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path_factory.getbasetemp() / "prefect-home"))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "groundswell.duckdb"


@pytest.fixture
def store(db_path):
    with Store.open(db_path) as opened:
        yield opened


@pytest.fixture
def settings(db_path):
    return load_settings(db_path=db_path)


def tweet(id: str, text: str = "Spaces is down again", **extra) -> dict:
    return {
        "id": id,
        "text": text,
        "author_id": "42",
        "created_at": "2024-08-13T00:05:00.000Z",
        "lang": "en",
        "public_metrics": {"retweet_count": 2, "reply_count": 1, "like_count": 7, "quote_count": 0},
        **extra,
    }


def x_response(*tweets: dict) -> dict:
    return {
        "data": list(tweets),
        "includes": {
            "users": [
                {"id": "42", "name": "Ann Outage", "username": "ann", "public_metrics": {"followers_count": 1200}}
            ]
        },
        "meta": {"result_count": len(tweets)},
    }


def write_lines(path: Path, *records: dict | bytes) -> Path:
    with path.open("wb") as handle:
        for record in records:
            handle.write((record if isinstance(record, bytes) else orjson.dumps(record)) + b"\n")
    return path


LABELLED_SAMPLE_CACHE = ROOT / "data" / "bench" / "test-cache"


def _labelled_sample_key() -> str:
    """Changes whenever the sample files, the shipped models or taxonomies, or the schema change."""
    import hashlib

    from pipeline.store import MIGRATIONS

    # The tables the cached file holds (posts, timelines, labels); later migrations are applied to
    # each session's copy, so adding one does not throw the labels away.
    digest = hashlib.sha256("".join(migration.sql for migration in MIGRATIONS[:3]).encode())
    # data/bench/ holds benchmark output and this very cache: not an input.
    samples = [path for path in sorted(SAMPLE_DIR.glob("*/*")) if path.is_file() and path.parent.name != "bench"]
    inputs = [*samples, *sorted((ROOT / "models").glob("*/*.json")),
              *sorted((ROOT / "pipeline" / "classify").rglob("*.yaml")), *sorted((ROOT / "pipeline" / "classify").rglob("*.head.json"))]
    for path in inputs:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def labelled_sample_db(tmp_path_factory) -> Path:
    """Both sample incidents loaded, every post classified by the shipped models, the database at the
    latest schema and its alignment refreshed: a real DuckDB file, one per test session.

    Classifying takes minutes on two cores, so the classified file is built once and kept under
    data/bench/test-cache/ (ignored by git), keyed by everything that shapes the labels; each session
    copies it, migrates the copy and refreshes its alignment. Treat it as read-only; copy it
    (shutil.copy) to write."""
    import shutil
    import time

    from pipeline.align import refresh
    from pipeline.demo import build_sample_database

    settings = load_settings(sample_dir=SAMPLE_DIR, sentiment_model=str(ROOT / "models" / "sentiment-v1"))
    cached = LABELLED_SAMPLE_CACHE / f"labelled-sample-{_labelled_sample_key()}.duckdb"
    if not cached.exists():
        LABELLED_SAMPLE_CACHE.mkdir(parents=True, exist_ok=True)
        for stale in LABELLED_SAMPLE_CACHE.glob("labelled-sample-*"):
            building = ".building-" in stale.name
            if not building or time.time() - stale.stat().st_mtime > 3600:  # another session's build in progress stays
                stale.unlink(missing_ok=True)
        building = cached.with_name(f"{cached.stem}.building-{os.getpid()}")
        build_sample_database(settings.model_copy(update={"db_path": building}))
        building.replace(cached)
    path = tmp_path_factory.mktemp("labelled-sample") / "sample.duckdb"
    shutil.copy(cached, path)
    with Store.open(path) as store:
        refresh(store, settings)
    return path
