"""groundswell's dashboard: `groundswell dashboard` (or `streamlit run dashboard/app.py`).

Three pages over one DuckDB file, read-only: Live for comms teams during an
outage, Incident review for analysts, Executive summary for everyone else. The
database is the ``db_path`` setting (``GROUNDSWELL_DB_PATH``); the pages' logic
lives in ``pipeline.dashboard``. The page scripts sit in ``views/``, not ``pages/``: a
``pages/`` folder beside the main script switches on Streamlit's older automatic page
list, which then flashes up in place of this navigation.
"""

from pathlib import Path

import streamlit as st

from pipeline.dashboard import ui

VIEWS = Path(__file__).parent / "views"

st.set_page_config(page_title="groundswell", page_icon="📣", layout="wide")
page = st.navigation(
    [
        st.Page(VIEWS / "live.py", title="Live", icon="📡", default=True),
        st.Page(VIEWS / "incident_review.py", title="Incident review", icon="🔎"),
        st.Page(VIEWS / "executive_summary.py", title="Executive summary", icon="📋"),
    ]
)
with st.sidebar:
    settings = ui.settings()
    st.radio(
        "Show times in",
        ("incident", "setting", "utc"),
        format_func={
            "incident": "the incident's time zone",
            "setting": f"{settings.display_timezone} (display setting)",
            "utc": "UTC",
        }.get,
        key="time_zone",
        help="Hovering over a chart always shows UTC as well.",
    )
    st.caption(f"Database: {settings.db_path.name} (read-only)", help=str(settings.db_path.resolve()))
page.run()
