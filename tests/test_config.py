import pytest

from pipeline.config import load_settings
from pipeline.errors import ConfigError


def test_defaults_put_the_database_under_data():
    settings = load_settings()
    assert str(settings.db_path) == "data/groundswell.duckdb"
    assert settings.ingest_batch_size == 100_000


def test_environment_variables_with_the_prefix_override_defaults(monkeypatch):
    monkeypatch.setenv("GROUNDSWELL_INGEST_BATCH_SIZE", "123")
    monkeypatch.setenv("GROUNDSWELL_COLUMNS__text", "body")
    settings = load_settings()
    assert settings.ingest_batch_size == 123
    assert settings.columns == {"text": "body"}


def test_a_toml_config_file_is_read_and_the_environment_wins_over_it(tmp_path, monkeypatch):
    config = tmp_path / "custom.toml"
    config.write_text('db_path = "elsewhere.duckdb"\ningest_batch_size = 7\n[columns]\ntext = "message"\n')
    monkeypatch.setenv("GROUNDSWELL_CONFIG", str(config))
    monkeypatch.setenv("GROUNDSWELL_INGEST_BATCH_SIZE", "9")
    settings = load_settings()
    assert (str(settings.db_path), settings.ingest_batch_size, settings.columns) == ("elsewhere.duckdb", 9, {"text": "message"})


def test_groundswell_toml_in_the_working_directory_is_used_when_present(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "groundswell.toml").write_text('display_timezone = "UTC"\n')
    assert load_settings().display_timezone == "UTC"


def test_a_bad_value_names_the_setting_its_variable_and_the_value(monkeypatch):
    monkeypatch.setenv("GROUNDSWELL_INGEST_BATCH_SIZE", "lots")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith("setting ingest_batch_size (GROUNDSWELL_INGEST_BATCH_SIZE) = 'lots':")


def test_an_unknown_time_zone_is_refused_with_a_hint():
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        load_settings(display_timezone="Mars/Olympus")


def test_a_missing_config_file_named_in_the_environment_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("GROUNDSWELL_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="no such file"):
        load_settings()


def test_an_unknown_setting_in_the_config_file_is_refused(tmp_path, monkeypatch):
    config = tmp_path / "typo.toml"
    config.write_text("ingest_bach_size = 5\n")
    monkeypatch.setenv("GROUNDSWELL_CONFIG", str(config))
    with pytest.raises(ConfigError, match="ingest_bach_size"):
        load_settings()
