"""The reliability suite: bad input, a full or read-only disk, a damaged model folder.

Property-based (Hypothesis) tests feed every file adapter random and mutated
records (truncated JSON, wrong types, huge fields, invalid UTF-8, control
characters, times in every format and none) through the real ingest into a real
DuckDB file, and check that nothing crashes, that no input line goes
unaccounted for, and that the counts reconcile three ways: the adapter's
outcomes, the ingest report, and the rows in ``posts``, ``rejected`` and
``ingest_runs``.

Profiles: ``HYPOTHESIS_PROFILE=ci`` (derandomised, so a CI run is reproducible),
the default ``dev`` (random, the same number of examples), ``thorough`` (500
examples, for a long local run).
"""

from __future__ import annotations

import csv
import email.utils
import hashlib
import itertools
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import ROOT, tweet, write_lines, x_response
from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.errors import ConfigError, MappingError
from pipeline.ingest import ingest_file, ingest_paths
from pipeline.schema import Rejection, post_id
from pipeline.sources import SKIPPED
from pipeline.sources.base import JsonSource, Limits, Source
from pipeline.sources.bluesky import BlueskySource
from pipeline.sources.mastodon import MastodonSource
from pipeline.sources.table import TableSource
from pipeline.sources.x import XSource
from pipeline.store import Store

settings.register_profile("dev", max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", settings.get_profile("dev"), derandomize=True, print_blob=True)
settings.register_profile("thorough", settings.get_profile("dev"), max_examples=500)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

LIMITS = Limits(max_record_bytes=2_048, max_text_chars=280)
"""Small limits, so that oversize records cost little to generate."""

GROUNDSWELL = [str(Path(sys.executable).parent / "groundswell")]
"""The installed command, run as a user runs it."""


# -- values, good and bad ----------------------------------------------------------------

MISSING = object()
"""A field left out of the record."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy = json_values) -> st.SearchStrategy:
    """Usually (4 times in 6) a good value; else a bad one, or the field left out."""
    return st.integers(0, 5).flatmap(lambda roll: good if roll < 4 else bad if roll == 4 else st.just(MISSING))


def rarely(odd: st.SearchStrategy, usual: st.SearchStrategy) -> st.SearchStrategy:
    """One time in twenty ``odd`` (a costly value, such as a huge field), else ``usual``."""
    return st.integers(0, 19).flatmap(lambda roll: odd if roll == 0 else usual)


def time_texts(moment: datetime) -> list[object]:
    """One instant written every way exports write it."""
    aware = moment.replace(tzinfo=timezone.utc)
    return [
        aware.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        aware.astimezone(timezone(timedelta(hours=-4))).isoformat(),
        moment.isoformat(),  # no zone: read as UTC
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        moment.date().isoformat(),
        email.utils.format_datetime(aware),  # RFC 2822
        aware.strftime("%a %b %d %H:%M:%S +0000 %Y"),  # the X API v1.1 format
        int(aware.timestamp()),
        int(aware.timestamp() * 1000),
        str(int(aware.timestamp() * 1_000_000)),
        aware.timestamp(),
    ]


good_times = st.builds(time_texts, st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1))).flatmap(st.sampled_from)
bad_times = st.one_of(
    st.sampled_from(["", " ", "yesterday", "2024-13-45T99:99:99Z", "2024-12-31T23:59:60Z", "0000-00-00", "NaN", "1e400", "-1", "+"]),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    json_values,
)
times = st.one_of(good_times, bad_times)

good_texts = st.one_of(
    st.text(min_size=1, max_size=40),  # any character, control characters included
    st.sampled_from(["Spaces is down", "\x00\x07\x1b[31mred", "\u202eevil", "😡" * 3, "a\r\nb", "<p>Spaces <b>down</b></p>"]),
)
bad_texts = st.one_of(
    st.sampled_from(["", "   ", "\n\t"]),
    st.sampled_from([LIMITS.max_text_chars + 1, 1_500]).map(lambda n: "y" * n),
    json_values,
)
texts = st.one_of(good_texts, bad_texts)

ids = st.one_of(st.integers(0, 10**9), st.sampled_from(["1", "2", "a b", "💥", " ", ""]), st.integers(0, 3))
counts = rarely(st.integers(-5, -1), st.integers(0, 10**6))


def record(**fields: st.SearchStrategy) -> st.SearchStrategy:
    """A JSON object whose fields come and go, and change type, at random."""
    return st.fixed_dictionaries(fields).map(lambda drawn: {k: v for k, v in drawn.items() if v is not MISSING})


# -- the formats' records -------------------------------------------------------------------

tweets = record(
    id=mostly(ids.map(str)),
    text=mostly(good_texts, bad_texts),
    created_at=mostly(good_times, bad_times),
    author_id=mostly(st.sampled_from(["42", "43"])),
    lang=mostly(st.sampled_from(["en", "es", "und"])),
    public_metrics=mostly(record(like_count=mostly(counts), retweet_count=mostly(counts), reply_count=mostly(counts))),
    referenced_tweets=mostly(st.lists(record(type=mostly(st.sampled_from(["replied_to", "quoted", "retweeted"])), id=mostly(ids.map(str))), max_size=2)),
)
users = record(id=mostly(st.sampled_from(["42", "43"])), username=mostly(st.text(max_size=8)), name=mostly(texts), public_metrics=mostly(record(followers_count=mostly(counts))))
x_records = st.one_of(
    record(data=mostly(st.one_of(st.lists(tweets, max_size=3), tweets)), includes=mostly(record(users=mostly(st.lists(users, max_size=2)))), meta=mostly(json_values)),
    json_values,
)

post_records = record(**{"$type": st.just("app.bsky.feed.post"), "text": mostly(good_texts, bad_texts), "createdAt": mostly(good_times, bad_times), "langs": mostly(st.lists(st.sampled_from(["en", "pt"]), max_size=2))})
bluesky_records = st.one_of(
    record(
        did=mostly(st.sampled_from(["did:plc:aaa", "did:plc:bbb"])),
        time_us=mostly(st.integers(0, 2**60)),
        kind=st.just("commit"),
        commit=mostly(
            record(
                operation=mostly(st.sampled_from(["create", "create", "update", "delete"])),
                collection=mostly(st.sampled_from(["app.bsky.feed.post", "app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.graph.follow"])),
                rkey=mostly(ids.map(str)),
                record=mostly(post_records),
            )
        ),
    ),
    record(did=st.just("did:plc:aaa"), time_us=st.integers(0, 2**60), kind=st.sampled_from(["identity", "account", "unknown"])),
    json_values,
)

accounts = record(acct=mostly(st.sampled_from(["ann", "bob@example.social"])), url=mostly(st.just("https://example.social/@ann")), display_name=mostly(texts), followers_count=mostly(counts))
statuses = record(
    uri=mostly(ids.map(lambda i: f"https://example.social/users/ann/statuses/{i}")),
    created_at=mostly(good_times, bad_times),
    content=mostly(good_texts.map(lambda text: f"<p>{text}</p>"), bad_texts),
    spoiler_text=mostly(good_texts, bad_texts),
    language=mostly(st.sampled_from(["en", "de"])),
    account=mostly(accounts),
    favourites_count=mostly(counts),
    reblog=mostly(st.none() | record(uri=mostly(ids.map(str)), content=mostly(texts), language=st.just("en"))),
)
mastodon_records = st.one_of(statuses, record(error=st.text(max_size=10)), json_values)

table_rows = record(id=mostly(ids), body=mostly(good_texts, bad_texts), time=mostly(good_times, bad_times), author=mostly(st.text(max_size=6)), likes=mostly(counts))
TABLE_MAPPING = {"native_id": "id", "text": "body", "created_at": "time", "author_handle": "author", "like_count": "likes"}
GOOD_ROW = {"id": "1", "body": "Spaces is down", "time": "2024-08-13T00:05:00Z", "author": "ann", "likes": 3}
GOOD_IDS = itertools.count()
"""The first row of a JSON-lines table file is a good one, so that its columns can be mapped."""


# -- byte-level damage -------------------------------------------------------------------

BAD_BYTES = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\x00", b"\x1b", b"\x7f"]


@st.composite
def damaged_lines(draw, records: st.SearchStrategy) -> bytes:
    """One JSON line, usually whole, sometimes truncated, with bad bytes or control
    characters in it, a lone surrogate, padded past the size limit, or garbage."""
    line = orjson.dumps(draw(records))
    damage = draw(st.sampled_from(["none"] * 6 + ["truncated", "bad bytes", "surrogate", "oversize", "garbage", "blank", "crlf"]))
    at = draw(st.integers(0, max(len(line) - 1, 0)))
    if damage == "truncated":
        return line[:at]
    if damage == "bad bytes":
        return line[:at] + draw(st.sampled_from(BAD_BYTES)) + line[at:]
    if damage == "surrogate":
        return line.replace(b'"', b'"\\ud83d', 1)
    if damage == "oversize":
        return orjson.dumps({"pad": "z" * LIMITS.max_record_bytes, "record": orjson.loads(line)})
    if damage == "garbage":
        return draw(st.binary(max_size=40)).replace(b"\n", b"")
    if damage == "blank":
        return b"  \t"
    return line + b"\r" if damage == "crlf" else line


@st.composite
def json_files(draw, records: st.SearchStrategy) -> bytes:
    """JSON lines (maybe with a BOM, maybe without the last newline) or one JSON array."""
    if draw(st.booleans()):
        lines = draw(st.lists(damaged_lines(records), min_size=1, max_size=12))
        body = b"\n".join(lines) + draw(st.sampled_from([b"\n", b""]))
        return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + body
    array = orjson.dumps(draw(st.lists(records, max_size=8)))
    return array[: draw(st.integers(1, len(array)))] if draw(st.integers(0, 5)) == 0 else array


# -- the properties ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One real database for every example of a test: each example ingests its own file."""
    with Store.open(tmp_path_factory.mktemp("reliability") / "groundswell.duckdb") as opened:
        yield opened


def ingest_and_reconcile(store: Store, path: Path, source: Source) -> None:
    """Ingest ``path`` for real and check that every outcome the adapter gives is in the
    database exactly once, and that the report and ``ingest_runs`` say so."""
    outcomes = list(source.read(path))
    posts = [outcome for outcome in outcomes if isinstance(outcome, dict)]
    rejections = [outcome for outcome in outcomes if isinstance(outcome, Rejection)]
    skipped = sum(outcome is SKIPPED for outcome in outcomes)
    assert len(posts) + len(rejections) + skipped == len(outcomes)
    post_ids = [post_id(post) for post in posts]
    known = {row[0] for row in store.query("SELECT id FROM posts WHERE list_contains(?, id)", [sorted(set(post_ids))])}
    new = set(post_ids) - known

    report = ingest_file(store, path, source, batch_size=5, workers=1)

    origin = str(path)
    assert (report.accepted, report.duplicates, report.rejected, report.skipped) == (
        len(new), len(post_ids) - len(new), len(rejections), skipped,
    )  # fmt: skip
    assert {row[0] for row in store.query("SELECT id FROM posts WHERE origin = ?", [origin])} == new
    stored = Counter(store.query("SELECT position, item, reason FROM rejected WHERE origin = ?", [origin]))
    assert stored == Counter((r.position, r.item, str(r.reason)) for r in rejections)
    assert store.query("SELECT read, accepted, duplicates, rejected, skipped FROM ingest_runs WHERE origin = ?", [origin]) == [
        (report.read, report.accepted, report.duplicates, report.rejected, report.skipped)
    ]
    for outcome in ("accepted", "duplicates", "skipped"):
        event(f"{outcome}: {'some' if getattr(report, outcome) else 'none'}")
    for reason in report.reasons:
        event(f"rejected: {reason}")


def every_line_has_an_outcome(source: JsonSource, data: bytes) -> None:
    """No non-blank line of a JSON-lines file vanishes: each gives a post, a rejection or a skip."""
    for position, line in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        if line.strip():
            assert list(source.read_lines([line], position)), f"line {position} gave nothing: {line!r}"


def write_example(tmp_path_factory, name: str, data: bytes) -> Path:
    path = tmp_path_factory.mktemp("example") / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "source,records",
    [(XSource(LIMITS), x_records), (BlueskySource(LIMITS), bluesky_records), (MastodonSource(LIMITS), mastodon_records)],
    ids=["x", "bluesky", "mastodon"],
)
def test_a_json_adapter_accounts_for_every_record_of_a_damaged_file(store, tmp_path_factory, source, records):
    @PROFILE
    @given(data=json_files(records))
    def check(data: bytes) -> None:
        path = write_example(tmp_path_factory, f"posts.{source.name}.jsonl", data)
        if not data.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"["):
            every_line_has_an_outcome(source, data)
        ingest_and_reconcile(store, path, source)

    check()


@PROFILE
@given(data=json_files(table_rows))
def test_the_jsonl_table_adapter_accounts_for_every_row_of_a_damaged_file(store, tmp_path_factory, data):
    good_row = orjson.dumps({**GOOD_ROW, "id": f"good-{next(GOOD_IDS)}"})
    data = good_row + b"\n" + data if not data.lstrip(b"\xef\xbb\xbf").startswith(b"[") else data
    path = write_example(tmp_path_factory, "export.jsonl", data)
    source = TableSource(TABLE_MAPPING, LIMITS)
    try:
        source.columns_for(path)
    except MappingError:  # an array whose objects lack the mapped columns is refused whole, with one clear error
        return
    ingest_and_reconcile(store, path, source)


CSV_FIELD_LIMIT = 131_072
"""Python's csv module refuses a longer field (the adapter rejects it as oversize)."""

csv_cells = rarely(
    st.just("h" * (CSV_FIELD_LIMIT + 1)),
    st.one_of(
        st.text(max_size=20),
        times.map(str),
        st.sampled_from(["", "NaN", '"quoted"', "a,b", "line\nbreak", "cr\ronly", "\udcff\udcfe invalid UTF-8", "y" * 1_500]),
    ),
)


csv_rows = st.one_of(
    st.tuples(ids.map(str), mostly(good_texts, bad_texts).map(str), mostly(good_times, bad_times).map(str), st.text(max_size=6), counts.map(str)).map(list),
    st.lists(csv_cells, min_size=1, max_size=7),  # any number of fields, anything in them
)


@PROFILE
@given(rows=st.lists(csv_rows, max_size=10))
def test_the_csv_adapter_gives_one_outcome_per_row_and_reconciles(store, tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("example") / "export.csv"
    with path.open("w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body", "time", "author", "likes"])
        writer.writerows(rows)
    source = TableSource(TABLE_MAPPING, LIMITS)
    outcomes = list(source.read(path))
    if all(len(cell) <= CSV_FIELD_LIMIT for row in rows for cell in row):
        assert len(outcomes) == len(rows)
    else:
        # Past a field csv cannot read, its reader resumes mid-record: the rest of that
        # record comes out as rows of its own (rejected too), so only reconciliation holds.
        assert any(getattr(outcome, "reason", None) == "oversize" for outcome in outcomes)
    ingest_and_reconcile(store, path, source)


parquet_columns = {
    "id": st.sampled_from([pa.string(), pa.int64()]),
    "body": st.sampled_from([pa.string(), pa.large_string(), pa.binary(), pa.int32()]),
    "time": st.sampled_from([pa.string(), pa.timestamp("us", "UTC"), pa.timestamp("ns"), pa.int64(), pa.float64(), pa.date32()]),
}


def parquet_value(kind: pa.DataType) -> st.SearchStrategy:
    """A cell of a column of type ``kind``: usually plausible, sometimes null or far out of range."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        value = st.one_of(good_texts, good_times.map(str), st.sampled_from(["", " ", "y" * 1_500]))
    elif pa.types.is_binary(kind):
        value = st.one_of(st.binary(max_size=12), st.sampled_from(BAD_BYTES))
    elif pa.types.is_timestamp(kind):
        value = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))
    elif pa.types.is_date(kind):
        value = st.dates()
    elif pa.types.is_floating(kind):
        value = st.one_of(st.floats(0, 4e12), st.floats())
    elif kind == pa.int32():
        value = st.integers(-(2**31), 2**31 - 1)
    else:
        value = st.one_of(st.integers(0, 4 * 10**12), st.integers(-(2**63), 2**63 - 1))
    return rarely(st.none(), value)


@st.composite
def parquet_tables(draw) -> pa.Table:
    types = {name: draw(choice) for name, choice in parquet_columns.items()}
    size = draw(st.integers(0, 8))
    columns = {name: pa.array(draw(st.lists(parquet_value(kind), min_size=size, max_size=size)), kind) for name, kind in types.items()}
    columns["extra"] = pa.array(draw(st.lists(st.none() | st.lists(st.integers(0, 3), max_size=2), min_size=size, max_size=size)), pa.list_(pa.int64()))
    return pa.table(columns)


@PROFILE
@given(table=parquet_tables())
def test_the_parquet_adapter_gives_one_outcome_per_row_and_reconciles(store, tmp_path_factory, table):
    path = tmp_path_factory.mktemp("example") / "export.parquet"
    pq.write_table(table, path)
    source = TableSource({"native_id": "id", "text": "body", "created_at": "time"}, LIMITS)
    assert len(list(source.read(path))) == table.num_rows
    ingest_and_reconcile(store, path, source)


# -- a disk that refuses to write ------------------------------------------------------------


def db_fingerprint(path: Path) -> list[tuple]:
    with Store.open(path, read_only=True) as store:
        return store.query("SELECT id, text, origin FROM posts ORDER BY id")


def limited_file_size(limit: int):
    """For a child process: files may not grow past ``limit`` bytes (RLIMIT_FSIZE, as a full
    quota does), and a write past it fails with EFBIG instead of killing the process."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_is_one_clear_error_and_keeps_everything_accepted_before(tmp_path):
    db = tmp_path / "groundswell.duckdb"
    earlier = write_lines(tmp_path / "earlier.jsonl", *(x_response(tweet(str(i), f"post {i}")) for i in range(50)))
    list(ingest_paths(load_settings(db_path=db), [earlier]))
    before = db_fingerprint(db)
    # In the same command: a small file that fits, then one whose first batch does not.
    small = write_lines(tmp_path / "small.jsonl", *(x_response(tweet(f"s{i}", f"small {i}")) for i in range(20)))
    big = write_lines(tmp_path / "big.jsonl", *(x_response(tweet(f"b{i}", "b" * 1_000 + str(i))) for i in range(4_000)))
    limit = db.stat().st_size + 1_000_000
    result = subprocess.run(
        [*GROUNDSWELL, "ingest", str(small), str(big), "--db", str(db), "--workers", "1"],
        preexec_fn=limited_file_size(limit), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == f"{small}: read 20 = 20 accepted + 0 duplicates + 0 rejected\n"
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"Error: cannot write to database {db}: ")
    assert "File too large" in result.stderr
    after = db_fingerprint(db)
    assert [row for row in after if row[2] == str(earlier)] == before  # nothing accepted before was lost
    assert sorted(row[0] for row in after if row[2] == str(small)) == sorted(f"x:s{i}" for i in range(20))
    assert not [row for row in after if row[2] == str(big)]  # the failed batch left nothing half-written


def can_mount_read_only() -> bool:
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True) if shutil.which("unshare") else None
    return bool(probe) and probe.returncode == 0


def read_only(folder: Path, *command: str) -> subprocess.CompletedProcess:
    """Run ``command`` with ``folder`` mounted read-only (a private mount namespace, so the kernel
    refuses every write there, root's included); or, where namespaces are not allowed, as a
    non-root user after chmod."""
    if can_mount_read_only():
        script = f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && exec "$@"'
        return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", *command], capture_output=True, text=True, timeout=120)
    if os.geteuid() == 0:
        pytest.skip("needs unshare (user namespaces) or a non-root user to make a folder read-only")
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return subprocess.run(list(command), capture_output=True, text=True, timeout=120)


def test_a_read_only_database_is_one_clear_error_and_is_left_as_it_was(tmp_path):
    folder = tmp_path / "db"
    db = folder / "groundswell.duckdb"
    posts = write_lines(tmp_path / "posts.jsonl", x_response(tweet("1"), tweet("2")))
    list(ingest_paths(load_settings(db_path=db), [posts]))
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    more = write_lines(tmp_path / "more.jsonl", x_response(tweet("3")))
    result = read_only(folder, *GROUNDSWELL, "ingest", str(more), "--db", str(db))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"Error: cannot open database {db}: ")
    assert "Read-only file system" in result.stderr or "Permission denied" in result.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    # Readers go on working: analysts can still query it.
    result = read_only(folder, *GROUNDSWELL, "sql", "SELECT count(*) AS n FROM posts", "--format", "csv", "--db", str(db))
    assert (result.returncode, result.stdout, result.stderr) == (0, "n\n2\n", "")


# -- a damaged model folder -------------------------------------------------------------------

MODEL = ROOT / "models" / "sentiment-v1"


def truncate(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


DAMAGE = {
    "truncated weights": (lambda folder: truncate(folder / "model.safetensors", 1_000_000), "incomplete metadata, file not fully covered"),
    "weights cut inside the header": (lambda folder: truncate(folder / "model.safetensors", 100), "Error while deserializing header"),
    "no weights": (lambda folder: (folder / "model.safetensors").unlink(), "no (?:file named )?model.safetensors"),
    "no config": (lambda folder: (folder / "config.json").unlink(), "Should have a `model_type` key in its config.json"),
    "garbage config": (lambda folder: (folder / "config.json").write_text("{not json"), "is not a valid JSON file"),
    "config for another shape": (
        lambda folder: (folder / "config.json").write_text(orjson.dumps({**orjson.loads((MODEL / "config.json").read_bytes()), "hidden_size": 12, "num_attention_heads": 2}).decode()),
        "ignore_mismatched_sizes",
    ),
    "garbage tokenizer": (lambda folder: (folder / "tokenizer.json").write_text("garbage"), "cannot load sentiment model"),
    "garbage metadata": (lambda folder: (folder / "groundswell.json").write_text("{{"), "groundswell.json is not readable JSON"),
}


@pytest.fixture
def damaged_model(tmp_path, request) -> tuple[Path, str]:
    folder = tmp_path / "sentiment-v1"
    shutil.copytree(MODEL, folder, ignore=shutil.ignore_patterns("MODEL_CARD.md"))
    damage, message = DAMAGE[request.param]
    damage(folder)
    return folder, message


@pytest.mark.parametrize("damaged_model", DAMAGE, indirect=True)
def test_a_damaged_model_folder_is_one_clear_error_at_start_up(damaged_model, tmp_path):
    from pipeline.classify.labeller import Labeller

    folder, message = damaged_model
    with pytest.raises(ConfigError, match=message) as error:
        Labeller.load(load_settings(sentiment_model=str(folder), db_path=tmp_path / "g.duckdb"))
    assert "\n" not in str(error.value) and str(folder) in str(error.value)


def test_classify_with_a_damaged_model_stops_before_touching_the_database(tmp_path, monkeypatch, capsys):
    db = tmp_path / "groundswell.duckdb"
    posts = write_lines(tmp_path / "posts.jsonl", x_response(tweet("1"), tweet("2")))
    list(ingest_paths(load_settings(db_path=db), [posts]))
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    folder = tmp_path / "sentiment-v1"
    shutil.copytree(MODEL, folder)
    truncate(folder / "model.safetensors", 5_000_000)
    monkeypatch.setattr(sys, "argv", ["groundswell", "classify", "--model", str(folder), "--db", str(db)])
    with pytest.raises(SystemExit) as exit:
        main()
    captured = capsys.readouterr()
    assert (exit.value.code, captured.out) == (1, "")
    assert captured.err.splitlines() == [
        f"Error: cannot load sentiment model {folder}: Error while deserializing header: incomplete metadata, file not fully covered "
        "(restore the model folder, or retrain it with `groundswell train sentiment`)"
    ]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
