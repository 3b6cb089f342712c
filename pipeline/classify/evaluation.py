"""Evaluate the complaint, relevance and blame heads on a hand-labelled JSON-lines file.

Each line is ``{"text", "complaint", "relevant", "blame", "lang"?}`` (no ``lang``:
English). :func:`evaluate_heads` runs the heads the way the pipeline does
(:class:`HeadSet`: language first, one encoder pass, complaint and relevance from the
same embeddings, a post that is not relevant gets complaint and blame ``none``, then
blame) and reports, per head, macro-F1, per-label precision / recall / F1
(scikit-learn) and the confusion matrix.

The head scores are over the English posts (by the file's ``lang``): non-English
posts never reach these heads. ``pipeline complaint macro-F1`` is over every post,
routed by the detected language, a non-English post counting as ``none``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.classify.blame import BlameDetector, BlameResult
from pipeline.classify.complaints import ComplaintClassifier, ComplaintResult
from pipeline.classify.encoder import Encoder
from pipeline.classify.language import LanguageResult, detect_languages
from pipeline.classify.relevance import RelevanceResult, RelevanceScorer
from pipeline.classify.taxonomy import NONE, BLAME_TARGETS, IncidentProfile, Taxonomy, load_profile, load_taxonomy
from pipeline.errors import InputError

RELEVANCE_LABELS = ["relevant", "not_relevant"]
BLAME_LABELS = [*BLAME_TARGETS, NONE]


@dataclass(frozen=True)
class HeadsResult:
    """Everything the English heads say about one post; ``None`` where a head did not run."""

    language: LanguageResult
    complaint: ComplaintResult | None
    relevance: RelevanceResult | None
    blame: BlameResult | None


class HeadSet:
    """The heads of one incident profile, run in the order and with the gating the pipeline uses."""

    def __init__(self, profile: IncidentProfile, taxonomy: Taxonomy | None = None, encoder: Encoder | None = None):
        self.profile = profile
        self.taxonomy = taxonomy or load_taxonomy(profile.taxonomy_path())
        self.encoder = encoder or Encoder()
        self.complaints = ComplaintClassifier(self.taxonomy, self.encoder)
        self.relevance = RelevanceScorer(profile, self.taxonomy, self.encoder)
        self.blame = BlameDetector(profile)

    @property
    def version(self) -> str:
        return f"{self.complaints.version}+{self.relevance.version}+{self.blame.version}"

    def predict(
        self, texts: Sequence[str], english: Sequence[bool] | None = None, languages: Sequence[LanguageResult] | None = None
    ) -> list[HeadsResult]:
        """Detect languages (unless the caller already did: ``languages``), encode the posts that are
        English (or that ``english`` marks) once, run every head."""
        languages = list(languages) if languages is not None else detect_languages(texts)
        english = [lang.is_english for lang in languages] if english is None else list(english)
        chosen = [index for index, flag in enumerate(english) if flag]
        chosen_texts = [texts[index] for index in chosen]
        embeddings = self.encoder.encode(chosen_texts)
        relevance = self.relevance.predict(embeddings, chosen_texts)
        complaints = self.complaints.predict(embeddings, chosen_texts, relevant=[r.relevant for r in relevance])
        blame = self.blame.predict(chosen_texts, complaints=[c.label for c in complaints])
        blame = [b if r.relevant else BlameResult(NONE, None, b.entities) for b, r in zip(blame, relevance)]
        out: list[HeadsResult] = [HeadsResult(lang, None, None, None) for lang in languages]
        for index, c, r, b in zip(chosen, complaints, relevance, blame):
            out[index] = HeadsResult(languages[index], c, r, b)
        return out


@dataclass
class HeadReport:
    head: str
    labels: list[str]
    posts: int
    macro_f1: float
    per_label: dict[str, dict[str, float]]
    confusion: list[list[int]]

    def render(self) -> str:
        width = max(len(label) for label in self.labels) + 2
        lines = [f"{self.head}: macro-F1 {self.macro_f1:.3f} over {self.posts} posts"]
        lines.append(f"  {'label':<{width}}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}")
        for label in self.labels:
            row = self.per_label[label]
            lines.append(f"  {label:<{width}}{row['precision']:>10.3f}{row['recall']:>8.3f}{row['f1']:>7.3f}{int(row['support']):>9}")
        lines.append("  confusion (rows: truth, columns: predicted)")
        lines.append("  " + " " * width + "".join(f"{label[:7]:>8}" for label in self.labels))
        for label, counts in zip(self.labels, self.confusion):
            lines.append(f"  {label:<{width}}" + "".join(f"{count:>8}" for count in counts))
        return "\n".join(lines)


@dataclass
class EvaluationReport:
    data: str
    taxonomy: str
    profile: str
    mode: str
    posts: int
    english_posts: int
    heads: dict[str, HeadReport]
    pipeline_complaint_macro_f1: float
    language_accuracy: float
    mistakes: list[dict] = field(default_factory=list)

    def render(self) -> str:
        lines = [
            f"{self.data}: {self.posts} posts, {self.english_posts} English",
            f"taxonomy {self.taxonomy} ({self.mode}), profile {self.profile}",
            f"language accuracy {self.language_accuracy:.3f}; pipeline complaint macro-F1 "
            f"(all posts, non-English as none) {self.pipeline_complaint_macro_f1:.3f}",
            "",
        ]
        return "\n".join(lines + [report.render() + "\n" for report in self.heads.values()]).rstrip() + "\n"


def evaluate_heads(path: str | Path, taxonomy: str | Path | Taxonomy, profile: str | Path | IncidentProfile,
                   heads: HeadSet | None = None) -> EvaluationReport:
    """Score the heads on one labelled file (see the module docstring for what is counted)."""
    records = read_labelled(path)
    profile = profile if isinstance(profile, IncidentProfile) else load_profile(profile)
    taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    heads = heads or HeadSet(profile, taxonomy)
    texts = [record["text"] for record in records]
    gold_english = [record.get("lang", "en") == "en" for record in records]
    languages = detect_languages(texts)
    detected = [language.is_english for language in languages]
    results = heads.predict(texts, english=[g or d for g, d in zip(gold_english, detected)], languages=languages)
    english = [(record, result) for record, result, flag in zip(records, results, gold_english) if flag]
    routed = [result if flag else HeadsResult(result.language, None, None, None) for result, flag in zip(results, detected)]
    return EvaluationReport(
        data=str(path), taxonomy=taxonomy.version, profile=profile.name, mode=heads.complaints.mode,
        posts=len(records), english_posts=len(english),
        heads=_head_reports(english, taxonomy),
        pipeline_complaint_macro_f1=_pipeline_complaint_f1(records, routed, taxonomy),
        language_accuracy=float(np.mean([r.get("lang", "en") == p.language.lang for r, p in zip(records, routed)])),
        mistakes=_mistakes(english),
    )


def read_labelled(path: str | Path) -> list[dict]:
    """The records of a labelled JSON-lines file; any malformed line stops the evaluation with its number."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{path}:{number}: not JSON ({error.msg})") from None
        missing = [key for key in ("text", "complaint", "relevant", "blame") if key not in record]
        if missing:
            raise InputError(f"{path}:{number}: missing {', '.join(missing)}")
        records.append(record)
    return records


def _head_reports(english: list[tuple[dict, HeadsResult]], taxonomy: Taxonomy) -> dict[str, HeadReport]:
    complaint = [(r["complaint"], p.complaint.label) for r, p in english]
    relevance = [(_relevance_label(r["relevant"]), _relevance_label(p.relevance.relevant)) for r, p in english]
    blame = [(r["blame"], p.blame.target) for r, p in english]
    return {
        "complaint": _report("complaint", complaint, taxonomy.outcomes),
        "relevance": _report("relevance", relevance, RELEVANCE_LABELS),
        "blame": _report("blame", blame, BLAME_LABELS),
    }


def _report(head: str, pairs: list[tuple[str, str]], labels: list[str]) -> HeadReport:
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    truth = [t for t, _ in pairs]
    predicted = [p for _, p in pairs]
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    per_label = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support)
    }
    return HeadReport(
        head=head, labels=labels, posts=len(pairs),
        macro_f1=float(f1_score(truth, predicted, labels=_seen(labels, truth, predicted), average="macro", zero_division=0)),
        per_label=per_label, confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
    )


def _pipeline_complaint_f1(records: list[dict], routed: list[HeadsResult], taxonomy: Taxonomy) -> float:
    from sklearn.metrics import f1_score

    predicted = [p.complaint.label if p.complaint else NONE for p in routed]
    truth = [r["complaint"] for r in records]
    labels = _seen(taxonomy.outcomes, truth, predicted)
    return float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))


def _seen(labels: list[str], truth: list[str], predicted: list[str]) -> list[str]:
    """The labels that occur in the truth or the predictions: macro-F1 averages over these (scikit-learn's default)."""
    present = set(truth) | set(predicted)
    return [label for label in labels if label in present]


def _mistakes(english: list[tuple[dict, HeadsResult]]) -> list[dict]:
    out = []
    for record, result in english:
        predicted = {"complaint": result.complaint.label, "relevant": result.relevance.relevant, "blame": result.blame.target}
        wrong = {key: value for key, value in predicted.items() if record[key] != value}
        if wrong:
            out.append({"text": record["text"], "predicted": wrong, "expected": {k: record[k] for k in wrong}})
    return out


def _relevance_label(relevant: bool) -> str:
    return RELEVANCE_LABELS[0] if relevant else RELEVANCE_LABELS[1]
