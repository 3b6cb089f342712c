"""Incident timelines and server-side metrics, imported into the store.

``import_timeline(store, path)`` reads one file (Statuspage incidents JSON,
PagerDuty log entries, Prometheus query results, or a hand-written YAML / CSV
timeline), validates all of it, and writes it in one transaction; a malformed
file raises one :class:`~pipeline.errors.TimelineError` and imports nothing.
The ``parse_*`` adapters are pure (decoded document in, :class:`Timeline` of
rows out) and need no database.
"""

from pipeline.timeline.importer import (
    FORMATS,
    PHASES,
    EventRow,
    ImportReport,
    IncidentRow,
    MetricPoint,
    Timeline,
    detect_format,
    import_timeline,
    merge_incident,
    read_timeline,
)
from pipeline.timeline.manual import parse_csv, parse_yaml
from pipeline.timeline.pagerduty import parse_pagerduty
from pipeline.timeline.prometheus import parse_prometheus
from pipeline.timeline.statuspage import parse_statuspage

__all__ = [
    "FORMATS",
    "PHASES",
    "EventRow",
    "ImportReport",
    "IncidentRow",
    "MetricPoint",
    "Timeline",
    "detect_format",
    "import_timeline",
    "merge_incident",
    "parse_csv",
    "parse_pagerduty",
    "parse_prometheus",
    "parse_statuspage",
    "parse_yaml",
    "read_timeline",
]
