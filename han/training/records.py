"""What a finished run records: metrics.json (accuracy, confusion, history) and config.json's sections.

Also the two evaluation helpers the training loop uses on dev after every epoch.
"""

from __future__ import annotations

import platform
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING

import torch

from han import __version__
from han.checkpoint.classifier import confusion_metrics
from han.data.batches import EncodedDocs, within_budget
from han.data.dataset import Dataset, bucket_batches
from han.data.prepare import Prepared
from han.data.text import TextLimits
from han.nn.model import HAN, VARIANTS
from han.nn.variants import CLASS_SUFFIX, design_parts

if TYPE_CHECKING:
    from han.training.config import TrainConfig


@torch.inference_mode()  # no autograd bookkeeping at all: these outputs never need a gradient
def predict_classes(model: HAN, docs: EncodedDocs, batch_size: int = 256) -> list[int]:
    """Predicted class per document, in input order."""
    model.eval()
    predicted = [0] * len(docs)
    counts = docs.sentence_counts.tolist()  # (n_docs,) sentences per document
    for batch in bucket_batches(counts, batch_size, shuffle=False):
        for indices in within_budget(batch, counts):
            logits = model(docs.batch(indices)).logits  # (n_docs, n_classes)
            for i, p in zip(indices, logits.argmax(dim=-1).tolist(), strict=True):
                predicted[i] = p
    return predicted


def accuracy(model: HAN, docs: EncodedDocs, targets: list[int]) -> float:
    predicted = predict_classes(model, docs)
    return sum(p == t for p, t in zip(predicted, targets, strict=True)) / max(len(targets), 1)


def final_metrics(model: HAN, data: Prepared, cfg: TrainConfig, info: dict, seconds: float) -> dict:
    results, predictions = {}, {}
    for split in ("dev", "test"):
        predictions[split] = predict_classes(model, data.docs[split])
        results[split] = confusion_metrics(data.targets[split], predictions[split], data.labels)
    majority = Counter(data.targets["train"]).most_common(1)[0][0]
    history = info["history"]
    per_lr = [
        {"lr": lr, "best_dev_accuracy": max((h["dev_accuracy"] for h in history if h["lr"] == lr), default=None)}
        for lr in cfg.lrs
    ]
    design = design_parts(asdict(cfg))  # the encoder, structure, score where they are not the paper's
    return {
        "model": VARIANTS[cfg.variant]
        + CLASS_SUFFIX.get(cfg.class_attention, "")
        + (f" [{', '.join(design)}]" if design else ""),
        "variant": cfg.variant,
        "dev_accuracy": results["dev"]["accuracy"],
        "test_accuracy": results["test"]["accuracy"],
        "test_per_class_accuracy": results["test"]["per_class_accuracy"],
        "test_confusion_matrix": results["test"]["confusion_matrix"],
        "labels": data.labels,
        "majority_test_accuracy": sum(t == majority for t in data.targets["test"]) / len(data.targets["test"]),
        "recipe": cfg.recipe,
        "lr": info["best"]["lr"],
        "best_epoch": info["best"]["epoch"],
        "collapsed": info["best"]["collapsed"],
        "collapsed_epochs": [[h["lr"], h["epoch"]] for h in history if h.get("collapsed")],
        "lr_grid": per_lr,
        "epochs_per_lr": cfg.epochs,
        "epochs_run": len(history),
        "training_time_s": round(info["elapsed"], 1),
        "wall_time_s": round(seconds, 1),
        "train_docs_per_s": round(sum(h["docs_per_s"] for h in history) / len(history), 1),
        "history": history,
        "test_predictions": predictions["test"],  # class ids in split order: paired bootstraps need no checkpoint
    }


def checkpoint_config(dataset: Dataset, data: Prepared, cfg: TrainConfig, limits: TextLimits, embeddings: dict) -> dict:
    import gensim
    import nltk

    return {
        "labels": data.labels,
        "text": asdict(limits)
        | {"sentence_splitter": "nltk punkt (default parameters + abbreviations)", "word_tokenizer": "nltk treebank"},
        "data": {
            "sources": dataset.sources,
            "read": dataset.read_args,
            "dropped_empty": data.dropped_empty,
            "fingerprint": dataset.fingerprint(),  # evaluation re-makes the split only from the same documents
        },
        "split": data.split,
        "vocab": {"size": len(data.vocab), "min_count": cfg.min_count, "max_vocab": cfg.max_vocab},
        "embeddings": embeddings,
        "training": asdict(cfg),
        "versions": {
            "han": __version__,
            "torch": torch.__version__,
            "nltk": nltk.__version__,
            "gensim": gensim.__version__,
            "python": platform.python_version(),
        },
    }
