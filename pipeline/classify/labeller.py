"""The one batched entry point: posts in, labels out, ``post_labels`` written.

Every model loads once per :class:`Labeller`. For a batch of texts: language
first; English posts then go through one sentence-encoder pass shared by the
complaint and relevance heads, spaCy for blame, and the fine-tuned sentiment
transformer. A non-English post is stored with its language and
``is_english = false`` and no English-only label, never silently classified as
English. A label row carries the version of every model that made it, so a new
model version labels the posts again beside the old rows, which stay comparable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import pyarrow as pa

from pipeline.config import Settings
from pipeline.store import Store

LABEL_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("model_version", pa.string()),
        ("language", pa.string()),
        ("is_english", pa.bool_()),
        ("sentiment", pa.string()),
        ("p_negative", pa.float64()),
        ("p_neutral", pa.float64()),
        ("p_positive", pa.float64()),
        ("complaint_type", pa.string()),
        ("complaint_score", pa.float64()),
        ("complaint_scores", pa.map_(pa.string(), pa.float64())),
        ("relevance", pa.float64()),
        ("relevant", pa.bool_()),
        ("blame_target", pa.string()),
        ("blame_entity", pa.string()),
        ("entities", pa.string()),
    ]
)


@dataclass(frozen=True)
class PostLabel:
    """Everything the classifiers say about one post (None where a head did not run)."""

    language: str
    is_english: bool
    sentiment: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    complaint_type: str | None = None
    complaint_score: float | None = None
    complaint_scores: dict[str, float] = field(default_factory=dict)
    relevance: float | None = None
    relevant: bool | None = None
    blame_target: str | None = None
    blame_entity: str | None = None
    entities: list[dict] = field(default_factory=list)


class Labeller:
    """The sentiment model and the incident heads, loaded once."""

    def __init__(self, sentiment, heads, batch_size: int = 64):
        self.sentiment = sentiment
        self.heads = heads
        self.batch_size = batch_size

    @classmethod
    def load(cls, settings: Settings) -> Labeller:
        from pipeline.classify.evaluation import HeadSet
        from pipeline.classify.sentiment import SentimentModel
        from pipeline.classify.taxonomy import load_profile, load_taxonomy

        from pipeline.classify.encoder import Encoder

        profile = load_profile(settings.incident_profile)
        taxonomy = load_taxonomy(settings.taxonomy) if settings.taxonomy else None
        sentiment = SentimentModel.load(settings.sentiment_model, **runtime_options(settings))
        return cls(sentiment, HeadSet(profile, taxonomy, Encoder(**runtime_options(settings))), settings.classify_batch_size)

    @property
    def version(self) -> str:
        """Every model's version; ``+encoder-int8`` when the heads' encoder ran on the onnx runtime,
        whose embeddings (and so labels) differ slightly from torch's (the sentiment version says
        the same for itself: ``sentiment-v1+int8``)."""
        encoder = "+encoder-int8" if self.heads.encoder.runtime == "onnx" else ""
        return f"{self.sentiment.version}+{self.heads.version}{encoder}"

    def label(self, texts: Sequence[str]) -> list[PostLabel]:
        """The labels of ``texts``, in order. A label depends on the text alone, so each distinct
        text is classified once and its copies (reposts, copy-pasted complaints: 15% of the sample
        incident's posts) share its label."""
        distinct = list(dict.fromkeys(texts))
        labels = dict(zip(distinct, self._label_distinct(distinct)))
        return [labels[text] for text in texts]

    def _label_distinct(self, texts: Sequence[str]) -> list[PostLabel]:
        """On the onnx runtime the sentiment model runs on a second thread while the heads run: ONNX
        Runtime releases the GIL, so spaCy's one-core NER overlaps transformer work. Each int8 post
        runs alone, so the overlap cannot change a label; torch keeps the plain order."""
        from pipeline.classify.language import detect_languages

        languages = detect_languages(texts)
        english = [index for index, language in enumerate(languages) if language.is_english]
        chosen = [texts[index] for index in english]
        if self.heads.encoder.runtime == self.sentiment.runtime == "onnx":
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending = pool.submit(self.sentiment.predict, chosen, batch_size=self.batch_size)
                heads = self.heads.predict(list(texts), languages=languages)
                probabilities = pending.result()
        else:
            heads = self.heads.predict(list(texts), languages=languages)
            probabilities = self.sentiment.predict(chosen, batch_size=self.batch_size)
        sentiment = dict(zip(english, probabilities))
        return [self._label(result, sentiment.get(index)) for index, result in enumerate(heads)]

    def _label(self, heads, probabilities) -> PostLabel:
        if not heads.language.is_english:
            return PostLabel(language=heads.language.lang, is_english=False)
        named = dict(zip(self.sentiment.labels, (float(p) for p in probabilities)))
        complaint, relevance, blame = heads.complaint, heads.relevance, heads.blame
        return PostLabel(
            language=heads.language.lang,
            is_english=True,
            sentiment=max(named, key=named.get),
            probabilities=named,
            complaint_type=complaint.label,
            complaint_score=float(complaint.score),
            complaint_scores={name: float(score) for name, score in complaint.scores.items()},
            relevance=float(relevance.score),
            relevant=bool(relevance.relevant),
            blame_target=blame.target,
            blame_entity=blame.entity,
            entities=[asdict(entity) for entity in blame.entities],
        )

    def table(self, post_ids: Sequence[str], labels: Sequence[PostLabel]) -> pa.Table:
        """Label rows in the ``post_labels`` layout."""
        rows = {name: [] for name in LABEL_SCHEMA.names}
        for post_id, label in zip(post_ids, labels):
            rows["post_id"].append(post_id)
            rows["model_version"].append(self.version)
            rows["language"].append(label.language)
            rows["is_english"].append(label.is_english)
            rows["sentiment"].append(label.sentiment)
            for name in ("negative", "neutral", "positive"):
                rows[f"p_{name}"].append(label.probabilities.get(name))
            rows["complaint_type"].append(label.complaint_type)
            rows["complaint_score"].append(label.complaint_score)
            rows["complaint_scores"].append(list(label.complaint_scores.items()) or None)
            rows["relevance"].append(label.relevance)
            rows["relevant"].append(label.relevant)
            rows["blame_target"].append(label.blame_target)
            rows["blame_entity"].append(label.blame_entity)
            rows["entities"].append(json.dumps(label.entities) if label.is_english else None)
        return pa.Table.from_pydict(rows, schema=LABEL_SCHEMA)


def runtime_options(settings: Settings) -> dict:
    """How the transformers run (``runtime``, ``cache_dir``, ``threads``): what SentimentModel.load and Encoder take."""
    return {"runtime": settings.classify_runtime, "cache_dir": settings.model_cache_dir, "threads": settings.classify_threads}


@dataclass
class ClassifyReport:
    model_version: str
    labelled: int = 0
    english: int = 0
    seconds: float = 0.0

    def render(self) -> str:
        rate = f" ({self.labelled / self.seconds:,.0f} posts/s)" if self.seconds else ""
        return (
            f"labelled {self.labelled:,} posts with {self.model_version}: {self.english:,} English, "
            f"{self.labelled - self.english:,} other languages{rate}"
        )


def classify_pending(
    store: Store, labeller: Labeller, *, page_size: int = 1024, progress: Callable[[int], None] | None = None
) -> ClassifyReport:
    """Label every post that has no label from this model version yet.

    Pages are taken in id order after the last id done, each written in its own
    transaction, so an interrupted run resumes where it stopped and a finished
    one finds nothing to do."""
    import time

    report = ClassifyReport(labeller.version)
    started = time.perf_counter()
    for page in pending_pages(store, labeller.version, page_size):
        post_ids, texts = zip(*page)
        labels = labeller.label(texts)
        with store.transaction():
            store.append_labels(labeller.table(post_ids, labels))
        report.labelled += len(labels)
        report.english += sum(label.is_english for label in labels)
        if progress:
            progress(len(labels))
    report.seconds = time.perf_counter() - started
    return report


MODEL_SETTINGS = (
    "sentiment_model", "incident_profile", "taxonomy", "classify_batch_size", "classify_runtime", "classify_threads", "model_cache_dir",
)
"""The settings that decide which models a Labeller loads and how it batches."""


def model_settings(settings: Settings) -> dict:
    """The model-relevant settings as plain JSON values: what a remote worker needs to load the same Labeller."""
    return settings.model_dump(mode="json", include={name for name in MODEL_SETTINGS if name in Settings.model_fields})


def labeller_for(models: dict) -> Labeller:
    """This process's Labeller for ``models`` (see :func:`model_settings`), loaded on first use and then
    reused: a Dask worker loads the models once, not once per batch."""
    return _cached_labeller(json.dumps(models, sort_keys=True))


def loaded_labeller_count() -> int:
    """How many Labellers this process holds (0 or 1): a Dask worker reports it to show the models stay loaded."""
    return _cached_labeller.cache_info().currsize


@lru_cache(maxsize=1)
def _cached_labeller(models_json: str) -> Labeller:
    from pipeline.config import load_settings

    return Labeller.load(load_settings(**json.loads(models_json)))


def label_page(models: dict, post_ids: Sequence[str], texts: Sequence[str]) -> pa.Table:
    """Label one page of posts with this process's Labeller; the rows for ``post_labels``."""
    labeller = labeller_for(models)
    return labeller.table(post_ids, labeller.label(texts))


def pending_pages(store: Store, model_version: str, page_size: int) -> Iterator[list[tuple[str, str]]]:
    """(id, text) pages of the posts not labelled by ``model_version``, in id order (keyset paging, so
    pages already labelled while iterating are never read twice)."""
    last_id = ""
    while page := pending_page(store, model_version, last_id, page_size):
        yield page
        last_id = page[-1][0]


def pending_count(store: Store, model_version: str) -> int:
    return store.query(
        "SELECT count(*) FROM posts p ANTI JOIN post_labels l ON l.post_id = p.id AND l.model_version = ?",
        [model_version],
    )[0][0]


def pending_page(store: Store, model_version: str, after: str, size: int) -> list[tuple[str, str]]:
    return store.query(
        "SELECT p.id, p.text FROM posts p "
        "ANTI JOIN (SELECT post_id FROM post_labels WHERE model_version = $version) l ON l.post_id = p.id "
        "WHERE p.id > $after ORDER BY p.id LIMIT $size",
        {"version": model_version, "after": after, "size": size},
    )


def classify(texts: Sequence[str], labeller: Labeller | None = None, settings: Settings | None = None) -> list[PostLabel]:
    """Label texts with the configured models (loaded now unless a Labeller is given)."""
    from pipeline.config import load_settings

    labeller = labeller or Labeller.load(settings or load_settings())
    return labeller.label(texts)


