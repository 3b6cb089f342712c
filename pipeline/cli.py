"""The ``groundswell`` command: a thin layer over the library.

Each command parses its arguments, calls one library function and prints the
result. Any :class:`~pipeline.errors.GroundswellError` becomes one
``Error: ...`` line on stderr and exit status 1, with no traceback.
"""

from __future__ import annotations

import json
import os
import sys
from functools import partial
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from pipeline import summary as summary_module
from pipeline.config import Settings, load_settings
from pipeline.errors import GroundswellError, InputError
from pipeline.ingest import IngestReport, ingest_paths
from pipeline.ingest import Progress as ProgressCallback

app = typer.Typer(
    help="groundswell: social-media reaction to an outage, classified and lined up with the incident timeline in DuckDB.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
timeline_app = typer.Typer(rich_markup_mode=None, help="Import the server-side incident timeline and metrics.", no_args_is_help=True)
sample_app = typer.Typer(rich_markup_mode=None, help="The embedded sample incidents.", no_args_is_help=True)
bench_app = typer.Typer(rich_markup_mode=None, help="Benchmarks that print measured figures beside a baseline.", no_args_is_help=True)
train_app = typer.Typer(rich_markup_mode=None, help="Train the models shipped in models/.", no_args_is_help=True)
evaluate_app = typer.Typer(rich_markup_mode=None, help="Score the classifiers on labelled data.", no_args_is_help=True)
app.add_typer(timeline_app, name="timeline")
app.add_typer(sample_app, name="sample")
app.add_typer(bench_app, name="bench")
app.add_typer(train_app, name="train")
app.add_typer(evaluate_app, name="evaluate")

# Piped output (CI logs, `make demo | less`) gets a readable width instead of rich's 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[Optional[Path], typer.Option("--db", help="DuckDB file (default: the db_path setting).")]


def main() -> None:
    """Console-script entry point: run the app, turning our errors into one line.

    Typer handles usage errors itself (exit 2); anything of ours arrives here."""
    try:
        app()
    except GroundswellError as error:
        err.print(f"Error: {error}", markup=False, highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)


def settings_for(db: Path | None = None, **overrides) -> Settings:
    return load_settings(db_path=db, **overrides)


@contextmanager
def progress_bar(settings: Settings, path: Path, total_bytes: int | None) -> Iterator[ProgressCallback | None]:
    """A progress bar on stderr when attached to a terminal (or forced by the setting):
    bytes of the file when the ingest measures bytes, else a count of records."""
    show = settings.progress == "always" or (settings.progress == "auto" and sys.stderr.isatty())
    if not show:
        yield None
        return
    if total_bytes is None:
        columns = (TextColumn("{task.description}"), SpinnerColumn(), MofNCompleteColumn(), TextColumn("records"), TimeElapsedColumn())
    else:
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(path.name, total=total_bytes)
        yield lambda advance: bar.advance(task, advance)


@contextmanager
def record_bar(settings: Settings, description: str, total: int) -> Iterator[ProgressCallback | None]:
    """A progress bar counting records, on stderr when attached to a terminal."""
    show = settings.progress == "always" or (settings.progress == "auto" and sys.stderr.isatty())
    if not show:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda advance: bar.advance(task, advance)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise InputError(f"--map {pair!r}: write it as FIELD=COLUMN, e.g. --map text=body")
        mapping[field.strip()] = column.strip()
    return mapping


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files to ingest.", show_default=False)],
    format: Annotated[str, typer.Option("--format", "-f", help="auto, x, bluesky, mastodon or table.")] = "auto",
    map: Annotated[
        Optional[list[str]],
        typer.Option("--map", help="Column mapping for table files, FIELD=COLUMN (repeatable), e.g. --map text=body."),
    ] = None,
    db: DbOption = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Posts per transaction.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Parser processes for large JSON-lines files (default: CPU count).")] = None,
) -> None:
    """Ingest post files (X API v2, Bluesky Jetstream, Mastodon, CSV/JSONL/Parquet) into the database."""
    settings = settings_for(db, ingest_batch_size=batch_size, ingest_workers=workers)
    columns = {**settings.columns, **parse_mapping(map or [])}
    total = IngestReport(origin="total", format=format)
    bars = partial(progress_bar, settings)
    for report in ingest_paths(settings, paths, format, columns, progress=bars):
        out.print(report.render(), highlight=False)
        total.add(report)
    if len(paths) > 1:
        out.print(total.render(), highlight=False)


@timeline_app.command("import")
def timeline_import(
    paths: Annotated[list[Path], typer.Argument(help="Timeline or metric files.", show_default=False)],
    format: Annotated[str, typer.Option("--format", "-f", help="auto, statuspage, pagerduty, prometheus, yaml or csv.")] = "auto",
    incident: Annotated[Optional[str], typer.Option(help="Attach the events to this incident id.")] = None,
    db: DbOption = None,
) -> None:
    """Import incident timelines (Statuspage, PagerDuty, YAML/CSV) and metrics (Prometheus query_range)."""
    from pipeline.store import Store
    from pipeline.timeline import import_timeline

    settings = settings_for(db)
    with Store.open(settings.db_path) as store:
        for path in paths:
            out.print(import_timeline(store, path, format, incident).render(), highlight=False)


@app.command()
def classify(
    db: DbOption = None,
    model: Annotated[Optional[str], typer.Option(help="Sentiment model folder or Hugging Face id.")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Incident profile: bundled name or YAML file.")] = None,
    taxonomy: Annotated[Optional[str], typer.Option(help="Complaint taxonomy YAML (overrides the profile's).")] = None,
) -> None:
    """Label every post not yet labelled by the current models (sentiment, complaint, relevance, blame, language)."""
    from pipeline.classify.labeller import Labeller, classify_pending, pending_count
    from pipeline.store import Store

    settings = settings_for(db, sentiment_model=model, incident_profile=profile, taxonomy=taxonomy)
    labeller = Labeller.load(settings)
    with Store.open(settings.db_path) as store:
        total = pending_count(store, labeller.version)
        with record_bar(settings, "classify", total) as callback:
            report = classify_pending(store, labeller, progress=callback)
    out.print(report.render(), highlight=False)


@train_app.command("sentiment")
def train_sentiment(
    data: Annotated[Path, typer.Option(help="The shared datasets folder (semeval2017-4a/ and tweeteval-sentiment/).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the model folder.")] = Path("models/sentiment-v1"),
    epochs: Annotated[float, typer.Option(help="Training epochs (the shipped artifact: 1).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
) -> None:
    """Fine-tune the sentiment transformer on SemEval 2013-2016 and write its model folder and card."""
    from pipeline.classify.training import train_sentiment as train

    result = train(data, out_dir, epochs=epochs, seed=seed)
    out.print(json.dumps(result, indent=2, default=str), highlight=False)


@evaluate_app.command("sentiment")
def evaluate_sentiment(
    text: Annotated[Path, typer.Option(help="One post per line (TweetEval format).")],
    labels: Annotated[Path, typer.Option(help="One label per line: 0 negative, 1 neutral, 2 positive.")],
    model: Annotated[Optional[str], typer.Option(help="Sentiment model folder or id (default: the setting).")] = None,
) -> None:
    """Macro-averaged recall (TweetEval's metric), per-class precision/recall/F1 and the confusion matrix."""
    from pipeline.classify.training import evaluate_sentiment as evaluate

    settings = settings_for(sentiment_model=model)
    out.print(evaluate(settings.sentiment_model, text, labels).render(), highlight=False)


@evaluate_app.command("complaints")
def evaluate_complaints(
    data: Annotated[Path, typer.Option(help="Labelled JSON lines: text, complaint, relevant, blame.")],
    taxonomy: Annotated[Optional[str], typer.Option(help="Taxonomy: bundled name or YAML file (default: the profile's).")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Incident profile: bundled name or YAML file.")] = None,
) -> None:
    """Macro-F1 per head (complaint type, relevance, blame) with per-label scores and confusion matrices."""
    from pipeline.classify.evaluation import evaluate_heads
    from pipeline.classify.taxonomy import load_profile

    settings = settings_for(incident_profile=profile, taxonomy=taxonomy)
    loaded = load_profile(settings.incident_profile)
    out.print(evaluate_heads(data, settings.taxonomy or loaded.taxonomy_path(), loaded).render(), highlight=False)


@app.command()
def summary(db: DbOption = None) -> None:
    """Print what the database holds: posts per source, per minute around each incident, rejects."""
    from pipeline.store import Store

    settings = settings_for(db)
    with Store.open(settings.db_path, read_only=True) as store:
        print_summary(summary_module.summarize(store))


@app.command()
def demo(
    db: DbOption = None,
    fresh: Annotated[bool, typer.Option(help="Delete the database first.")] = True,
) -> None:
    """Build the sample-incident database with the Prefect demo flow and print its summary."""
    # The summary is the demo's output; Prefect's per-task INFO lines would bury it.
    # (Set PREFECT_LOGGING_LEVEL=INFO to see them.)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from pipeline.flows import demo_flow

    settings = settings_for(db)
    result = demo_flow(db_path=str(settings.db_path), sample_dir=str(settings.sample_dir), fresh=fresh)
    for line in result["lines"]:
        out.print(line, highlight=False)
    from pipeline.store import Store

    with Store.open(settings.db_path, read_only=True) as store:
        print_summary(summary_module.summarize(store))
    out.print(
        f"\nDatabase: {settings.db_path}. Analysts: open it read-only, e.g. "
        f"python -c \"import duckdb; duckdb.connect('{settings.db_path}', read_only=True).sql('SELECT count(*) FROM posts').show()\""
    )


@app.command("config")
def show_config() -> None:
    """Print the settings in effect and where each can be changed."""
    settings = settings_for()
    for name, value in settings.model_dump().items():
        out.print(f"{name} = {value!r}", highlight=False)


@sample_app.command("generate")
def sample_generate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the sample into.")] = Path("data"),
    seed: Annotated[int, typer.Option(help="Random seed (the committed sample uses the default).")] = 20240812,
) -> None:
    """Regenerate the sample incidents (byte-for-byte identical for the same seed)."""
    from pipeline.sample import generate_sample

    for path in generate_sample(out_dir, seed):
        out.print(f"wrote {path} ({path.stat().st_size:,} bytes)", highlight=False)


@bench_app.command("ingest")
def bench_ingest(
    posts: Annotated[int, typer.Option(help="Posts in the generated file.")] = 1_000_000,
    baseline_posts: Annotated[int, typer.Option(help="Posts for the naive baseline (about 130 posts/s: keep it small).")] = 3_000,
    workdir: Annotated[Path, typer.Option(help="Where to write the generated file and databases.")] = Path("data/bench"),
) -> None:
    """File-ingest rate against pandas read_json + row-by-row INSERT, measured in the same run."""
    from pipeline.bench import run_ingest_benchmark

    settings = settings_for()
    result = run_ingest_benchmark(workdir, posts, baseline_posts, settings=settings, echo=out.print)
    out.print(result.render(), highlight=False)


@bench_app.command("classify")
def bench_classify(
    posts: Annotated[int, typer.Option(help="Sample posts to classify.")] = 2_000,
    baseline_posts: Annotated[int, typer.Option(help="Posts for the one-at-a-time baseline.")] = 200,
) -> None:
    """Classify-stage throughput (all heads, batched) against transformers + spaCy one post at a time."""
    from pipeline.bench import run_classify_benchmark

    out.print(run_classify_benchmark(settings_for(), posts, baseline_posts, echo=out.print).render(), highlight=False)


def print_summary(result: summary_module.Summary) -> None:
    """The summary as three readable blocks: sources, incidents minute by minute, rejects."""
    sources = Table(title="Posts per source", title_justify="left")
    for column in ("source", "posts", "first post (UTC)", "last post (UTC)"):
        sources.add_column(column, justify="right" if column == "posts" else "left")
    for source, count, first, last in result.posts_by_source:
        sources.add_row(source, f"{count:,}", _utc(first), _utc(last))
    out.print(sources)
    out.print(f"Timeline: {len(result.incidents)} incidents, {result.events:,} events, {result.metric_points:,} metric points")
    for window in result.incidents:
        _print_window(window)
    _print_rejects(result.rejects)


def _print_window(window: summary_module.IncidentWindow) -> None:
    if not window.minutes:
        out.print(f"\n{window.name} ({window.incident_id}): no start time known")
        return
    peak = max(row.posts for row in window.minutes) or 1
    table = Table(
        title=f"{window.name}: posts per minute around its start ({window.timezone})",
        title_justify="left",
        show_edge=False,
        box=None,
    )
    table.add_column("minute")
    table.add_column("posts", justify="right")
    table.add_column("", min_width=30)
    table.add_column("timeline", no_wrap=True, overflow="ellipsis", max_width=60)
    for row in window.minutes:
        bar = "█" * round(30 * row.posts / peak)
        table.add_row(row.minute.strftime("%H:%M"), f"{row.posts:,}", bar, "; ".join(row.events))
    out.print()
    out.print(table)


def _print_rejects(rejects: tuple[tuple[str, str, int, str], ...]) -> None:
    table = Table(title="Rejected records (kept in the rejected table)", title_justify="left")
    for column in ("source", "reason", "count", "example"):
        table.add_column(column, justify="right" if column == "count" else "left", overflow="fold")
    for source, reason, count, detail in rejects:
        table.add_row(source, reason, f"{count:,}", detail[:90])
    out.print()
    out.print(table if rejects else "No rejected records.")


def _utc(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"
