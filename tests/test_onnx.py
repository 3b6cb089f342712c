"""The onnx runtime: int8 graphs that agree with torch, a cache that exports once and heals, clear errors.

The fidelity tests use the shipped sentiment graph and a real export of the sentence encoder (once
per module, into a temporary cache); the cache tests use a tiny random BERT made here, which
exports in about a second.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.classify.encoder import Encoder
from pipeline.classify.labeller import Labeller
from pipeline.classify.onnx import SHIPPED, OnnxRunner, ensure_int8, export_int8, source_digest
from pipeline.classify.sentiment import SentimentModel
from pipeline.config import load_settings
from pipeline.errors import ConfigError
from test_sentiment import CLEAR

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "models" / "sentiment-v1"
POSTS = [
    *CLEAR,
    "Lmfao all of Spaces entirely broken",
    "I am having issues connecting to the X Spaces",
    "the space starts in 10 minutes, grab a seat",
    "tabs vs spaces, the eternal debate",
    "", "😡😡😡", "spaces down " * 200, b"\xff\xfe not utf-8",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_sentiment() -> SentimentModel:
    return SentimentModel.load(MODEL_DIR)


@pytest.fixture(scope="module")
def int8_sentiment(cache) -> SentimentModel:
    return SentimentModel.load(MODEL_DIR, runtime="onnx", cache_dir=cache)


@pytest.fixture(scope="module")
def torch_encoder() -> Encoder:
    return Encoder()


@pytest.fixture(scope="module")
def int8_encoder(cache) -> Encoder:
    return Encoder(runtime="onnx", cache_dir=cache)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A two-layer BERT classifier with random weights: real files, exported in a second."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=64, num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    folder = tmp_path_factory.mktemp("tiny-bert")
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_the_shipped_sentiment_graph_matches_its_weights_so_nothing_is_exported(cache):
    assert ensure_int8(MODEL_DIR, "classifier", cache, name="sentiment-v1") == MODEL_DIR / SHIPPED
    assert not list(cache.glob("sentiment-v1-*"))
    manifest = json.loads((MODEL_DIR / "model.int8.json").read_text())
    assert manifest["source_digest"] == source_digest(MODEL_DIR, "classifier")


def test_int8_sentiment_is_within_five_points_of_torch_and_agrees_on_clear_posts(torch_sentiment, int8_sentiment):
    reference, fast = torch_sentiment.predict(POSTS), int8_sentiment.predict(POSTS)
    assert fast.shape == (len(POSTS), 3)
    assert np.allclose(fast.sum(axis=1), 1.0, atol=1e-5)
    real = len(POSTS) - 4  # the last four are degenerate: empty, emoji only ([UNK]s), one phrase 200 times, bad bytes
    assert np.abs(fast - reference)[:real].max() < 0.05
    assert np.abs(fast - reference)[real:].max() < 0.1
    assert int8_sentiment.label_of(int8_sentiment.predict(list(CLEAR))) == list(CLEAR.values())


def test_int8_sentiment_gives_a_post_the_same_probabilities_whatever_posts_share_its_call(int8_sentiment):
    alone = np.vstack([int8_sentiment.predict([post]) for post in POSTS[:6]])
    together = int8_sentiment.predict(POSTS + POSTS[:6])  # repeated posts run once and get the same rows
    assert np.array_equal(alone, together[:6])
    assert np.array_equal(alone, together[len(POSTS):])


def test_int8_sentiment_returns_the_pooled_embeddings_and_handles_no_posts(int8_sentiment, torch_sentiment):
    _, fast = int8_sentiment.predict(["X Spaces is down"], return_embeddings=True)
    _, reference = torch_sentiment.predict(["X Spaces is down"], return_embeddings=True)
    assert fast.shape == (1, 384)
    assert float(fast[0] @ reference[0] / np.linalg.norm(fast[0]) / np.linalg.norm(reference[0])) > 0.97
    assert int8_sentiment.predict([]).shape == (0, 3)
    assert int8_sentiment.version == "sentiment-v1+int8"


def test_int8_encoder_embeddings_point_where_sentence_transformers_do(torch_encoder, int8_encoder):
    reference, fast = torch_encoder.encode(POSTS), int8_encoder.encode(POSTS)
    filled = np.linalg.norm(reference, axis=1) > 0
    cosines = (reference * fast).sum(axis=1)[filled]
    assert cosines.min() > 0.96 and cosines.mean() > 0.98
    assert np.allclose(np.linalg.norm(fast[filled], axis=1), 1.0, atol=1e-5)
    assert not fast[~filled].any()  # an empty post is the zero vector in both runtimes
    assert int8_encoder.dimension == 384 and int8_encoder.version == torch_encoder.version


def test_the_encoder_export_is_cached_under_the_weights_digest_and_reused(cache, int8_encoder):
    graphs = list(cache.glob("all-MiniLM-L6-v2-*.int8.onnx"))
    assert len(graphs) == 1
    before = graphs[0].stat().st_mtime_ns
    assert ensure_int8(Path(int8_encoder.model_name), "embedding", cache, name="all-MiniLM-L6-v2") == graphs[0]
    assert graphs[0].stat().st_mtime_ns == before


def test_a_labeller_on_each_runtime_labels_posts_and_only_int8_marks_its_version(cache):
    torch_settings = load_settings(sentiment_model=str(MODEL_DIR), classify_runtime="torch")
    onnx_settings = load_settings(sentiment_model=str(MODEL_DIR), classify_runtime="onnx", model_cache_dir=cache)
    slow, fast = Labeller.load(torch_settings), Labeller.load(onnx_settings)
    assert "int8" not in slow.version
    assert fast.version == slow.version.replace("sentiment-v1+", "sentiment-v1+int8+", 1) + "+encoder-int8"
    posts = ["Spaces never works when it matters", "Thank you so much, the new update is amazing and works great"]
    assert [label.sentiment for label in slow.label(posts)] == [label.sentiment for label in fast.label(posts)] == ["negative", "positive"]
    page = fast.label(POSTS)  # a post gets the same label row whatever page it is classified in
    assert [fast.label([post])[0] for post in POSTS[6:10]] == page[6:10]


def test_the_onnx_runtime_is_the_default_and_an_unknown_runtime_is_one_clear_error():
    assert load_settings().classify_runtime == "onnx"
    with pytest.raises(ConfigError, match="classify_runtime"):
        load_settings(classify_runtime="tensorrt")


def test_a_cached_graph_is_reused_and_not_exported_again(tiny_model, tmp_path):
    first = ensure_int8(tiny_model, "classifier", tmp_path, name="tiny")
    stamp = first.stat().st_mtime_ns
    assert ensure_int8(tiny_model, "classifier", tmp_path, name="tiny") == first
    assert first.stat().st_mtime_ns == stamp
    assert sorted(path.name for path in tmp_path.iterdir() if not path.name.endswith(".lock")) == [
        first.name.replace(".onnx", ".json"), first.name,
    ]


def test_a_truncated_cached_graph_is_exported_again(tiny_model, tmp_path):
    graph = ensure_int8(tiny_model, "classifier", tmp_path, name="tiny")
    intact = graph.read_bytes()
    graph.write_bytes(intact[: len(intact) // 2])
    assert ensure_int8(tiny_model, "classifier", tmp_path, name="tiny") == graph
    assert graph.read_bytes() == intact


def test_a_graph_whose_manifest_never_landed_is_exported_again(tiny_model, tmp_path):
    graph = ensure_int8(tiny_model, "classifier", tmp_path, name="tiny")
    graph.with_name(graph.name.replace(".onnx", ".json")).unlink()
    graph.write_bytes(b"half a graph")
    assert ensure_int8(tiny_model, "classifier", tmp_path, name="tiny") == graph
    assert OnnxRunner(graph).run([[1, 5, 9, 2]])[0].shape == (1, 3)


def test_a_damaged_shipped_graph_is_one_clear_error(tiny_model, tmp_path):
    folder = shutil.copytree(tiny_model, tmp_path / "model")
    shipped = export_int8(folder, "classifier", folder / SHIPPED)
    damaged = bytearray(shipped.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    shipped.write_bytes(bytes(damaged))
    with pytest.raises(ConfigError, match=r"model\.int8\.onnx does not match the sha256 in .*model\.int8\.json"):
        ensure_int8(folder, "classifier", tmp_path / "cache", name="tiny")


def test_a_shipped_graph_of_other_weights_gives_way_to_a_cached_export(tiny_model, tmp_path):
    folder = shutil.copytree(tiny_model, tmp_path / "model")
    export_int8(folder, "classifier", folder / SHIPPED)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "layer_norm_eps": 1e-6}))  # as if retrained
    graph = ensure_int8(folder, "classifier", tmp_path / "cache", name="tiny")
    assert graph.parent == tmp_path / "cache"


def test_an_unwritable_cache_is_one_clear_error(tiny_model, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(ConfigError, match="cannot write the ONNX cache .*model_cache_dir"):
        ensure_int8(tiny_model, "classifier", blocker / "cache", name="tiny")


def test_a_folder_without_weights_is_one_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="no model.safetensors or pytorch_model.bin"):
        ensure_int8(tmp_path, "classifier", tmp_path / "cache", name="empty")


def test_two_processes_asking_at_once_share_one_export(tiny_model, tmp_path):
    script = (
        "import logging, sys; from pathlib import Path; logging.basicConfig(level=logging.INFO, format='%(message)s');"
        "from pipeline.classify.onnx import ensure_int8;"
        "print(ensure_int8(Path(sys.argv[1]), 'classifier', Path(sys.argv[2]), name='tiny'))"
    )
    runs = [subprocess.Popen([sys.executable, "-c", script, str(tiny_model), str(tmp_path)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    assert len({stdout.strip() for stdout, _ in results}) == 1
    assert sum("exporting" in stderr for _, stderr in results) == 1
    assert not list(tmp_path.glob("*partial*")) and not list(tmp_path.glob("*.fp32"))
