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

from pydantic import Field, ValidationError, field_validator
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
    classify_batch_size: int = Field(64, ge=1, description="Posts per forward pass of the transformers.")
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
