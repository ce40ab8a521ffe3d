"""What decides a training run (TrainConfig, stored in every checkpoint) and its checks before any data is read."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import torch

from han.errors import HanError
from han.nn.cahan import AGGREGATES, DIRECTIONS
from han.nn.model import DROPOUT_PLACES, HEAD_LEVELS, VARIANTS
from han.nn.pooling import COMBINE
from han.training.designs import check_design
from han.training.objectives import check_objectives

OPTIMIZERS = ("sgd", "adam", "adamw")  # --optimizer's choices (han/training/optim.py builds them)
SCHEDULES = ("constant", "cosine", "plateau")  # --lr-schedule's choices (han/training/optim.py steps them)


@dataclass
class TrainConfig:
    """Everything that decides a training run; stored in the checkpoint's config.json.

    The defaults are the `default` recipe; `han.training.recipes.recipe_config("paper")` gives the paper's
    settings (SGD with momentum, word2vec 200-d, no dropout). The CLI starts from `--recipe`.
    """

    recipe: str = "default"  # the recipe these settings started from: "default" or "paper" (han/training/recipes.py)
    variant: str = "att"  # pooling at both levels: att (HN-ATT), ave (HN-AVE), max (HN-MAX)
    epochs: int | None = None  # per learning rate (0: store and vectors only); None: 6, or 8 where auto picks word2vec
    batch_size: int = 32  # documents per mini-batch (paper: 64)
    optimizer: str = "adam"  # "sgd" (paper: with momentum), "adam" or "adamw"
    lrs: list[float] = field(default_factory=lambda: [2e-3])  # grid; the best on dev is kept
    momentum: float = 0.9  # SGD momentum (paper: 0.9); ignored by Adam(W)
    weight_decay: float = 0.0  # L2 (SGD, Adam) or decoupled (AdamW) weight decay
    lr_schedule: str = "constant"  # "constant", "cosine" (to 0 at the last epoch) or "plateau" (halve on dev stall)
    warmup_epochs: float = 0.0  # linear lr warm-up over this many epochs (fractions allowed)
    label_smoothing: float = 0.0  # cross-entropy label smoothing (paper: none)
    clip: float = 5.0  # gradient-norm clipping threshold
    ema: float = 0.0  # decay per step of a moving average of the weights (0: off); dev and the checkpoint use it
    seed: int = 0  # initialisation, word2vec and batch order
    split_seed: int = 0  # the train/dev/test split (kept fixed across seeds, as in the paper)
    embeddings: str = "auto"  # word2vec (paper), random, glove-6b-50d, a vectors file (either +word2vec), or auto
    embed_dim: int | None = None  # word vector size; None: 200 (paper) or the pretrained vectors' size
    freeze_embeddings: bool | None = None  # keep the initial vectors fixed; None: only where auto picks word2vec
    w2v_epochs: int = 5  # word2vec passes over train+dev(+unlabelled) text
    min_count: int = 6  # a word needs this many training occurrences, else UNK (paper: > 5)
    max_vocab: int | None = None  # cap on vocabulary size (most frequent words kept)
    train_fraction: float = 1.0  # share of the train split used (learning curves); dev and test unchanged
    bucket: bool = True  # batch documents of similar sentence count together (paper)
    dropout: float = 0.3  # dropout probability where `dropout_at` says (paper: none)
    dropout_at: tuple[str, ...] = ("embeddings", "sentences")  # embeddings, sentences (between levels), classifier
    heads: int = 1  # attention heads (Lin et al. 2017; variant att only); 1 = the paper's attention
    heads_at: str = "both"  # where the heads are: word, sentence or both levels
    head_combine: str = "mean"  # the heads' pooled vectors: mean, or concat (concatenated, then projected)
    penalty: float = 0.0  # weight c of the heads' redundancy penalty ||A A^T - I||_F^2 added to the loss
    context_direction: str = "left"  # CAHAN (variant cahan): context from the sentences before, or "bi"
    context_aggregate: str = "sum"  # CAHAN: "sum" or "mean" of those sentences' vectors
    context_gate: bool = False  # CAHAN: the gated version (a word's own projection against the context's)
    score: str = "additive"  # attention score against u_ctx: additive (paper), dot, scaled-dot, general, cosine
    temperature: float = 1.0  # attention scores divided by it (Sun & Lu 2020); 1 = the paper's
    encoder: str = "gru"  # sequence encoder where `encoder_at` says: gru (paper), transformer, conv, none
    encoder_at: str = "both"  # word, sentence or both levels
    layers: int = 1  # Transformer layers
    attention_heads: int = 4  # Transformer self-attention heads (they must divide 2 * 50)
    structure: str = "hierarchical"  # hierarchical (HAN) or flat (one encoder and attention over all words: FLAN)
    faithful_loss: float = 0.0  # LAMBDA of KL(softmax(target / T) || attention) (han/training/objectives.py); 0: off
    faithful_target: str = "grad-input"  # the attribution the attention is trained towards
    faithful_level: str = "both"  # the KL on word weights ("word") or on word and sentence weights ("both")
    faithful_temperature: float = 0.25  # T of the target's softmax (targets scaled to [-1, 1] per row)
    faithful_after: int = 1  # epochs trained on the task alone before the faithful loss starts
    tasc: bool = False  # task-scaled word attention (TaSc, han/nn/tasc.py)
    class_attention: str = "none"  # an attention per class: "separate" readout or "evidence" (han/nn/evidence.py)
    word_dropout: float = 0.0  # probability of removing each word of a training document (0: off)
    patience: int | None = None  # stop an lr early after this many epochs without dev gain
    device: str = "auto"  # "auto" picks CUDA when present, else CPU
    half: bool = False  # store fp16 weights in the checkpoint (smaller files)
    progress: bool = True  # tqdm progress bars on stderr
    workers: int = 0  # tokenising processes (0: one per available core); the tokens are the same for any number


def pick_device(name: str) -> torch.device:
    """ "auto": this process's GPU (LOCAL_RANK under torchrun) when CUDA is present, else the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise HanError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise HanError(f"device {name!r} is not supported; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HanError(f"--device {name}: this machine has no CUDA GPU that torch can use; use --device cpu or auto")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise HanError(f"--device {name}: there are only {torch.cuda.device_count()} CUDA device(s)")
    return device


def check_config(cfg: TrainConfig) -> None:
    """Refuse settings that cannot train, before any data is read."""
    if cfg.variant not in VARIANTS:
        raise HanError(f"unknown variant {cfg.variant!r}; choose from {', '.join(VARIANTS)}")
    if not cfg.lrs or any(lr <= 0 for lr in cfg.lrs):
        raise HanError("learning rates must be positive")
    if (cfg.epochs is not None and cfg.epochs < 0) or cfg.batch_size < 1:
        raise HanError("epochs cannot be negative (0 builds the token store and word vectors only), batch size >= 1")
    if cfg.workers < 0:
        raise HanError(f"--workers must be 0 (one per core) or more, not {cfg.workers}")
    if cfg.optimizer not in OPTIMIZERS:
        raise HanError(f"unknown optimizer {cfg.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    if cfg.lr_schedule not in SCHEDULES:
        raise HanError(f"unknown lr schedule {cfg.lr_schedule!r}; choose from {', '.join(SCHEDULES)}")
    if not 0 <= cfg.dropout < 1 or not 0 <= cfg.label_smoothing < 1:
        raise HanError("dropout and label smoothing must be in [0, 1)")
    if cfg.weight_decay < 0 or cfg.warmup_epochs < 0:
        raise HanError("weight decay and warm-up epochs cannot be negative")
    pick_device(cfg.device)  # an unknown device, or CUDA without a GPU, is refused here
    check_numbers(cfg)
    check_heads(cfg)
    check_context(cfg)
    check_design(cfg)
    check_objectives(cfg)
    unknown = set(cfg.dropout_at) - set(DROPOUT_PLACES)
    if unknown:
        raise HanError(
            f"unknown dropout place(s) {', '.join(sorted(unknown))}; choose from {', '.join(DROPOUT_PLACES)}"
        )


def check_numbers(cfg: TrainConfig) -> None:
    """Numbers that would train without complaint into a useless model (NaN or infinite rates, a zero clip,
    an empty vocabulary or embedding) or fail deep inside torch with a traceback."""
    floats = {
        "--lr": cfg.lrs,
        "--momentum": [cfg.momentum],
        "--weight-decay": [cfg.weight_decay],
        "--warmup-epochs": [cfg.warmup_epochs],
        "--clip": [cfg.clip],
        "--penalty": [cfg.penalty],
        "--train-fraction": [cfg.train_fraction],
    }
    for option, values in floats.items():
        if not all(math.isfinite(value) for value in values):
            raise HanError(f"{option} must be a finite number, not {' '.join(str(value) for value in values)}")
    if not 0 <= cfg.momentum < 1:
        raise HanError(f"--momentum must be in [0, 1), not {cfg.momentum}")
    if not 0 <= cfg.ema < 1:  # NaN fails this too
        raise HanError(f"--ema is a decay per step in [0, 1) (0: no weight average), not {cfg.ema}")
    if cfg.clip <= 0:
        raise HanError(f"--clip is the largest gradient norm kept and must be positive, not {cfg.clip}")
    if not 0 < cfg.train_fraction <= 1:
        raise HanError(f"--train-fraction must be in (0, 1], not {cfg.train_fraction}")
    counts = {"--embed-dim": cfg.embed_dim, "--max-vocab": cfg.max_vocab, "--min-count": cfg.min_count}
    for option, count in counts.items():
        if count is not None and count < 1:
            raise HanError(f"{option} must be at least 1, not {count}")
    if cfg.w2v_epochs < 1:
        raise HanError(f"word2vec needs at least one pass over the text, not {cfg.w2v_epochs}")
    if cfg.patience is not None and cfg.patience < 1:
        raise HanError(f"--patience is the epochs without a dev gain before stopping, at least 1, not {cfg.patience}")
    for option, seed in (("--seed", cfg.seed), ("--split-seed", cfg.split_seed)):
        if not 0 <= seed < 2**32:  # what numpy's and scikit-learn's generators take
            raise HanError(f"{option} must be a whole number from 0 to {2**32 - 1}, not {seed}")


def check_heads(cfg: TrainConfig) -> None:
    """Multi-head attention settings: several heads need attention, and the penalty cannot be negative."""
    if cfg.heads < 1:
        raise HanError(f"--heads must be at least 1 (1 = the paper's single attention), not {cfg.heads}")
    if cfg.heads > 1 and cfg.variant != "att":
        raise HanError(f"--heads {cfg.heads} needs attention pooling (--variant att); {cfg.variant} has no heads")
    if cfg.penalty < 0:
        raise HanError(f"--penalty must be 0 or more, not {cfg.penalty}")
    if cfg.penalty > 0 and cfg.heads == 1:
        raise HanError("--penalty keeps several heads apart: give --heads 2 or more with it")
    if cfg.heads_at not in HEAD_LEVELS:
        raise HanError(f"unknown --heads-at {cfg.heads_at!r}; choose from {', '.join(HEAD_LEVELS)}")
    if cfg.head_combine not in COMBINE:
        raise HanError(f"unknown --head-combine {cfg.head_combine!r}; choose from {', '.join(COMBINE)}")


def check_context(cfg: TrainConfig) -> None:
    """CAHAN's settings: known values, and given only with --variant cahan."""
    if cfg.context_direction not in DIRECTIONS or cfg.context_aggregate not in AGGREGATES:
        raise HanError(
            f"--context must be one of {', '.join(DIRECTIONS)} and --context-aggregate one of {', '.join(AGGREGATES)}"
        )
    changed = (cfg.context_direction, cfg.context_aggregate, cfg.context_gate) != ("left", "sum", False)
    if changed and cfg.variant != "cahan":
        raise HanError("--context, --context-aggregate and --context-gate are CAHAN's: add --variant cahan")
