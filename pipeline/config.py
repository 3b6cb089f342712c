"""One typed settings object, read from the environment and an optional TOML file.

Precedence, highest first: values passed in code (the CLI's flags), environment
variables prefixed ``GROUNDSWELL_`` (nested keys joined with ``__``), the TOML file
named by ``GROUNDSWELL_CONFIG`` (or ``groundswell.toml`` in the working directory
when that exists), then the defaults below. ``groundswell config`` prints the
result; the README's configuration table is generated from this class.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.errors import ConfigError

ENV_PREFIX = "GROUNDSWELL_"
CONFIG_FILE_ENV = "GROUNDSWELL_CONFIG"
DEFAULT_CONFIG_FILE = Path("groundswell.toml")


class Settings(BaseSettings):
    """Everything a user can tune. Field descriptions feed the README table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    db_path: Path = Field(
        Path("data/groundswell.duckdb"),
        description="The DuckDB database file (created on first use).",
    )
    sample_dir: Path = Field(
        Path("data"), description="Folder of the embedded sample incidents."
    )
    models_dir: Path = Field(
        Path("models"), description="Folder of trained model artifacts."
    )
    sentiment_model: str = Field(
        "models/sentiment-v1",
        description="Sentiment model: a local folder (ours, or any Hugging Face sequence-classification model) or a Hub id.",
    )
    incident_profile: str = Field(
        "spaces",
        description="Incident profile for relevance and blame: a bundled name (spaces, bank_app) or a YAML file.",
    )
    taxonomy: str | None = Field(
        None, description="Complaint taxonomy overriding the profile's: a bundled name or a YAML file."
    )
    classify_runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description="How the transformers run: 'onnx' (int8 ONNX Runtime, one post per run; labels carry '+int8' versions) or 'torch' (fp32, as trained).",
    )
    classify_threads: int | None = Field(
        None, ge=1, description="Posts the onnx runtime classifies at once, one per thread (default: one per CPU)."
    )
    model_cache_dir: Path = Field(
        Path("~/.cache/groundswell"),
        description="Where the onnx runtime keeps the int8 graphs it exports on first use (keyed by the weights' digest).",
    )
    classify_batch_size: int = Field(64, ge=1, description="Posts per forward pass of the transformers (torch runtime).")
    classify_page_size: int = Field(
        512, ge=1, description="Posts per page handed to a classify worker and written in one transaction."
    )
    dask_address: str | None = Field(
        None,
        description="Dask scheduler address (e.g. tcp://10.0.0.5:8786): classify on that Dask cluster. Unset: in this process.",
    )
    dask_pages_in_flight: int = Field(
        4, ge=1, description="Pages submitted to the Dask cluster ahead of the writer (about twice the worker count)."
    )
    ingest_batch_size: int = Field(
        100_000, ge=1, description="Posts per ingest transaction (a crash loses at most the batch in flight, never a committed one)."
    )
    ingest_workers: int | None = Field(
        None, ge=1, description="Parser processes for large JSON-lines files (default: one per CPU)."
    )
    max_record_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        description="A raw input record (one line / one array element) larger than this is rejected as oversize.",
    )
    max_text_chars: int = Field(
        25_000, ge=1, description="A post text longer than this is rejected as oversize (X's long-post limit)."
    )
    progress: Literal["auto", "always", "never"] = Field(
        "auto", description="Progress bars: 'auto' shows them only when attached to a terminal."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Column mapping for generic CSV/JSONL/Parquet input, post field -> input column (e.g. text = \"body\").",
    )
    display_timezone: str = Field(
        "America/New_York", description="Time zone used when showing times to people (storage is always UTC)."
    )
    export_dir: Path = Field(
        Path("data/exports"),
        description="Where `groundswell export` writes by default, and the only folder `groundswell sql` lets COPY ... TO write to.",
    )
    alert_webhook_url: str | None = Field(
        None,
        description="Slack-compatible incoming-webhook URL the detector's alerts are POSTed to. Unset: alerts are only stored.",
    )
    alert_webhook_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for the webhook to answer one POST before counting it as failed."
    )
    alert_webhook_attempts: int = Field(
        3, ge=1, description="POSTs per alert per run (retried on timeouts, connection errors, 429 and 5xx); a failed alert is retried on the next run."
    )
    correlation_metric: str = Field(
        "spaces_join_error_ratio",
        description="Server-side metric whose lagged correlation with complaint volume the incident summary reports.",
    )
    detector_baseline_minutes: int = Field(
        30, ge=5, description="Rolling baseline: the median and MAD of this many preceding minutes (used without seasonal history)."
    )
    detector_history_days: int = Field(
        7, ge=3, description="Seasonal baseline: the same minutes of day on up to this many previous days (used when at least 3 of them hold posts)."
    )
    detector_elevated_z: float = Field(
        4.0, gt=0, description="State 'elevated': complaints per minute at least baseline + this many robust standard deviations."
    )
    detector_incident_z: float = Field(
        8.0, gt=0, description="State 'incident': complaints per minute at least baseline + this many robust standard deviations."
    )
    detector_exit_ratio: float = Field(
        0.5, gt=0, lt=1, description="A state is left below baseline + this fraction of its entering deviations (hysteresis)."
    )
    detector_min_posts: int = Field(
        5, ge=1, description="A minute needs at least this many relevant complaint posts to count as above the baseline."
    )
    detector_enter_minutes: int = Field(
        2, ge=1, description="Minutes in a row at or above a state's threshold before the detector enters it."
    )
    detector_exit_minutes: int = Field(
        10, ge=1, description="Minutes in a row below a state's lower threshold before the detector leaves it."
    )
    live_keywords: list[str] = Field(
        default_factory=list,
        description="Live streams keep only posts with one of these words or phrases (whole words, any case). Empty: the incident profile's keywords.",
    )
    jetstream_url: str = Field(
        "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post",
        description="Bluesky Jetstream websocket to follow (any public instance; keep wantedCollections=app.bsky.feed.post).",
    )
    jetstream_rewind_seconds: float = Field(
        3.0, ge=0, description="On reconnect, replay this much Jetstream before the last event seen (as Jetstream advises); the repeats are dropped exactly."
    )
    mastodon_url: str | None = Field(
        None, description="Mastodon server to follow, e.g. https://mastodon.social (its REST API fills a gap after a reconnect)."
    )
    mastodon_streaming_url: str | None = Field(
        None, description="The server's streaming API base URL, when it is served from another host. Unset: mastodon_url."
    )
    mastodon_access_token: SecretStr | None = Field(
        None, description="Mastodon access token (scope read:statuses), sent as a bearer token."
    )
    mastodon_hashtag: str | None = Field(
        None, description="Hashtag to follow on Mastodon, without '#'. Unset: the server's public timeline."
    )
    x_stream_url: str = Field(
        "https://api.x.com/2/tweets/search/stream",
        description="X API v2 filtered-stream endpoint; its rules (which posts it sends) are set on X's side.",
    )
    x_bearer_token: SecretStr | None = Field(None, description="X API app bearer token for the filtered stream.")
    live_silence_seconds: float = Field(
        60.0, gt=0, description="A Mastodon or X stream silent this long (no post, no heartbeat) counts as dropped and is reconnected."
    )
    webhook_secret: SecretStr | None = Field(
        None, description="Shared secret of the webhook receiver's HMAC-SHA256 signatures; the receiver will not start without it."
    )
    webhook_host: str = Field("127.0.0.1", description="Address the webhook receiver listens on.")
    webhook_port: int = Field(8787, ge=0, le=65535, description="Port the webhook receiver listens on (0: any free port).")
    webhook_max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Webhook request bodies larger than this are refused (413)."
    )
    replay_speed: float = Field(
        1.0, gt=0, description="Replay speed factor: 60 plays an hour of recorded posts in a minute."
    )
    replay_original_times: bool = Field(
        False, description="Replay keeps the posts' recorded times instead of dating the first one now (rehearse against the recorded timeline)."
    )
    live_batch_posts: int = Field(
        256, ge=1, description="Live: a micro-batch is classified and committed once it holds this many posts..."
    )
    live_batch_seconds: float = Field(
        1.0, gt=0, description="...or this many seconds after its first post arrived, whichever comes first."
    )
    live_queue_batches: int = Field(
        1000, ge=1, description="Live: messages held between the reader and the classifier; when full the source waits (backpressure, nothing dropped)."
    )
    live_lag_warning_seconds: float = Field(
        10.0, gt=0, description="Live: warn when a message waited this long between arriving and being committed."
    )
    live_refresh_seconds: float = Field(
        15.0, gt=0, description="Live: refresh the alignment, run the detector and deliver alerts this often."
    )

    @field_validator("alert_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL; use the incoming-webhook URL, e.g. https://hooks.slack.com/services/...")
        return value

    @field_validator("detector_incident_z")
    @classmethod
    def _incident_above_elevated(cls, value: float, info: ValidationInfo) -> float:
        elevated = info.data.get("detector_elevated_z")
        if elevated is not None and value <= elevated:
            raise ValueError(f"must be larger than detector_elevated_z ({elevated}), or the two states cannot be told apart")
        return value

    @field_validator("display_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'UTC' or 'America/New_York'")
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.display_timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = config_file_path()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def config_file_path() -> Path | None:
    """The TOML file in use: $GROUNDSWELL_CONFIG if set (it must exist), else ./groundswell.toml if present."""
    named = os.environ.get(CONFIG_FILE_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_FILE_ENV}={named!r}: no such file; unset it or point it at a TOML file")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Build and validate the settings; any problem becomes one ConfigError line."""
    overrides = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None
    except ValueError as error:  # a TOML file that does not parse
        raise ConfigError(f"config file {config_file_path()}: {error}") from None


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "settings"
        env_name = ENV_PREFIX + name.replace(".", "__").upper()
        problems.append(f"setting {name} ({env_name}) = {item.get('input')!r}: {item['msg']}")
    return "; ".join(problems)
