"""`groundswell bench`: every benchmark of the project in one run, summarised.

Each stage (ingest, classify, alignment, Dask, dashboard, live) runs its own benchmark, which
measures groundswell's figure and the obvious alternative in the same run, and hands back its
headline :class:`Figure` rows. This module runs the stages in turn, keeps going when one fails
(the failure is recorded in the summary and the command exits non-zero), and writes

* ``benchmarks.json``: the machine, every figure with its baseline, and each stage's own full result;
* ``benchmarks.md``: the same as tables, with each stage's detailed report;

under ``docs/`` by default, and the README's benchmark table from them (``python -m pipeline.docs``
regenerates that table from the committed JSON, and a test fails when it is stale).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.errors import GroundswellError

STAGES = ("ingest", "classify", "align", "dask", "dashboard", "live")


@dataclass(frozen=True)
class Figure:
    """One measured figure, beside the alternative measured in the same run (when there is one)."""

    stage: str
    measure: str
    value: float
    unit: str
    baseline: str | None = None
    baseline_value: float | None = None
    higher_is_better: bool = True
    target: str | None = None

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline (above 1: groundswell is ahead)."""
        if self.baseline_value is None or not self.value or not self.baseline_value:
            return None
        return self.value / self.baseline_value if self.higher_is_better else self.baseline_value / self.value

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


@dataclass
class StageResult:
    stage: str
    seconds: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    figures: list[Figure] = field(default_factory=list)
    report: str = ""  # the stage's own plain-text report
    detail: Any = None  # the stage's full result as JSON
    error: str | None = None


@dataclass(frozen=True)
class BenchOptions:
    """Sizes of every stage; :meth:`quick` shrinks them for a smoke run."""

    workdir: Path = Path("data/bench")
    ingest_posts: int = 1_000_000
    ingest_baseline_posts: int = 3_000
    classify_posts: int = 2_000
    classify_baseline_posts: int = 200
    align_posts: int = 10_000_000
    align_days: int = 30
    dask_posts: int = 4_000
    dashboard_posts: int = 1_000_000
    live_rates: tuple[float, ...] = (10.0, 100.0, 500.0)
    live_seconds: float = 20.0
    live_bisect: int = 2
    live_baseline_seconds: float = 20.0

    @classmethod
    def quick(cls, workdir: Path = Path("data/bench/quick")) -> BenchOptions:
        return cls(
            workdir=workdir, ingest_posts=20_000, ingest_baseline_posts=300, classify_posts=256, classify_baseline_posts=32,
            align_posts=100_000, align_days=7, dask_posts=1_024, dashboard_posts=20_000, live_rates=(10.0, 50.0),
            live_seconds=8.0, live_bisect=0, live_baseline_seconds=5.0,
        )


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import duckdb

    cpu = next((line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    memory_kb = next((int(line.split()[1]) for line in _read_lines("/proc/meminfo") if line.startswith("MemTotal:")), 0)
    versions = {"python": platform.python_version(), "duckdb": duckdb.__version__}
    for package in ("onnxruntime", "torch", "streamlit", "prefect"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:  # not installed: not listed
            continue
    return {
        "cpu": cpu or "unknown",
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "gpu": "none used",
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        "commit": _git_commit(),
    }


def describe(machine: dict[str, Any]) -> str:
    versions = ", ".join(f"{name} {value}" for name, value in machine["versions"].items())
    return (
        f"{machine['cpu']}, {machine['usable_cpus']} usable of {machine['logical_cpus']} logical CPUs, "
        f"{machine['memory_gib']:g} GiB RAM, no GPU used; {machine['os']}; {versions}"
    )


def run_all(
    settings: Settings,
    options: BenchOptions = BenchOptions(),
    stages: Sequence[str] = STAGES,
    echo: Callable[[str], None] = print,
    runners: dict[str, Callable[[Settings, BenchOptions, Callable[[str], None]], Any]] | None = None,
) -> dict[str, Any]:
    """Run each of ``stages`` in order and return the summary (see :func:`write_summary`)."""
    runners = runners or RUNNERS
    started_at = datetime.now(UTC)
    results = []
    for stage in stages:
        echo(f"== bench {stage} ({len(results) + 1}/{len(stages)}) ==")
        load_before, started = os.getloadavg(), time.perf_counter()
        try:
            outcome = runners[stage](settings, options, echo)
        except Exception as error:  # noqa: BLE001 - one failed stage must not lose the others' figures
            # groundswell's own errors say what to do in one line; anything else keeps its traceback.
            echo(f"Error: {error}" if isinstance(error, GroundswellError) else traceback.format_exc())
            results.append(StageResult(stage, time.perf_counter() - started, load_before, os.getloadavg(), error=f"{type(error).__name__}: {error}"))
            continue
        result = StageResult(
            stage, time.perf_counter() - started, load_before, os.getloadavg(),
            figures=list(outcome.figures()), report=outcome.render(), detail=_detail(outcome),
        )
        echo(result.report)
        results.append(result)
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": sum(result.seconds for result in results),
        "machine": machine(),
        "options": {name: (str(value) if isinstance(value, Path) else value) for name, value in asdict(options).items()},
        "stages": [
            {
                "stage": result.stage, "seconds": round(result.seconds, 1), "load_before": result.load_before,
                "load_after": result.load_after, "error": result.error, "report": result.report, "detail": result.detail,
                "figures": [figure.to_json() for figure in result.figures],
            }
            for result in results
        ],
    }


def failed_stages(summary: dict[str, Any]) -> list[str]:
    return [stage["stage"] for stage in summary["stages"] if stage["error"]]


def summary_folder(stages: Sequence[str], quick: bool, chosen: Path | None, project_docs: Path, workdir: Path) -> tuple[Path, bool]:
    """Where a run's summary goes, and whether it is the project's: only a run of every stage at full
    sizes replaces the committed summary (``project_docs``, and then the README table); a partial or
    quick run goes beside its generated inputs unless a folder is ``chosen``."""
    complete = set(stages) == set(STAGES) and not quick
    return chosen or (project_docs if complete else workdir), complete


def write_summary(summary: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "benchmarks.json", out_dir / "benchmarks.md"
    json_path.write_text(json.dumps(summary, indent=1, default=str) + "\n")
    md_path.write_text(markdown(summary))
    return json_path, md_path


# -- rendering ------------------------------------------------------------------------------------


def figures(summary: dict[str, Any]) -> list[Figure]:
    return [Figure.from_json(figure) for stage in summary["stages"] for figure in stage["figures"]]


def figure_table(rows: Iterable[Figure]) -> str:
    lines = ["| stage | measure | groundswell | baseline, same run | baseline figure | ratio | target |", "|---|---|---:|---|---:|---:|---|"]
    for figure in rows:
        baseline = "-" if figure.baseline_value is None else _number(figure.baseline_value, figure.unit)
        ratio = "-" if figure.ratio is None else f"{figure.ratio:,.1f}×" if figure.ratio >= 10 else f"{figure.ratio:,.2f}×"
        lines.append(
            f"| {figure.stage} | {figure.measure} | {_number(figure.value, figure.unit)} | {figure.baseline or '-'} "
            f"| {baseline} | {ratio} | {figure.target or '-'} |"
        )
    return "\n".join(lines)


def readme_table(summary: dict[str, Any]) -> str:
    """The README's table: every headline figure, and where and when it was measured."""
    when = summary["started_at"][:10]
    failed = failed_stages(summary)
    lines = [
        f"Measured by `groundswell bench` on {when}, commit `{summary['machine']['commit']}`: {describe(summary['machine'])}. "
        f"Details and each stage's full report: [docs/benchmarks.md](docs/benchmarks.md). "
        "Ratios are groundswell against the baseline measured in the same run (above 1: groundswell is ahead).",
        "",
        figure_table(figures(summary)),
    ]
    if failed:
        lines += ["", f"Stages that failed in this run (see docs/benchmarks.md): {', '.join(failed)}."]
    return "\n".join(lines)


def markdown(summary: dict[str, Any]) -> str:
    parts = [
        "# Benchmarks",
        "",
        "Written by `groundswell bench` (every benchmark in one run); do not edit. "
        "Each figure stands beside the obvious alternative, measured in the same run on the same machine.",
        "",
        f"- **Machine:** {describe(summary['machine'])}",
        f"- **Commit:** `{summary['machine']['commit']}`; started {summary['started_at']}; {summary['seconds'] / 60:,.1f} minutes in all",
        "",
        "## Headline figures",
        "",
        figure_table(figures(summary)),
        "",
        "## Stages",
        "",
        "| stage | minutes | load average before | load average after | result |",
        "|---|---:|---|---|---|",
    ]
    for stage in summary["stages"]:
        parts.append(
            f"| {stage['stage']} | {stage['seconds'] / 60:,.1f} | {_load(stage['load_before'])} | {_load(stage['load_after'])} "
            f"| {'failed: ' + stage['error'] if stage['error'] else 'ok'} |"
        )
    for stage in summary["stages"]:
        parts += ["", f"### {stage['stage']}", "", "```", (stage["report"] or stage["error"] or "").rstrip(), "```"]
    return "\n".join(parts) + "\n"


def _number(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit == "s":
        return f"{value:,.2f} s"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"


def _load(values: Sequence[float]) -> str:
    return " / ".join(f"{value:.1f}" for value in values)


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _detail(outcome: Any) -> Any:
    if hasattr(outcome, "to_json"):
        return outcome.to_json()
    try:
        return json.loads(json.dumps(asdict(outcome), default=str))
    except TypeError:
        return None


# -- the stages -----------------------------------------------------------------------------------


def _ingest(settings: Settings, options: BenchOptions, echo: Callable[[str], None]):
    from pipeline.bench import run_ingest_benchmark

    return run_ingest_benchmark(options.workdir, options.ingest_posts, options.ingest_baseline_posts, settings=settings, echo=echo)


def _classify(settings: Settings, options: BenchOptions, echo: Callable[[str], None]):
    from pipeline.bench import run_classify_benchmark

    return run_classify_benchmark(settings, options.classify_posts, options.classify_baseline_posts, echo=echo, out_dir=options.workdir)


def _align(settings: Settings, options: BenchOptions, echo: Callable[[str], None]):
    from pipeline.bench_align import run_align_benchmark

    return run_align_benchmark(options.workdir, options.align_posts, days=options.align_days, settings=settings, echo=echo)


def _dask(settings: Settings, options: BenchOptions, echo: Callable[[str], None]):
    from pipeline.bench_dask import run_dask_benchmark

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    return run_dask_benchmark(settings, options.workdir, options.dask_posts, echo=echo)


def _dashboard(settings: Settings, options: BenchOptions, echo: Callable[[str], None]):
    from pipeline.dashboard.bench import run_dashboard_benchmark

    return run_dashboard_benchmark(settings, options.workdir, options.dashboard_posts, echo=echo)


def _live(settings: Settings, options: BenchOptions, echo: Callable[[str], None]):
    from pipeline.bench_live import LiveBenchOptions, run_live_benchmark

    live = LiveBenchOptions(
        rates=options.live_rates, seconds=options.live_seconds, bisect_steps=options.live_bisect,
        baseline_seconds=options.live_baseline_seconds, db_dir=options.workdir / "live", out_dir=options.workdir,
    )
    return run_live_benchmark(settings, live)


RUNNERS: dict[str, Callable[[Settings, BenchOptions, Callable[[str], None]], Any]] = {
    "ingest": _ingest, "classify": _classify, "align": _align, "dask": _dask, "dashboard": _dashboard, "live": _live,
}
