"""The dashboard's library: SQL (``queries``), Plotly figures (``charts``) and the
Streamlit pieces the pages share (``ui``). The pages themselves live in the
top-level ``dashboard/`` folder and stay thin: they call these and lay out the result.
"""

LIVE_TTL = 2.0
"""Seconds a live snapshot is reused: below the shortest refresh interval offered."""
TTL = 15.0
"""Seconds the incident pages' aggregates are reused."""
