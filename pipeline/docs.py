"""Documentation generated from the code, so it cannot go stale.

``python -m pipeline.docs`` rewrites the marked sections of README.md (the
configuration table) and docs/cli.md (every command's --help); the test suite
fails when either differs from what the code would generate.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import typer

from pipeline.config import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CLI_DOC = ROOT / "docs" / "cli.md"
BENCHMARKS = ROOT / "docs" / "benchmarks.json"
_SECTION = re.compile(r"(?P<start><!-- generated:(?P<name>[a-z-]+) -->\n)(?:.*?\n)?(?P<end><!-- end:(?P=name) -->)", re.S)


def config_table() -> str:
    rows = ["| setting | environment variable | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default
        rows.append(f"| `{name}` | `{ENV_PREFIX}{name.upper()}` | `{default}` | {field.description} |")
    return "\n".join(rows)


def cli_reference() -> str:
    from typer.testing import CliRunner

    from pipeline.cli import app

    runner = CliRunner()
    parts = ["# `groundswell` command reference", "", "Generated from `--help` by `python -m pipeline.docs`; do not edit.", ""]
    for path, _ in commands():
        result = runner.invoke(app, [*path[1:], "--help"], prog_name="groundswell", terminal_width=100)
        parts += [f"## `{' '.join(path)}`", "", "```", result.output.rstrip(), "```", ""]
    return "\n".join(parts)


def commands():
    """Every command of the CLI as (path, command), the root first."""
    from pipeline.cli import app

    return list(_walk(typer.main.get_command(app), ["groundswell"]))


def _walk(command, path: list[str]):
    yield path, command
    for name in sorted(getattr(command, "commands", {})):
        yield from _walk(command.commands[name], [*path, name])


def bench_table() -> str:
    """The README's benchmark table, from the committed summary of the last `groundswell bench`."""
    from pipeline.bench_summary import readme_table

    if not BENCHMARKS.exists():
        return "No benchmark summary yet: run `groundswell bench`."
    return readme_table(json.loads(BENCHMARKS.read_text()))


def render_readme(text: str) -> str:
    generated = {"config": config_table, "bench": bench_table}
    return _SECTION.sub(lambda m: m["start"] + generated[m["name"]]() + "\n" + m["end"], text)


def write_readme() -> None:
    README.write_text(render_readme(README.read_text()))


def main() -> None:
    from pipeline import schema_doc

    write_readme()
    CLI_DOC.parent.mkdir(exist_ok=True)
    CLI_DOC.write_text(cli_reference())
    print(f"wrote {README} and {CLI_DOC}", file=sys.stderr)
    schema_doc.main()


if __name__ == "__main__":
    main()
