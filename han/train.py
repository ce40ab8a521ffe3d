"""Training: split, vocabulary, word2vec, an lr grid chosen on dev, the best model kept.

    prepare(dataset)  -> tokenised, encoded splits + vocabulary  (shared with bench/ and stats)
    train(dataset, out, config) -> writes a checkpoint to `out`, returns its metrics

One readable loop: SGD with momentum 0.9, mini-batches of 64 documents of similar length,
gradient clipping, dev accuracy after every epoch, the best-on-dev model over the whole grid
kept. State is saved after every epoch in `out/.resume/` (safetensors + JSON), so an
interrupted run continues with `resume=True`.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from . import __version__, checkpoint
from .classifier import confusion_metrics
from .data import Dataset, assign_splits, bucket_batches, collate
from .embeddings import random_embeddings, word2vec_embeddings
from .errors import HanError
from .model import HAN, VARIANTS, ModelConfig
from .text import TextLimits, Tokenized, tokenize_corpus
from .vocab import Vocab


@dataclass
class TrainConfig:
    """Everything that decides a training run; stored in the checkpoint's config.json."""

    variant: str = "att"  # pooling at both levels: att (HN-ATT), ave (HN-AVE), max (HN-MAX)
    epochs: int = 10  # epochs per learning rate of the grid
    batch_size: int = 64  # documents per mini-batch (paper: 64)
    lrs: list[float] = field(default_factory=lambda: [0.05])  # grid; the best on dev is kept
    momentum: float = 0.9  # SGD momentum (paper: 0.9)
    clip: float = 5.0  # gradient-norm clipping threshold
    seed: int = 0  # initialisation, word2vec and batch order
    split_seed: int = 0  # the train/dev/test split (kept fixed across seeds, as in the paper)
    embeddings: str = "word2vec"  # "word2vec" (paper) or "random"
    embed_dim: int = 200  # word vector size (paper: 200)
    w2v_epochs: int = 5  # word2vec passes over train+dev(+unlabelled) text
    min_count: int = 6  # a word needs this many training occurrences, else UNK (paper: > 5)
    max_vocab: int | None = None  # cap on vocabulary size (most frequent words kept)
    train_fraction: float = 1.0  # share of the train split used (learning curves); dev and test unchanged
    bucket: bool = True  # batch documents of similar sentence count together (paper)
    dropout: float = 0.0  # dropout on embeddings and sentence vectors (paper: none)
    patience: int | None = None  # stop an lr early after this many epochs without dev gain
    device: str = "auto"  # "auto" picks CUDA when present, else CPU
    half: bool = False  # store fp16 weights in the checkpoint (smaller files)
    progress: bool = True  # tqdm progress bars on stderr


@dataclass
class Prepared:
    """A dataset ready for the model: encoded splits, labels as class indices, vocabulary."""

    labels: list[str]  # class names, index = class id
    vocab: Vocab
    docs: dict[str, list[list[list[int]]]]  # split -> documents -> sentences -> word ids
    targets: dict[str, list[int]]  # split -> class ids
    tokens: dict[str, list[Tokenized]]  # split -> tokenised documents (for word2vec and stats)
    split: dict  # how the split was made, sizes and label counts
    dropped_empty: int  # documents without a single word, left out


@dataclass
class Distributed:
    """This process's place in a torchrun job (rank 0 of 1 when run alone)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def setup_distributed(device: torch.device) -> Distributed:
    """Join the torchrun process group when WORLD_SIZE > 1: gloo on CPU, nccl on GPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Distributed(torch.distributed.get_rank(), torch.distributed.get_world_size())


class Interrupted(HanError):
    """Training stopped by Ctrl-C; the last finished epoch is saved for --resume."""


def tokenize_examples(dataset: Dataset, limits: TextLimits) -> list[Tokenized]:
    return tokenize_corpus([e.text for e in dataset.examples], [e.sentences for e in dataset.examples], limits)


def prepare(
    dataset: Dataset,
    limits: TextLimits = TextLimits(),
    seed: int = 0,
    min_count: int = 6,
    max_vocab: int | None = None,
    vocab: Vocab | None = None,
    train_fraction: float = 1.0,
) -> Prepared:
    """Split, tokenise, build the vocabulary from train only, and encode every split.

    `train_fraction` < 1 keeps a seeded random share of the train split (same documents for every
    model seed), so learning curves compare models on identical, smaller training sets.
    """
    if not 0 < train_fraction <= 1:
        raise HanError(f"train fraction must be in (0, 1], not {train_fraction}")
    parts, split_record = assign_splits(dataset.examples, seed)
    if train_fraction < 1:
        chosen = random.Random(seed).sample(parts["train"], max(1, round(train_fraction * len(parts["train"]))))
        parts["train"] = sorted(chosen)
        split_record = split_record | {"train_fraction": train_fraction, "train_used": len(chosen)}
    tokenized = tokenize_examples(dataset, limits)
    labels = dataset.labels
    class_of = {name: i for i, name in enumerate(labels)}
    kept = {s: [i for i in parts[s] if tokenized[i].sentences] for s in parts}
    dropped = sum(len(parts[s]) - len(kept[s]) for s in parts)
    tokens = {s: [tokenized[i] for i in kept[s]] for s in kept}
    if not tokens["train"]:
        raise HanError("the training split has no document with words")
    vocab = vocab or Vocab.build((d.sentences for d in tokens["train"]), min_count, max_vocab)
    docs = {s: [[vocab.encode(sent) for sent in d.sentences] for d in tokens[s]] for s in tokens}
    targets = {s: [class_of[dataset.examples[i].label] for i in kept[s]] for s in kept}
    return Prepared(labels, vocab, docs, targets, tokens, split_record, dropped)


def pick_device(name: str) -> torch.device:
    """ "auto": this process's GPU (LOCAL_RANK under torchrun) when CUDA is present, else the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    return torch.device(name)


@torch.no_grad()
def predict_classes(model: HAN, docs: list[list[list[int]]], batch_size: int = 256) -> list[int]:
    """Predicted class per document, in input order."""
    model.eval()
    predicted = [0] * len(docs)
    for indices in bucket_batches([len(d) for d in docs], batch_size, shuffle=False):
        logits = model(collate([docs[i] for i in indices])).logits  # (n_docs, n_classes)
        for i, p in zip(indices, logits.argmax(dim=-1).tolist()):
            predicted[i] = p
    return predicted


def accuracy(model: HAN, docs: list[list[list[int]]], targets: list[int]) -> float:
    predicted = predict_classes(model, docs)
    return sum(p == t for p, t in zip(predicted, targets)) / max(len(targets), 1)


def train_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    data: Prepared,
    cfg: TrainConfig,
    epoch: int,
    description: str,
    dist: Distributed = Distributed(),
) -> dict:
    """One pass over the training split; returns loss, accuracy and documents/s.

    Under torchrun every process builds the same seeded batch list and trains on its own
    shard of it (every world-th batch); DistributedDataParallel averages the gradients.
    """
    model.train()
    torch.manual_seed(cfg.seed * 1000 + epoch)  # dropout masks repeat on --resume
    docs, targets = data.docs["train"], data.targets["train"]
    batches = bucket_batches(
        [len(d) for d in docs], cfg.batch_size, shuffle=True, seed=cfg.seed * 1000 + epoch, bucket=cfg.bucket
    )
    batches = batches[dist.rank : len(batches) // dist.world * dist.world : dist.world]  # equal steps per rank
    device = next(model.parameters()).device
    total_loss, correct, seen, start = 0.0, 0, 0, time.perf_counter()
    bar = tqdm(
        batches, desc=description, unit="batch", disable=not (cfg.progress and dist.main), leave=False, file=sys.stderr
    )
    for indices in bar:
        batch = collate([docs[i] for i in indices], [targets[i] for i in indices])
        labels = batch.labels.to(device)  # (n_docs,)
        logits = model(batch).logits  # (n_docs, n_classes)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        optimizer.step()
        total_loss += loss.item() * len(indices)
        correct += (logits.argmax(-1) == labels).sum().item()
        seen += len(indices)
        bar.set_postfix(
            loss=f"{total_loss / seen:.3f}",
            acc=f"{correct / seen:.3f}",
            docs_s=f"{dist.world * seen / (time.perf_counter() - start):.0f}",
        )
    seconds = time.perf_counter() - start
    return {
        "loss": total_loss / seen,
        "train_accuracy": correct / seen,
        "seconds": seconds,
        "docs_per_s": dist.world * seen / seconds,
    }  # all processes together


def build_model(data: Prepared, cfg: TrainConfig, embedding: torch.Tensor, device: torch.device) -> HAN:
    """A freshly initialised model (same seed for every lr) with the given embedding table."""
    torch.manual_seed(cfg.seed)
    model = HAN(
        ModelConfig(
            vocab_size=len(data.vocab),
            n_classes=len(data.labels),
            variant=cfg.variant,
            embed_dim=cfg.embed_dim,
            dropout=cfg.dropout,
        )
    )
    with torch.no_grad():
        model.embedding.weight.copy_(embedding)
    return model.to(device)


def make_embeddings(
    data: Prepared, dataset: Dataset, cfg: TrainConfig, limits: TextLimits
) -> tuple[torch.Tensor, dict]:
    if cfg.embeddings == "random":
        return random_embeddings(data.vocab, cfg.embed_dim, cfg.seed), {"method": "random"}
    if cfg.embeddings != "word2vec":
        raise HanError(f"unknown embeddings {cfg.embeddings!r}; use word2vec or random")
    sentences = [s for split in ("train", "dev") for d in data.tokens[split] for s in d.sentences]
    sentences += [s for doc in tokenize_corpus(dataset.unlabelled, None, limits) for s in doc.sentences]
    table, summary = word2vec_embeddings(sentences, data.vocab, cfg.embed_dim, cfg.seed, cfg.w2v_epochs)
    return table, summary | {"unlabelled_documents": len(dataset.unlabelled)}


# ----------------------------------------------------------------------------- resume state


class ResumeState:
    """Progress saved after every epoch: JSON for counters, safetensors for tensors."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / ".resume"

    def exists(self) -> bool:
        return (self.directory / "state.json").is_file()

    def save(self, info: dict, tensors: dict[str, torch.Tensor], vocab: Vocab) -> None:
        tmp = self.directory.with_name(".resume.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp / "tensors.safetensors"))
        vocab.save(tmp / "vocab.txt")
        (tmp / "state.json").write_text(json.dumps(info, indent=1))
        shutil.rmtree(self.directory, ignore_errors=True)
        tmp.rename(self.directory)  # the old state is replaced only once the new one is complete

    def load(self) -> tuple[dict, dict[str, torch.Tensor], Vocab]:
        info = checkpoint.read_json(self.directory / "state.json")
        return info, load_file(str(self.directory / "tensors.safetensors")), Vocab.load(self.directory / "vocab.txt")

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _prefixed(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in state.items()}


def _unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


# ----------------------------------------------------------------------------- the run


def train(
    dataset: Dataset,
    out: str | Path,
    cfg: TrainConfig = TrainConfig(),
    limits: TextLimits = TextLimits(),
    resume: bool = False,
) -> dict:
    """Train on `dataset`, write the best-on-dev checkpoint to `out`, return its metrics."""
    if cfg.variant not in VARIANTS:
        raise HanError(f"unknown variant {cfg.variant!r}; choose from {', '.join(VARIANTS)}")
    if not cfg.lrs or any(lr <= 0 for lr in cfg.lrs):
        raise HanError("learning rates must be positive")
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise HanError("epochs and batch size must be at least 1")
    out = Path(out)
    started = time.perf_counter()
    device = pick_device(cfg.device)
    dist = setup_distributed(device)
    if dist.world > 1 and device.type == "cuda":
        torch.cuda.set_device(device)
    state = ResumeState(out)
    fingerprint = {
        "training": asdict(cfg) | {"progress": None, "device": None},
        "limits": asdict(limits),
        "sources": dataset.sources,
    }
    info: dict = {
        "fingerprint": fingerprint,
        "lr_index": 0,
        "epoch": 0,
        "history": [],
        "best": {"dev_accuracy": -1.0},
        "elapsed": 0.0,
    }
    tensors: dict[str, torch.Tensor] = {}
    if resume:
        if not state.exists():
            raise HanError(f"{out}: nothing to resume (no .resume/state.json)")
        info, tensors, vocab = state.load()
        if json.loads(json.dumps(fingerprint)) != info["fingerprint"]:
            raise HanError(f"{out}: the saved run used different data or settings; start it again without --resume")
        data = prepare(dataset, limits, cfg.split_seed, vocab=vocab, train_fraction=cfg.train_fraction)
        embedding, embed_summary = tensors["init.embedding"], info["embeddings"]
    else:
        data = prepare(dataset, limits, cfg.split_seed, cfg.min_count, cfg.max_vocab, train_fraction=cfg.train_fraction)
        if dist.main:
            embedding, embed_summary = make_embeddings(data, dataset, cfg, limits)
        else:  # word2vec runs once, on rank 0, and its table is broadcast
            embedding, embed_summary = torch.empty(len(data.vocab), cfg.embed_dim), {}
        if dist.world > 1:  # nccl needs the tensor on this process's GPU
            shared = embedding.to(device)
            torch.distributed.broadcast(shared, src=0)
            embedding = shared.cpu()
        info["embeddings"] = embed_summary
    for split in ("train", "dev", "test"):
        if not data.docs[split]:
            raise HanError(f"the {split} split is empty; use more documents")

    best_state = _unprefixed("best", tensors)
    try:
        for lr_index in range(info["lr_index"], len(cfg.lrs)):
            lr = cfg.lrs[lr_index]
            model = build_model(data, cfg, embedding, device)
            optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=cfg.momentum)
            if info["epoch"] > 0:  # continuing this lr from saved state
                model.load_state_dict(_unprefixed("model", tensors))
                optimizer.load_state_dict(_optimizer_state(optimizer, _unprefixed("momentum", tensors)))
            trained = model if dist.world == 1 else torch.nn.parallel.DistributedDataParallel(model)
            for epoch in range(info["epoch"], cfg.epochs):
                label = f"{VARIANTS[cfg.variant]} lr={lr:g} epoch {epoch + 1}/{cfg.epochs}"
                record = train_epoch(trained, optimizer, data, cfg, epoch, label, dist)
                record |= {
                    "lr": lr,
                    "epoch": epoch + 1,
                    "dev_accuracy": accuracy(model, data.docs["dev"], data.targets["dev"]),
                }
                info["history"].append(record)
                _log(
                    cfg,
                    dist,
                    f"{label}: loss {record['loss']:.4f}, train acc {record['train_accuracy']:.4f}, "
                    f"dev acc {record['dev_accuracy']:.4f}, {record['docs_per_s']:.0f} docs/s",
                )
                if record["dev_accuracy"] > info["best"]["dev_accuracy"]:
                    info["best"] = {"dev_accuracy": record["dev_accuracy"], "lr": lr, "epoch": epoch + 1}
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                info["elapsed"] += record["seconds"]
                stale = _stale(info["history"], lr, cfg.patience)
                if stale or epoch + 1 == cfg.epochs:  # this lr is done: a resume starts the next one
                    info["lr_index"], info["epoch"] = lr_index + 1, 0
                else:
                    info["epoch"] = epoch + 1
                tensors = (
                    _prefixed("model", model.state_dict())
                    | _prefixed("best", best_state)
                    | _prefixed("momentum", _momentum(optimizer))
                    | {"init.embedding": embedding}
                )
                if dist.main:
                    state.save(info, tensors, data.vocab)
                if stale:
                    break
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted; {len(info['history'])} epochs are saved in {state.directory}. "
            "Run the same command with --resume to continue."
        ) from None

    model = build_model(data, cfg, embedding, torch.device("cpu"))
    model.load_state_dict({k: v.cpu() for k, v in best_state.items()})
    metrics = _final_metrics(model, data, cfg, info, time.perf_counter() - started) | {"processes": dist.world}
    if dist.main:
        config = _checkpoint_config(dataset, data, cfg, limits, embed_summary)
        checkpoint.save(out, model, data.vocab, config, metrics, half=cfg.half)
        state.clear()
    dist.barrier()
    return metrics


def _log(cfg: TrainConfig, dist: Distributed, message: str) -> None:
    """Epoch summaries go to stderr (rank 0 only), above the progress bar when there is one."""
    if dist.main:
        tqdm.write(message, file=sys.stderr) if cfg.progress else print(message, file=sys.stderr, flush=True)


def _stale(history: list[dict], lr: float, patience: int | None) -> bool:
    """True when the last `patience` epochs of this lr did not beat its earlier best dev."""
    runs = [h["dev_accuracy"] for h in history if h["lr"] == lr]
    return patience is not None and len(runs) > patience and max(runs[-patience:]) <= max(runs[:-patience])


def _momentum(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    return {
        str(i): optimizer.state[p]["momentum_buffer"]
        for i, p in enumerate(optimizer.param_groups[0]["params"])
        if optimizer.state[p].get("momentum_buffer") is not None
    }


def _optimizer_state(optimizer: torch.optim.Optimizer, buffers: dict[str, torch.Tensor]) -> dict:
    state = optimizer.state_dict()
    state["state"] = {int(i): {"momentum_buffer": b} for i, b in buffers.items()}
    return state


def _final_metrics(model: HAN, data: Prepared, cfg: TrainConfig, info: dict, seconds: float) -> dict:
    results = {}
    for split in ("dev", "test"):
        predicted = predict_classes(model, data.docs[split])
        results[split] = confusion_metrics(data.targets[split], predicted, data.labels)
    majority = Counter(data.targets["train"]).most_common(1)[0][0]
    history = info["history"]
    per_lr = [
        {"lr": lr, "best_dev_accuracy": max((h["dev_accuracy"] for h in history if h["lr"] == lr), default=None)}
        for lr in cfg.lrs
    ]
    return {
        "model": VARIANTS[cfg.variant],
        "variant": cfg.variant,
        "dev_accuracy": results["dev"]["accuracy"],
        "test_accuracy": results["test"]["accuracy"],
        "test_per_class_accuracy": results["test"]["per_class_accuracy"],
        "test_confusion_matrix": results["test"]["confusion_matrix"],
        "labels": data.labels,
        "majority_test_accuracy": sum(t == majority for t in data.targets["test"]) / len(data.targets["test"]),
        "lr": info["best"]["lr"],
        "best_epoch": info["best"]["epoch"],
        "lr_grid": per_lr,
        "epochs_per_lr": cfg.epochs,
        "epochs_run": len(history),
        "training_time_s": round(info["elapsed"], 1),
        "wall_time_s": round(seconds, 1),
        "train_docs_per_s": round(sum(h["docs_per_s"] for h in history) / len(history), 1),
        "history": history,
    }


def _checkpoint_config(
    dataset: Dataset, data: Prepared, cfg: TrainConfig, limits: TextLimits, embeddings: dict
) -> dict:
    import gensim
    import nltk

    return {
        "labels": data.labels,
        "text": asdict(limits)
        | {"sentence_splitter": "nltk punkt (default parameters + abbreviations)", "word_tokenizer": "nltk treebank"},
        "data": {"sources": dataset.sources, "read": dataset.read_args, "dropped_empty": data.dropped_empty},
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
