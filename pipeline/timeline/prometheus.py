"""Prometheus query results: ``/api/v1/query_range`` (matrix) and ``/api/v1/query`` (vector) JSON.

Each sample becomes a ``metrics`` row: metric = the series' ``__name__`` (or the
``metric_name`` you pass, for an expression such as ``sum(rate(...))`` whose
result has no name), labels = the series' other labels as compact JSON with
sorted keys (``{"instance":"a","job":"sfu"}``), observed_at = the sample's unix
time in UTC. A value that is not a finite number (``NaN``, ``+Inf``, ``-Inf``:
Prometheus's way of saying a ratio had nothing to divide) is stored as NULL, so
the moment is kept and a chart shows a gap there. Re-importing replaces the
same points (the table's key is metric, labels, observed_at), never duplicates
them. A ``"status": "error"`` response is refused with Prometheus's own error.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import BaseModel, PlainValidator, ValidationError

from pipeline.timeline.importer import MetricPoint, Timeline, failure, invalid, short, unique

HINT = (
    'a Prometheus export (/api/v1/query_range) is {"status": "success",'
    ' "data": {"resultType": "matrix", "result": [...]}}'
)


def _unix_time(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a unix time in seconds, got {short(value)}")
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"unix time {value!r} is out of range") from None


def _sample_value(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a sample value such as \"0.25\", got {short(value)}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"sample value {value!r} is not a number") from None
    return number if math.isfinite(number) else None


Sample = tuple[Annotated[datetime, PlainValidator(_unix_time)], Annotated[float | None, PlainValidator(_sample_value)]]


class _Series(BaseModel):
    metric: dict[str, str]
    values: list[Sample] | None = None
    value: Sample | None = None


class _Data(BaseModel):
    resultType: Literal["matrix", "vector"]
    result: list[_Series]


class _Response(BaseModel):
    status: Literal["success"]
    data: _Data


def parse_prometheus(document: Any, *, origin: str = "<prometheus>", metric_name: str | None = None) -> Timeline:
    """Metric points from a Prometheus query response (already decoded from JSON)."""
    if not isinstance(document, dict):
        raise failure(origin, "the document", f"is JSON {type(document).__name__}, not an object", HINT)
    if document.get("status") == "error":
        raise failure(
            origin,
            "status",
            f"Prometheus answered {document.get('errorType', 'error')}: {document.get('error', 'no message')}",
            "fix the query and export it again",
        )
    try:
        data = _Response.model_validate(document).data
    except ValidationError as error:
        raise invalid(error, origin, HINT) from None
    points = [
        point for index, series in enumerate(data.result) for point in _points(series, index, data, origin, metric_name)
    ]
    return Timeline(source="prometheus", metrics=unique(points, _key, origin, "metric point"))


def _points(series: _Series, index: int, data: _Data, origin: str, metric_name: str | None) -> list[MetricPoint]:
    where = f"data.result[{index}]"
    name = metric_name or series.metric.get("__name__")
    if not name:
        raise failure(
            origin,
            f"{where}.metric",
            f"has no __name__ (the query was an expression: {short(series.metric)})",
            "pass a metric name for it (--metric NAME)",
        )
    samples = series.values if data.resultType == "matrix" else ([series.value] if series.value else None)
    if samples is None:
        field = "values" if data.resultType == "matrix" else "value"
        raise failure(origin, f"{where}.{field}", f"is missing from a {data.resultType} series", HINT)
    labels = {key: value for key, value in series.metric.items() if key != "__name__"}
    text = json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return [MetricPoint(name, text, at, value, "prometheus") for at, value in samples]


def _key(point: MetricPoint) -> str:
    return f"{point.metric}{point.labels} at {point.observed_at.isoformat()}"
