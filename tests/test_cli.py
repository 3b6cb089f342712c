import sys

import pytest
from typer.testing import CliRunner

from conftest import tweet, write_lines, x_response
from pipeline import docs
from pipeline.cli import app, main


def run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["groundswell", *args])
    with pytest.raises(SystemExit) as exit:
        main()
    captured = capsys.readouterr()
    return exit.value.code, captured.out, captured.err


@pytest.mark.parametrize("path,command", docs.commands(), ids=lambda value: " ".join(value) if isinstance(value, list) else "")
def test_every_command_has_help_text(path, command):
    assert command.help and command.help.strip(), f"{' '.join(path)} has no help"
    result = CliRunner().invoke(app, [*path[1:], "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_a_missing_file_is_one_error_line_and_exit_status_1(monkeypatch, capsys, tmp_path):
    code, out, err = run(monkeypatch, capsys, "ingest", "nope.jsonl", "--db", str(tmp_path / "g.duckdb"))
    assert (code, out, err) == (1, "", "Error: no such file: nope.jsonl\n")


def test_an_unknown_format_is_one_error_line_naming_the_choices(monkeypatch, capsys, tmp_path):
    path = write_lines(tmp_path / "posts.jsonl", x_response(tweet("1")))
    code, out, err = run(monkeypatch, capsys, "ingest", str(path), "--format", "xml", "--db", str(tmp_path / "g.duckdb"))
    assert (code, out, err) == (1, "", "Error: unknown format 'xml'; choose one of: auto, x, bluesky, mastodon, table\n")


def test_a_bad_mapping_argument_says_how_to_write_it(monkeypatch, capsys, tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text("body\nhello\n")
    code, _, err = run(monkeypatch, capsys, "ingest", str(path), "--map", "text", "--db", str(tmp_path / "g.duckdb"))
    assert (code, err) == (1, "Error: --map 'text': write it as FIELD=COLUMN, e.g. --map text=body\n")


def test_ingest_prints_the_reconciled_counts_of_each_file(monkeypatch, capsys, tmp_path):
    path = write_lines(tmp_path / "posts.jsonl", x_response(tweet("1"), tweet("2", text="")), b"not json")
    code, out, err = run(monkeypatch, capsys, "ingest", str(path), "--db", str(tmp_path / "g.duckdb"))
    assert (code, err) == (0, "")
    assert out == f"{path}: read 3 = 1 accepted + 0 duplicates + 2 rejected; rejects: missing_text 1, not_json 1\n"


def test_an_unknown_option_is_a_usage_error_with_exit_status_2(monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "ingest", "x.jsonl", "--bogus")
    assert code == 2
    assert "No such option: --bogus" in err


def test_a_bad_setting_in_the_environment_is_one_error_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("GROUNDSWELL_INGEST_BATCH_SIZE", "0")
    code, _, err = run(monkeypatch, capsys, "config")
    assert code == 1
    assert err.startswith("Error: setting ingest_batch_size (GROUNDSWELL_INGEST_BATCH_SIZE) = '0': Input should be greater than or equal to 1")


def test_the_readme_configuration_table_is_generated_from_the_settings():
    text = docs.README.read_text()
    assert docs.render_readme(text) == text, "README is stale: run `python -m pipeline.docs`"


def test_the_cli_reference_is_generated_from_the_commands_help():
    assert docs.CLI_DOC.read_text() == docs.cli_reference(), "docs/cli.md is stale: run `python -m pipeline.docs`"
