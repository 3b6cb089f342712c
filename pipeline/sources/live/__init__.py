"""Live sources: Jetstream, Mastodon streaming, X filtered stream, webhook, replay.

The interface they share (async ``batches(cursor)`` of :class:`Batch`, and
``acknowledge``) is described in :mod:`pipeline.sources.live.base`;
:func:`live_source` builds one from the settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pipeline.config import ENV_PREFIX, Settings
from pipeline.errors import ConfigError
from pipeline.sources.base import Limits
from pipeline.sources.live.base import Batch, Cursor, LiveSource

__all__ = ["KINDS", "Batch", "Cursor", "LiveSource", "live_source", "stream_keywords"]

KINDS = ("jetstream", "mastodon", "x", "webhook", "replay")

T = TypeVar("T")


def live_source(kind: str, settings: Settings, *, path: Path | list[Path] | None = None, fmt: str = "auto") -> LiveSource:
    """The live source ``kind`` configured by ``settings`` (``replay`` plays ``path``: one recording,
    or several merged by time)."""
    limits = Limits(settings.max_record_bytes, settings.max_text_chars)
    if kind == "jetstream":
        from pipeline.sources.live.jetstream import JetstreamSource

        return JetstreamSource(
            settings.jetstream_url, keywords=stream_keywords(settings), rewind_seconds=settings.jetstream_rewind_seconds, limits=limits
        )
    if kind == "mastodon":
        from pipeline.sources.live.mastodon_stream import MastodonStreamSource

        return MastodonStreamSource(
            _required(settings.mastodon_url, "mastodon_url", "the Mastodon server, e.g. https://mastodon.social"),
            access_token=settings.mastodon_access_token.get_secret_value() if settings.mastodon_access_token else None,
            hashtag=settings.mastodon_hashtag,
            streaming_url=settings.mastodon_streaming_url,
            keywords=stream_keywords(settings),
            silence_timeout=settings.live_silence_seconds,
            limits=limits,
        )
    if kind == "x":
        from pipeline.sources.live.x_stream import XStreamSource

        token = _required(settings.x_bearer_token, "x_bearer_token", "the X API app's bearer token")
        return XStreamSource(
            settings.x_stream_url,
            bearer_token=token.get_secret_value(),
            keywords=stream_keywords(settings),
            silence_timeout=settings.live_silence_seconds,
            limits=limits,
        )
    if kind == "webhook":
        from pipeline.sources.live.webhook import WebhookReceiver

        secret = _required(settings.webhook_secret, "webhook_secret", "a long random string shared with the senders")
        return WebhookReceiver(
            secret.get_secret_value(),
            host=settings.webhook_host,
            port=settings.webhook_port,
            max_body_bytes=settings.webhook_max_body_bytes,
            limits=limits,
        )
    if kind == "replay":
        from pipeline.sources.live.replay import ReplaySource

        if not path:
            raise ConfigError("the replay source needs a recorded file to play (--file)")
        return ReplaySource(
            path, fmt=fmt, speed=settings.replay_speed, limits=limits, columns=settings.columns,
            original_times=settings.replay_original_times,
        )
    raise ConfigError(f"unknown live source {kind!r}; choose one of: {', '.join(KINDS)}")


def stream_keywords(settings: Settings) -> list[str]:
    """The words a post needs to be kept from a stream: ``live_keywords``, else the incident profile's."""
    if settings.live_keywords:
        return settings.live_keywords
    from pipeline.classify.taxonomy import load_profile

    return load_profile(settings.incident_profile).keywords


def _required(value: T | None, setting: str, what: str) -> T:
    if value is None:
        raise ConfigError(f"setting {setting} ({ENV_PREFIX}{setting.upper()}) is not set: it needs {what}")
    return value
