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
from typing import Annotated, Literal, Optional

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
from pipeline.bench_summary import BenchOptions
from pipeline.config import ENV_PREFIX, Settings, load_settings
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
bench_app = typer.Typer(
    rich_markup_mode=None,
    help="Benchmarks that print measured figures beside a baseline. With no command: every benchmark, summarised under docs/.",
)
train_app = typer.Typer(rich_markup_mode=None, help="Train the models shipped in models/.", no_args_is_help=True)
evaluate_app = typer.Typer(rich_markup_mode=None, help="Score the classifiers on labelled data.", no_args_is_help=True)
app.add_typer(timeline_app, name="timeline")
app.add_typer(sample_app, name="sample")
app.add_typer(bench_app, name="bench")
app.add_typer(train_app, name="train")
app.add_typer(evaluate_app, name="evaluate")

BENCH = BenchOptions()
"""The benchmarks' full sizes: `groundswell bench` runs them, and each `groundswell bench STAGE` defaults to them."""

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
    dask: Annotated[Optional[str], typer.Option(help="Dask scheduler address: classify on that cluster (default: the dask_address setting).")] = None,
) -> None:
    """Label every post not yet labelled by the current models (sentiment, complaint, relevance, blame, language)."""
    from pipeline.classify.labeller import Labeller, classify_pending, pending_count
    from pipeline.store import Store

    settings = settings_for(db, sentiment_model=model, incident_profile=profile, taxonomy=taxonomy, dask_address=dask)
    if settings.dask_address:
        from pipeline.flows import classify_flow

        os.environ.update(_model_environment(settings))  # the flow re-reads the settings; the flags must reach it
        out.print(classify_flow(str(settings.db_path), settings.dask_address), highlight=False)
        return
    labeller = Labeller.load(settings)
    with Store.open(settings.db_path) as store:
        total = pending_count(store, labeller.version)
        with record_bar(settings, "classify", total) as callback:
            report = classify_pending(store, labeller, page_size=settings.classify_page_size, progress=callback)
    out.print(report.render(), highlight=False)


def _model_environment(settings: Settings) -> dict[str, str]:
    from pipeline.classify.labeller import model_settings

    return {f"{ENV_PREFIX}{name.upper()}": str(value) for name, value in model_settings(settings).items() if value is not None}


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
    from pipeline.classify.labeller import runtime_options
    from pipeline.classify.training import evaluate_sentiment as evaluate

    settings = settings_for(sentiment_model=model)
    out.print(evaluate(settings.sentiment_model, text, labels, **runtime_options(settings)).render(), highlight=False)


@evaluate_app.command("complaints")
def evaluate_complaints(
    data: Annotated[Path, typer.Option(help="Labelled JSON lines: text, complaint, relevant, blame.")],
    taxonomy: Annotated[Optional[str], typer.Option(help="Taxonomy: bundled name or YAML file (default: the profile's).")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Incident profile: bundled name or YAML file.")] = None,
) -> None:
    """Macro-F1 per head (complaint type, relevance, blame) with per-label scores and confusion matrices."""
    from pipeline.classify.encoder import Encoder
    from pipeline.classify.evaluation import HeadSet, evaluate_heads
    from pipeline.classify.labeller import runtime_options
    from pipeline.classify.taxonomy import load_profile, load_taxonomy

    settings = settings_for(incident_profile=profile, taxonomy=taxonomy)
    loaded = load_profile(settings.incident_profile)
    chosen = load_taxonomy(settings.taxonomy or loaded.taxonomy_path())
    heads = HeadSet(loaded, chosen, Encoder(**runtime_options(settings)))
    out.print(f"encoder runtime: {settings.classify_runtime}", highlight=False)
    out.print(evaluate_heads(data, chosen, loaded, heads).render(), highlight=False)


@app.command()
def align(
    incident: Annotated[Optional[str], typer.Argument(help="Print only this incident's summary.", show_default=False)] = None,
    full: Annotated[bool, typer.Option("--full", help="Rebuild the alignment from scratch instead of only what changed.")] = False,
    db: DbOption = None,
) -> None:
    """Line the posts up with the incident timeline (phases, per-minute statistics) and print each incident's summary."""
    from pipeline.align import refresh, summary_rows
    from pipeline.store import Store

    settings = settings_for(db)
    with Store.open(settings.db_path) as store:
        report = refresh(store, settings, full=full)
        rows = summary_rows(store, incident)
    out.print(report.render(), highlight=False, markup=False)
    for row in rows:
        out.print("\n" + row.render(), highlight=False, markup=False)


@app.command()
def detect(
    incident: Annotated[Optional[str], typer.Argument(help="Incident id (default: every incident).", show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Run the complaint-volume spike detector, store its alerts, send the unsent ones to the webhook; print the alerts."""
    from pipeline.align import refresh
    from pipeline.detect import alerts_of, run_detector
    from pipeline.notify import deliver_pending
    from pipeline.store import Store

    settings = settings_for(db)
    with Store.open(settings.db_path) as store:
        refresh(store, settings)
        report = run_detector(store, settings, incident)
    delivery = deliver_pending(settings)
    with Store.open(settings.db_path, read_only=True) as store:
        alerts = alerts_of(store, [incident] if incident else None)
    out.print(report.render(), highlight=False, markup=False)
    for alert in alerts:
        out.print(alert.render(), highlight=False, markup=False)
    out.print(delivery.render(), highlight=False, markup=False)


@app.command()
def summary(db: DbOption = None) -> None:
    """Print what the database holds: posts per source, per minute around each incident, rejects."""
    from pipeline.store import Store

    settings = settings_for(db)
    with Store.open(settings.db_path, read_only=True) as store:
        print_summary(summary_module.summarize(store))


@app.command()
def report(
    incident: Annotated[str, typer.Argument(help="Incident id, e.g. spaces-2024-08-12 (`groundswell summary` lists them).", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write INCIDENT.html and INCIDENT.md into.")] = Path("reports"),
    db: DbOption = None,
) -> None:
    """Write the incident report for executives: a self-contained HTML page (charts, numbers, story) and Markdown.
    Brings the alignment up to date first."""
    from pipeline.align import refresh
    from pipeline.report import write_report
    from pipeline.store import Store

    settings = settings_for(db)
    with Store.open(settings.db_path) as store:
        refresh(store, settings)
        files = write_report(store, incident, out_dir)
    out.print(f"wrote {files.html} and {files.markdown}", highlight=False)


@app.command()
def dashboard(
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="Port to serve on, at 127.0.0.1.")] = 8501,
) -> None:
    """Serve the dashboard (Live, Incident review, Executive summary) at http://127.0.0.1:PORT; it only reads the database."""
    from pipeline.dashboard.serve import check_database, run, url

    settings = settings_for(db)
    check_database(settings.db_path)
    out.print(f"Dashboard: {url(port)} (database {settings.db_path}, read-only). Ctrl-C stops it.", highlight=False)
    run(settings.db_path, port)


DEMO_INCIDENT = "spaces-2024-08-12"
"""The sample incident the live demo replays (the other is loaded up front, for the review pages)."""


@app.command()
def demo(
    db: DbOption = None,
    fresh: Annotated[bool, typer.Option(help="Delete the database first.")] = True,
    live: Annotated[bool, typer.Option(help="Serve the dashboard and replay the 2024 outage into it (--no-live: build the whole database and print its summary).")] = True,
    speed: Annotated[float, typer.Option(help="Live demo: replay speed (60 plays the four-hour evening in about four minutes).")] = 60.0,
    port: Annotated[int, typer.Option(help="Live demo: the dashboard's port on 127.0.0.1.")] = 8501,
) -> None:
    """The sample incidents end to end: live, the dashboard served while the 2024 outage is replayed
    into it (the Live page shows the spike, the complaint mix and the alert as they happen); with
    --no-live, the database built in one go and its summary printed."""
    # The demo's output is its own lines; Prefect's per-task INFO lines would bury them.
    # (Set PREFECT_LOGGING_LEVEL=INFO to see them.)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from pipeline.flows import demo_flow
    from pipeline.store import Store

    settings = settings_for(db)
    result = demo_flow(
        db_path=str(settings.db_path), sample_dir=str(settings.sample_dir), fresh=fresh, hold_back=DEMO_INCIDENT if live else None
    )
    for line in result["lines"]:
        out.print(line, highlight=False)
    if live:
        _live_demo(settings, speed, port)
        return
    with Store.open(settings.db_path, read_only=True) as store:
        print_summary(summary_module.summarize(store))
    out.print(
        f"\nDatabase: {settings.db_path}. Analysts: open it read-only, e.g. "
        f"groundswell sql \"SELECT incident_id, first_social_spike, social_lead_minutes FROM incident_summary\""
    )


def _live_demo(settings: Settings, speed: float, port: int) -> None:
    """Serve the dashboard, replay the demo incident's posts into the database at ``speed``, then
    keep serving until Ctrl-C."""
    import subprocess

    from pipeline.dashboard.serve import environment, streamlit_command, url
    from pipeline.flows import live_flow

    recordings = sorted(str(path) for path in (settings.sample_dir / DEMO_INCIDENT).glob("posts.*"))
    dashboard = subprocess.Popen(streamlit_command(port), env=environment(settings.db_path), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        out.print(
            f"\nDashboard: {url(port)}  (open the Live page)\n"
            f"Replaying the {DEMO_INCIDENT} outage at {speed:g}x: the evening takes about "
            f"{4 * 60 / speed:.0f} minutes. Ctrl-C stops the replay; Ctrl-C again stops the dashboard.",
            highlight=False,
        )
        out.print(live_flow("replay", recordings, DEMO_INCIDENT, str(settings.db_path), speed, original_times=True), highlight=False)
        out.print(f"Replay finished. The dashboard is still at {url(port)}; Ctrl-C stops it.", highlight=False)
        dashboard.wait()
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=10)


LiveKind = Literal["jetstream", "mastodon", "x", "webhook", "replay"]


@app.command()
def live(
    source: Annotated[LiveKind, typer.Option(help="Where posts come from (each one's settings: README, Live sources).")],
    file: Annotated[Optional[list[Path]], typer.Option(help="The recorded file a replay plays (repeat it: several merged by time).")] = None,
    original_times: Annotated[bool, typer.Option(help="Replay: keep the recorded post times instead of dating the first post now.")] = False,
    incident: Annotated[Optional[str], typer.Option(help="The incident followed: its keywords filter the stream; created if new.")] = None,
    speed: Annotated[Optional[float], typer.Option(help="Replay speed factor (60: an hour in a minute).")] = None,
    db: DbOption = None,
) -> None:
    """Follow a live source until Ctrl-C: classify in micro-batches, store exactly once, refresh the alignment, alert."""
    from pipeline.flows import live_flow

    from pipeline.sources.live import live_source

    settings = settings_for(db, replay_speed=speed)
    paths = [str(path) for path in file or []]
    # Built once here, before Prefect starts: a missing token or file is one Error line, not a flow traceback.
    live_source(source, settings, path=[Path(path) for path in paths] or None)
    out.print(live_flow(source, paths, incident, str(settings.db_path), speed, original_times), highlight=False)


SqlFormat = Literal["table", "csv", "json", "parquet"]
TABLE_ROWS = 1_000
"""Rows `groundswell sql` shows as a table; --format csv/json or --out give them all."""


@app.command()
def sql(
    query: Annotated[
        Optional[str],
        typer.Argument(help="SQL to run (statements separated by ';'); leave it out for an interactive session.", show_default=False),
    ] = None,
    format: Annotated[SqlFormat, typer.Option("--format", "-f", help="table (on screen), csv, json, or parquet (needs --out).")] = "table",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write the last statement's result to this file (csv, json or parquet).")] = None,
    db: DbOption = None,
) -> None:
    """Run read-only SQL on the database, also while the pipeline writes. Statements that would write
    or reach outside it (DDL, INSERT/UPDATE/DELETE, ATTACH, COPY FROM, COPY TO outside export_dir,
    INSTALL/LOAD, SET of anything but TimeZone and a few session settings, PRAGMAs and CALLs that write,
    EXPORT DATABASE) are refused before anything runs.
    Tables, views and example queries: docs/schema.md."""
    from pipeline.sql import Session

    if out_file is not None and (query is None or format == "table"):
        raise typer.BadParameter("--out needs a QUERY and --format csv, json or parquet", param_hint="--out")
    if format == "parquet" and out_file is None:
        raise typer.BadParameter("--format parquet writes a file: add --out FILE", param_hint="--format")
    settings = settings_for(db)
    session = Session(settings.db_path, settings.export_dir)
    if query is None:
        sql_shell(session, format)
    else:
        show_results(session.run(query), format, out_file)


def sql_shell(session, format: SqlFormat) -> None:
    """The interactive mode: lines are read until one ends with ';', then run; Ctrl-D leaves.
    An error is one line, and the session goes on."""
    try:
        import readline  # noqa: F401  (importing it gives input() line editing and history)
    except ImportError:  # no readline on Windows
        pass
    from pipeline.sql import inputs

    out.print(f"Read-only SQL on {session.db_path}. End each statement with ';'. Ctrl-D leaves.", highlight=False)
    for text in inputs(_typed_lines()):
        try:
            show_results(session.run(text), format, None)
        except GroundswellError as error:
            err.print(f"Error: {error}", markup=False, highlight=False)


def _typed_lines() -> Iterator[str]:
    pending = False
    while True:
        try:
            line = input("...> " if pending else "sql> ")
        except EOFError:
            out.print()
            return
        pending = (pending or bool(line.strip())) and not line.rstrip().endswith(";")
        yield line


def show_results(results, format: SqlFormat, out_file: Path | None) -> None:
    from pipeline.sql import render_text, write_result

    if out_file is not None:
        if results:
            write_result(results[-1], format, out_file)
            out.print(f"wrote {results[-1].table.num_rows:,} rows to {out_file}", highlight=False)
        return
    for result in results:
        if format == "table":
            print_result_table(result)
        else:
            sys.stdout.write(render_text(result, format))
            sys.stdout.flush()


def print_result_table(result) -> None:
    from rich.text import Text

    from pipeline.sql import text_rows

    table = Table(header_style="bold", show_edge=False)
    for name in result.table.column_names:
        table.add_column(Text(name), overflow="fold")
    for row in text_rows(result, TABLE_ROWS):
        table.add_row(*(Text("NULL", style="dim") if value is None else Text(value) for value in row))
    out.print(table)
    rows = result.table.num_rows
    more = f" (the first {TABLE_ROWS:,} shown: use --format csv or --out FILE for all)" if rows > TABLE_ROWS else ""
    out.print(f"{rows:,} row{'s' if rows != 1 else ''}{more}", highlight=False)


@app.command()
def export(
    format: Annotated[Literal["parquet"], typer.Option("--format", "-f", help="Output format.")] = "parquet",
    out_dir: Annotated[
        Optional[Path], typer.Option("--out", help="Folder to write (default: <export_dir>/posts); an earlier export there is replaced.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write every post with its labels and alignment as Parquet, partitioned by incident and day
    (Hive style: incident_id=.../day=.../*.parquet), for tools outside DuckDB."""
    from pipeline.export import export_parquet

    settings = settings_for(db)
    out.print(export_parquet(settings.db_path, out_dir or settings.export_dir / "posts").render(), highlight=False)


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


@bench_app.callback(invoke_without_command=True)
def bench_all(
    ctx: typer.Context,
    only: Annotated[Optional[str], typer.Option(help="Comma-separated stages to run (default: all of ingest,classify,align,dask,dashboard,live).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes: a smoke run of every stage in a few minutes (its figures are not the project's).")] = False,
    out_dir: Annotated[Optional[Path], typer.Option(help="Where benchmarks.json and benchmarks.md go (default: docs/, which also updates the README table; with --only or --quick: beside the generated inputs under data/bench/).")] = None,
) -> None:
    """Run every benchmark in one go (13 to 15 minutes on 2 cores once data/bench/ holds its generated
    inputs) and write the summary: each figure beside its baseline from the same run, with the machine
    it ran on."""
    if ctx.invoked_subcommand is not None:
        return
    from pipeline import bench_summary, docs

    stages = tuple(part.strip() for part in only.split(",")) if only else bench_summary.STAGES
    unknown = [stage for stage in stages if stage not in bench_summary.STAGES]
    if unknown:
        raise typer.BadParameter(f"unknown stage {', '.join(unknown)}; choose from {', '.join(bench_summary.STAGES)}", param_hint="--only")
    options = BenchOptions.quick() if quick else BENCH
    target, complete = bench_summary.summary_folder(stages, quick, out_dir, docs.ROOT / "docs", options.workdir)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    summary = bench_summary.run_all(settings_for(), options, stages, echo=lambda line: out.print(line, highlight=False, markup=False))
    json_path, md_path = bench_summary.write_summary(summary, target)
    out.print(bench_summary.figure_table(bench_summary.figures(summary)), highlight=False, markup=False)
    out.print(f"wrote {json_path} and {md_path}", highlight=False)
    if complete and target.resolve() == (docs.ROOT / "docs").resolve():
        docs.write_readme()
        out.print(f"updated the benchmark table in {docs.README}", highlight=False)
    failed = bench_summary.failed_stages(summary)
    if failed:
        err.print(f"Error: these benchmarks failed: {', '.join(failed)} (why is above; the other stages' figures were written)")
        raise typer.Exit(1)


@bench_app.command("ingest")
def bench_ingest(
    posts: Annotated[int, typer.Option(help="Posts in the generated file.")] = BENCH.ingest_posts,
    baseline_posts: Annotated[int, typer.Option(help="Posts for the naive baseline (about 130 posts/s: keep it small).")] = BENCH.ingest_baseline_posts,
    workdir: Annotated[Path, typer.Option(help="Where to write the generated file and databases.")] = Path("data/bench"),
) -> None:
    """File-ingest rate against pandas read_json + row-by-row INSERT, measured in the same run."""
    from pipeline.bench import run_ingest_benchmark

    settings = settings_for()
    result = run_ingest_benchmark(workdir, posts, baseline_posts, settings=settings, echo=out.print)
    out.print(result.render(), highlight=False)


@bench_app.command("classify")
def bench_classify(
    posts: Annotated[int, typer.Option(help="Sample posts to classify.")] = BENCH.classify_posts,
    baseline_posts: Annotated[int, typer.Option(help="Posts for the one-at-a-time baseline.")] = BENCH.classify_baseline_posts,
) -> None:
    """Classify-stage throughput (all heads) on the configured runtime and on torch, against transformers + spaCy one post at a time."""
    from pipeline.bench import run_classify_benchmark

    out.print(run_classify_benchmark(settings_for(), posts, baseline_posts, echo=out.print).render(), highlight=False)


@bench_app.command("dask")
def bench_dask(
    posts: Annotated[int, typer.Option(help="Sample posts to classify in each run.")] = BENCH.dask_posts,
    out_dir: Annotated[Path, typer.Option(help="Where the databases and dask.json go.")] = Path("data/bench"),
) -> None:
    """Classify the same posts in-process and on a local Dask cluster of one and of two workers; print posts/s."""
    from pipeline.bench_dask import run_dask_benchmark

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    result = run_dask_benchmark(settings_for(), out_dir, posts, echo=lambda line: out.print(line, highlight=False))
    out.print(result.render(), highlight=False, markup=False)


@bench_app.command("align")
def bench_align(
    posts: Annotated[int, typer.Option(help="Posts to generate (over --days days).")] = BENCH.align_posts,
    days: Annotated[int, typer.Option(help="Days the posts span.")] = BENCH.align_days,
    workdir: Annotated[Path, typer.Option(help="Where to write the generated database.")] = Path("data/bench"),
) -> None:
    """Alignment refresh (full and incremental) and the per-minute query for one incident, against pandas in the same run."""
    from pipeline.bench_align import run_align_benchmark

    result = run_align_benchmark(workdir, posts, days=days, settings=settings_for(), echo=out.print)
    out.print(result.render(), highlight=False, markup=False)


@bench_app.command("dashboard")
def bench_dashboard(
    db: Annotated[Optional[Path], typer.Option("--db", help="The labelled sample database (default: the db_path setting); copied, not changed.")] = None,
    posts: Annotated[int, typer.Option(help="Posts in the generated database.")] = BENCH.dashboard_posts,
    workdir: Annotated[Path, typer.Option(help="Where to keep the generated file and databases.")] = Path("data/bench"),
) -> None:
    """Seconds for each dashboard page to render in headless chromium, on the sample and on a generated database."""
    from pipeline.dashboard.bench import run_dashboard_benchmark

    out.print(run_dashboard_benchmark(settings_for(db), workdir, posts, echo=out.print).render(), highlight=False)


def _rates(value: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in value.split(","))
    except ValueError:
        rates = ()
    if not rates or any(rate <= 0 for rate in rates):
        raise typer.BadParameter(f"{value!r}: write posts/s as positive numbers separated by commas, e.g. 10,100,500")
    return rates


@bench_app.command("live")
def bench_live(
    rates: Annotated[str, typer.Option(help="Offered loads to test, posts/s, comma-separated.")] = ",".join(f"{rate:g}" for rate in BENCH.live_rates),
    seconds: Annotated[float, typer.Option(min=1.0, help="Seconds each rate is offered.")] = BENCH.live_seconds,
    drain_seconds: Annotated[float, typer.Option(min=0.0, help="Seconds allowed after the last post for everything to land.")] = 30.0,
    bisect: Annotated[int, typer.Option(min=0, help="Extra runs between the highest sustained and the lowest failing rate.")] = BENCH.live_bisect,
    baseline_seconds: Annotated[float, typer.Option(min=0.0, help="Seconds of the one-post-per-transaction baseline (0: skip it).")] = BENCH.live_baseline_seconds,
    db_dir: Annotated[Path, typer.Option(help="Where the live flow's databases, logs and observations go.")] = Path("data/bench/live"),
    out_dir: Annotated[Path, typer.Option(help="Where live.json and live.md are written.")] = Path("data/bench"),
) -> None:
    """End-to-end latency of `groundswell live --source webhook` (signed POST -> classified row seen by a
    read-only reader) at each offered rate: p50/p95/p99, the highest sustained rate, and the
    one-post-per-transaction baseline measured in the same run."""
    from pipeline.bench_live import LiveBenchOptions, run_live_benchmark

    options = LiveBenchOptions(
        rates=_rates(rates), seconds=seconds, drain_seconds=drain_seconds, bisect_steps=bisect,
        baseline_seconds=baseline_seconds, db_dir=db_dir, out_dir=out_dir,
    )
    result = run_live_benchmark(settings_for(), options, console=err)
    out.print(result.render(), highlight=False, markup=False)
    out.print(f"wrote {out_dir / 'live.json'} and {out_dir / 'live.md'}", highlight=False, markup=False)


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


if __name__ == "__main__":
    main()
