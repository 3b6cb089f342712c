"""One colour for each sentiment, complaint type and incident phase, shared by the
report and the dashboard so that "cannot join" is the same blue on every page.

Colours come from the Okabe-Ito palette (distinguishable with the common forms of
colour blindness). Taxonomies are data, so a complaint type this module has never
heard of still gets a stable colour: picked from Plotly's colour-blind-safe
qualitative palette by a hash of its name, the same on every run.
"""

from __future__ import annotations

import zlib

from plotly.colors import qualitative

SENTIMENT_COLORS: dict[str, str] = {
    "negative": "#D55E00",
    "neutral": "#999999",
    "positive": "#009E73",
}

COMPLAINT_COLORS: dict[str, str] = {
    "cannot_join": "#0072B2",
    "audio_quality": "#E69F00",
    "app_crash": "#CC79A7",
    "delay": "#56B4E9",
    "capacity": "#009E73",
    "errors": "#8C510A",
    "none": "#BBBBBB",
}

PHASES: tuple[str, ...] = ("before", "investigating", "identified", "monitoring", "resolved")
"""The alignment's phases in the order an incident moves through them."""

PHASE_COLORS: dict[str, str] = {
    "before": "#FFFFFF",
    "investigating": "#D55E00",
    "identified": "#E69F00",
    "monitoring": "#56B4E9",
    "resolved": "#009E73",
}

METRIC_COLOR = "#333333"
VOLUME_COLOR = "#7A8FA6"


def complaint_color(complaint_type: str) -> str:
    """The type's colour; types outside the default taxonomy get a stable pick."""
    if complaint_type in COMPLAINT_COLORS:
        return COMPLAINT_COLORS[complaint_type]
    choices = qualitative.Safe
    return choices[zlib.crc32(complaint_type.encode()) % len(choices)]


def phase_fill(phase: str, opacity: float = 0.10) -> str:
    """The phase's colour as a translucent fill for a shaded band."""
    red, green, blue = (int(PHASE_COLORS.get(phase, "#FFFFFF")[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{opacity})"
