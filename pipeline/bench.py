"""Benchmarks that print figures beside the obvious alternative, measured in the same run."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import orjson
import pandas as pd

from pipeline.config import Settings
from pipeline.ingest import ingest_file
from pipeline.sources import Limits, XSource
from pipeline.store import Store


@dataclass
class IngestBenchmark:
    posts_in_file: int
    file_mb: float
    seconds: float
    posts_per_second: float
    reingest_seconds: float
    reingest_posts_per_second: float
    baseline_posts: int
    baseline_seconds: float
    baseline_posts_per_second: float
    workers: int
    machine: str

    @property
    def speedup(self) -> float:
        return self.posts_per_second / self.baseline_posts_per_second

    def render(self) -> str:
        return "\n".join(
            [
                f"ingest benchmark on {self.machine}, {self.workers} parser processes",
                f"  groundswell ingest : {self.posts_in_file:,} posts ({self.file_mb:,.0f} MB X API v2 JSON lines) "
                f"in {self.seconds:.1f} s = {self.posts_per_second:,.0f} posts/s",
                f"  re-ingest (all dup): {self.reingest_seconds:.1f} s = {self.reingest_posts_per_second:,.0f} posts/s",
                f"  naive baseline     : pandas read_json + row-by-row INSERT, {self.baseline_posts:,} posts "
                f"in {self.baseline_seconds:.1f} s = {self.baseline_posts_per_second:,.0f} posts/s",
                f"  speed-up           : {self.speedup:,.1f}x",
            ]
        )

    def figures(self):
        from pipeline.bench_summary import Figure

        naive = "pandas read_json + one INSERT per post"
        return [
            Figure("ingest", f"file ingest, {self.posts_in_file:,} X API v2 posts ({self.file_mb:,.0f} MB)", self.posts_per_second,
                   "posts/s", naive, self.baseline_posts_per_second, target="50,000 posts/s"),
            Figure("ingest", "re-ingest of the same file (every post a duplicate)", self.reingest_posts_per_second, "posts/s",
                   naive, self.baseline_posts_per_second),
        ]


def run_ingest_benchmark(
    workdir: Path,
    posts: int,
    baseline_posts: int,
    *,
    settings: Settings,
    echo: Callable[[str], None] = print,
) -> IngestBenchmark:
    workdir.mkdir(parents=True, exist_ok=True)
    big = _generated_file(workdir / f"x-{posts}.jsonl", posts, echo)
    small = _generated_file(workdir / f"x-{baseline_posts}-clean.jsonl", baseline_posts, echo, clean=True)
    workers = settings.ingest_workers or os.cpu_count() or 1
    limits = Limits(settings.max_record_bytes, settings.max_text_chars)

    db = workdir / "bench-ingest.duckdb"
    _remove_database(db)
    with Store.open(db) as store:
        echo(f"ingesting {big} ...")
        started = time.perf_counter()
        report = ingest_file(store, big, XSource(limits), batch_size=settings.ingest_batch_size, workers=workers)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = ingest_file(store, big, XSource(limits), batch_size=settings.ingest_batch_size, workers=workers)
        reingest_seconds = time.perf_counter() - started
    assert again.accepted == 0, "re-ingest must add nothing"
    _remove_database(db)

    echo(f"naive baseline on {small} ...")
    baseline_seconds, baseline_count = _naive_ingest(small, workdir / "bench-naive.duckdb")
    result = IngestBenchmark(
        posts_in_file=report.read,
        file_mb=big.stat().st_size / 1e6,
        seconds=seconds,
        posts_per_second=report.read / seconds,
        reingest_seconds=reingest_seconds,
        reingest_posts_per_second=again.read / reingest_seconds,
        baseline_posts=baseline_count,
        baseline_seconds=baseline_seconds,
        baseline_posts_per_second=baseline_count / baseline_seconds,
        workers=workers,
        machine=machine_description(),
    )
    (workdir / "ingest.json").write_text(json.dumps({**asdict(result), "speedup": result.speedup}, indent=2) + "\n")
    return result


def machine_description() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, DuckDB {duckdb.__version__}"


def _generated_file(path: Path, posts: int, echo: Callable[[str], None], clean: bool = False) -> Path:
    from pipeline.sample import iter_x_responses

    if path.exists():
        return path
    echo(f"generating {posts:,} posts into {path} ...")
    partial = path.with_suffix(".partial")
    with partial.open("wb") as handle:
        for line in iter_x_responses(posts, seed=1):
            if clean and not _parses(line):
                continue
            handle.write(line + b"\n")
    partial.rename(path)
    return path


def _parses(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line).get("data"), list)
    except (orjson.JSONDecodeError, AttributeError):
        return False


_NAIVE_COLUMNS = (
    "id", "source", "native_id", "text", "created_at", "author_id", "author_handle", "author_followers",
    "lang", "like_count", "repost_count", "reply_count", "quote_count", "raw",
)


def _naive_ingest(path: Path, db: Path) -> tuple[float, int]:
    """What a hurried analyst writes: pandas reads the file, one INSERT per post."""
    _remove_database(db)
    started = time.perf_counter()
    frame = pd.read_json(path, lines=True)
    connection = duckdb.connect(str(db))
    connection.execute(
        "CREATE TABLE posts (id VARCHAR PRIMARY KEY, source VARCHAR, native_id VARCHAR, text VARCHAR, "
        "created_at TIMESTAMPTZ, author_id VARCHAR, author_handle VARCHAR, author_followers BIGINT, lang VARCHAR, "
        "like_count BIGINT, repost_count BIGINT, reply_count BIGINT, quote_count BIGINT, raw VARCHAR)"
    )
    insert = f"INSERT OR IGNORE INTO posts VALUES ({', '.join('?' for _ in _NAIVE_COLUMNS)})"
    count = 0
    for response in frame.itertuples():
        users = {user["id"]: user for user in response.includes["users"]}
        for tweet in response.data:
            author = users.get(tweet.get("author_id"), {})
            metrics = tweet.get("public_metrics", {})
            connection.execute(
                insert,
                [
                    f"x:{tweet['id']}", "x", tweet["id"], tweet["text"], tweet["created_at"], tweet.get("author_id"),
                    author.get("username"), author.get("public_metrics", {}).get("followers_count"), tweet.get("lang"),
                    metrics.get("like_count"), metrics.get("retweet_count"), metrics.get("reply_count"),
                    metrics.get("quote_count"), json.dumps(tweet),
                ],
            )
            count += 1
    connection.close()
    seconds = time.perf_counter() - started
    _remove_database(db)
    return seconds, count


def _remove_database(path: Path) -> None:
    for suffix in ("", ".wal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)




@dataclass
class ClassifyBenchmark:
    """Posts per second of the whole classify stage on each runtime, the per-post alternative, and the
    encoder work done per second against the machine's floating-point peak."""

    posts: int
    runtime: str
    seconds: float
    posts_per_second: float
    torch_seconds: float
    torch_posts_per_second: float
    baseline_posts: int
    baseline_seconds: float
    baseline_posts_per_second: float
    english_posts: int
    sentiment_tokens: float
    encoder_tokens: float
    gflop_per_post: float
    achieved_gflops: float
    torch_achieved_gflops: float
    peak_gflops: float
    peak_derivation: str
    matmul_gflops: float
    threads: int
    model_version: str
    torch_model_version: str
    machine: str
    load_before: str
    load_after: str
    distinct_posts: int = 0  # texts actually run: a page's copies of a text are classified once
    rounds: int = 1

    @property
    def speedup(self) -> float:
        return self.posts_per_second / self.baseline_posts_per_second

    @property
    def peak_share(self) -> float:
        return self.achieved_gflops / self.peak_gflops

    def render(self) -> str:
        torch_rate, base = self.torch_posts_per_second, self.baseline_posts_per_second
        return "\n".join(
            [
                f"classify benchmark on {self.machine}; load average {self.load_before} before, {self.load_after} after",
                f"  groundswell classify, {self.runtime:<5}: {self.posts:,} sample posts ({self.distinct_posts:,} distinct per page, "
                f"{self.english_posts:,} of those English), all heads, pages of {PAGE:,} as the flow does, median of {self.rounds} rounds "
                f"{self.seconds:.1f} s = {self.posts_per_second:,.1f} posts/s (labels {self.model_version})",
                f"  groundswell classify, torch: the same posts, pages interleaved with the above, in {self.torch_seconds:.1f} s "
                f"= {torch_rate:,.1f} posts/s (labels {self.torch_model_version})",
                f"  one post at a time         : transformers pipeline('text-classification') + spaCy per post, "
                f"{self.baseline_posts:,} posts in {self.baseline_seconds:.1f} s = {base:,.1f} posts/s",
                f"  speed-up                   : {self.runtime} {self.speedup:,.1f}x and torch {torch_rate / base:,.1f}x the one-at-a-time "
                f"rate; {self.runtime} {self.posts_per_second / torch_rate:,.2f}x torch",
                f"  encoder work               : {self.sentiment_tokens:.1f} sentiment + {self.encoder_tokens:.1f} encoder tokens per English post, "
                f"2 FLOP per layer weight per token = {self.gflop_per_post:.3f} GFLOP per post classified (over distinct English texts only)",
                f"  share of fp32 peak         : {self.runtime} {self.achieved_gflops:,.1f} GFLOP/s = {100 * self.peak_share:.0f}%, "
                f"torch {self.torch_achieved_gflops:,.1f} GFLOP/s = {100 * self.torch_achieved_gflops / self.peak_gflops:.0f}% "
                f"of {self.peak_gflops:,.1f} GFLOP/s ({self.peak_derivation}); measured torch fp32 matmul: {self.matmul_gflops:,.1f} GFLOP/s",
            ]
        )

    def figures(self):
        from pipeline.bench_summary import Figure

        one = "transformers pipeline + spaCy, one post at a time"
        return [
            Figure("classify", f"all heads, {self.runtime} runtime, {self.posts:,} sample posts", self.posts_per_second, "posts/s",
                   one, self.baseline_posts_per_second, target="150 posts/s"),
            Figure("classify", f"all heads, {self.runtime} against torch on the same posts", self.posts_per_second, "posts/s",
                   "torch runtime", self.torch_posts_per_second),
            Figure("classify", f"encoder work as a share of the fp32 peak ({self.peak_gflops:,.0f} GFLOP/s)", 100 * self.peak_share, "%",
                   "torch runtime", 100 * self.torch_achieved_gflops / self.peak_gflops),
        ]


def sample_texts(sample_dir: Path, limit: int) -> list[str]:
    """Post texts from the sample incident, in file order: what the flow classifies."""
    texts: list[str] = []
    for path in sorted(sample_dir.glob("*/posts.x.jsonl")):
        texts += [record["text"] for record in XSource().read(path) if isinstance(record, dict)]
    return texts[:limit]


PAGE = 1024
"""Posts per ``label`` call, as the classify flow pages them."""
ROUNDS = 3
"""Timed passes over the posts on each runtime; the median pass is reported."""


def run_classify_benchmark(
    settings: Settings, posts: int = 2_000, baseline_posts: int = 200, echo: Callable[[str], None] = print,
    out_dir: Path = Path("data/bench"),
) -> ClassifyBenchmark:
    import torch

    from pipeline.classify.labeller import Labeller

    load_before = _load_average()
    texts = sample_texts(settings.sample_dir, posts)
    torch_settings = settings.model_copy(update={"classify_runtime": "torch"})
    echo(f"loading the models ({settings.sentiment_model}, profile {settings.incident_profile}) on {settings.classify_runtime} and torch ...")
    fast, slow = Labeller.load(settings), Labeller.load(torch_settings)
    for labeller in (fast, slow):
        labeller.label(texts[:64])  # warm-up: first calls allocate
    echo(f"classifying {len(texts):,} posts on each runtime, {ROUNDS} rounds ...")
    rounds: dict[str, list[float]] = {"fast": [], "slow": []}
    for _ in range(ROUNDS):
        spent = {"fast": 0.0, "slow": 0.0}
        for start in range(0, len(texts), PAGE):  # interleaved, so a change in the machine's load hits both alike
            for name, labeller in (("fast", fast), ("slow", slow)):
                started = time.perf_counter()
                labeller.label(texts[start : start + PAGE])
                spent[name] += time.perf_counter() - started
        for name in rounds:
            rounds[name].append(spent[name])
    seconds = {name: statistics.median(values) for name, values in rounds.items()}

    echo(f"baseline: one post at a time on {baseline_posts:,} posts ...")
    baseline_seconds = _one_at_a_time(settings, texts[:baseline_posts])
    # The work done: a page's copies of a text are classified once (Labeller.label), so count distinct texts per page.
    worked = [text for start in range(0, len(texts), PAGE) for text in dict.fromkeys(texts[start : start + PAGE])]
    english, sentiment_tokens, encoder_tokens = _english_tokens(fast, worked)
    gflop = _gflop_per_post(settings, english, sentiment_tokens, encoder_tokens, len(texts))
    peak, derivation = fp32_peak_gflops()
    result = ClassifyBenchmark(
        posts=len(texts),
        runtime=settings.classify_runtime,
        seconds=seconds["fast"],
        posts_per_second=len(texts) / seconds["fast"],
        torch_seconds=seconds["slow"],
        torch_posts_per_second=len(texts) / seconds["slow"],
        baseline_posts=baseline_posts,
        baseline_seconds=baseline_seconds,
        baseline_posts_per_second=baseline_posts / baseline_seconds,
        english_posts=english,
        distinct_posts=len(worked),
        rounds=ROUNDS,
        sentiment_tokens=sentiment_tokens,
        encoder_tokens=encoder_tokens,
        gflop_per_post=gflop,
        achieved_gflops=gflop * len(texts) / seconds["fast"],
        torch_achieved_gflops=gflop * len(texts) / seconds["slow"],
        peak_gflops=peak,
        peak_derivation=derivation,
        matmul_gflops=_matmul_gflops(),
        threads=torch.get_num_threads(),
        model_version=fast.version,
        torch_model_version=slow.version,
        machine=machine_description(),
        load_before=load_before,
        load_after=_load_average(),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "classify.json").write_text(
        json.dumps({**asdict(result), "speedup": result.speedup, "peak_share": result.peak_share}, indent=2) + "\n"
    )
    return result


def fp32_peak_gflops(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[float, str]:
    """The CPUs' fp32 peak and how it was derived: cores x clock x FLOP per cycle.

    FLOP per cycle per core = SIMD lanes (16 with avx512f, 8 with avx2/avx, else 4) x 2 when the
    CPU has fma x 2 FMA units: /proc/cpuinfo shows the first two, the two FMA pipes are an
    assumption (true of recent x86 server cores; some AVX-512 parts have one). The clock is the
    mean ``cpu MHz`` there: the nominal clock, so turbo can exceed this "peak" a little."""
    text = cpuinfo.read_text() if cpuinfo.exists() else ""
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    clocks = [float(line.split(":", 1)[1]) for line in text.splitlines() if line.startswith("cpu MHz")]
    lanes, isa = (16, "avx512f") if "avx512f" in flags else (8, "avx2") if "avx2" in flags else (8, "avx") if "avx" in flags else (4, "sse")
    fma = 2 if "fma" in flags else 1
    cores = _cores()
    ghz = (sum(clocks) / len(clocks) / 1000) if clocks else 0.0
    per_cycle = lanes * fma * 2
    derivation = (f"{cores} cores x {ghz:.2f} GHz (cpu MHz) x {per_cycle} FLOP/cycle: {isa} {lanes} fp32 lanes"
                  f"{' x 2 (fma)' if fma == 2 else ''} x 2 FMA units (assumed)")
    return cores * ghz * per_cycle, derivation


def _english_tokens(labeller, texts: list[str]) -> tuple[int, float, float]:
    """English posts (the only ones the transformers read) and their mean token counts in each model."""
    from pipeline.classify.language import detect_languages

    english = [text for text, language in zip(texts, detect_languages(texts)) if language.is_english]
    sentiment = labeller.sentiment.token_counts(english)
    encoder = labeller.heads.encoder.token_counts(english)
    return len(english), sum(sentiment) / max(1, len(english)), sum(encoder) / max(1, len(english))


def _gflop_per_post(settings: Settings, english: int, sentiment_tokens: float, encoder_tokens: float, posts: int) -> float:
    """2 FLOP per layer weight per token in each transformer, over the English posts, per post classified."""
    from pipeline.classify.encoder import default_model_path

    sentiment = _layer_weights(Path(settings.sentiment_model).expanduser() / "config.json")
    encoder = _layer_weights(default_model_path() / "config.json")
    return 2 * (sentiment * sentiment_tokens + encoder * encoder_tokens) * english / posts / 1e9


def _layer_weights(config_path: Path) -> int:
    """Weights every token multiplies in a BERT-style encoder: Q, K, V, output and the two feed-forward matrices per layer."""
    config = json.loads(config_path.read_text())
    hidden, inner = config["hidden_size"], config["intermediate_size"]
    return config["num_hidden_layers"] * (4 * hidden * hidden + 2 * hidden * inner)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _load_average() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def _first_loadable(spacy, names: tuple[str, ...]):
    """The full spaCy pipeline (every component, as a per-post user would load it) under whichever name is installed."""
    for name in names:
        try:
            return spacy.load(name)
        except OSError:
            continue
    raise OSError(f"none of the spaCy pipelines {', '.join(names)} is installed")


def _one_at_a_time(settings: Settings, texts: list[str]) -> float:
    """The obvious alternative: a transformers pipeline and spaCy, each called per post."""
    import spacy
    from transformers import pipeline

    from pipeline.classify.blame import SPACY_MODELS

    classifier = pipeline("text-classification", model=settings.sentiment_model, top_k=None, device=-1)
    nlp = _first_loadable(spacy, SPACY_MODELS)
    classifier(texts[0])
    nlp(texts[0])
    started = time.perf_counter()
    for text in texts:
        classifier(text)
        nlp(text)
    return time.perf_counter() - started


def _matmul_gflops(size: int = 1024, repeats: int = 20) -> float:
    """This machine's fp32 matrix-multiply rate with the same torch threads: the practical peak."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9
