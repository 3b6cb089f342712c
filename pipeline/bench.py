"""Benchmarks that print figures beside the obvious alternative, measured in the same run."""

from __future__ import annotations

import json
import os
import platform
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
    posts: int
    seconds: float
    posts_per_second: float
    baseline_posts: int
    baseline_seconds: float
    baseline_posts_per_second: float
    mean_tokens: float
    gflop_per_post: float
    achieved_gflops: float
    matmul_gflops: float
    threads: int
    model_version: str
    machine: str

    @property
    def speedup(self) -> float:
        return self.posts_per_second / self.baseline_posts_per_second

    @property
    def peak_share(self) -> float:
        return self.achieved_gflops / self.matmul_gflops

    def render(self) -> str:
        return "\n".join(
            [
                f"classify benchmark on {self.machine}, {self.threads} torch threads, {self.model_version}",
                f"  groundswell classify : {self.posts:,} sample posts, all heads, batched as the flow does, "
                f"in {self.seconds:.1f} s = {self.posts_per_second:,.1f} posts/s",
                f"  one post at a time   : transformers pipeline('text-classification') + spaCy per post, "
                f"{self.baseline_posts:,} posts in {self.baseline_seconds:.1f} s = {self.baseline_posts_per_second:,.1f} posts/s",
                f"  speed-up             : {self.speedup:,.1f}x",
                f"  encoder work         : {self.mean_tokens:.1f} tokens/post, {self.gflop_per_post:.2f} GFLOP/post "
                f"(two MiniLM-L6 passes) = {self.achieved_gflops:,.1f} GFLOP/s, "
                f"{100 * self.peak_share:.0f}% of this machine's measured fp32 matmul rate ({self.matmul_gflops:,.0f} GFLOP/s)",
            ]
        )


def sample_texts(sample_dir: Path, limit: int) -> list[str]:
    """Post texts from the sample incident, in file order: what the flow classifies."""
    texts: list[str] = []
    for path in sorted(sample_dir.glob("*/posts.x.jsonl")):
        texts += [record["text"] for record in XSource().read(path) if isinstance(record, dict)]
    return texts[:limit]


def run_classify_benchmark(
    settings: Settings, posts: int = 2_000, baseline_posts: int = 200, echo: Callable[[str], None] = print
) -> ClassifyBenchmark:
    import torch

    from pipeline.classify.labeller import Labeller

    texts = sample_texts(settings.sample_dir, posts)
    echo(f"loading the models ({settings.sentiment_model}, profile {settings.incident_profile}) ...")
    labeller = Labeller.load(settings)
    labeller.label(texts[:64])  # warm-up: first calls allocate
    echo(f"classifying {len(texts):,} posts ...")
    started = time.perf_counter()
    for start in range(0, len(texts), 1024):
        labeller.label(texts[start : start + 1024])
    seconds = time.perf_counter() - started

    echo(f"baseline: one post at a time on {baseline_posts:,} posts ...")
    baseline_seconds = _one_at_a_time(settings, texts[:baseline_posts])
    tokens = _mean_tokens(labeller, texts)
    gflop = 2 * 2 * _encoder_parameters(labeller) * tokens / 1e9  # 2 FLOPs per weight per token, 2 encoder passes
    result = ClassifyBenchmark(
        posts=len(texts),
        seconds=seconds,
        posts_per_second=len(texts) / seconds,
        baseline_posts=baseline_posts,
        baseline_seconds=baseline_seconds,
        baseline_posts_per_second=baseline_posts / baseline_seconds,
        mean_tokens=tokens,
        gflop_per_post=gflop,
        achieved_gflops=gflop * len(texts) / seconds,
        matmul_gflops=_matmul_gflops(),
        threads=torch.get_num_threads(),
        model_version=labeller.version,
        machine=machine_description(),
    )
    out = Path("data/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "classify.json").write_text(
        json.dumps({**asdict(result), "speedup": result.speedup, "peak_share": result.peak_share}, indent=2) + "\n"
    )
    return result


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


def _mean_tokens(labeller, texts: list[str]) -> float:
    tokenizer = labeller.sentiment._tokenizer
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=labeller.sentiment.max_length)["input_ids"]]
    return sum(lengths) / len(lengths)


def _encoder_parameters(labeller) -> int:
    """Weights that multiply every token (the transformer layers, not the embedding lookup)."""
    model = labeller.sentiment._model
    return sum(p.numel() for name, p in model.named_parameters() if "embeddings" not in name)


def _matmul_gflops(size: int = 1024, repeats: int = 20) -> float:
    """This machine's fp32 matrix-multiply rate with the same torch threads: the practical peak."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9
