"""Training: an lr grid chosen on dev, the best-on-dev model kept, a collapsed model never kept silently.

    train(dataset, out, config) -> writes a checkpoint to `out`, returns its metrics

One readable loop: mini-batches of 64 documents of similar length, the optimiser and lr schedule of
the recipe (han/training/recipes.py: the paper's SGD with momentum 0.9, or the default Adam with dropout),
gradient clipping, dev accuracy after every epoch. An epoch whose dev accuracy is no better than
always predicting the majority class is flagged as collapsed (stderr, metrics.json) and never
preferred to a healthy one. State is saved after every epoch in `out/.resume/` (safetensors +
JSON), so an interrupted run continues with `resume=True`.
"""

from __future__ import annotations

__all__ = ["Interrupted", "TrainConfig", "check_config", "pick_device", "train"]

import json
import math
import sys
import time
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from tqdm import tqdm

from han.checkpoint import io as checkpoint
from han.data.dataset import Dataset, bucket_batches
from han.data.prepare import Prepared, prepare, tokenized_store
from han.data.store import SentenceStream
from han.data.text import TextLimits
from han.errors import HanError
from han.nn.model import HAN, VARIANTS
from han.nn.variants import CLASS_SUFFIX
from han.training.build import build_model
from han.training.config import TrainConfig, check_config, pick_device
from han.training.distributed import Distributed, setup_distributed
from han.training.embeddings import KeyedVectors, embedding_size, initial_embeddings, load_vectors
from han.training.objectives import Objectives
from han.training.optim import (
    Schedule,
    make_optimizer,
    optimizer_groups,
    optimizer_tensors,
    restore_optimizer,
    weight_average,
)
from han.training.recipes import describe_auto, in_domain_documents, resolve_auto
from han.training.records import accuracy, checkpoint_config, final_metrics
from han.training.resume import ResumeState, prefixed, unprefixed


class Interrupted(HanError):
    """Training stopped by Ctrl-C; the last finished epoch is saved for --resume."""


def train_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: Schedule,
    data: Prepared,
    cfg: TrainConfig,
    epoch: int,
    description: str,
    dist: Distributed | None = None,
    average: torch.optim.swa_utils.AveragedModel | None = None,
) -> dict:
    """One pass over the training split; returns loss, accuracy and documents/s.

    `average` (--ema), when given, takes a step towards the model's weights after every optimiser step.

    Under torchrun every process builds the same seeded batch list and trains on its own
    shard of it (every world-th batch); DistributedDataParallel averages the gradients.
    """
    dist = dist or Distributed()
    model.train()
    torch.manual_seed(cfg.seed * 1000 + epoch)  # dropout masks repeat on --resume
    docs, targets = data.docs["train"], data.targets["train"]
    batches = epoch_batches(data, cfg, epoch, dist)
    device = next(model.parameters()).device
    total_loss, correct, seen, start = 0.0, 0, 0, time.perf_counter()
    objectives = Objectives(cfg, epoch)  # --word-dropout, --faithful-loss (han/training/objectives.py)
    bar = tqdm(
        batches, desc=description, unit="batch", disable=not (cfg.progress and dist.main), leave=False, file=sys.stderr
    )
    for indices in bar:
        batch = objectives.batch(docs.batch(indices, [targets[i] for i in indices]))  # gathered from the token store
        assert batch.labels is not None  # collate was given the targets
        labels = batch.labels.to(device)  # (n_docs,)
        output = objectives.forward(model, batch)  # model(batch); with --faithful-loss, also the KL term
        logits = output.logits  # (n_docs, n_classes)
        loss = objectives.add(F.cross_entropy(logits, labels, label_smoothing=cfg.label_smoothing), len(indices))
        if cfg.penalty and output.penalty is not None:  # multi-head attention: keep the heads apart
            loss = loss + cfg.penalty * output.penalty
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        optimizer.step()
        schedule.after_step()
        if average is not None:
            average.update_parameters(model)
        total_loss += loss.item() * len(indices)
        correct += int((logits.argmax(-1) == labels).sum().item())
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
    } | objectives.record(seen)  # all processes together


def epoch_batches(data: Prepared, cfg: TrainConfig, epoch: int, dist: Distributed) -> list[list[int]]:
    """This process's seeded, length-bucketed batches of one epoch (equal step counts on every rank)."""
    lengths = data.docs["train"].sentence_counts.tolist()  # (n_train,) sentences per document
    batches = bucket_batches(lengths, cfg.batch_size, shuffle=True, seed=cfg.seed * 1000 + epoch, bucket=cfg.bucket)
    return batches[dist.rank : len(batches) // dist.world * dist.world : dist.world]


# ----------------------------------------------------------------------------- the run


def train(
    dataset: Dataset,
    out: str | Path,
    cfg: TrainConfig | None = None,
    limits: TextLimits = TextLimits(),
    resume: bool = False,
    release_texts: bool = False,
) -> dict:
    """Train on `dataset`, write the best-on-dev checkpoint to `out`, return its metrics.

    `cfg` defaults to the default recipe (`TrainConfig()`). A dataset read without its texts
    (`read_dataset(keep_text=...)`, as the CLI does) is read again into the token store, a document at a
    time. With `release_texts` the dataset also lets go of any texts it holds, unlabelled ones included,
    once they are in the store and the word vectors are made (`Dataset.release_texts`); a caller that
    reuses the dataset should not ask for it.
    """
    cfg = cfg or TrainConfig()
    check_config(cfg)
    cfg, auto = resolve_auto(cfg, in_domain_documents(dataset, cfg))  # --embeddings auto, epochs, freezing
    vectors = load_vectors(cfg.embeddings)  # a bad vectors file fails here, before any tokenising
    cfg = replace(cfg, embed_dim=embedding_size(cfg.embeddings, cfg.embed_dim, vectors))
    out = Path(out)
    started = time.perf_counter()
    device = pick_device(cfg.device)
    dist = setup_distributed(device)
    if dist.world > 1 and device.type == "cuda":
        torch.cuda.set_device(device)
    state = ResumeState(out)
    fingerprint = {
        "training": asdict(cfg) | {"progress": None, "device": None, "workers": None},
        "limits": asdict(limits),
        "sources": dataset.sources,
    }
    info: dict = {"fingerprint": fingerprint, "lr_index": 0, "epoch": 0, "history": [], "best": None, "elapsed": 0.0}
    tensors: dict[str, torch.Tensor] = {}
    if resume:
        if not state.exists():
            raise HanError(f"{out}: nothing to resume (no .resume/state.json)")
        info, tensors, vocab = state.load()
        if json.loads(json.dumps(fingerprint)) != info["fingerprint"]:
            raise HanError(f"{out}: the saved run used different data or settings; start it again without --resume")
        data = _prepare_once(dataset, cfg, limits, dist, vocab=vocab)
        embedding = tensors["init.embedding"]
    else:
        data = _prepare_once(dataset, cfg, limits, dist, known_words=vectors.key_to_index if vectors else None)
        embedding = _shared_embeddings(data, dataset, cfg, limits, vectors, dist, device, info)
    if auto:  # recorded and said once the data has passed its checks (an error is then the first line on stderr)
        info["embeddings"]["auto"] = auto
        _log(cfg, dist, describe_auto(auto, cfg))
    if release_texts:
        dataset.release_texts()
    if cfg.epochs == 0:  # --epochs 0: the token store, vocabulary and word vectors are built (and cached)
        return {
            "epochs": 0,
            "documents": {s: len(data.docs[s]) for s in data.docs},
            "vocabulary": len(data.vocab),
            "token_store": str(data.corpus.folder),
            "embeddings": info["embeddings"],
            "seconds": round(time.perf_counter() - started, 1),
        }
    for split in ("train", "dev", "test"):
        if not data.docs[split]:
            raise HanError(f"the {split} split is empty; use more documents")
    dev_majority = _majority_share(data)
    try:
        for lr_index in range(info["lr_index"], len(cfg.lrs)):
            tensors = _train_lr(data, cfg, lr_index, embedding, device, dist, state, info, tensors, dev_majority)
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted; {len(info['history'])} epochs are saved in {state.directory}. "
            "Run the same command with --resume to continue."
        ) from None

    model = build_model(data, cfg, embedding, torch.device("cpu"))
    model.load_state_dict({k: v.cpu() for k, v in unprefixed("best", tensors).items()})
    metrics = final_metrics(model, data, cfg, info, time.perf_counter() - started) | {"processes": dist.world}
    if metrics["collapsed"]:
        _log(cfg, dist, collapse_warning(None, info["best"]["dev_accuracy"], dev_majority, final=True))
    if dist.main:
        config = checkpoint_config(dataset, data, cfg, limits, info["embeddings"])
        stale = checkpoint.save(out, model, data.vocab, config, metrics, half=cfg.half, split=data.split_codes)
        if stale:  # the replaced model's statistics and faithfulness figures: recompute them for this one
            _log(cfg, dist, f"removed {', '.join(stale)} of the replaced model from {out}: they described its weights")
        state.clear()
    dist.barrier()
    return metrics


def _prepare_once(dataset: Dataset, cfg: TrainConfig, limits: TextLimits, dist: Distributed, **known) -> Prepared:
    """`prepare` on every process, the token store built by rank 0 alone: the others wait, then map it."""
    if dist.world > 1 and not dist.main:
        dist.barrier()  # rank 0 is building the store in the shared cache
    data = prepare(
        dataset,
        limits,
        cfg.split_seed,
        cfg.min_count,
        cfg.max_vocab,
        train_fraction=cfg.train_fraction,
        workers=cfg.workers,
        **known,
    )
    if dist.world > 1 and dist.main:
        dist.barrier()
    return data


def _shared_embeddings(
    data: Prepared,
    dataset: Dataset,
    cfg: TrainConfig,
    limits: TextLimits,
    vectors: KeyedVectors | None,
    dist: Distributed,
    device: torch.device,
    info: dict,
) -> torch.Tensor:
    """The initial embedding table: made on rank 0 (word2vec runs once) and broadcast to the others."""
    assert cfg.embed_dim is not None  # resolved in train()
    if dist.main:

        def word2vec_text() -> tuple[SentenceStream, int]:  # train + dev + unlabelled sentences; only word2vec reads it
            labelled = (data.corpus, data.split_docs("train", "dev"))
            if not dataset.unlabelled:
                return SentenceStream(labelled), 0
            extra = tokenized_store(dataset.unlabelled, None, limits, cfg.workers)
            return SentenceStream(labelled, (extra, range(len(extra)))), len(extra)

        embedding, info["embeddings"] = initial_embeddings(cfg, data.vocab, word2vec_text, vectors)
    else:
        embedding, info["embeddings"] = torch.empty(len(data.vocab), cfg.embed_dim), {}
    if dist.world > 1:  # nccl needs the tensor on this process's GPU
        shared = embedding.to(device)
        torch.distributed.broadcast(shared, src=0)
        embedding = shared.cpu()
    return embedding


def _train_lr(
    data: Prepared,
    cfg: TrainConfig,
    lr_index: int,
    embedding: torch.Tensor,
    device: torch.device,
    dist: Distributed,
    state: ResumeState,
    info: dict,
    tensors: dict[str, torch.Tensor],
    dev_majority: float,
) -> dict[str, torch.Tensor]:
    """Train one learning rate of the grid from scratch (or from the resume state); returns the saved tensors."""
    lr = cfg.lrs[lr_index]
    model = build_model(data, cfg, embedding, device)
    optimizer = make_optimizer(model, cfg, lr)
    schedule = Schedule(optimizer, cfg, len(epoch_batches(data, cfg, 0, dist)))
    average = weight_average(model, cfg)  # --ema: the averaged weights are judged on dev and kept
    judged = model if average is None else cast(HAN, average.module)  # a deep copy of `model`
    if info["epoch"] > 0:  # continuing this lr from saved state
        model.load_state_dict(unprefixed("model", tensors))
        if average is not None:
            average.load_state_dict(unprefixed("average", tensors))
        restore_optimizer(optimizer, unprefixed("optimizer", tensors), info.get("optimizer_groups"))
        schedule.restore(info["schedule"])
    trained = model if dist.world == 1 else torch.nn.parallel.DistributedDataParallel(model)
    assert cfg.epochs is not None  # resolved in train()
    for epoch in range(info["epoch"], cfg.epochs):
        name = VARIANTS[cfg.variant] + CLASS_SUFFIX.get(cfg.class_attention, "")  # "HN-ATT (evidence)"
        label = f"{name} lr={lr:g} epoch {epoch + 1}/{cfg.epochs}"
        record = train_epoch(trained, optimizer, schedule, data, cfg, epoch, label, dist, average)
        dev = accuracy(judged, data.docs["dev"], data.targets["dev"])
        record |= {"lr": lr, "epoch": epoch + 1, "dev_accuracy": dev, "collapsed": dev <= dev_majority + 1e-12}
        info["history"].append(record)
        _log(
            cfg,
            dist,
            f"{label}: loss {record['loss']:.4f}, train acc {record['train_accuracy']:.4f}, "
            f"dev acc {dev:.4f}, {record['docs_per_s']:.0f} docs/s",
        )
        diverged = not math.isfinite(record["loss"])  # nan / inf: every later epoch of this lr would be too
        if diverged:
            _log(cfg, dist, f"{label}: the loss is {record['loss']}, training diverged: this lr stops (try a smaller)")
        if record["collapsed"]:
            _log(cfg, dist, collapse_warning(epoch + 1, dev, dev_majority))
        if _better(record, info["best"]):
            info["best"] = {k: record[k] for k in ("dev_accuracy", "lr", "epoch", "collapsed")}
            tensors = tensors | prefixed("best", {k: v.detach().clone() for k, v in judged.state_dict().items()})
        schedule.after_epoch(dev)
        info["elapsed"] += record["seconds"]
        stale = diverged or _stale(info["history"], lr, cfg.patience)
        if stale or epoch + 1 == cfg.epochs:  # this lr is done: a resume starts the next one
            info["lr_index"], info["epoch"] = lr_index + 1, 0
        else:
            info["epoch"] = epoch + 1
        info["optimizer_groups"], info["schedule"] = optimizer_groups(optimizer), schedule.state()
        tensors = (
            prefixed("model", model.state_dict())
            | (prefixed("average", average.state_dict()) if average is not None else {})
            | _only("best", tensors)
            | prefixed("optimizer", optimizer_tensors(optimizer))
            | {"init.embedding": embedding}
        )
        if dist.main:
            state.save(info, tensors, data.vocab)
        if stale:
            break
    return tensors


def _only(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors under `prefix`, names unchanged."""
    return {k: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def _better(record: dict, best: dict | None) -> bool:
    """Is this epoch a better model than the best so far? A collapsed epoch never beats a healthy one."""
    if best is None:
        return True
    if record["collapsed"] != best.get("collapsed", False):
        return best.get("collapsed", False)
    return record["dev_accuracy"] > best["dev_accuracy"]


def _majority_share(data: Prepared) -> float:
    """Dev accuracy of always predicting the training split's most common class."""
    majority = Counter(data.targets["train"]).most_common(1)[0][0]
    return sum(t == majority for t in data.targets["dev"]) / len(data.targets["dev"])


def collapse_warning(epoch: int | None, dev: float, majority: float, final: bool = False) -> str:
    """What a collapsed run looks like, why it happens and what to change."""
    when = "every epoch: the saved model" if final else f"after epoch {epoch} the model"
    return (
        f"warning: {when} is no better than always predicting the most common class "
        f"(dev accuracy {dev:.3f}, majority class {majority:.3f}). Likely cause: too few documents or epochs "
        "for the optimiser (SGD with the paper's settings needs far more data), or a learning rate far off. "
        "Try the default recipe (--recipe default: Adam with dropout), pretrained vectors "
        "(--embeddings glove-6b-50d), more epochs or more data."
    )


def _log(cfg: TrainConfig, dist: Distributed, message: str) -> None:
    """Epoch summaries go to stderr (rank 0 only), above the progress bar when there is one."""
    if dist.main:
        tqdm.write(message, file=sys.stderr) if cfg.progress else print(message, file=sys.stderr, flush=True)


def _stale(history: list[dict], lr: float, patience: int | None) -> bool:
    """True when the last `patience` epochs of this lr did not beat its earlier best dev."""
    runs = [h["dev_accuracy"] for h in history if h["lr"] == lr]
    return patience is not None and len(runs) > patience and max(runs[-patience:]) <= max(runs[:-patience])
