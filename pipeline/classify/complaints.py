"""Complaint type: which label of a taxonomy a post complains about, or ``none``.

Two modes, one API:

- **few-shot** (any taxonomy, no training): each label's examples and description are
  embedded once; a post scores against each label as a blend of its mean cosine to the
  label's ``top_k`` nearest examples and its cosine to the label's centroid, plus a
  bounded boost when one of the label's keywords or patterns occurs. ``none`` competes
  as one more label whose score is ``max(threshold, similarity to none_examples)``;
  a softmax with a temperature turns the scores into probabilities.
- **trained**: where a labelled dev file exists, :meth:`ComplaintClassifier.fit` trains
  a seeded logistic regression on the embeddings, the few-shot scores and the
  keyword/pattern hits, and saves it beside the taxonomy
  (``live_audio.yaml`` -> ``live_audio.head.json``). A head whose taxonomy or encoder
  no longer matches is ignored (with a warning) and the few-shot mode is used.

``classifier.mode`` says which one ran; ``classifier.version`` records it with the
taxonomy's version, so every label written can be traced.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from pipeline.classify.encoder import Encoder, clean_text, top_k_similarity
from pipeline.classify.taxonomy import NONE, Taxonomy
from pipeline.errors import InputError

log = logging.getLogger(__name__)

FEW_SHOT = "few-shot"
TRAINED = "trained"
SEED = 13


@dataclass(frozen=True)
class ComplaintResult:
    label: str
    score: float
    """Probability of ``label``."""
    scores: dict[str, float]
    """Probability of every outcome of the taxonomy, ``none`` included; they sum to 1."""


@dataclass(frozen=True)
class FewShotSettings:
    """The few-shot scorer's knobs; the defaults were tuned on the live-audio dev split."""

    top_k: int = 2
    centroid_weight: float = 0.3
    evidence_boost: float = 0.12
    threshold: float = 0.4
    temperature: float = 0.05


@dataclass(frozen=True)
class Head:
    """A trained logistic-regression head, as saved beside its taxonomy."""

    taxonomy: str
    encoder: str
    classes: list[str]
    coef: list[list[float]]
    intercept: list[float]
    trained_on: dict = field(default_factory=dict)

    def to_json(self) -> str:
        """One key per line and one class's weights per line: small diffs when a head is refitted."""
        fields = asdict(self)
        lines = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in fields.items() if key != "coef"]
        rows = ",\n".join(f"  {json.dumps(row)}" for row in self.coef)
        return "{\n" + ",\n".join([*lines, f' "coef": [\n{rows}\n ]']) + "\n}\n"

    @property
    def digest(self) -> str:
        weights = json.dumps([self.coef, self.intercept], separators=(",", ":"))
        return hashlib.sha256(weights.encode()).hexdigest()[:8]

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n, classes), as scikit-learn's ``predict_proba`` gives them."""
        logits = features @ np.asarray(self.coef, dtype=np.float32).T + np.asarray(self.intercept, dtype=np.float32)
        if logits.shape[1] == 1:  # two classes: one row of weights for the second class
            logits = np.hstack([np.zeros_like(logits), logits])
        return _softmax(logits)


@dataclass(frozen=True)
class FitReport:
    examples: int
    dev_posts: int
    cv_macro_f1: float
    C: float
    path: Path | None


class ComplaintClassifier:
    """Complaint type of English posts, from their embeddings (computed once, shared by the heads)."""

    def __init__(self, taxonomy: Taxonomy, encoder: Encoder, head: Head | None | str = "auto",
                 settings: FewShotSettings = FewShotSettings()):
        self.taxonomy = taxonomy
        self.encoder = encoder
        self.settings = settings
        groups = [[*label.examples, label.description] for label in taxonomy.labels]
        encoder.encode_references([text for group in groups for text in group])  # one batched pass
        self._prototypes = [encoder.encode_references(group) for group in groups]
        self._none = encoder.encode_references(taxonomy.none_examples)
        self.head = self._saved_head() if head == "auto" else head

    @property
    def mode(self) -> str:
        return TRAINED if self.head is not None else FEW_SHOT

    @property
    def version(self) -> str:
        suffix = f"head@{self.head.digest}" if self.head is not None else FEW_SHOT
        return f"complaints/{self.taxonomy.version}/{suffix}"

    def predict(self, embeddings: np.ndarray, texts: Sequence[str],
                relevant: Sequence[bool] | None = None) -> list[ComplaintResult]:
        """One result per post; a post with no text, or one ``relevant`` marks False, is ``none`` with score 1."""
        if len(texts) == 0:
            return []
        cleaned = [clean_text(text) for text in texts]
        similarity, evidence = self._similarity(embeddings), self.taxonomy.matcher.evidence(cleaned)
        if self.head is None:
            probabilities = self._few_shot(similarity, evidence)
        else:
            probabilities = self.head.probabilities(_features(embeddings, similarity, evidence))
        relevant = [True] * len(cleaned) if relevant is None else relevant
        skip = [not text or not keep for text, keep in zip(cleaned, relevant)]
        return [self._result(row, blank) for row, blank in zip(probabilities, skip)]

    def classify(self, texts: Sequence[str]) -> list[ComplaintResult]:
        """Encode and predict: for one-off use; the batched pipeline shares embeddings instead."""
        return self.predict(self.encoder.encode(texts), texts)

    def fit(self, records: Iterable[dict] | str | Path, save: bool = True,
            grid: Sequence[float] = (0.5, 1, 2, 4, 8, 16, 32)) -> FitReport:
        """Train the head on the taxonomy's examples plus labelled posts (records, or a file in the
        evaluation format); pick C by 5-fold CV on the posts; save it beside the taxonomy."""
        if isinstance(records, str | Path):
            from pipeline.classify.evaluation import read_labelled

            records = read_labelled(records)
        posts = [r for r in records if r.get("complaint") in self.taxonomy.outcomes and r.get("lang", "en") == "en"]
        if len({r["complaint"] for r in posts}) < 2:
            raise InputError(f"fit needs English posts of at least two of {', '.join(self.taxonomy.outcomes)}")
        base_texts, base_labels = self._taxonomy_examples()
        texts = [r["text"] for r in posts]
        labels = [r["complaint"] for r in posts]
        base, dev = self._training_features(base_texts), self._training_features(texts)
        best_c, best_f1 = _choose_c(base, base_labels, dev, labels, grid)
        head = self._train(np.vstack([base, dev]), base_labels + labels, best_c,
                           {"dev_posts": len(posts), "C": best_c, "cv_macro_f1": round(best_f1, 4), "seed": SEED})
        self.head = head
        path = self._head_path() if save else None
        if path is not None:
            path.write_text(head.to_json(), encoding="utf-8")
        return FitReport(len(base_texts), len(posts), best_f1, best_c, path)

    def _train(self, features: np.ndarray, labels: list[str], c: float, trained_on: dict) -> Head:
        model = _logistic(c).fit(features, labels)
        classes = [str(label) for label in model.classes_]
        return Head(
            taxonomy=self.taxonomy.version, encoder=self.encoder.version, classes=classes,
            coef=np.round(model.coef_.astype(np.float64), 6).tolist(),
            intercept=np.round(model.intercept_.astype(np.float64), 6).tolist(),
            trained_on=trained_on,
        )

    def _training_features(self, texts: list[str]) -> np.ndarray:
        embeddings = self.encoder.encode(texts)
        cleaned = [clean_text(text) for text in texts]
        return _features(embeddings, self._similarity(embeddings), self.taxonomy.matcher.evidence(cleaned))

    def _taxonomy_examples(self) -> tuple[list[str], list[str]]:
        texts, labels = [], []
        for label in self.taxonomy.labels:
            texts += label.examples
            labels += [label.name] * len(label.examples)
        return texts + self.taxonomy.none_examples, labels + [NONE] * len(self.taxonomy.none_examples)

    def _similarity(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, labels + 1): each label's blended similarity, then the similarity to ``none`` examples."""
        s = self.settings
        columns = []
        for prototypes in self._prototypes:
            centroid = prototypes.mean(axis=0)
            centroid /= np.linalg.norm(centroid) or 1.0
            near = top_k_similarity(embeddings, prototypes, s.top_k)
            columns.append((1 - s.centroid_weight) * near + s.centroid_weight * (embeddings @ centroid))
        columns.append(top_k_similarity(embeddings, self._none, s.top_k))
        return np.stack(columns, axis=1).astype(np.float32)

    def _few_shot(self, similarity: np.ndarray, evidence: np.ndarray) -> np.ndarray:
        s = self.settings
        labels = similarity[:, :-1] + s.evidence_boost * evidence
        none = np.maximum(similarity[:, -1], s.threshold)[:, None]
        return _softmax(np.hstack([labels, none]) / s.temperature)

    def _result(self, probabilities: np.ndarray, blank: bool) -> ComplaintResult:
        outcomes = self.head.classes if self.head is not None else self.taxonomy.outcomes
        if blank:
            return ComplaintResult(NONE, 1.0, {name: float(name == NONE) for name in self.taxonomy.outcomes})
        scores = {name: float(p) for name, p in zip(outcomes, probabilities)}
        scores = {name: round(scores.get(name, 0.0), 6) for name in self.taxonomy.outcomes}
        label = max(scores, key=scores.get)
        return ComplaintResult(label, scores[label], scores)

    def _head_path(self) -> Path | None:
        source = self.taxonomy.source
        return source.with_name(source.name.removesuffix(".yaml") + ".head.json") if source else None

    def _saved_head(self) -> Head | None:
        path = self._head_path()
        if path is None or not path.is_file():
            return None
        head = Head(**json.loads(path.read_text(encoding="utf-8")))
        if head.taxonomy != self.taxonomy.version or head.encoder != self.encoder.version:
            log.warning("%s was trained for %s with %s; using the few-shot mode (run fit again)",
                        path, head.taxonomy, head.encoder)
            return None
        return head


def _features(embeddings: np.ndarray, similarity: np.ndarray, evidence: np.ndarray) -> np.ndarray:
    return np.hstack([embeddings, similarity, evidence]).astype(np.float32)


def _logistic(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=5000, class_weight="balanced", random_state=SEED)


def _choose_c(base, base_labels, dev, labels, grid) -> tuple[float, float]:
    """The C with the best mean macro-F1 over 5 stratified folds of the posts (examples always train)."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    labels_array = np.asarray(labels)
    counts = np.unique(labels_array, return_counts=True)[1]
    folds = StratifiedKFold(n_splits=max(2, min(5, int(counts.min()))), shuffle=True, random_state=SEED)
    scores = {}
    for c in grid:
        f1s = []
        for train, held in folds.split(dev, labels_array):
            model = _logistic(c).fit(np.vstack([base, dev[train]]), base_labels + labels_array[train].tolist())
            f1s.append(f1_score(labels_array[held], model.predict(dev[held]), average="macro", zero_division=0))
        scores[c] = float(np.mean(f1s))
    best = max(grid, key=lambda c: (scores[c], -c))
    return best, scores[best]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
