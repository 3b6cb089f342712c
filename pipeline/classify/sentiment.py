"""Sentiment of posts: negative / neutral / positive probabilities from a sequence-classification model.

:meth:`SentimentModel.load` takes our artifact (``models/sentiment-v1/``), any local Hugging Face
sequence-classification folder, or a hub model id (only where the user has internet or a cache).
Whatever the model's own label order, :meth:`SentimentModel.predict` returns columns in
:data:`LABELS` order. Posts are preprocessed as TweetEval does (``@user``, ``http``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.classify.onnx import DEFAULT_CACHE, Runtime
from pipeline.classify.tweets import LABELS, preprocess
from pipeline.errors import ConfigError

METADATA = "groundswell.json"
"""Our artifact's description: version, max_length, logit offsets, validation metrics."""

MAX_CHARS = 4_000
"""Posts are cut here before tokenizing: the model reads at most a few hundred tokens anyway."""

_NAMES = {
    "negative": "negative", "neg": "negative",
    "neutral": "neutral", "neu": "neutral",
    "positive": "positive", "pos": "positive",
}  # fmt: skip
_GENERIC = re.compile(r"^label_(\d+)$")


class SentimentModel:
    """A loaded sentiment model; ``predict`` is pure: the same texts give the same probabilities.

    Two runtimes run the same weights: ``torch`` (fp32, batches of similar length) and ``onnx``
    (the int8 graph of :mod:`pipeline.classify.onnx`, one post per run); the version records which
    (``sentiment-v1`` / ``sentiment-v1+int8``), since their probabilities differ slightly.
    """

    def __init__(self, forward, tokenizer, *, version: str, order: Sequence[int], max_length: int, offsets: Sequence[float],
                 runtime: Runtime = "torch"):
        self._forward = forward
        self.runtime = runtime
        self._tokenizer = tokenizer
        self._order = list(order)
        self._offsets = np.asarray(offsets, dtype=np.float32)
        self.version = version
        self.labels: tuple[str, ...] = LABELS
        self.max_length = max_length

    @classmethod
    def load(cls, location: str | Path, runtime: Runtime = "torch", cache_dir: Path = DEFAULT_CACHE, threads: int | None = None) -> "SentimentModel":
        """Load a model folder or hub id; :class:`ConfigError` with one line when it cannot be used.

        With ``runtime="onnx"`` the int8 graph comes from the folder (shipped) or from ``cache_dir``
        (exported on first use); a hub id is fetched into the Hugging Face cache first."""
        local = _is_local(location)
        if local and not Path(location).expanduser().is_dir():
            raise ConfigError(f"sentiment model folder {location} does not exist; run `groundswell train sentiment` or point the settings at a model")
        if local:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        folder = str(Path(location).expanduser()) if local else str(location)
        if runtime == "onnx":
            folder = folder if local else _snapshot(folder)
            forward, tokenizer, id2label = _load_onnx(Path(folder), cache_dir, threads)
        else:
            forward, tokenizer, id2label = _load_transformers(folder)
        metadata = _read_metadata(Path(folder)) if local else {}
        version = _version(location, metadata)
        return cls(
            forward,
            tokenizer,
            version=f"{version}+int8" if runtime == "onnx" else version,
            order=label_order(id2label, location),
            max_length=int(metadata.get("max_length") or min(getattr(tokenizer, "model_max_length", 512), 512)),
            offsets=metadata.get("logit_offsets") or [0.0] * len(LABELS),
            runtime=runtime,
        )

    def predict(self, texts: Sequence[str], batch_size: int = 64, return_embeddings: bool = False):
        """(n, 3) probabilities in ``labels`` order; with ``return_embeddings`` also the mean-pooled
        last hidden state (n, hidden) of the same forward pass (not the sentence-transformers space)."""
        prepared = [preprocess(_as_text(text)[:MAX_CHARS]) for text in texts]
        ids = self._tokenizer(prepared, truncation=True, max_length=self.max_length)["input_ids"] if prepared else []
        logits, embeddings = self._forward(ids, batch_size)
        probabilities = _softmax(logits[:, self._order] + self._offsets).astype(np.float32)
        return (probabilities, embeddings) if return_embeddings else probabilities

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens the model reads for each post (special tokens included, after truncation)."""
        prepared = [preprocess(_as_text(text)[:MAX_CHARS]) for text in texts]
        return [len(ids) for ids in self._tokenizer(prepared, truncation=True, max_length=self.max_length)["input_ids"]]

    def label_of(self, probabilities: np.ndarray) -> list[str]:
        """The most probable label of each row."""
        return [self.labels[index] for index in np.asarray(probabilities).argmax(axis=1)]


def label_order(id2label: dict, location: object = "the model") -> list[int]:
    """Model output index of each of :data:`LABELS`, from the config's ``id2label``.

    Names such as NEGATIVE/neg/Neutral map by meaning; three generic ``LABEL_0..2`` names are
    read in TweetEval's order (negative, neutral, positive), as the cardiffnlp models use them.
    """
    names = {int(index): str(name).strip().lower() for index, name in id2label.items()}
    if len(names) == len(LABELS) and all(_GENERIC.match(name) for name in names.values()):
        return [next(i for i, name in names.items() if name == f"label_{k}") for k in range(len(LABELS))]
    found = {_NAMES[name]: index for index, name in names.items() if name in _NAMES}
    missing = [label for label in LABELS if label not in found]
    if missing:
        shown = ", ".join(names[i] for i in sorted(names))
        raise ConfigError(f"{location} has labels ({shown}); a sentiment model needs negative, neutral and positive classes")
    return [found[label] for label in LABELS]


def _is_local(location: str | Path) -> bool:
    """A Path, an absolute or ./ path, or an existing folder; anything else is taken as a hub id."""
    text = str(location)
    return isinstance(location, Path) or Path(text).expanduser().exists() or text.startswith((".", "/", "~", "\\")) or text.count("/") > 1


def _read_metadata(folder: Path) -> dict:
    path = folder / METADATA
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path} is not readable JSON ({error}); restore the model folder") from error


def _load_transformers(location: str):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModelForSequenceClassification.from_pretrained(location, dtype=torch.float32)
    except Exception as error:  # transformers raises OSError, ValueError, safetensors and JSON errors alike
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"cannot load sentiment model {location}: {first_line}") from error
    return _TorchForward(model.eval(), tokenizer), tokenizer, model.config.id2label


def _snapshot(hub_id: str) -> str:
    """The local folder of a hub model's config, tokenizer and weights (downloaded when online)."""
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(hub_id, allow_patterns=["*.json", "*.txt", "*.model", "model.safetensors", "pytorch_model.bin"])
    except Exception as error:  # huggingface_hub raises many types for offline, missing and gated repos
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"cannot fetch sentiment model {hub_id}: {first_line}") from error


def _load_onnx(folder: Path, cache_dir: Path, threads: int | None):
    from transformers import AutoConfig, AutoTokenizer

    from pipeline.classify.onnx import OnnxRunner, ensure_int8

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        id2label = AutoConfig.from_pretrained(folder).id2label
    except Exception as error:  # as in _load_transformers
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"cannot load sentiment model {folder}: {first_line}") from error
    runner = OnnxRunner(ensure_int8(folder, "classifier", cache_dir, name=folder.name), threads)
    return lambda ids, _batch_size: tuple(runner.run(ids)), tokenizer, id2label


class _TorchForward:
    """fp32 torch: posts sorted by length and batched, so padding stays small."""

    def __init__(self, model, tokenizer):
        self._model = model
        self._tokenizer = tokenizer

    def __call__(self, ids: Sequence[Sequence[int]], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        import torch

        logits = np.zeros((len(ids), self._model.config.num_labels), dtype=np.float32)
        embeddings = np.zeros((len(ids), self._model.config.hidden_size), dtype=np.float32)
        order = np.argsort([len(row) for row in ids], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                inputs = self._tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
                output = self._model(**inputs, output_hidden_states=True)
                logits[batch] = output.logits.float().numpy()
                embeddings[batch] = _mean_pool(output.hidden_states[-1], inputs["attention_mask"])
        return logits, embeddings


def _version(location: str | Path, metadata: dict) -> str:
    if metadata.get("version"):
        return f"sentiment-{metadata['version']}"
    return Path(str(location)).name or str(location)


def _as_text(text: object) -> str:
    if isinstance(text, bytes):
        return text.decode("utf-8", errors="replace")
    return text if isinstance(text, str) else ""


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _mean_pool(hidden, mask) -> np.ndarray:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return ((hidden * weights).sum(1) / weights.sum(1).clamp(min=1)).float().numpy()
