"""Live: how bad is it right now, is it growing, what are people complaining about.

The figures refresh inside a fragment on a timer, so the controls and scroll position
survive and the page never reloads. "Now" is the wall clock while posts are
arriving, and the latest post's time when the database holds history (a replay,
or an incident that is over), so the page always shows the last 15 minutes of data.
"""

import streamlit as st

from pipeline.dashboard import charts, queries, ui

REFRESH_CHOICES = {"2 s": 2, "5 s": 5, "10 s": 10, "30 s": 30, "off": None}
CLOCKS = {"auto": "Auto", "wall": "Wall clock", "latest": "Latest post"}
STATE_COLORS = {"normal": "green", "elevated": "orange", "incident": "red"}

st.title("Live")
db = ui.require_database()
controls = st.columns([1, 2, 3])
refresh = controls[0].selectbox("Refresh every", list(REFRESH_CHOICES), index=1, key="live_refresh", bind="query-params")
clock = controls[1].segmented_control(
    "Now is", list(CLOCKS), format_func=CLOCKS.get, default="auto", required=True, key="live_clock",
    help="Auto: the wall clock while posts are arriving, else the time of the latest post (replays, past incidents).",
    bind="query-params",
)
zone = ui.zone_for(None)


def render_snapshot() -> None:
    with ui.shown_errors():
        snapshot = ui.live(db, clock)
    if snapshot.total_posts == 0:
        st.info("No posts in this database yet. Ingest some with `groundswell ingest FILE`, or build the sample with `groundswell demo`.")
        return
    now = snapshot.now
    st.caption(
        f"Now: {ui.local_text(now.at, zone, seconds=True)} "
        + ("(the latest post in the database: this is history or a replay, not the wall clock)" if now.replaying else "(wall clock)")
        + f" · {snapshot.total_posts:,} posts in the database · times in {zone.key}, UTC on hover"
    )
    if not snapshot.labelled:
        st.info(ui.UNLABELLED_NOTE)
    _headline(snapshot)
    left, right = st.columns(2)
    with left:
        st.subheader("Posts per minute, last two hours")
        st.plotly_chart(charts.live_trend(snapshot.trend, zone, snapshot.figures["baseline_rate"]), key="live_trend")
    with right:
        st.subheader("Complaint mix: last 15 min vs the hour before")
        if snapshot.complaint_mix.empty:
            st.caption("No relevant complaints in the last 75 minutes.")
        else:
            st.caption("Solid bars: the last 15 minutes; pale bars: the hour before. Each type's share of the complaints.")
            st.plotly_chart(charts.live_complaint_mix(snapshot.complaint_mix), key="live_mix")
    left, right = st.columns(2)
    with left:
        st.subheader("Who is blamed, last 15 min")
        if snapshot.blame.empty:
            st.caption("Nobody is blamed in the last 15 minutes.")
        else:
            st.plotly_chart(charts.blame(snapshot.blame), key="live_blame")
    with right:
        _timeline_tables(snapshot)
    st.subheader("Most engaged posts, last 15 min")
    ui.post_table(snapshot.top_posts, zone)


def _headline(snapshot: queries.LiveSnapshot) -> None:
    figures = snapshot.figures
    cells = st.columns(5)
    cells[0].metric(
        "Posts/min, last 5 min", f"{figures['rate_now']:,.1f}",
        delta=f"{figures['rate_now'] - figures['baseline_rate']:+,.1f} vs hour before",
        delta_color="inverse", border=True,
        help=f"The hour before the last 15 minutes averaged {figures['baseline_rate']:,.1f} posts per minute.",
    )
    cells[1].metric("Posts, last 15 min", f"{figures['recent_posts']:,}", border=True)
    now_share, before_share = figures["negative_share_now"], figures["negative_share_before"]
    cells[2].metric(
        "Negative, last 15 min", ui.percent(now_share),
        delta=None if now_share is None or before_share is None else f"{100 * (now_share - before_share):+.0f} pts vs hour before",
        delta_color="inverse", border=True, help="Share of negative posts among relevant, classified posts.",
    )
    detector = snapshot.detector
    cells[3].metric(
        "Detector", "no runs yet" if detector is None else str(detector["state"]),
        delta=None if detector is None else f"since {ui.local_text(detector['minute'], zone)}",
        delta_color="off" if detector is None else STATE_COLORS.get(detector["state"], "gray"), delta_arrow="off", border=True,
        help=None if detector is None else str(detector["message"]),
    )
    cells[4].metric("Latest post", ui.local_text(snapshot.now.latest_post, zone), border=True)


def _timeline_tables(snapshot: queries.LiveSnapshot) -> None:
    st.subheader("Latest timeline events")
    if snapshot.events.empty:
        st.caption("No timeline events yet.")
    else:
        events = snapshot.events.assign(time=lambda f: charts.local(f["occurred_at"], zone))
        st.dataframe(events.assign(event=charts.events_table(snapshot.events, zone)["event"]), hide_index=True,
                     column_order=("time", "event", "kind", "incident_id"),
                     column_config={"time": st.column_config.DatetimeColumn(f"time ({zone.key})", format="MMM D, HH:mm")})
    st.subheader("Latest alerts")
    if snapshot.alerts.empty:
        st.caption("The spike detector has raised no alert.")
    else:
        alerts = snapshot.alerts.assign(time=lambda f: charts.local(f["minute"], zone))
        st.dataframe(alerts, hide_index=True,
                     column_order=("time", "state", "message", "delivery_status", "incident_id"),
                     column_config={"time": st.column_config.DatetimeColumn(f"minute ({zone.key})", format="MMM D, HH:mm")})


st.fragment(render_snapshot, run_every=REFRESH_CHOICES[refresh])()
