"""The incident report for executives: one self-contained HTML page and a Markdown twin.

Everything shown is read from the alignment (``incident_summary``, ``incident_minutes``,
``incident_minute_metrics``, ``posts_aligned``) and the timeline, so the report and
an analyst's SQL can never disagree; the narrative only puts those numbers into words. The
HTML carries plotly.js inline, once, so the file opens from a mail attachment or a
USB stick with no server and no network. Times are shown in the incident's own
time zone with UTC beside them, since that is how the people who lived through
the incident remember it. Post text is untrusted: it is only ever rendered as
escaped text (Jinja autoescaping in HTML, escaped Markdown), never as markup.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from pipeline import palette
from pipeline.align import SHARE_MIN_POSTS, SummaryRow, summary_rows
from pipeline.errors import UnknownIncident
from pipeline.store import Store

POSTS_PER_TYPE = 3
"""How many of the most engaged posts the report quotes for each complaint type."""

PHASE_WORDS = {
    "before": "before the incident",
    "investigating": "while investigating",
    "identified": "once identified",
    "monitoring": "while monitoring",
    "resolved": "after resolution",
}

CHART_CONFIG = {"displaylogo": False, "responsive": True}

SOURCE_NAMES = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}

TEMPLATES = Path(__file__).resolve().parent / "report_templates"


@dataclass(frozen=True)
class Clock:
    """Formats instants in the incident's time zone with UTC beside them."""

    zone: ZoneInfo
    day: date  # the window's first local day: times on later days get a "+N d" mark

    def local(self, instant: datetime) -> str:
        moment = instant.astimezone(self.zone)
        days = (moment.date() - self.day).days
        return moment.strftime("%H:%M %Z") + (f" (+{days} d)" if days else "")

    def utc(self, instant: datetime) -> str:
        return instant.astimezone(ZoneInfo("UTC")).strftime("%H:%M UTC")

    def both(self, instant: datetime) -> str:
        return f"{self.local(instant)} ({self.utc(instant)})"

    def naive(self, instants: pd.Series) -> pd.Series:
        """Wall-clock times for plotly, which ignores time zones."""
        return instants.dt.tz_convert(self.zone).dt.tz_localize(None)

    def wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def offset(self, instant: datetime) -> str:
        """E.g. 'America/New_York, EDT = UTC-04:00'."""
        moment = instant.astimezone(self.zone)
        offset = int(moment.utcoffset().total_seconds()) // 60
        hours, rest = divmod(abs(offset), 60)
        return f"{self.zone.key}, {moment.strftime('%Z')} = UTC{'-' if offset < 0 else '+'}{hours:02d}:{rest:02d}"


@dataclass(frozen=True)
class IncidentReport:
    """What the report shows, read once from the database."""

    summary: SummaryRow
    resolved_at: datetime | None
    minutes: pd.DataFrame  # incident_minutes: minute, phase, posts, labelled_posts, ..., negative_share_5min
    phases: pd.DataFrame  # phase, starts, ends: each run of consecutive minutes in one phase
    metric: pd.DataFrame  # minute, value of summary.correlation_metric (empty when there is none)
    events: pd.DataFrame  # occurred_at, kind, phase, title
    complaint_mix: pd.DataFrame  # phase, complaint_type, posts
    top_posts: pd.DataFrame  # complaint_type, text, author_handle, source, created_at, url, engagement and its parts

    @property
    def clock(self) -> Clock:
        zone = ZoneInfo(self.summary.timezone or "UTC")
        return Clock(zone, self.summary.window_start.astimezone(zone).date())

    @property
    def labelled(self) -> bool:
        return int(self.minutes["labelled_posts"].sum()) > 0


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    detail: str


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path


# -- reading ------------------------------------------------------------------


def load_report(store: Store, incident_id: str) -> IncidentReport:
    """Everything the report shows for one incident; :class:`UnknownIncident` if there is none
    (or it has no window: no start time and no events)."""
    (summary,) = summary_rows(store, incident_id)  # raises UnknownIncident, listing the ids there are
    if summary.window_start is None:
        raise UnknownIncident(f"incident {incident_id!r} has no start time and no timeline events, so no window to report on")
    frame = _incident_frames(store, incident_id)
    return IncidentReport(
        summary=summary,
        resolved_at=store.query("SELECT resolution FROM alignment_windows WHERE incident_id = ?", [incident_id])[0][0],
        minutes=frame(
            # One minute holds a handful of posts: the chart's line sums the last five, and leaves
            # a gap where they hold fewer rated posts than the summary's own shares need.
            """
            SELECT minute, phase, posts, relevant_posts, labelled_posts, complaint_posts,
                   CASE WHEN sum(negative + neutral + positive) OVER last5 >= $min_posts
                        THEN sum(negative) OVER last5 / sum(negative + neutral + positive) OVER last5 END
                       AS negative_share_5min
            FROM incident_minutes WHERE incident_id = $incident
            WINDOW last5 AS (ORDER BY minute ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)
            ORDER BY minute
            """,
            min_posts=SHARE_MIN_POSTS,
        ),
        phases=frame(
            # Gaps and islands: a run's minutes keep the same distance between the two row numbers.
            """
            SELECT phase, min(minute) AS starts, max(minute) + INTERVAL 1 MINUTE AS ends
            FROM (SELECT minute, phase,
                         row_number() OVER (ORDER BY minute) - row_number() OVER (PARTITION BY phase ORDER BY minute) AS run
                  FROM incident_minutes WHERE incident_id = $incident)
            GROUP BY phase, run ORDER BY starts
            """
        ),
        metric=frame(
            "SELECT minute, value FROM incident_minute_metrics "
            "WHERE incident_id = $incident AND metric = $metric ORDER BY minute",
            metric=summary.correlation_metric,
        ),
        events=frame(
            "SELECT occurred_at, kind, phase, coalesce(title, left(body, 80), kind) AS title "
            "FROM incident_events WHERE incident_id = $incident ORDER BY occurred_at, id"
        ),
        complaint_mix=frame(
            # Each post in the phase it fell in (as incident_summary.top_complaints counts them),
            # not its minute's phase.
            """
            SELECT phase, complaint_type, count(*) AS posts FROM posts_aligned
            WHERE incident_id = $incident AND relevant AND complaint_type <> 'none'
            GROUP BY ALL ORDER BY phase, posts DESC, complaint_type
            """
        ),
        top_posts=frame(
            # Reposts repeat someone else's text (and its counts): quote the originals.
            """
            SELECT a.complaint_type, a.text, a.author_handle, a.source, a.created_at, a.url, a.engagement,
                   a.like_count, a.repost_count, a.reply_count, a.quote_count
            FROM posts_aligned a JOIN posts p USING (id)
            WHERE a.incident_id = $incident AND a.relevant AND a.complaint_type <> 'none' AND p.repost_of_id IS NULL
            QUALIFY row_number() OVER (PARTITION BY a.complaint_type ORDER BY a.engagement DESC, a.created_at, a.id) <= $per_type
            ORDER BY count(*) OVER (PARTITION BY a.complaint_type) DESC, a.complaint_type, a.engagement DESC, a.created_at
            """,
            per_type=POSTS_PER_TYPE,
        ),
    )


def _incident_frames(store: Store, incident_id: str) -> Callable[..., pd.DataFrame]:
    """A query runner bound to one incident: ``frame(sql, **params)`` returns a DataFrame."""

    def frame(sql: str, **params: Any) -> pd.DataFrame:
        return store.connection.execute(sql, {"incident": incident_id, **params}).df()

    return frame


# -- numbers and words --------------------------------------------------------


def minutes_text(minutes: float) -> str:
    """7.52 -> '7.5 minutes', 80.9 -> '81 minutes', 1 -> '1 minute': tenths only where they matter."""
    amount = f"{round(abs(minutes), 1):g}" if abs(minutes) < 10 else f"{round(abs(minutes))}"
    return f"{amount} minute" + ("" if amount == "1" else "s")


def percent_text(share: float) -> str:
    return f"{share * 100:.0f}%"


def label_text(name: str) -> str:
    """A taxonomy label as words: 'cannot_join' -> 'cannot join'."""
    return name.replace("_", " ")


def headlines(report: IncidentReport) -> list[Headline]:
    """The summary numbers, each with its value and a line on what it means."""
    s, clock = report.summary, report.clock
    when = lambda instant: clock.both(instant) if instant else "none on record"  # noqa: E731
    lead = s.social_lead_minutes
    return [
        Headline("First internal signal", when(s.first_internal_signal), "our first alert or status update"),
        Headline(
            "First social spike",
            when(s.first_social_spike),
            "relevant complaints first broke from their baseline" if report.labelled else "needs classified posts",
        ),
        Headline(
            "Social lead",
            "-" if lead is None else minutes_text(lead) + (" earlier" if lead > 0 else " later" if lead < 0 else ""),
            "the posts moved after our own signal" if lead is not None and lead < 0
            else "how much earlier the posts moved than our own signal",
        ),
        Headline(
            "Peak volume",
            f"{s.peak_posts_per_minute or 0:,} posts/min",
            f"at {clock.both(s.peak_posts_at)}" if s.peak_posts_at else "no posts in the window",
        ),
        Headline(
            "Peak negative share",
            percent_text(s.peak_negative_share) if s.peak_negative_share is not None else "-",
            f"of relevant posts, at {clock.both(s.peak_negative_at)}" if s.peak_negative_at else "no classified posts",
        ),
        Headline("Time to recovery", *_recovery(report)),
        Headline("Best-lag correlation", *_correlation(report)),
    ]


def _recovery(report: IncidentReport) -> tuple[str, str]:
    recovery = report.summary.recovery_minutes
    if recovery is not None:
        return minutes_text(recovery), "after resolution, until the negative share was back to its pre-incident level"
    if report.resolved_at is None:
        return "-", "the incident has no resolution on record"
    if not report.labelled:
        return "-", "no classified posts"
    return "not recovered", "the negative share stayed above its pre-incident level to the end of the window"


def _correlation(report: IncidentReport) -> tuple[str, str]:
    s = report.summary
    if s.correlation_metric is None or s.best_lag_correlation is None:
        return "-", "no server-side metric to compare with"
    return f"r = {s.best_lag_correlation:.2f}", f"complaints vs {s.correlation_metric}, {_lag_words(s.best_lag_minutes)}"


def _lag_words(lag: float) -> str:
    if lag == 0:
        return "in the same minute"
    return f"complaints {minutes_text(lag)} {'after' if lag > 0 else 'before'} the metric"


def narrative(report: IncidentReport) -> list[str]:
    """A few sentences telling the story; every number comes from the summary or the views."""
    sentences = [_lead_sentence(report), _peak_sentence(report)]
    if report.labelled:
        sentences += [_negative_sentence(report), _complaint_sentence(report), _blame_sentence(report), _recovery_sentence(report)]
    else:
        sentences.append(
            "No post is classified yet, so there are no sentiment, complaint or blame figures; run `groundswell classify`."
        )
    sentences.append(_correlation_sentence(report))
    return [sentence for sentence in sentences if sentence]


def _lead_sentence(report: IncidentReport) -> str:
    s, clock = report.summary, report.clock
    spike, signal, lead = s.first_social_spike, s.first_internal_signal, s.social_lead_minutes
    if spike and signal and lead is not None:
        if lead > 0:
            return (
                f"Complaints rose {minutes_text(lead)} before the first internal signal: they broke from "
                f"their baseline at {clock.local(spike)}, our own first signal came at {clock.local(signal)}."
            )
        if lead < 0:
            return (
                f"The first internal signal came {minutes_text(lead)} before complaints rose: our own signal "
                f"at {clock.local(signal)}, complaints broke from their baseline at {clock.local(spike)}."
            )
        return f"Complaints rose in the same minute as the first internal signal, at {clock.local(signal)}."
    if signal and not report.labelled:
        return (
            "Without classified posts there is no complaint signal to compare; "
            f"the first internal signal came at {clock.local(signal)}."
        )
    if signal:
        return f"Complaints never broke from their baseline; the first internal signal came at {clock.local(signal)}."
    if spike:
        return f"Complaints broke from their baseline at {clock.local(spike)}; no internal signal is on the timeline."
    return "Neither a social spike nor an internal signal is on record for this incident."


def _peak_sentence(report: IncidentReport) -> str:
    s, clock = report.summary, report.clock
    if not s.peak_posts_per_minute or s.peak_posts_at is None:
        return "No posts fell inside the incident's window."
    sentence = f"Volume peaked at {s.peak_posts_per_minute:,} posts a minute at {clock.local(s.peak_posts_at)}"
    if s.first_internal_signal:
        gap = (s.peak_posts_at - s.first_internal_signal).total_seconds() / 60
        sentence += f", {minutes_text(gap)} {'after' if gap >= 0 else 'before'} the first internal signal"
    return sentence + "."


def _negative_sentence(report: IncidentReport) -> str:
    s = report.summary
    if s.peak_negative_share is None:
        return ""
    share, at = percent_text(s.peak_negative_share), report.clock.local(s.peak_negative_at)
    return f"At worst, at {at}, {share} of relevant posts were negative."


def _complaint_sentence(report: IncidentReport) -> str:
    """Each phase's leading complaint (incident_summary's ranking), consecutive phases with the
    same leader told together."""
    totals = report.complaint_mix.groupby("phase")["posts"].sum()
    groups: list[tuple[str, list[str], list[float]]] = []
    for phase in palette.PHASES:
        items = report.summary.top_complaints.get(phase)
        if not items:
            continue
        leader, share = items[0]["type"], items[0]["posts"] / totals[phase]
        if groups and groups[-1][0] == leader:
            groups[-1][1].append(PHASE_WORDS[phase])
            groups[-1][2].append(share)
        else:
            groups.append((leader, [PHASE_WORDS[phase]], [share]))
    if not groups:
        return "No relevant post carried a complaint."
    parts = [f"“{label_text(leader)}” {_join(phases)} ({_share_range(shares)})" for leader, phases, shares in groups]
    parts[0] = parts[0][:-1] + " of complaints)"
    return "The most common complaint was " + ", then ".join(parts) + "."


def _share_range(shares: list[float]) -> str:
    low, high = percent_text(min(shares)), percent_text(max(shares))
    return low if low == high else f"{low[:-1]}-{high}"


def _blame_sentence(report: IncidentReport) -> str:
    blamed = [b for b in report.summary.top_blamed if b.get("target") not in (None, "none")]
    if not blamed:
        return "Nobody in particular was blamed."
    names = [f"{b.get('entity') or label_text(b['target'])} ({b['posts']:,} posts)" for b in blamed[:3]]
    return f"Blame went mostly to {names[0]}" + (f", then {_join(names[1:])}" if names[1:] else "") + "."


def _recovery_sentence(report: IncidentReport) -> str:
    recovery, resolved = report.summary.recovery_minutes, report.resolved_at
    if resolved is None:
        return "The incident has no resolution on record yet."
    if recovery is None:
        return (
            f"After the resolution at {report.clock.local(resolved)}, the negative share did not return "
            "to its pre-incident level within the window."
        )
    return (
        f"After the resolution at {report.clock.local(resolved)}, the negative share took "
        f"{minutes_text(recovery)} to return to its pre-incident level."
    )


def _correlation_sentence(report: IncidentReport) -> str:
    s = report.summary
    if s.correlation_metric is None or s.best_lag_correlation is None:
        return "No server-side metric is on record for this incident, so none is compared with the complaints."
    return (
        f"Complaint volume tracked {s.correlation_metric} most closely with {_lag_words(s.best_lag_minutes)} "
        f"(correlation {s.best_lag_correlation:.2f})."
    )


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# -- charts -------------------------------------------------------------------


def timeline_figure(report: IncidentReport) -> go.Figure:
    """Posts per minute and negative share above, the metric below, phases shaded, events marked."""
    clock, minutes = report.clock, report.minutes
    has_metric = not report.metric.empty
    figure = make_subplots(
        rows=2 if has_metric else 1,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.05,
        row_heights=[0.7, 0.3] if has_metric else [1.0],
        specs=[[{"secondary_y": True}]] + ([[{}]] if has_metric else []),
    )
    x = clock.naive(minutes["minute"])
    figure.add_bar(x=x, y=minutes["posts"], name="posts per minute", marker_color=palette.VOLUME_COLOR, row=1, col=1)
    if report.labelled:
        figure.add_scatter(
            x=x, y=minutes["negative_share_5min"], name="negative share of relevant posts (last 5 minutes)", mode="lines",
            line={"color": palette.SENTIMENT_COLORS["negative"], "width": 2.5}, hovertemplate="%{y:.0%}",
            row=1, col=1, secondary_y=True,
        )
    if has_metric:
        name = report.summary.correlation_metric
        figure.add_scatter(
            x=clock.naive(report.metric["minute"]), y=report.metric["value"], name=f"{name} (server side)",
            mode="lines", line={"color": palette.METRIC_COLOR, "width": 1.5}, row=2, col=1,
        )
        figure.update_yaxes(title_text=name.replace("_", " "), title_font_size=11, row=2, col=1)
    tag_rows = _mark_events(figure, report)
    _shade_phases(figure, report)
    _mark_spike(figure, report)
    figure.update_yaxes(title_text="posts per minute", row=1, col=1, secondary_y=False)
    figure.update_yaxes(
        title_text="negative share", tickformat=".0%", range=[0, 1], dtick=0.25, showgrid=False, row=1, col=1, secondary_y=True
    )
    figure.update_xaxes(title_text=f"time ({clock.offset(report.summary.window_start)})", row=2 if has_metric else 1, col=1)
    figure.update_layout(
        height=640 if has_metric else 480, template="plotly_white", bargap=0.05, hovermode="x unified",
        margin={"l": 70, "r": 70, "t": 24 + 18 * tag_rows, "b": 60},
        legend={"orientation": "h", "y": -0.14 if has_metric else -0.2, "x": 0},
    )
    return figure


def _rows(spans: list[tuple[float, float]]) -> list[int]:
    """A row for each (start, end) label, left to right, so that no two labels on a row overlap."""
    ends: list[float] = []
    rows = []
    for start, end in spans:
        row = next((r for r, last in enumerate(ends) if start >= last), len(ends))
        ends[row:row + 1] = [end]
        rows.append(row)
    return rows


def _axis_position(report: IncidentReport, instant: Any) -> float:
    """Where an instant falls along the chart, 0 at the window's start, 1 at its end."""
    first, last = report.minutes["minute"].min(), report.minutes["minute"].max() + timedelta(minutes=1)
    return (instant - first) / (last - first)


def _shade_phases(figure: go.Figure, report: IncidentReport) -> None:
    """A translucent band per phase, its name at the top inside the band."""
    runs = [run for run in report.phases.itertuples(index=False) if run.phase != "before"]
    # About 0.6 % of the axis per character at the chart's usual width.
    spans = [(_axis_position(report, start), _axis_position(report, start) + 0.006 * (len(phase) + 2)) for phase, start, _ in runs]
    for (phase, start, end), row in zip(runs, _rows(spans)):
        x0, x1 = report.clock.wall(start), report.clock.wall(end)
        figure.add_vrect(x0=x0, x1=x1, fillcolor=palette.phase_fill(phase), line_width=0, layer="below", row="all", col=1)
        figure.add_annotation(
            x=x0, xanchor="left", y=1, yref="y domain", yanchor="top", yshift=-2 - 14 * row, text=f"<i>{phase}</i>",
            showarrow=False, font={"size": 11, "color": palette.PHASE_COLORS[phase]}, bgcolor="rgba(255,255,255,0.85)", row=1, col=1,
        )


def _mark_spike(figure: go.Figure, report: IncidentReport) -> None:
    """The first social spike, the moment the story turns on, as a dashed line labelled on its left."""
    spike = report.summary.first_social_spike
    if spike is None:
        return
    at = report.clock.wall(spike)
    colour = palette.SENTIMENT_COLORS["negative"]
    figure.add_vline(x=at, line={"color": colour, "width": 1.5, "dash": "dash"})
    figure.add_annotation(
        x=at, xanchor="right", y=1, yref="y domain", yanchor="top", text="complaints break from baseline ", showarrow=False,
        font={"size": 11, "color": colour}, bgcolor="rgba(255,255,255,0.85)", row=1, col=1,
    )


def _mark_events(figure: go.Figure, report: IncidentReport) -> int:
    """A dotted line and a numbered tag above the chart per event inside the window; the
    numbers key the table under the chart. Returns how many rows of tags it took."""
    shown = [(number, event) for number, event in _numbered_events(report) if 0 <= _axis_position(report, event.occurred_at) <= 1]
    # A tag is about 0.8 % of the axis wide per digit, plus its border.
    half_widths = [0.005 + 0.004 * len(str(number)) for number, _ in shown]
    centres = [_axis_position(report, event.occurred_at) for _, event in shown]
    spans = [(centre - width, centre + width) for centre, width in zip(centres, half_widths)]
    rows = _rows(spans)
    for (number, event), row in zip(shown, rows):
        at = report.clock.wall(event.occurred_at)
        figure.add_vline(x=at, line={"color": "#555555", "width": 1, "dash": "dot"})
        figure.add_annotation(
            x=at, y=1, yref="paper", yanchor="bottom", yshift=4 + 18 * row, text=str(number), showarrow=False,
            bgcolor="#ffffff", bordercolor="#555555", borderwidth=1, font={"size": 10},
            hovertext=html.escape(f"{report.clock.local(event.occurred_at)}: {event.title}"),
        )
    return max(rows, default=-1) + 1


def _numbered_events(report: IncidentReport) -> list[tuple[int, Any]]:
    return list(enumerate(report.events.itertuples(index=False), start=1))


def complaint_mix_figure(report: IncidentReport) -> go.Figure:
    """One 100% bar per phase, split by complaint type."""
    mix = report.complaint_mix
    phases = [p for p in palette.PHASES if p in set(mix["phase"])]
    totals = mix.groupby("phase")["posts"].sum()
    order = mix.groupby("complaint_type")["posts"].sum().sort_values(ascending=False).index
    names = [f"{p} ({totals[p]:,})" for p in phases]
    figure = go.Figure()
    for complaint_type in order:
        rows = mix[mix["complaint_type"] == complaint_type].set_index("phase")
        counts = [int(rows["posts"].get(p, 0)) for p in phases]
        figure.add_bar(
            y=names, x=[c / totals[p] for c, p in zip(counts, phases)], customdata=counts, orientation="h",
            name=label_text(complaint_type), marker_color=palette.complaint_color(complaint_type),
            hovertemplate="%{x:.0%} (%{customdata:,} posts)",
        )
    figure.update_layout(
        barmode="stack", template="plotly_white", height=90 + 48 * len(phases), margin={"l": 150, "r": 30, "t": 20, "b": 40},
        xaxis={"tickformat": ".0%", "range": [0, 1]}, yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.25 if len(phases) > 2 else -0.6, "x": 0, "traceorder": "normal"},
    )
    return figure


# -- rendering ----------------------------------------------------------------


def _environment(autoescape: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=autoescape, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
    )
    environment.filters["md"] = markdown_text
    environment.filters["label"] = label_text
    return environment


def _context(report: IncidentReport) -> dict[str, Any]:
    clock = report.clock
    s = report.summary
    return {
        "s": s,
        "clock": clock,
        "zone_note": clock.offset(s.window_start),
        "window": f"{s.window_start.astimezone(clock.zone):%a %d %b %Y, %H:%M} to {clock.local(s.window_end)}",
        "labelled": report.labelled,
        "min_posts": SHARE_MIN_POSTS,
        "has_metric": not report.metric.empty,
        "headlines": headlines(report),
        "narrative": narrative(report),
        "events": [
            {
                "number": n, "time": clock.both(e.occurred_at), "kind": label_text(e.kind), "title": e.title,
                "charted": 0 <= _axis_position(report, e.occurred_at) <= 1,
            }
            for n, e in _numbered_events(report)
        ],
        "mix": _mix_table(report),
        "posts": _post_groups(report),
    }


def _mix_table(report: IncidentReport) -> list[dict[str, Any]]:
    mix = report.complaint_mix
    rows = []
    for phase in palette.PHASES:
        part = mix[mix["phase"] == phase]
        if not part.empty:
            total = int(part["posts"].sum())
            types = [(t, f"{n:,}", percent_text(n / total)) for t, n in zip(part["complaint_type"], part["posts"])]
            rows.append({"phase": phase, "total": f"{total:,}", "types": types})
    return rows


def _post_groups(report: IncidentReport) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for post in report.top_posts.itertuples(index=False):
        groups.setdefault(post.complaint_type, []).append(
            {
                "text": post.text,
                "author": post.author_handle or "unknown",
                "source": SOURCE_NAMES.get(post.source, post.source),
                "time": report.clock.local(post.created_at),
                "url": _safe_url(post.url),
                "engagement": f"{int(post.engagement):,}",
                "parts": f"{_count(post.like_count)} likes, {_count(post.repost_count)} reposts, "
                f"{_count(post.reply_count)} replies, {_count(post.quote_count)} quotes",
            }
        )
    return [{"type": t, "color": palette.complaint_color(t), "posts": p} for t, p in groups.items()]


def _count(value: Any) -> str:
    return "0" if value is None or pd.isna(value) else f"{int(value):,}"


def _safe_url(url: str | None) -> str | None:
    """Only web links become hrefs: a post's 'javascript:' URL stays text-free."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def markdown_text(text: str) -> str:
    """Post text safe to drop into Markdown: no HTML, no links or emphasis, one line."""
    escaped = html.escape(" ".join(str(text).split()), quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)


def render_html(report: IncidentReport) -> str:
    """The self-contained page: plotly.js inline once in the head, then each chart as a div."""

    def embed(figure: go.Figure, div_id: str) -> Markup:
        return Markup(figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=CHART_CONFIG))

    charts = {
        "timeline": embed(timeline_figure(report), "timeline-chart"),
        "mix": None if report.complaint_mix.empty else embed(complaint_mix_figure(report), "mix-chart"),
    }
    return _environment(True).get_template("report.html.j2").render(
        **_context(report), charts=charts, plotly_js=Markup(get_plotlyjs())
    )


def render_markdown(report: IncidentReport) -> str:
    return _environment(False).get_template("report.md.j2").render(**_context(report))


def write_report(store: Store, incident_id: str, out_dir: Path) -> ReportFiles:
    """Write ``<incident>.html`` and ``<incident>.md`` into ``out_dir``; each file appears
    whole or not at all (written beside its final name, then renamed)."""
    report = load_report(store, incident_id)
    html_text, markdown = render_html(report), render_markdown(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", incident_id)
    files = ReportFiles(out_dir / f"{stem}.html", out_dir / f"{stem}.md")
    _write_whole(files.html, html_text)
    _write_whole(files.markdown, markdown)
    return files


def _write_whole(path: Path, text: str) -> None:
    # A temp file beside the target (same file system, so the rename is atomic), made with
    # the user's umask like any other file: mkstemp's 0600 would hide the report from others.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
