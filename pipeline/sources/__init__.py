"""Post sources: one adapter per input format, all behind :class:`Source`."""

from pipeline.sources.base import SKIPPED, Limits, Record, Source
from pipeline.sources.x import XSource

__all__ = ["SKIPPED", "Limits", "Record", "Source", "XSource"]
