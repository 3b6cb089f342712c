"""Relevance: is a post about the incident at all, or the same words in another sense?

The score reuses the embeddings the complaint head got (no second encoder pass). Six
pieces of evidence:

1. cosine to the profile's ``description``;
2. mean cosine to the 3 nearest on-topic posts (the taxonomy's examples and the
   profile's ``on_topic`` posts);
3. mean cosine to the 3 nearest ``off_topic`` posts (the other senses: tabs vs spaces,
   parking spaces, SpaceX, a game crash, what was said on air ...);
4. a profile ``keyword`` occurs (0/1);
5. a ``negative_keyword`` occurs ("parking space", "SpaceX", "Malcolm X") (0/1);
6. a keyword or pattern of any taxonomy label occurs (0/1).

``score = sigmoid(bias + weights . evidence)``, in 0..1; a post is relevant when the
score reaches ``threshold``. Weights and threshold live in the profile (``relevance:``).
The bundled values come from :func:`fit_relevance` on the live-audio dev split
(a logistic regression over these six numbers, threshold by 5-fold cross-validation)
and are reused unchanged by the bank profile. An empty post scores 0.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from pipeline.classify.encoder import Encoder, clean_text, top_k_similarity
from pipeline.classify.taxonomy import IncidentProfile, RelevanceSettings, Taxonomy

TOP_K = 3
SEED = 13


@dataclass(frozen=True)
class RelevanceResult:
    score: float
    relevant: bool


class RelevanceScorer:
    """Relevance of English posts to one incident, from their embeddings."""

    def __init__(self, profile: IncidentProfile, taxonomy: Taxonomy, encoder: Encoder):
        self.profile = profile
        self.taxonomy = taxonomy
        on_topic = [example for label in taxonomy.labels for example in label.examples] + profile.on_topic
        self._description = encoder.encode_references([profile.description])[0]
        self._on_topic = encoder.encode_references(on_topic)
        self._off_topic = encoder.encode_references(profile.off_topic)

    @property
    def version(self) -> str:
        content = json.dumps(self.profile.model_dump(mode="json", exclude={"aliases"}), sort_keys=True)
        return f"relevance/{self.profile.name}@{hashlib.sha256(content.encode()).hexdigest()[:8]}"

    def evidence(self, embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """(n, 6): the six pieces of evidence of the module docstring, in order."""
        cleaned = [clean_text(text) for text in texts]
        keywords = self.profile.keyword_matcher.evidence(cleaned)
        complaint_words = self.taxonomy.matcher.evidence(cleaned).max(axis=1, initial=0.0)
        return np.column_stack([
            embeddings @ self._description,
            top_k_similarity(embeddings, self._on_topic, TOP_K),
            top_k_similarity(embeddings, self._off_topic, TOP_K),
            keywords,
            complaint_words,
        ]).astype(np.float32)

    def score(self, embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """(n,) relevance in 0..1."""
        if len(texts) == 0:
            return np.zeros(0, dtype=np.float32)
        s = self.profile.relevance
        logits = s.bias + self.evidence(embeddings, texts) @ np.asarray(s.weights, dtype=np.float32)
        empty = np.array([not clean_text(text) for text in texts])
        return np.where(empty, 0.0, 1.0 / (1.0 + np.exp(-logits))).astype(np.float32)

    def predict(self, embeddings: np.ndarray, texts: Sequence[str]) -> list[RelevanceResult]:
        threshold = self.profile.relevance.threshold
        return [RelevanceResult(round(float(s), 6), bool(s >= threshold)) for s in self.score(embeddings, texts)]


def fit_relevance(scorer: RelevanceScorer, encoder: Encoder, records: Iterable[dict], c: float = 10.0) -> RelevanceSettings:
    """Weights and threshold from labelled posts (English only): paste them into the profile's ``relevance:``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    posts = [r for r in records if r.get("lang", "en") == "en"]
    texts = [r["text"] for r in posts]
    features = scorer.evidence(encoder.encode(texts), texts)
    truth = np.array([bool(r["relevant"]) for r in posts])
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=SEED)
    held_out = [cross_val_predict(model, features, truth, method="predict_proba",
                                  cv=StratifiedKFold(5, shuffle=True, random_state=SEED + seed))[:, 1]
                for seed in range(3)]  # three shuffles: one split of ~120 posts is too noisy to pick from

    def mean_f1(threshold: float) -> float:
        return float(np.mean([f1_score(truth, scores >= threshold, average="macro") for scores in held_out]))

    thresholds = np.round(np.arange(0.2, 0.71, 0.05), 2)
    threshold = max(thresholds, key=lambda t: (round(mean_f1(t), 3), -abs(t - 0.5)))
    model.fit(features, truth)
    names = ["description_weight", "on_topic_weight", "off_topic_weight", "keyword_weight",
             "negative_keyword_weight", "complaint_words_weight"]
    weights = {name: round(float(w), 2) for name, w in zip(names, model.coef_[0])}
    return RelevanceSettings(threshold=float(threshold), bias=round(float(model.intercept_[0]), 2), **weights)
