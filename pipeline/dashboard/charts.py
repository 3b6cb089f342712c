"""The dashboard's Plotly figures, built from the frames in ``queries``.

Colours come from :mod:`pipeline.palette`, shared with the HTML report, so a
complaint type or a sentiment has one colour everywhere. The x axes show wall
time in the chosen zone (Plotly has no time zones, so times are converted and
made naive) and every hover adds the UTC time. Post text never reaches a figure, and
the few values that come from posts (blamed names) are escaped.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipeline import palette

SENTIMENTS = ("negative", "neutral", "positive")
OTHER_COLOR = "#DDDDDD"
TAG_GAP = 0.025
"""Event tags closer than this share of the x axis go on separate rows."""


def label(name: str) -> str:
    """A database value as people read it (``cannot_join`` -> ``cannot join``), escaped:
    Plotly renders a little HTML in labels, and some values (blamed names) come from posts."""
    return html.escape(str(name).replace("_", " "))


def local(times: pd.Series, zone: ZoneInfo) -> pd.Series:
    """UTC instants as naive wall-clock times in ``zone`` (what Plotly draws)."""
    return pd.to_datetime(times, utc=True).dt.tz_convert(zone).dt.tz_localize(None)


def utc_text(times: pd.Series) -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.strftime("%Y-%m-%d %H:%M UTC")


def _layout(figure: go.Figure, height: int, zone: ZoneInfo | None = None, **extra) -> go.Figure:
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None, "traceorder": "normal"},
        hoverlabel={"namelength": -1},
        **extra,
    )
    if zone is not None:
        figure.update_xaxes(title_text=f"time ({zone.key})")
    return figure


def timeline(
    minutes: pd.DataFrame,
    events: pd.DataFrame,
    phases: pd.DataFrame,
    metric: pd.DataFrame,
    metric_name: str | None,
    zone: ZoneInfo,
    height: int = 520,
) -> go.Figure:
    """Posts per minute stacked by sentiment above, a server-side metric below on its own
    axis, phases as shaded bands and events as numbered dotted lines (``events_table`` keys them)."""
    has_metric = bool(metric_name) and not metric.empty
    figure = make_subplots(
        rows=2 if has_metric else 1, cols=1, shared_xaxes=True, vertical_spacing=0.05,
        row_heights=[0.72, 0.28] if has_metric else [1.0],
    )
    x = local(minutes["minute"], zone)
    utc = utc_text(minutes["minute"])
    rated = minutes[list(SENTIMENTS)].sum(axis=1)
    for sentiment in SENTIMENTS:
        share = (minutes[sentiment] / rated.where(rated > 0)).fillna(0)
        figure.add_bar(
            x=x, y=minutes[sentiment], name=sentiment, marker_color=palette.SENTIMENT_COLORS[sentiment],
            customdata=list(zip(utc, share)),
            hovertemplate=f"%{{x|%H:%M}} (%{{customdata[0]}})<br>{sentiment}: %{{y:,}} posts (%{{customdata[1]:.0%}} of rated)<extra></extra>",
            row=1, col=1,
        )
    figure.add_bar(
        x=x, y=minutes["posts"] - rated, name="other (off-topic, not English, unlabelled)", marker_color=OTHER_COLOR,
        customdata=list(zip(utc, minutes["posts"])),
        hovertemplate="%{x|%H:%M} (%{customdata[0]})<br>other: %{y:,} of %{customdata[1]:,} posts<extra></extra>",
        row=1, col=1,
    )
    if has_metric:
        figure.add_scatter(
            x=local(metric["minute"], zone), y=metric["value"], name=label(metric_name), mode="lines",
            line={"color": palette.METRIC_COLOR, "width": 1.5}, customdata=utc_text(metric["minute"]),
            hovertemplate=f"%{{x|%H:%M}} (%{{customdata}})<br>{label(metric_name)}: %{{y:,.4~g}}<extra></extra>",
            row=2, col=1,
        )
        figure.update_yaxes(title_text=label(metric_name), rangemode="tozero", row=2, col=1)
        figure.update_xaxes(title_text=f"time ({zone.key})", row=2, col=1)
    else:
        figure.update_xaxes(title_text=f"time ({zone.key})", row=1, col=1)
    _phase_legend(figure, phases)
    lines, tags = _event_marks(events, zone, minutes)
    figure.update_yaxes(title_text="posts per minute", row=1, col=1)
    figure.update_layout(
        shapes=_phase_bands(phases, zone) + lines, annotations=tags,
        height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, barmode="stack", bargap=0.05,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0, "traceorder": "normal"},
        hoverlabel={"namelength": -1}, clickmode="event+select",
    )
    return figure


def _phase_bands(phases: pd.DataFrame, zone: ZoneInfo) -> list[dict]:
    """A shaded band per phase run, over every row of the chart."""
    bands = []
    for row in phases.itertuples(index=False):
        if row.phase == "before":
            continue
        start, end = (pd.Timestamp(t).tz_convert(zone).tz_localize(None) for t in (row.start, row.end))
        bands.append({"type": "rect", "xref": "x", "yref": "paper", "x0": start, "x1": end, "y0": 0, "y1": 1,
                      "fillcolor": palette.phase_fill(row.phase, 0.16), "line": {"width": 0}, "layer": "below"})
    return bands


def _phase_legend(figure: go.Figure, phases: pd.DataFrame) -> None:
    """One legend entry per phase shown, naming its band's colour."""
    for phase in [p for p in palette.PHASES if p != "before" and p in set(phases["phase"])]:
        figure.add_scatter(
            x=[None], y=[None], mode="markers", name=f"phase: {phase}",
            marker={"symbol": "square", "size": 12, "color": palette.phase_fill(phase, 0.45)}, hoverinfo="skip", row=1, col=1,
        )


def event_label(kind: str, title: str | None, phase: str | None) -> str:
    return f"status: {phase}" if kind == "status_update" and phase else (title or kind)


def _event_marks(events: pd.DataFrame, zone: ZoneInfo, minutes: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """A dotted line and a numbered tag per event (shapes, annotations); tags that would
    touch are stacked. Built as plain dicts and set in one go: Plotly's ``add_vline`` and
    ``add_annotation`` re-validate the whole layout on every call."""
    if minutes.empty:
        return [], []
    start = pd.Timestamp(minutes["minute"].min())
    span = (pd.Timestamp(minutes["minute"].max()) - start).total_seconds() + 60
    last_at: dict[int, float] = {}
    lines, tags = [], []
    for number, event in enumerate(events.itertuples(index=False), start=1):
        at = pd.Timestamp(event.occurred_at)
        x = at.tz_convert(zone).tz_localize(None)
        lines.append({"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
                      "line": {"color": "#555555", "width": 1, "dash": "dot"}})
        position = (at - start).total_seconds() / span
        row = next(r for r in range(len(events) + 1) if position - last_at.get(r, -1.0) > TAG_GAP)
        last_at[row] = position
        tags.append({
            "x": x, "xref": "x", "y": 1, "yref": "y domain", "yanchor": "top", "yshift": -row * 18, "text": str(number),
            "showarrow": False, "bgcolor": "#FFFFFF", "bordercolor": "#555555", "borderwidth": 1, "font": {"size": 10},
            "hovertext": html.escape(f"{x:%H:%M} ({at:%H:%M} UTC) {event_label(event.kind, event.title, event.phase)}"),
        })  # fmt: skip
    return lines, tags


def events_table(events: pd.DataFrame, zone: ZoneInfo) -> pd.DataFrame:
    """The key to the numbered tags: number, local time, UTC time, what happened."""
    return pd.DataFrame(
        {
            "#": range(1, len(events) + 1),
            "time": pd.to_datetime(events["occurred_at"], utc=True).dt.tz_convert(zone).dt.strftime("%H:%M"),
            "UTC": pd.to_datetime(events["occurred_at"], utc=True).dt.strftime("%H:%M"),
            "kind": events["kind"].str.replace("_", " "),
            "event": [event_label(k, t, p) for k, t, p in zip(events["kind"], events["title"], events["phase"])],
        }
    )


def complaints_over_time(complaints: pd.DataFrame, zone: ZoneInfo, bucket_minutes: int, height: int = 300) -> go.Figure:
    """Relevant complaining posts per time bucket, stacked by complaint type."""
    figure = go.Figure()
    order = complaints.groupby("complaint_type")["posts"].sum().sort_values(ascending=False).index
    for complaint_type in order:
        rows = complaints[complaints["complaint_type"] == complaint_type]
        figure.add_bar(
            x=local(rows["bucket"], zone), y=rows["posts"], name=label(complaint_type),
            marker_color=palette.complaint_color(complaint_type), customdata=utc_text(rows["bucket"]),
            hovertemplate=f"%{{customdata}}<br>{label(complaint_type)}: %{{y:,}} posts<extra></extra>",
        )
    figure.update_yaxes(title_text=f"posts per {bucket_minutes} min" if bucket_minutes > 1 else "posts per minute")
    return _layout(figure, height, zone, barmode="stack", bargap=0.05)


def phase_mix(mix: pd.DataFrame, height: int | None = None) -> go.Figure:
    """One 100% bar per phase (in incident order), split by complaint type."""
    phases = [p for p in palette.PHASES if p in set(mix["phase"])]
    totals = mix.groupby("phase")["posts"].sum()
    names = [f"{p} ({totals[p]:,})" for p in phases]
    figure = go.Figure()
    for complaint_type in mix.groupby("complaint_type")["posts"].sum().sort_values(ascending=False).index:
        rows = mix[mix["complaint_type"] == complaint_type].set_index("phase")
        figure.add_bar(
            y=names, x=[float(rows["share"].get(p, 0.0)) for p in phases], orientation="h", name=label(complaint_type),
            customdata=[int(rows["posts"].get(p, 0)) for p in phases], marker_color=palette.complaint_color(complaint_type),
            hovertemplate=f"{label(complaint_type)}: %{{x:.0%}} (%{{customdata:,}} posts)<extra></extra>",
        )
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, height or 90 + 44 * len(phases), barmode="stack")


def live_trend(trend: pd.DataFrame, zone: ZoneInfo, baseline_rate: float | None, height: int = 300) -> go.Figure:
    """The last two hours: posts per minute (bars), the baseline, and the negative share (line, right axis)."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    x = local(trend["minute"], zone)
    utc = utc_text(trend["minute"])
    figure.add_bar(
        x=x, y=trend["posts"], name="posts per minute", marker_color=palette.VOLUME_COLOR, customdata=utc,
        hovertemplate="%{customdata}<br>%{y:,} posts<extra></extra>",
    )
    figure.add_scatter(
        x=x, y=trend["negative_share"], name="negative share", mode="lines",
        line={"color": palette.SENTIMENT_COLORS["negative"], "width": 2}, customdata=utc,
        hovertemplate="%{customdata}<br>negative: %{y:.0%}<extra></extra>", secondary_y=True,
    )
    if baseline_rate is not None:
        figure.add_hline(y=baseline_rate, line={"color": "#333333", "dash": "dash", "width": 1},
                         annotation_text="hour-before average", annotation_position="top left")
    figure.update_yaxes(title_text="posts per minute", secondary_y=False, rangemode="tozero")
    figure.update_yaxes(title_text="negative share", tickformat=".0%", range=[0, 1.05], dtick=0.25, secondary_y=True,
                        showgrid=False)
    return _layout(figure, height, zone, bargap=0.05)


def live_complaint_mix(mix: pd.DataFrame, height: int = 300) -> go.Figure:
    """Each complaint type's share of complaints: the last 15 minutes (solid) against the hour
    before (pale), in the type's colour."""
    figure = go.Figure()
    order = list(mix.groupby("complaint_type")["posts"].sum().sort_values().index)
    for period, opacity in (("hour before", 0.35), ("last 15 min", 1.0)):
        rows = mix[mix["period"] == period].set_index("complaint_type").reindex(order)
        figure.add_bar(
            y=[label(t) for t in order], x=rows["share"].fillna(0), orientation="h", name=period, opacity=opacity,
            marker_color=[palette.complaint_color(t) for t in order], customdata=rows["posts"].fillna(0),
            hovertemplate=f"{period}: %{{x:.0%}} of complaints (%{{customdata:,}} posts)<extra></extra>",
        )
    figure.update_xaxes(tickformat=".0%", title_text="share of complaining posts")
    return _layout(figure, height, barmode="group", showlegend=False)


def blame(rows: pd.DataFrame, height: int = 260) -> go.Figure:
    """Who the posts blame (blame_target, blame_entity, posts), most blamed on top."""
    figure = go.Figure(
        go.Bar(
            y=[label(entity) if entity == target else f"{label(entity)} ({label(target)})"
               for entity, target in zip(rows["blame_entity"], rows["blame_target"])],
            x=rows["posts"], orientation="h", marker_color=palette.SENTIMENT_COLORS["negative"],
            hovertemplate="%{y}: %{x:,} posts<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text="posts blaming")
    return _layout(figure, height, showlegend=False)

