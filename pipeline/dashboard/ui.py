"""Streamlit pieces the dashboard's pages share: cached reads, pickers, notes.

Each cached reader opens the database read-only, runs one round of queries and
closes it: the live flow writes to the same file from another process, and
DuckDB lets no reader in while a writer holds the file, so nobody holds it for
long. Results are cached for a few seconds (``st.cache_data`` with a time to
live), so reruns triggered by widgets do not touch the file at all.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import streamlit as st

from pipeline.config import Settings, load_settings
from pipeline.dashboard import LIVE_TTL, TTL, queries
from pipeline.errors import GroundswellError
from pipeline.store import Store

REPORTS_DIR = Path("reports")
"""Where `groundswell report` writes by default (relative to the working directory)."""
LOCK_TIMEOUT = 10.0
"""Seconds to wait for a writer to let go of the file before saying the database is busy."""

NOT_ALIGNED_NOTE = (
    "This incident's posts are not lined up with its timeline yet, so there is nothing to chart. "
    "Run `groundswell align` (the live flow does it as it goes); this page shows the result within seconds."
)
UNLABELLED_NOTE = (
    "No post in this database is classified yet, so sentiment, complaint and blame figures are empty; "
    "volumes and the timeline are shown. Run `groundswell classify` to label the posts."
)


def settings() -> Settings:
    try:
        return load_settings()
    except GroundswellError as error:
        st.error(f"Settings problem: {error}")
        st.stop()


def db_path() -> str:
    return str(settings().db_path)


@contextmanager
def _read(db: str) -> Iterator[Store]:
    with Store.open(db, read_only=True, lock_timeout=LOCK_TIMEOUT) as store:
        yield store


@contextmanager
def shown_errors() -> Iterator[None]:
    """A database problem (missing file, old schema, busy) becomes one red line, not a traceback."""
    try:
        yield
    except GroundswellError as error:
        st.error(str(error))
        st.stop()


# -- cached reads ---------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """What every page needs first: why the database cannot be shown (or None), its incidents."""

    problem: str | None
    incidents: pd.DataFrame


@st.cache_data(ttl=TTL, show_spinner=False)
def catalog(db: str) -> Catalog:
    try:
        with _read(db) as store:
            missing = queries.missing_objects(store)
            if missing:
                problem = (
                    f"The database {db} lacks the alignment views and tables the dashboard reads ({', '.join(missing)}). "
                    "Open it once for writing (e.g. `groundswell ingest`, `groundswell classify` or `groundswell demo`) "
                    "to bring its schema up to date."
                )
                return Catalog(problem, pd.DataFrame())
            return Catalog(None, queries.incidents(store))
    except GroundswellError as error:
        return Catalog(str(error), pd.DataFrame())


def require_database() -> str:
    """The database path, or a clear note and the end of this run when it cannot be shown."""
    db = db_path()
    problem = catalog(db).problem
    if problem:
        st.warning(problem)
        st.stop()
    return db


@st.cache_data(ttl=TTL, show_spinner=False)
def incident_context(db: str, incident_id: str) -> tuple[queries.Span | None, dict | None]:
    """The incident's window (None before its first alignment) and its summary row."""
    with _read(db) as store:
        return queries.incident_span(store, incident_id), queries.summary(store, incident_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def review(db: str, incident_id: str, start: datetime, end: datetime) -> tuple[queries.Timeline, queries.FilterOptions]:
    """The review page's charts and the values its post filters offer."""
    with _read(db) as store:
        return queries.timeline(store, incident_id, start, end), queries.filter_options(store, incident_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def posts_page(db: str, where: queries.PostFilter, limit: int, offset: int) -> queries.PostPage:
    with _read(db) as store:
        return queries.posts_page(store, where, limit, offset)


@dataclass(frozen=True)
class Executive:
    timeline: queries.Timeline
    phase_mix: pd.DataFrame
    blamed: pd.DataFrame
    posts: pd.DataFrame  # the representative posts


@st.cache_data(ttl=TTL, show_spinner=False)
def executive(db: str, incident_id: str, start: datetime, end: datetime) -> Executive:
    with _read(db) as store:
        return Executive(
            queries.timeline(store, incident_id, start, end),
            queries.phase_complaints(store, incident_id),
            queries.top_blamed(store, incident_id),
            queries.representative_posts(store, incident_id, start, end),
        )


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def live(db: str, clock: queries.Clock) -> queries.LiveSnapshot:
    with _read(db) as store:
        now = queries.choose_now(queries.latest_post_time(store), datetime.now(timezone.utc), clock)
        return queries.live_snapshot(store, now)


def export(db: str, where: queries.PostFilter, kind: str) -> bytes:
    """The filtered posts as CSV or Parquet bytes; run only when the download is clicked."""
    with _read(db) as store:
        table = queries.posts_export(store, where)
    buffer = io.BytesIO()
    if kind == "parquet":
        pq.write_table(table, buffer)
    else:
        pa_csv.write_csv(table, buffer)
    return buffer.getvalue()


# -- pickers and display --------------------------------------------------------


def zone_for(incident_zone: str | None) -> ZoneInfo:
    """The time zone chosen in the sidebar: the incident's own by default."""
    choice = st.session_state.get("time_zone", "incident")
    if choice == "utc":
        return ZoneInfo("UTC")
    if choice == "setting" or not incident_zone:
        return settings().tz
    return ZoneInfo(incident_zone)


def incident_picker(db: str) -> pd.Series | None:
    """The incident chosen at the top of the page (kept across pages and in the URL), or
    None with a note when the database has none."""
    choices = catalog(db).incidents
    if choices.empty:
        st.info(
            "This database has no incidents yet. Import a timeline with `groundswell timeline import FILE` "
            "(a YAML timeline declares the incident), or build the sample with `groundswell demo`."
        )
        return None
    names = dict(zip(choices["incident_id"], choices["name"]))
    chosen = st.selectbox(
        "Incident", list(names), format_func=lambda i: f"{names[i]} ({i})", key="incident",
        persist_state="session", bind="query-params",
    )
    return choices.set_index("incident_id").loc[chosen].rename(chosen)


@dataclass(frozen=True)
class IncidentPage:
    """What both incident pages start from: the database, the chosen incident, its time zone, and
    its aligned span and summary row."""

    db: str
    incident_id: str
    zone: ZoneInfo
    span: queries.Span
    summary: dict


def open_incident_page() -> IncidentPage:
    """The incident pages' common start: pick the incident, title the page, and stop it with a note
    when the incident is not aligned yet."""
    db = require_database()
    incident = incident_picker(db)
    if incident is None:
        st.stop()
    incident_id = str(incident.name)
    with shown_errors():
        span, summary = incident_context(db, incident_id)
    st.title(incident["name"])
    if span is None or summary is None:
        st.info(NOT_ALIGNED_NOTE)
        st.stop()
    return IncidentPage(db, incident_id, zone_for(incident["timezone"]), span, summary)


def local_text(instant: datetime | pd.Timestamp | None, zone: ZoneInfo, seconds: bool = False) -> str:
    if instant is None or pd.isna(instant):
        return "—"
    moment = pd.Timestamp(instant).tz_convert(zone)
    return moment.strftime("%H:%M:%S %Z" if seconds else "%H:%M %Z")


def percent(share: float | None) -> str:
    return "—" if share is None or pd.isna(share) else f"{share:.0%}"


def post_table(rows: pd.DataFrame, zone: ZoneInfo, height: int | str = "auto") -> None:
    """Posts as a data grid: text is shown as text, never rendered as HTML or Markdown."""
    shown = rows.assign(time=pd.to_datetime(rows["created_at"], utc=True).dt.tz_convert(zone).dt.tz_localize(None))
    st.dataframe(
        shown,
        hide_index=True,
        height=height,
        column_order=("time", "text", "author_handle", "engagement", "sentiment", "complaint_type", "relevance",
                      "blame_entity", "language", "source", "url"),
        column_config={
            "time": st.column_config.DatetimeColumn(f"time ({zone.key})", format="MMM D, HH:mm:ss"),
            "text": st.column_config.TextColumn("text", width="large"),
            "author_handle": "author",
            "engagement": st.column_config.NumberColumn("engagement", format="localized"),
            "complaint_type": "complaint",
            "relevance": st.column_config.NumberColumn("relevance", format="%.2f"),
            "blame_entity": "blamed",
            "url": st.column_config.TextColumn("url"),
        },
    )


def _to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    return pd.Timestamp(instant).tz_convert(zone).tz_localize(None).to_pydatetime()


def _to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    # An hour that a DST change repeats reads as its first occurrence; one it skips moves forward.
    return pd.Timestamp(wall).tz_localize(zone, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC").to_pydatetime()


def range_picker(span: queries.Span, zone: ZoneInfo, key: str) -> tuple[datetime, datetime]:
    """A slider over the incident's window, on the minutes with posts by default; returns UTC."""
    low, high = (_to_local(t, zone) for t in (span.window_start, span.window_end))
    value = tuple(_to_local(t, zone) for t in span.default)
    start, end = st.slider(
        f"Time range ({zone.key})", min_value=low, max_value=high, value=value, step=timedelta(minutes=1),
        format="MMM D, HH:mm", key=key,
        help="The incident's window runs from an hour before its first event to an hour after its last; "
        "by default the range covers the minutes that have posts.",
    )
    return _to_utc(start, zone), _to_utc(end, zone)


def selected_minutes(selection, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The minutes picked on the timeline chart (a clicked bar, a box), as a UTC range."""
    points = selection.selection.points if selection else []
    times = [pd.Timestamp(point["x"]) for point in points if "x" in point]
    if not times:
        return None
    return _to_utc(min(times), zone), _to_utc(max(times), zone) + timedelta(minutes=1)


def minutes_text(minutes: float | None) -> str:
    if minutes is None or pd.isna(minutes):
        return "—"
    if abs(minutes) < 10:
        return f"{minutes:.1f} min"
    return f"{minutes:,.0f} min" if abs(minutes) < 120 else f"{minutes / 60:,.1f} h"


def headline_metrics(summary: dict, zone: ZoneInfo) -> None:
    """The incident's four headline numbers from ``incident_summary``."""
    cells = st.columns(4)
    peak = summary["peak_posts_per_minute"]
    cells[0].metric(
        "Peak posts per minute", "—" if peak is None or pd.isna(peak) else f"{int(peak):,}",
        delta=f"at {local_text(summary['peak_posts_at'], zone)}", delta_color="off", delta_arrow="off", border=True,
    )
    cells[1].metric(
        "Peak negative share", percent(summary["peak_negative_share"]),
        delta=f"at {local_text(summary['peak_negative_at'], zone)}", delta_color="off", delta_arrow="off", border=True,
        help="The highest share of negative posts among relevant, classified posts in any minute.",
    )
    lead = summary["social_lead_minutes"]
    cells[2].metric(
        "Social lead", minutes_text(None if lead is None else abs(lead)),
        delta=None if lead is None or pd.isna(lead) else ("before our first alert" if lead > 0 else "after our first alert"),
        delta_color="off", delta_arrow="off", border=True,
        help="How long before (or after) our own first alert the posts spiked. "
        f"First social spike at {local_text(summary['first_social_spike'], zone)}; "
        f"first internal signal at {local_text(summary['first_internal_signal'], zone)}.",
    )
    recovery = summary["recovery_minutes"]
    cells[3].metric(
        "Time to recovery", minutes_text(recovery),
        delta="after resolution" if recovery is not None and not pd.isna(recovery) else "not back to normal in the window",
        delta_color="off", delta_arrow="off", border=True,
        help="From the resolution until the negative share is back to its pre-incident level.",
    )


def day_text(instant: datetime, zone: ZoneInfo) -> str:
    return pd.Timestamp(instant).tz_convert(zone).strftime("%A %d %B %Y")


def report_file(incident_id: str) -> Path | None:
    """The incident's HTML report, when `groundswell report` has written one."""
    path = REPORTS_DIR / f"{incident_id}.html"
    return path.resolve() if path.is_file() else None
