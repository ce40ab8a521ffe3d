"""`han evaluate`, `han explain`, `han stats` and `han focus`: looking at what a trained checkpoint does."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from han.cli.common import add_command, add_data_args, add_overwrite, inputs_of, read_document
from han.errors import HanError, check_output_file

FOCUS_LIMIT = 500  # han focus: documents of the split measured when --limit is not given

if TYPE_CHECKING:
    from han.checkpoint.classifier import Classifier
    from han.data.dataset import Dataset


def add_inspect_parsers(commands: argparse._SubParsersAction) -> None:
    """The evaluate, explain, stats and focus subcommands and their options."""
    evaluate = add_command(commands, "evaluate", "accuracy of a checkpoint on labelled data (JSON)")
    evaluate.add_argument("--checkpoint", required=True)
    add_data_args(evaluate)
    evaluate.add_argument(
        "--split",
        choices=["train", "dev", "test"],
        help="only this split, re-made with the checkpoint's recorded seed (default: every document)",
    )

    explain = add_command(commands, "explain", "sentence and word weights of one document (JSON)")
    explain.add_argument("--checkpoint", required=True)
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument("--text")
    source.add_argument("--file", help="a UTF-8 text file ('-' for standard input)")
    explain.add_argument("--html", help="also write the rendering as standalone HTML here (default: none)")
    add_overwrite(explain)

    stats = add_command(commands, "stats", "word-attention statistics of a split (.npz)")
    stats.add_argument("--checkpoint", required=True)
    add_data_args(stats)
    stats.add_argument("--split", choices=["train", "dev", "test"], default="test", help="the checkpoint's own split")
    stats.add_argument("--sample", type=int, help="a seeded random sample of N documents of the split (default: all)")
    stats.add_argument("--out", required=True, help="file to write (.npz)")
    add_overwrite(stats)

    focus = add_command(commands, "focus", "how concentrated attention is, per level and head, over a split (JSON)")
    focus.add_argument("--checkpoint", required=True)
    add_data_args(focus)
    focus.add_argument("--split", choices=["train", "dev", "test"], default="test", help="the checkpoint's own split")
    focus.add_argument("--limit", type=int, default=FOCUS_LIMIT, help=f"the first N documents (default: {FOCUS_LIMIT})")


def _read_for(model: Classifier, args: argparse.Namespace, like_training: bool, split: str | None = None) -> Dataset:
    """Read --data; with `like_training`, options not given default to how training read it,
    so that the checkpoint's split can be made again (with `split`, only its documents keep their text;
    with `split=""`, none)."""
    from han.data.dataset import read_dataset, read_like

    if like_training:
        splits = None if split is None else (split,) if split else ()
        return read_like(
            model.config, args.data, args.text_col, args.label_col, args.max_docs, args.encoding, splits, model.path
        )
    return read_dataset(
        args.data,
        args.text_col,
        args.label_col,
        args.max_docs,
        with_unlabelled=False,
        seed=model.split_seed,
        encoding=args.encoding or "utf-8",
    )


def run_evaluate(args: argparse.Namespace) -> dict:
    from han import load
    from han.data.dataset import checkpoint_split

    model = load(args.checkpoint)
    dataset = _read_for(model, args, like_training=args.split is not None, split=args.split)
    examples = checkpoint_split(model.config, dataset, args.split, model.path) if args.split else dataset.examples
    return model.evaluate(examples) | {"checkpoint": args.checkpoint, "split": args.split or "all"}


def run_explain(args: argparse.Namespace) -> dict:
    from han import load
    from han.interpret.explain import to_html

    if args.html:
        check_output_file("--html", args.html, args.overwrite, inputs_of(args))
    text = args.text if args.file is None else read_document(args.file)
    model = load(args.checkpoint)
    explanation = model.explain(text)
    for caveat in explanation["warnings"]:
        print(f"warning: {caveat}", file=sys.stderr)
    if args.html:
        Path(args.html).write_text(to_html(explanation, standalone=True), encoding="utf-8")
    return explanation


def run_stats(args: argparse.Namespace) -> dict:
    from han import load
    from han.interpret.stats import collect, save

    if not args.out.endswith(".npz"):  # numpy would add the suffix itself: the file written must be the one named
        raise HanError(f"--out {args.out}: give a file name ending in .npz")
    check_output_file("--out", args.out, args.overwrite, inputs_of(args))
    if args.sample is not None and args.sample < 1:
        raise HanError("--sample must be at least 1")
    model = load(args.checkpoint)
    dataset = _read_for(model, args, like_training=True, split="")  # labels only: collect reads texts as it goes
    table = collect(model, dataset, split=args.split, max_docs=args.sample)
    save(table, Path(args.out))
    return {"out": args.out, "occurrences": len(table.word), "documents": table.documents}


def run_focus(args: argparse.Namespace) -> dict:
    """Top weight, effective number of items and one-hot share of each level and head (han.interpret.focus)."""
    from han import load
    from han.data.dataset import checkpoint_split
    from han.interpret.attribution import attention_label
    from han.interpret.focus import attention_focus

    if args.limit < 1:
        raise HanError("--limit must be at least 1")
    model = load(args.checkpoint)
    dataset = _read_for(model, args, like_training=True, split=args.split)
    examples = checkpoint_split(model.config, dataset, args.split, model.path)[: args.limit]
    docs = [model.prepare(e) for e in examples]
    rows = attention_focus(model, docs)
    return {
        "checkpoint": args.checkpoint,
        "split": args.split,
        "documents": len(docs),
        "weights": attention_label(model),
        "focus": [row.as_dict() for row in rows],
    }
