"""Tweet text as TweetEval writes it, and readers for the SemEval and TweetEval sentiment files.

The sentiment model is trained on SemEval-2017 Task 4A (the 2013-2016 editions) and selected
on TweetEval's validation split, so both sides go through :func:`preprocess` (user mentions
become ``@user``, links become ``http``, emoji are kept), and every training tweet whose
:func:`match_key` equals a validation tweet's is removed before training.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
"""Class order everywhere: TweetEval's mapping (0 negative, 1 neutral, 2 positive)."""

SEMEVAL_FILES: tuple[str, ...] = (
    "twitter-2013train-A.tsv",
    "twitter-2013dev-A.tsv",
    "twitter-2013test-A.tsv",
    "twitter-2014sarcasm-A.tsv",
    "twitter-2014test-A.tsv",
    "twitter-2015train-A.tsv",
    "twitter-2015test-A.tsv",
    "twitter-2016train-A.tsv",
    "twitter-2016dev-A.tsv",
    "twitter-2016devtest-A.tsv",
    "twitter-2016test-A.tsv",
)

_SURROGATES = re.compile("[\ud800-\udfff]")
_MENTIONS = re.compile(r"(?<![\w@])@\w\S*")  # the whole token, as TweetEval does: "@bob's" -> "@user"
_URLS = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_ESCAPES = re.compile(r"\\u([0-9a-fA-F]{4})")
_NOT_WORD = re.compile(r"[\W_]+")


def preprocess(text: object) -> str:
    """TweetEval-style text: ``@user`` for mentions, ``http`` for links, emoji kept, spaces collapsed."""
    if not isinstance(text, str):
        return ""
    # TweetEval kept the 2013 files' literal "\\u2019" escapes; decoding them matches training.
    text = html.unescape(_ESCAPES.sub(_decode_escape, _SURROGATES.sub("", text)))
    text = _SURROGATES.sub("", text)  # html.unescape can produce them from &#xd800;
    text = _URLS.sub("http", _MENTIONS.sub("@user", text))
    return _SPACES.sub(" ", text).strip()


def match_key(text: str) -> str:
    """A key that is equal for the same tweet in SemEval and TweetEval despite their different escaping.

    TweetEval dropped links and kept the 2013 files' ``\\u2019`` escapes as literal text, so the
    key decodes escapes, drops links (and the ``http`` placeholder), case and punctuation.
    """
    text = _URLS.sub(" ", preprocess(text))
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(word for word in _NOT_WORD.sub(" ", text).split() if word != "http")


def _decode_escape(match: re.Match) -> str:
    character = chr(int(match.group(1), 16))
    return "" if "\ud800" <= character <= "\udfff" else character


def unescape_semeval(field_text: str) -> str:
    """The tweet behind a SemEval text field: CSV quoting, ``\\uXXXX`` and ``\\"`` escapes undone."""
    text = field_text.strip()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        text = text[1:-1].replace('""', '"')
    text = _ESCAPES.sub(_decode_escape, text)
    text = text.replace('\\"', '"')
    while '""' in text:  # the 2013 files quote twice: \"""" becomes "" after the first pass
        text = text.replace('""', '"')
    return text


_CREATED_AT = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} [+-]\d{4} \d{4}$")


@dataclass
class ReadReport:
    """What a reader kept and what it set aside, with reasons: nothing is dropped silently.

    ``notes`` counts rows kept after a repair (an extra field), ``skipped`` rows left out.
    """

    rows: int = 0
    kept: int = 0
    notes: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)

    def add(self, other: "ReadReport") -> None:
        self.rows += other.rows
        self.kept += other.kept
        self.notes.update(other.notes)
        self.skipped.update(other.skipped)


def parse_semeval_line(line: str) -> tuple[str, str, str | None] | str:
    """``(label, text, note)`` for a usable row, else the reason it is skipped.

    Extra tabs: the 2016 test file ends every row with an empty field (ignored), ten of its
    rows carry the tweet's ``created_at`` there (dropped), and any other extra field is taken
    as a tab inside the tweet and joined back with a space.
    """
    parts = line.rstrip("\r\n").split("\t")
    if len(parts) < 3:
        return "fewer than 3 tab-separated fields"
    label = parts[1].strip().lower()
    if label not in LABELS:
        return f"label outside {'/'.join(LABELS)}"
    extra = [part for part in parts[3:] if part.strip()]
    note = None
    if extra and all(_CREATED_AT.match(part.strip()) for part in extra):
        extra, note = [], "extra field with a timestamp, dropped"
    elif extra:
        note = "extra field joined to the text"
    text = unescape_semeval(" ".join([parts[2], *extra]))
    if not text.strip():
        return "empty text"
    return label, text, note


def read_semeval_file(path: Path) -> tuple[list[tuple[str, str]], ReadReport]:
    """``(label, raw text)`` rows of one SemEval Task 4A file and a report of what was skipped."""
    report = ReadReport()
    rows: list[tuple[str, str]] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            report.rows += 1
            parsed = parse_semeval_line(line)
            if isinstance(parsed, str):
                report.skipped[parsed] += 1
                continue
            label, text, note = parsed
            if note:
                report.notes[note] += 1
            rows.append((label, text))
        report.kept = len(rows)
    return rows, report


def read_tweeteval(text_file: Path, labels_file: Path) -> tuple[list[str], list[int]]:
    """Texts and integer labels (0 negative, 1 neutral, 2 positive) of a TweetEval split."""
    texts = Path(text_file).read_text(encoding="utf-8", errors="replace").splitlines()
    labels = [int(line) for line in Path(labels_file).read_text().split()]
    if len(texts) != len(labels):
        raise ValueError(f"{text_file} has {len(texts)} lines but {labels_file} has {len(labels)} labels")
    bad = sorted({label for label in labels if label not in range(len(LABELS))})
    if bad:
        raise ValueError(f"{labels_file} has labels {bad}; expected 0, 1 or 2")
    return texts, labels


@dataclass
class TrainingSet:
    """Deduplicated, validation-free training tweets, and the counts the model card reports."""

    texts: list[str]
    labels: list[int]
    files: list[str]
    report: ReadReport
    duplicates: int
    conflicting: int
    removed_validation: int

    def counts(self) -> dict[str, int]:
        tally = Counter(self.labels)
        return {name: tally[index] for index, name in enumerate(LABELS)}


def build_training_set(semeval_dir: Path, validation_texts: Sequence[str], files: Sequence[str] = SEMEVAL_FILES) -> TrainingSet:
    """Every SemEval row, preprocessed, deduplicated, with every validation tweet taken out.

    Duplicates are texts equal after :func:`preprocess`; a text seen with different labels
    keeps its most frequent label (ties: the first seen). Validation tweets are found by
    :func:`match_key` so differing quotes, entities and spacing do not hide them.
    """
    report = ReadReport()
    grouped: dict[str, Counter] = {}
    for name in files:
        rows, file_report = read_semeval_file(Path(semeval_dir) / name)
        report.add(file_report)
        for label, raw in rows:
            grouped.setdefault(preprocess(raw), Counter())[label] += 1
    held_out = {match_key(text) for text in validation_texts}
    texts, labels, removed = [], [], 0
    for text, votes in grouped.items():
        if match_key(text) in held_out:
            removed += 1
            continue
        texts.append(text)
        labels.append(LABELS.index(votes.most_common(1)[0][0]))
    return TrainingSet(
        texts=texts,
        labels=labels,
        files=list(files),
        report=report,
        duplicates=report.kept - len(grouped),
        conflicting=sum(len(votes) > 1 for votes in grouped.values()),
        removed_validation=removed,
    )


def validation_matched(validation_texts: Iterable[str], training_texts: Iterable[str]) -> int:
    """How many validation tweets still have a twin in the training texts (0 after removal)."""
    keys = {match_key(text) for text in training_texts}
    return sum(match_key(text) in keys for text in validation_texts)
