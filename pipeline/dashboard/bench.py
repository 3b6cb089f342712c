"""How long each dashboard page takes to render in a real browser, on the sample incident
and on a database of 1,000,000 posts.

The big database is the ingest benchmark's generated file (X API v2 JSON lines, 250
posts a second from 00:00 UTC on 13 August 2024, texts drawn from the sample's
templates) loaded beside the 2024 sample incident's timeline and metrics. Labels come
from the shipped models: the labeller is deterministic per text, so each distinct text
is classified once and its label row copied to every post with that text (classifying
a million posts one by one would take hours on two cores and change nothing). Then the
alignment is refreshed and the detector run, as the live flow does. The database is
kept under the work folder, named by its number of posts, and reused (a reuse brings
its schema and alignment up to date first).

A render is timed from the moment the page is asked for to the moment its heading is
there, Streamlit reports the script done and every chart of the page is drawn
(:mod:`pipeline.dashboard.browser`). "First visit" opens the page's URL in the browser
with nothing cached (the server process first warms up its imports on one page, then
waits out the cache's time to live; the Live page is opened with its refresh timer off,
so no scheduled refresh overlaps the measurement). "Switching" then reaches each page
through the sidebar, as a reader does, without reloading the app: its queries may be
answered from the cache of the first visit (15 s; the Live page's, 2 s).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline import align, detect
from pipeline.bench import machine_description
from pipeline.config import Settings
from pipeline.dashboard import TTL, browser
from pipeline.demo import sample_incidents
from pipeline.errors import StoreError
from pipeline.store import Store

QUERY = {"Live": "live_refresh=off"}
"""The Live page's first render is timed with its timer off, so that a scheduled refresh
cannot start while the measurement waits for the page to settle."""
BENCH_INCIDENT = "spaces-2024-08-12"
"""The sample incident whose timeline frames the generated posts (they start at its scheduled start)."""


@dataclass
class PageTimes:
    database: str
    posts: int
    first_visit: dict[str, float]  # the page's URL opened in the browser, its queries run
    switching: dict[str, float]  # reached through the sidebar from the page before, its queries cached


BARE_APP = """\
import plotly.express as px
import streamlit as st

st.set_page_config(page_title="baseline", layout="wide")
st.header("Baseline page")
for chart in range(2):
    st.plotly_chart(px.line(x=list(range(120)), y=[(minute * 7) % 31 for minute in range(120)]), key=f"chart-{chart}")
"""
"""The floor any Streamlit dashboard pays: a heading and two small Plotly charts (as many as each
dashboard page draws), no database, timed in the same browser in the same run."""


@dataclass
class DashboardBenchmark:
    runs: list[PageTimes]
    machine: str
    bare_page_seconds: float = 0.0  # a bare Streamlit page with two Plotly charts, first visit
    target_seconds: float = 2.0

    def render(self) -> str:
        titles = list(browser.PAGES)
        lines = [
            f"dashboard render benchmark on {self.machine}, headless chromium; seconds from navigation to every chart drawn",
            f"  {'database':<28}{'posts':>11}  {'visit':<12}" + "".join(f"{t:>20}" for t in titles),
        ]
        for run in self.runs:
            for visit, times in (("first visit", run.first_visit), ("switching", run.switching)):
                cells = "".join(f"{times[t]:>18.2f} s" for t in titles)
                lines.append(f"  {run.database:<28}{run.posts:>11,}  {visit:<12}{cells}")
        slowest = max(max(run.first_visit.values()) for run in self.runs)
        lines.append(f"  slowest first visit: {slowest:.2f} s (target: under {self.target_seconds:.0f} s per page)")
        lines.append(f"  baseline: a bare Streamlit page with two Plotly charts and no database, first visit {self.bare_page_seconds:.2f} s")
        return "\n".join(lines)

    def figures(self):
        from pipeline.bench_summary import Figure

        bare = "bare Streamlit page, two Plotly charts, no database"
        rows = []
        for run in self.runs:
            title, seconds = max(run.first_visit.items(), key=lambda item: item[1])
            rows.append(Figure("dashboard", f"slowest page on first visit ({title}), {run.posts:,} posts", seconds, "s", bare,
                               self.bare_page_seconds or None, higher_is_better=False, target="under 2 s"))
            title, seconds = max(run.switching.items(), key=lambda item: item[1])
            rows.append(Figure("dashboard", f"slowest page switch through the sidebar ({title}), {run.posts:,} posts", seconds, "s",
                               bare, self.bare_page_seconds or None, higher_is_better=False, target="under 2 s"))
        return rows


def run_dashboard_benchmark(
    settings: Settings, workdir: Path, posts: int = 1_000_000, echo: Callable[[str], None] = print
) -> DashboardBenchmark:
    workdir.mkdir(parents=True, exist_ok=True)
    sample = aligned_copy(settings.db_path, workdir / "bench-dashboard-sample.duckdb", settings)
    big = big_database(settings, workdir, posts, echo)
    runs = []
    for name, path in (("sample", sample), (f"{posts:,} generated posts", big)):
        echo(f"timing the pages on {path} ...")
        runs.append(time_pages(name, path))
    echo("timing the baseline: a bare Streamlit page ...")
    result = DashboardBenchmark(runs, machine_description(), time_bare_page(workdir))
    (workdir / "dashboard.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result


def time_bare_page(workdir: Path, visits: int = 3) -> float:
    """First-visit seconds of :data:`BARE_APP` (the median of ``visits``, after one warm-up visit)."""
    app = workdir / "bare_app.py"
    app.write_text(BARE_APP)
    with browser.running_app(workdir / "unused.duckdb", app=app) as url, browser.chromium() as page:
        times = [browser.open_url(page, url, "Baseline page", charts=2) for _ in range(visits + 1)][1:]
    return sorted(times)[len(times) // 2]


def time_pages(name: str, db: Path) -> PageTimes:
    with Store.open(db, read_only=True) as store:
        count = store.query("SELECT count(*) FROM posts")[0][0]
    with browser.running_app(db) as url, browser.chromium() as page:
        browser.open_page(page, url, "Live", QUERY["Live"])  # the server's first script run imports plotly, pandas, ...
        time.sleep(TTL + 1)  # ... and now every cached query has expired
        first = {title: browser.open_page(page, url, title, QUERY.get(title, "")) for title in browser.PAGES}
        switching = {title: browser.switch_page(page, title) for title in browser.PAGES}
    return PageTimes(name, count, first, switching)


def aligned_copy(source: Path, path: Path, settings: Settings) -> Path:
    """A copy of ``source``, aligned and run through the detector as the live flow leaves a
    database (the alignment is written to the copy; the original is left alone)."""
    if not source.is_file():
        raise StoreError(f"database {source} does not exist; build the labelled sample with `groundswell demo --no-live`")
    shutil.copy(source, path)
    with Store.open(path) as store:
        align.refresh(store, settings)
        detect.run_detector(store, settings)
    return path


def big_database(settings: Settings, workdir: Path, posts: int, echo: Callable[[str], None]) -> Path:
    """The generated posts with the sample incident's timeline, labelled and aligned (built once)."""
    path = workdir / f"bench-dashboard-{posts}.duckdb"
    if path.exists():
        with Store.open(path) as store:  # a newer groundswell may have migrations (and alignment) to add
            align.refresh(store, settings)
        return path
    source = _generated_posts(workdir, posts, echo)
    building = path.with_suffix(".building")
    for stale in (building, Path(f"{building}.wal")):
        stale.unlink(missing_ok=True)
    with Store.open(building) as store:
        _import_timeline(store, settings)
        echo(f"ingesting {source} ...")
        _ingest(store, source, settings)
        echo("classifying each distinct text once ...")
        _label_by_text(store, settings)
        echo("aligning and running the detector ...")
        align.refresh(store, settings)
        detect.run_detector(store, settings)
    building.rename(path)
    return path


def _generated_posts(workdir: Path, posts: int, echo: Callable[[str], None]) -> Path:
    from pipeline.sample import iter_x_responses

    path = workdir / f"x-{posts}.jsonl"  # the ingest benchmark's file: generated once, shared
    if not path.exists():
        echo(f"generating {posts:,} posts into {path} ...")
        partial = path.with_suffix(".partial")
        with partial.open("wb") as handle:
            for line in iter_x_responses(posts, seed=1):
                handle.write(line + b"\n")
        partial.rename(path)
    return path


def _import_timeline(store: Store, settings: Settings) -> None:
    from pipeline.demo import ATTACHED_TIMELINES
    from pipeline.timeline import import_timeline

    incident = next(i for i in sample_incidents(settings.sample_dir) if i.incident_id == BENCH_INCIDENT)
    for path in incident.timeline_files:
        import_timeline(store, path, "auto", incident.incident_id if path.name in ATTACHED_TIMELINES else None)


def _ingest(store: Store, source: Path, settings: Settings) -> None:
    from pipeline.ingest import ingest_file
    from pipeline.sources import Limits, XSource

    limits = Limits(settings.max_record_bytes, settings.max_text_chars)
    ingest_file(store, source, XSource(limits), batch_size=settings.ingest_batch_size, workers=settings.ingest_workers)


def _label_by_text(store: Store, settings: Settings, batch: int = 1024) -> None:
    """Classify the first post of each distinct text; copy its label to the posts sharing the text."""
    from pipeline.classify.labeller import Labeller

    labeller = Labeller.load(settings)
    firsts = store.query("SELECT min(id), text FROM posts GROUP BY text ORDER BY min(id)")
    for start in range(0, len(firsts), batch):
        ids, texts = zip(*firsts[start : start + batch])
        with store.transaction():
            store.append_labels(labeller.table(list(ids), labeller.label(list(texts))))
    with store.transaction():
        store.connection.execute(
            """
            INSERT OR IGNORE INTO post_labels
            SELECT p.id AS post_id, l.* EXCLUDE (post_id)
            FROM posts p
            JOIN (SELECT text, min(id) AS first_id FROM posts GROUP BY text) f USING (text)
            JOIN post_labels l ON l.post_id = f.first_id
            WHERE p.id <> f.first_id
            """
        )
