"""Executive summary: one screen with the headline numbers, the timeline and the story.

The headline numbers come straight from ``incident_summary``; the posts quoted
are the most engaged of each top complaint type, shown as plain text.
"""

import streamlit as st

from pipeline.dashboard import charts, ui

page = ui.open_incident_page()
db, incident_id, zone, span, summary = page.db, page.incident_id, page.zone, page.span, page.summary
start, end = span.default
with ui.shown_errors():
    data = ui.executive(db, incident_id, start, end)
timeline, phase_mix, blamed, posts = data.timeline, data.phase_mix, data.blamed, data.posts
st.caption(
    f"{summary['service'] or 'Service'} · {ui.local_text(start, zone)} to {ui.local_text(end, zone)} on "
    f"{ui.day_text(start, zone)} · {timeline.totals['posts']:,} posts · times in {zone.key}"
)
if timeline.totals["labelled_posts"] == 0 and timeline.totals["posts"] > 0:
    st.info(ui.UNLABELLED_NOTE)

report = ui.report_file(incident_id)
if report is not None:
    st.download_button(
        "Download the full HTML report", lambda: report.read_bytes(), file_name=report.name, mime="text/html",
        on_click="ignore", icon=":material/description:", help=f"{report} (self-contained: opens in any browser)",
    )

ui.headline_metrics(summary, zone)
metric = summary["correlation_metric"]
st.plotly_chart(
    charts.timeline(timeline.minutes, timeline.events, timeline.phases,
                    timeline.metrics[timeline.metrics["metric"] == metric], metric, zone, height=420),
    key="exec_timeline",
)
with st.expander("Timeline events (the numbered lines)"):
    st.dataframe(charts.events_table(timeline.events, zone), hide_index=True)

left, right = st.columns(2)
with left:
    st.subheader("What people complained about, by phase")
    if phase_mix.empty:
        st.caption("No relevant complaints classified yet.")
    else:
        st.plotly_chart(charts.phase_mix(phase_mix), key="exec_mix")
with right:
    st.subheader("Who they blamed")
    if blamed.empty:
        st.caption("Nobody blamed in the classified posts.")
    else:
        st.plotly_chart(charts.blame(blamed), key="exec_blamed")

st.subheader("In their words: the most engaged posts of each top complaint")
if posts.empty:
    st.caption("No relevant complaints classified yet.")
for complaint_type, group in posts.groupby("complaint_type", sort=False):
    st.markdown(f"**{charts.label(complaint_type)}** · {int(group['type_posts'].iloc[0]):,} posts")
    for cell, post in zip(st.columns(3), group.itertuples(index=False)):
        with cell.container(border=True, height="stretch"):
            st.text(post.text)
            st.text(f"— @{post.author_handle or 'unknown'} · {ui.local_text(post.created_at, zone)} · "
                    f"{int(post.engagement):,} engagements · {post.source}")

if report is None:
    st.caption(f"No HTML report for this incident yet: `groundswell report {incident_id}` writes one.")
