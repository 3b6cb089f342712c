"""Incident review: the whole incident minute by minute, and the posts behind any minute.

Pick an incident and a time range; the timeline stacks posts per minute by
sentiment beside a server-side metric, with the status phases shaded and the
timeline events marked. Clicking a bar (or box-selecting a stretch) lists the
posts of those minutes below, where they can be filtered, searched and downloaded.
"""

import math

import streamlit as st

from pipeline.dashboard import charts, queries, ui

PAGE_SIZE = 50
RELEVANCE = {"any": "any", "relevant": "relevant", "not_relevant": "not relevant"}
ORDERS = {"time": "time", "engagement": "most engaged"}

page = ui.open_incident_page()
db, incident_id, zone, span, summary = page.db, page.incident_id, page.zone, page.span, page.summary

start, end = ui.range_picker(span, zone, key=f"range:{incident_id}:{zone.key}")
with ui.shown_errors():
    timeline, options = ui.review(db, incident_id, start, end)
totals = timeline.totals
if totals["labelled_posts"] == 0 and totals["posts"] > 0:
    st.info(ui.UNLABELLED_NOTE)

cells = st.columns(4)
cells[0].metric("Posts in range", f"{totals['posts']:,}", border=True)
cells[1].metric("Relevant posts", f"{totals['relevant_posts']:,}", border=True, help="About the incident at all, by the relevance head.")
cells[2].metric("Negative share", ui.percent(totals["negative_share"]), border=True, help="Among relevant, classified posts in the range.")
cells[3].metric(
    "Metric correlation",
    "—" if summary["best_lag_correlation"] is None or summary["correlation_metric"] is None
    else f"{summary['best_lag_correlation']:.2f}",
    delta=None if summary["best_lag_minutes"] is None else f"at a lag of {summary['best_lag_minutes']:+g} min",
    delta_color="off", delta_arrow="off", border=True,
    help=f"The strongest correlation between posts per minute and {summary['correlation_metric']} over a range of lags "
    "(whole incident; a positive lag: the posts follow the metric).",
)
ui.headline_metrics(summary, zone)

st.subheader("Timeline")
metric_names = sorted(timeline.metrics["metric"].unique())
metric = None
if metric_names:
    default = summary["correlation_metric"] if summary["correlation_metric"] in metric_names else metric_names[0]
    metric = st.selectbox("Server-side metric (lower panel)", metric_names, index=metric_names.index(default), format_func=charts.label)
nonce = st.session_state.setdefault("timeline_selection", 0)
figure = charts.timeline(
    timeline.minutes, timeline.events, timeline.phases, timeline.metrics[timeline.metrics["metric"] == metric], metric, zone
)
selection = st.plotly_chart(figure, on_select="rerun", selection_mode=("points", "box"), key=f"timeline:{incident_id}:{nonce}")
st.caption("Click a bar, or drag a box, to list the posts of those minutes below. Shaded bands are the status phases; "
           "numbered dotted lines are the timeline events:")
st.dataframe(charts.events_table(timeline.events, zone), hide_index=True)

st.subheader("Complaint types over time")
if timeline.complaints.empty:
    st.caption("No relevant complaints in this range.")
else:
    st.plotly_chart(charts.complaints_over_time(timeline.complaints, zone, queries.bucket_minutes(end - start)), key="complaints")

st.subheader("Posts")
chosen = ui.selected_minutes(selection, zone)
if chosen:
    start, end = max(start, chosen[0]), min(end, chosen[1])
    note, clear = st.columns([4, 1])
    note.info(f"Showing the posts from {ui.local_text(start, zone)} to {ui.local_text(end, zone)}, picked on the chart.")
    if clear.button("Show the whole range"):
        st.session_state["timeline_selection"] = nonce + 1
        st.rerun()

row = st.columns(4)
sentiments = row[0].multiselect("Sentiment", options.sentiments, key="f_sentiment")
complaints = row[1].multiselect("Complaint type", options.complaint_types, format_func=charts.label, key="f_complaint")
blames = row[2].multiselect("Blame", options.blame_targets, format_func=charts.label, key="f_blame")
relevance = row[3].segmented_control("Relevance", list(RELEVANCE), format_func=RELEVANCE.get, default="any", required=True, key="f_relevance")
row = st.columns(4)
languages = row[0].multiselect("Language", options.languages, key="f_language")
sources = row[1].multiselect("Source", options.sources, key="f_source")
search = row[2].text_input("Search the text", key="f_search", placeholder="e.g. ddos")
order = row[3].segmented_control("Order", list(ORDERS), format_func=ORDERS.get, default="time", required=True, key="f_order")

where = queries.PostFilter(
    incident_id, start, end, tuple(sentiments), tuple(complaints), tuple(blames), tuple(languages), tuple(sources),
    relevance, search, order,
)
page_key = f"page:{hash(where)}"
page_number = st.session_state.get(page_key, 1)
with ui.shown_errors():
    page = ui.posts_page(db, where, PAGE_SIZE, (page_number - 1) * PAGE_SIZE)
first = page.offset + 1 if page.total else 0
st.markdown(f"**{page.total:,} posts match** · showing {first:,}–{page.offset + len(page.rows):,}")
ui.post_table(page.rows, zone, height=420)
pager, csv, parquet = st.columns([4, 1, 1])
with pager:
    st.pagination(max(1, math.ceil(page.total / PAGE_SIZE)), key=page_key, max_visible_pages=9)
csv.download_button(
    "Download CSV", lambda: ui.export(db, where, "csv"), file_name=f"{incident_id}-posts.csv", mime="text/csv",
    on_click="ignore", disabled=page.total == 0,
)
parquet.download_button(
    "Download Parquet", lambda: ui.export(db, where, "parquet"), file_name=f"{incident_id}-posts.parquet",
    mime="application/vnd.apache.parquet", on_click="ignore", disabled=page.total == 0,
)
