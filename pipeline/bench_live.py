"""Benchmark: end-to-end latency of the live path, from a post published to its classified row
visible to a reader, at several offered loads; and the highest rate it sustains.

Three processes, as in production::

    this process (publisher)      every 100 ms one signed POST of rate/10 posts (X API v2 responses),
        │  HTTP, not waiting       requests in flight at once (at most ``max_in_flight``)
        ▼
    `groundswell live --source webhook`   the real CLI and Prefect flow: queue, micro-batches,
        │                                 classify, one DuckDB transaction per micro-batch
        ▼
    observer process              every ``poll_seconds``: opens the file read-only, takes the label
                                  rows committed since its last look, notes when it first saw each

Latency is the observer's first sight of a post's ``post_labels`` row minus the moment the
publisher sent it (both ``time.time()`` on this machine). The poll interval adds about half an
interval on average; the figures include it, as a dashboard's refresh would.

A rate is *sustained* when every post sent landed within ``drain_seconds`` of the end, no
request failed or was held back by the in-flight cap, and the median latency of the last third
of the run is not above the first third's by more than ``max(1 s, 50%)``: a backlog that grows
shows as latency that climbs. The highest sustained rate is the highest tested rate below
which every tested rate was sustained (optionally narrowed by a few runs between the last good
and the first bad rate).

The baseline, measured in the same run: each post classified alone (the same Labeller, a batch
of one) and stored in its own transaction (open, insert post and labels, commit, close: the
live loop's per-commit work with a micro-batch of one), in this process. It receives nothing
over HTTP, so it is an upper bound on what one-post-at-a-time could sustain.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx
import orjson
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pipeline.config import ENV_PREFIX, Settings
from pipeline.errors import GroundswellError, StoreError
from pipeline.store import Store

TICK_SECONDS = 0.1
"""The publisher sends one request per tick: rate/10 posts every 100 ms."""
GROWTH_SLACK_SECONDS = 1.0
"""Late-third median latency may exceed the first third's by this much (or 50%) and still count as flat."""
STARTUP_SECONDS = 600.0
"""How long the live flow may take to load its models and answer the warm-up request."""
AUTHOR = {"id": "1", "name": "groundswell bench", "username": "groundswell_bench", "public_metrics": {"followers_count": 0}}
_LIVE_SETTINGS = (
    "live_batch_posts", "live_batch_seconds", "live_queue_batches", "live_lag_warning_seconds", "live_refresh_seconds",
    "webhook_max_body_bytes", "max_record_bytes", "max_text_chars",
)


class LiveBenchmarkError(GroundswellError):
    """The live flow under test died or never became ready; the message carries the end of its stderr."""


@dataclass(frozen=True)
class LiveBenchOptions:
    rates: tuple[float, ...] = (10.0, 100.0, 500.0)
    seconds: float = 20.0
    drain_seconds: float = 30.0
    bisect_steps: int = 2
    baseline_seconds: float = 20.0
    max_in_flight: int = 100
    poll_seconds: float = 0.2
    db_dir: Path = Path("data/bench/live")
    out_dir: Path = Path("data/bench")


@dataclass
class RateRun:
    """One offered rate: what was sent, what landed, and how long it took."""

    rate: float
    seconds: float
    offered: int
    sent: int
    held_back: int
    acknowledged: int
    failed_requests: dict[str, int]
    stored: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    early_p50: float | None
    late_p50: float | None
    stored_per_second: float
    min_latency: float | None
    bisection: bool = False

    @property
    def landed_all(self) -> bool:
        return self.stored == self.sent

    @property
    def sustained(self) -> bool:
        if self.held_back or self.failed_requests or not self.landed_all or not self.sent:
            return False
        if self.early_p50 is None or self.late_p50 is None:
            return True
        return self.late_p50 - self.early_p50 <= max(GROWTH_SLACK_SECONDS, 0.5 * self.early_p50)

    def verdict(self) -> str:
        if self.sustained:
            return "sustained"
        reasons = []
        if self.held_back:
            reasons.append(f"{self.held_back:,} held back (in-flight cap)")
        if self.failed_requests:
            reasons.append(f"{sum(self.failed_requests.values()):,} requests failed")
        if not self.landed_all:
            reasons.append(f"{self.sent - self.stored:,} not stored in time")
        if not reasons:
            reasons.append("latency climbing")
        return "backlog grows: " + ", ".join(reasons)


@dataclass
class LiveBenchmark:
    runs: list[RateRun]
    sustained_rate: float
    baseline_posts: int
    baseline_seconds: float
    live_batch_posts: int
    live_batch_seconds: float
    poll_seconds: float
    machine: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    observer_failed_polls: int = 0
    observer_slowest_poll: float = 0.0

    @property
    def baseline_rate(self) -> float:
        return self.baseline_posts / self.baseline_seconds if self.baseline_seconds else 0.0

    @property
    def ratio(self) -> float | None:
        return self.sustained_rate / self.baseline_rate if self.baseline_rate else None

    @property
    def saturated_rate(self) -> float | None:
        """Posts/s stored while overloaded (the best of the runs that fell behind): the flow's capacity."""
        return max((run.stored_per_second for run in self.runs if not run.sustained), default=None)

    def _capacity(self) -> str:
        if self.saturated_rate is None:
            return "no tested rate overloaded it"
        versus = f" ({self.saturated_rate / self.baseline_rate:,.1f}x the baseline)" if self.baseline_rate else ""
        return f"{self.saturated_rate:,.1f} posts/s stored while overloaded{versus}"

    def render(self) -> str:
        header = f"{'offered/s':>9} {'sent':>7} {'stored':>7} {'p50 s':>7} {'p95 s':>7} {'p99 s':>7} {'max s':>7} {'p50 1st→last third':>19} {'stored/s':>9}  verdict"
        lines = [
            f"live latency benchmark on {self.machine}: `groundswell live --source webhook`, micro-batches of "
            f"{self.live_batch_posts} posts or {self.live_batch_seconds:g} s, reader polling every {self.poll_seconds:g} s",
            f"load average (1, 5, 15 min) before {_load(self.load_before)}, after {_load(self.load_after)} (shared CPUs)",
            header,
        ]
        for run in sorted(self.runs, key=lambda run: run.rate):
            thirds = f"{_s(run.early_p50)} → {_s(run.late_p50)}"
            lines.append(
                f"{run.rate:>9,.0f} {run.sent:>7,} {run.stored:>7,} {_s(run.p50):>7} {_s(run.p95):>7} {_s(run.p99):>7} "
                f"{_s(run.max):>7} {thirds:>19} {run.stored_per_second:>9,.1f}  {run.verdict()}{' (bisection)' if run.bisection else ''}"
            )
        ratio = f"{self.ratio:,.1f}x" if self.ratio is not None else "-"
        lines += [
            f"reader: {self.observer_failed_polls} polls could not open the database, the slowest took {self.observer_slowest_poll:.2f} s",
            f"highest sustained rate: {self.sustained_rate:,.0f} posts/s; capacity: {self._capacity()}",
            f"baseline, one post per classify call and per transaction: {self.baseline_posts:,} posts in "
            f"{self.baseline_seconds:.1f} s = {self.baseline_rate:,.1f} posts/s; micro-batched / baseline: {ratio}",
        ]
        return "\n".join(lines)

    def markdown(self) -> str:
        rows = [
            "| offered posts/s | sent | stored | p50 s | p95 s | p99 s | max s | p50 first → last third | stored/s | verdict |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for run in sorted(self.runs, key=lambda run: run.rate):
            rows.append(
                f"| {run.rate:,.0f} | {run.sent:,} | {run.stored:,} | {_s(run.p50)} | {_s(run.p95)} | {_s(run.p99)} | {_s(run.max)} "
                f"| {_s(run.early_p50)} → {_s(run.late_p50)} | {run.stored_per_second:,.1f} | {run.verdict()} |"
            )
        ratio = f"{self.ratio:,.1f}x" if self.ratio is not None else "-"
        return "\n".join(
            [
                "# Live end-to-end latency (`groundswell bench live`)",
                "",
                f"Machine: {self.machine}. Load average before {_load(self.load_before)}, after {_load(self.load_after)}.",
                f"Micro-batches of {self.live_batch_posts} posts or {self.live_batch_seconds:g} s; the reader polls every {self.poll_seconds:g} s.",
                "",
                *rows,
                "",
                f"Highest sustained rate: **{self.sustained_rate:,.0f} posts/s**; capacity: {self._capacity()}.",
                f"Baseline (one post per classify call and per transaction): {self.baseline_rate:,.1f} posts/s; "
                f"micro-batched / baseline: {ratio}.",
                "",
            ]
        )

    def figures(self):
        from pipeline.bench_summary import Figure

        baseline = "one post per classify call and per transaction"
        rows = [Figure("live", "highest sustained rate, webhook to classified row seen by a reader", self.sustained_rate, "posts/s",
                       baseline, self.baseline_rate or None, target="100 posts/s")]
        if self.saturated_rate is not None:
            rows.append(Figure("live", "posts/s stored while overloaded (capacity)", self.saturated_rate, "posts/s", baseline, self.baseline_rate or None))
        for run in sorted(self.runs, key=lambda run: run.rate):
            if run.sustained and run.p95 is not None:
                rows.append(Figure("live", f"p95 latency at {run.rate:,.0f} posts/s offered (p50 {_s(run.p50)} s, p99 {_s(run.p99)} s)",
                                   run.p95, "s", target="under 5 s at 100 posts/s"))
        return rows

    def to_json(self) -> dict:
        return {
            **asdict(self),
            "runs": [asdict(run) | {"sustained": run.sustained, "verdict": run.verdict()} for run in self.runs],
            "baseline_posts_per_second": self.baseline_rate,
            "ratio": self.ratio,
            "saturated_posts_per_second": self.saturated_rate,
        }


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


# -- what is published -----------------------------------------------------------


def tweet(native_id: str, text: str, at: float) -> dict:
    """One X API v2 tweet object, created at ``at`` (Unix seconds)."""
    created = datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    metrics = {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0}
    return {"id": native_id, "text": text, "author_id": AUTHOR["id"], "created_at": created, "public_metrics": metrics}


def x_response(tweets: list[dict]) -> bytes:
    return orjson.dumps({"data": tweets, "includes": {"users": [AUTHOR]}, "meta": {"result_count": len(tweets)}})


class Publisher:
    """Offers ``rate`` posts/s for ``seconds`` as signed webhook requests, never waiting for an answer
    before the next tick; remembers when each post was sent and how each request ended."""

    def __init__(self, url: str, secret: str, texts: list[str], max_in_flight: int):
        self.url, self.secret, self.texts, self.max_in_flight = url, secret, texts, max_in_flight
        self.sent_at: dict[str, float] = {}  # stored post id -> time.time() when sent
        self.offered = self.held_back = self.acknowledged = 0
        self.failed: Counter[str] = Counter()
        self.in_flight: set[asyncio.Task] = set()
        self.prefix = str(time.time_ns() // 1_000)  # unique per run, so runs sharing a database never collide

    async def run(self, client: httpx.AsyncClient, rate: float, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for tick in range(1, math.ceil(seconds / TICK_SECONDS) + 1):
            await asyncio.sleep(max(start + (tick - 1) * TICK_SECONDS - loop.time(), 0))
            due = math.floor(rate * min(tick * TICK_SECONDS, seconds) + 1e-9) - self.offered
            if due <= 0:
                continue
            self.offered += due
            if len(self.in_flight) >= self.max_in_flight:
                self.held_back += due
                continue
            self._send(client, due)

    def _send(self, client: httpx.AsyncClient, count: int) -> None:
        from pipeline.sources.live.webhook import signed_headers

        now = time.time()
        tweets = []
        for _ in range(count):
            native = f"{self.prefix}{len(self.sent_at):07d}"
            tweets.append(tweet(native, self.texts[len(self.sent_at) % len(self.texts)], now))
            self.sent_at[f"x:{native}"] = now
        body = x_response(tweets)
        task = asyncio.create_task(self._post(client, body, signed_headers(self.secret, body), count))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def _post(self, client: httpx.AsyncClient, body: bytes, headers: dict[str, str], count: int) -> None:
        try:
            response = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            self.failed[type(error).__name__] += 1
            return
        if response.status_code == 200:
            self.acknowledged += count
        else:
            self.failed[f"HTTP {response.status_code}"] += 1

    async def abandon(self) -> None:
        """Requests still unanswered at the end count as failed."""
        for task in list(self.in_flight):
            task.cancel()
        if self.in_flight:
            self.failed["unanswered at the end"] += len(self.in_flight)
            await asyncio.gather(*self.in_flight, return_exceptions=True)


# -- the live flow under test ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _flow_environment(settings: Settings, secret: str, port: int, prefect_home: Path) -> dict[str, str]:
    """The environment of `groundswell live`: this run's models and live settings (which may have
    been given in code, not in the environment), the webhook's secret and port, a private Prefect home."""
    from pipeline.classify.labeller import model_settings

    chosen = model_settings(settings) | settings.model_dump(mode="json", include={n for n in _LIVE_SETTINGS if n in Settings.model_fields})
    return {
        **os.environ,
        **{f"{ENV_PREFIX}{name.upper()}": str(value) for name, value in chosen.items() if value is not None},
        f"{ENV_PREFIX}WEBHOOK_SECRET": secret,
        f"{ENV_PREFIX}WEBHOOK_HOST": "127.0.0.1",
        f"{ENV_PREFIX}WEBHOOK_PORT": str(port),
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


class LiveFlow:
    """`groundswell live --source webhook --db DB` in a subprocess, its output in log files beside the database."""

    def __init__(self, settings: Settings, db: Path):
        self.db = db
        self.secret = secrets.token_hex(16)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}/posts/x"
        self.command = [sys.executable, "-m", "pipeline.cli", "live", "--source", "webhook", "--db", str(db)]
        self.stderr_path = db.with_suffix(".stderr.log")
        prefect_home = db.parent / "prefect-home"
        prefect_home.mkdir(exist_ok=True)
        with open(db.with_suffix(".stdout.log"), "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                self.command, env=_flow_environment(settings, self.secret, port, prefect_home), stdout=stdout, stderr=stderr
            )

    def check(self) -> None:
        """LiveBenchmarkError, with the end of its stderr, if the flow has exited."""
        status = self.process.poll()
        if status is not None:
            tail = self.stderr_path.read_text(errors="replace").strip().splitlines()[-15:]
            raise LiveBenchmarkError(
                f"the live flow exited with status {status} ({' '.join(self.command[2:])}); the end of its stderr "
                f"({self.stderr_path}):\n" + ("\n".join(tail) or "(empty)")
            )

    async def ready(self, client: httpx.AsyncClient, texts: list[str]) -> None:
        """Wait until the flow has committed a first request (models loaded, classifier warmed up)."""
        from pipeline.sources.live.webhook import signed_headers

        body = x_response([tweet(f"{time.time_ns()}{n:03d}", text, time.time()) for n, text in enumerate(texts[:16])])

        async def first_request() -> httpx.Response:
            while True:
                try:  # before the flow binds its port the connection is refused; after, it waits in the backlog
                    return await client.post(self.url, content=body, headers=signed_headers(self.secret, body), timeout=STARTUP_SECONDS)
                except httpx.TransportError:  # refused, or reset by a flow that died: check() tells which
                    await asyncio.sleep(0.25)

        request = asyncio.create_task(first_request())
        deadline = time.monotonic() + STARTUP_SECONDS
        try:
            while not request.done():
                self.check()
                if time.monotonic() > deadline:
                    raise LiveBenchmarkError(f"the live flow did not answer within {STARTUP_SECONDS:.0f} s (its stderr: {self.stderr_path})")
                await asyncio.wait({request}, timeout=0.25)
        finally:
            request.cancel()
        response = request.result()
        if response.status_code != 200:
            raise LiveBenchmarkError(f"the live flow refused the warm-up request with {response.status_code}: {response.text[:200]}")

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM (the flow finishes the batch in hand), then SIGKILL after ``grace`` seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- the reader --------------------------------------------------------------------


def observe(db: str, out: str, prefix: str, since: float, poll_seconds: float, stop, ready, seen_count) -> None:
    """The observer process: every ``poll_seconds`` open ``db`` read-only, take the label rows of the
    posts whose id starts with ``prefix`` committed since the last look (the one writer commits one
    transaction after another and ``classified_at`` is its transaction's start, so a watermark on it
    misses none), note when each post was first seen; write it all to ``out``."""
    seen: dict[str, float] = {}
    watermark = int(since * 1_000_000)
    polls = failed = 0
    slowest = 0.0
    while True:
        last = stop.is_set()
        started = time.time()
        try:
            with Store.open(db, read_only=True, lock_timeout=10) as store:
                rows = store.query(
                    "SELECT post_id, epoch_us(classified_at) FROM post_labels WHERE epoch_us(classified_at) >= ? AND starts_with(post_id, ?)",
                    [watermark, prefix],
                )
        except StoreError:
            failed, rows = failed + 1, []
        now = time.time()
        polls, slowest = polls + 1, max(slowest, now - started)
        for post, committed in rows:
            seen.setdefault(post, now)
            watermark = max(watermark, committed)
        seen_count.value = len(seen)
        ready.set()
        if last:
            break
        stop.wait(max(poll_seconds - (time.time() - started), 0))
    Path(out).write_bytes(orjson.dumps({"seen": seen, "polls": polls, "failed_polls": failed, "slowest_poll_seconds": slowest}))


class Observer:
    """The observer process, started and stopped around one rate's run."""

    def __init__(self, db: Path, out: Path, prefix: str, poll_seconds: float):
        context = multiprocessing.get_context("spawn")  # no fork of a process holding threads and sockets
        self.out = out
        self._stop, self._ready = context.Event(), context.Event()
        self._count = context.Value("q", 0)
        self._process = context.Process(
            target=observe,
            args=(str(db), str(out), prefix, time.time() - 1.0, poll_seconds, self._stop, self._ready, self._count),
            name="groundswell-bench-observer",
            daemon=True,
        )
        self._process.start()
        deadline = time.monotonic() + 120
        while not self._ready.wait(timeout=0.25):
            if not self._process.is_alive() or time.monotonic() > deadline:
                self._process.kill()
                raise LiveBenchmarkError(f"the observer process did not read {db} (exit status {self._process.exitcode})")

    @property
    def count(self) -> int:
        return self._count.value

    def finish(self) -> dict:
        self._stop.set()
        self._process.join(timeout=60)
        if self._process.exitcode != 0:
            raise LiveBenchmarkError(f"the observer process ended with status {self._process.exitcode}")
        return orjson.loads(self.out.read_bytes())


# -- one rate ---------------------------------------------------------------------


def run_rate(
    flow: LiveFlow, rate: float, options: LiveBenchOptions, texts: list[str], progress: Progress | None, bisection: bool = False
) -> tuple[RateRun, dict]:
    """Offer ``rate`` posts/s for ``options.seconds`` to the running flow, wait for the posts to land
    (at most ``drain_seconds``), and measure; returns the run and the observer's record."""
    publisher = Publisher(flow.url, flow.secret, texts, options.max_in_flight)
    observer = Observer(flow.db, flow.db.with_name(f"observed-{rate:g}.json"), f"x:{publisher.prefix}", options.poll_seconds)
    task = progress.add_task(f"{rate:g} posts/s", total=None, status="") if progress else None

    def show(phase: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, status=f"{phase}: {len(publisher.sent_at):,} sent, {observer.count:,} stored, {len(publisher.in_flight)} requests in flight")

    async def exchange() -> None:
        limits = httpx.Limits(max_connections=options.max_in_flight, max_keepalive_connections=options.max_in_flight)
        async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0, connect=10.0)) as client:
            publishing = asyncio.create_task(publisher.run(client, rate, options.seconds))
            while not publishing.done():
                flow.check()
                show("publishing")
                await asyncio.wait({publishing}, timeout=0.25)
            publishing.result()
            deadline = time.monotonic() + options.drain_seconds
            while (observer.count < len(publisher.sent_at) or publisher.in_flight) and time.monotonic() < deadline:
                flow.check()
                show("draining")
                await asyncio.sleep(0.25)
            await publisher.abandon()

    try:
        asyncio.run(exchange())
    finally:
        observed = observer.finish()
        if progress is not None and task is not None:
            progress.remove_task(task)
    return measure(rate, options.seconds, publisher, observed["seen"], bisection), observed


def measure(rate: float, seconds: float, publisher: Publisher, seen: dict[str, float], bisection: bool = False) -> RateRun:
    """Latency percentiles of the posts that landed, and the first and last thirds of the run compared."""
    landed = [(sent, seen[post] - sent) for post, sent in publisher.sent_at.items() if post in seen]
    latencies = sorted(latency for _, latency in landed)
    start = min(publisher.sent_at.values(), default=0.0)
    early = [latency for sent, latency in landed if sent - start < seconds / 3]
    late = [latency for sent, latency in landed if sent - start >= 2 * seconds / 3]
    span = max((seen[post] for post in publisher.sent_at if post in seen), default=start) - start
    return RateRun(
        rate=rate,
        seconds=seconds,
        offered=publisher.offered,
        sent=len(publisher.sent_at),
        held_back=publisher.held_back,
        acknowledged=publisher.acknowledged,
        failed_requests=dict(publisher.failed),
        stored=len(landed),
        p50=_percentile(latencies, 50),
        p95=_percentile(latencies, 95),
        p99=_percentile(latencies, 99),
        max=latencies[-1] if latencies else None,
        early_p50=statistics.median(early) if early else None,
        late_p50=statistics.median(late) if late else None,
        stored_per_second=len(landed) / span if span > 0 else 0.0,
        min_latency=latencies[0] if latencies else None,
        bisection=bisection,
    )


def _percentile(ordered: list[float], percent: float) -> float | None:
    """Nearest-rank percentile: a latency some post really had."""
    if not ordered:
        return None
    return ordered[max(math.ceil(percent / 100 * len(ordered)) - 1, 0)]


# -- the whole benchmark -----------------------------------------------------------


class Rig:
    """The live flow under test, restarted on a fresh database whenever a run left a backlog behind
    (so the next rate starts from an idle flow), with the progress display."""

    def __init__(self, settings: Settings, options: LiveBenchOptions, texts: list[str], console: Console | None):
        self.settings, self.options, self.texts, self.console = settings, options, texts, console
        self.flow: LiveFlow | None = None
        self.started = 0
        self.runs: list[RateRun] = []
        self.observer_failed_polls = 0
        self.observer_slowest_poll = 0.0
        self.progress = (
            Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), TextColumn("{task.fields[status]}"), console=console, transient=True)
            if console is not None
            else None
        )

    def say(self, line: str) -> None:
        if self.console is not None:
            self.console.print(line, highlight=False, markup=False)

    def run(self, rate: float, bisection: bool = False) -> RateRun:
        if self.flow is None:
            self._start()
        assert self.flow is not None
        result, observed = run_rate(self.flow, rate, self.options, self.texts, self.progress, bisection)
        self.runs.append(result)
        self.observer_failed_polls += observed["failed_polls"]
        self.observer_slowest_poll = max(self.observer_slowest_poll, observed["slowest_poll_seconds"])
        self.say(f"{rate:g} posts/s: p50 {_s(result.p50)} s, p95 {_s(result.p95)} s, {result.stored:,}/{result.sent:,} stored; {result.verdict()}")
        if not result.landed_all or result.failed_requests:
            self.say("  a backlog is left: the next run gets a fresh live flow and database")
            self.close(grace=10.0)
        return result

    def _start(self) -> None:
        self.started += 1
        db = self.options.db_dir / f"live-{self.started}.duckdb"
        self.say(f"starting `groundswell live --source webhook --db {db}` (loading the models) ...")
        started = time.monotonic()
        self.flow = LiveFlow(self.settings, db)
        try:
            asyncio.run(_ready(self.flow, self.texts))
        except BaseException:
            self.close(grace=5.0)
            raise
        self.say(f"  ready after {time.monotonic() - started:.1f} s")

    def close(self, grace: float = 30.0) -> None:
        if self.flow is not None:
            self.flow.stop(grace)
            self.flow = None


async def _ready(flow: LiveFlow, texts: list[str]) -> None:
    async with httpx.AsyncClient() as client:
        await flow.ready(client, texts)


@contextmanager
def _rig(settings: Settings, options: LiveBenchOptions, texts: list[str], console: Console | None) -> Iterator[Rig]:
    rig = Rig(settings, options, texts, console)
    try:
        if rig.progress is not None:
            with rig.progress:
                yield rig
        else:
            yield rig
    finally:
        rig.close()


def highest_sustained(runs: list[RateRun]) -> float:
    """The highest tested rate at or below which every tested rate was sustained (0: none was)."""
    best = 0.0
    for run in sorted(runs, key=lambda run: run.rate):
        if not run.sustained:
            break
        best = run.rate
    return best


def next_bisection(runs: list[RateRun]) -> float | None:
    """A rate halfway between the highest sustained rate and the lowest failing one above it, or None
    when they are already within 10% (or 2 posts/s) of each other or nothing failed."""
    good = highest_sustained(runs)
    failing = [run.rate for run in runs if run.rate > good and not run.sustained]
    if not failing:
        return None
    bad = min(failing)
    if bad - good <= max(2.0, 0.1 * bad):
        return None
    return float(round((good + bad) / 2))


def run_live_benchmark(
    settings: Settings, options: LiveBenchOptions = LiveBenchOptions(), console: Console | None = None
) -> LiveBenchmark:
    """Each rate in ``options.rates``, then up to ``bisect_steps`` rates between the last good and
    the first bad, then the one-post-per-transaction baseline; writes live.json and live.md."""
    from pipeline.bench import machine_description, sample_texts

    load_before = os.getloadavg()
    _clean(options.db_dir)
    texts = sample_texts(settings.sample_dir, 10_000)
    if not texts:
        raise LiveBenchmarkError(f"no sample posts found under {settings.sample_dir} (*/posts.x.jsonl) to publish")
    with _rig(settings, options, texts, console) as rig:
        for rate in options.rates:
            rig.run(rate)
        for _ in range(options.bisect_steps):
            rate = next_bisection(rig.runs)
            if rate is None:
                break
            rig.run(rate, bisection=True)
    rig.say("baseline: one post per classify call and per transaction ...")
    baseline_posts, baseline_seconds = one_post_per_transaction(settings, texts, options.db_dir / "baseline.duckdb", options.baseline_seconds)
    result = LiveBenchmark(
        runs=rig.runs,
        sustained_rate=highest_sustained(rig.runs),
        baseline_posts=baseline_posts,
        baseline_seconds=baseline_seconds,
        live_batch_posts=settings.live_batch_posts,
        live_batch_seconds=settings.live_batch_seconds,
        poll_seconds=options.poll_seconds,
        machine=machine_description(),
        load_before=load_before,
        load_after=os.getloadavg(),
        observer_failed_polls=rig.observer_failed_polls,
        observer_slowest_poll=rig.observer_slowest_poll,
    )
    options.out_dir.mkdir(parents=True, exist_ok=True)
    (options.out_dir / "live.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    (options.out_dir / "live.md").write_text(result.markdown())
    return result


def _clean(db_dir: Path) -> None:
    """The databases, logs and observations of an earlier run, removed (nothing else in the folder)."""
    db_dir.mkdir(parents=True, exist_ok=True)
    for pattern in ("live-*", "observed-*.json", "baseline.duckdb*"):
        for path in db_dir.glob(pattern):
            path.unlink()
    shutil.rmtree(db_dir / "prefect-home", ignore_errors=True)


def one_post_per_transaction(settings: Settings, texts: list[str], db: Path, seconds: float) -> tuple[int, float]:
    """The baseline: for ``seconds``, each post classified alone and stored in its own transaction
    (open, posts + labels, commit, close). Returns (posts, seconds taken)."""
    from pipeline.classify.labeller import Labeller
    from pipeline.ingest import posts_table
    from pipeline.schema import post_id
    from pipeline.sources import Limits, XSource

    if seconds <= 0:
        return 0, 0.0
    labeller = Labeller.load(settings)
    labeller.label(texts[:1])  # warm-up: first calls allocate
    parser = XSource(Limits(settings.max_record_bytes, settings.max_text_chars))
    users = {AUTHOR["id"]: AUTHOR}
    posts = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        post = parser.parse_tweet(tweet(f"{posts + 1}", texts[posts % len(texts)], time.time()), users, posts + 1, 0)
        labels = labeller.label([post["text"]])  # type: ignore[index]
        with Store.open(db) as store, store.transaction():
            store.append_posts(posts_table([post], "baseline"))  # type: ignore[list-item]
            store.append_labels(labeller.table([post_id(post)], labels))  # type: ignore[arg-type]
        posts += 1
    return posts, time.perf_counter() - started
