"""Command line: han (or python -m han) {train, evaluate, explain, stats, faithfulness} ...

Errors in the user's data, text or checkpoint print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__
from .cli_faithfulness import add_faithfulness_parser, run_faithfulness
from .cli_train import add_train_parser, run_train
from .errors import HanError
from .text import decode_text


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        nargs="+",
        required=True,
        metavar="PATH",
        help="CSV/TSV/JSON-lines (.gz ok), aclImdb archive or folder, Tang .ss files",
    )
    parser.add_argument("--text-col", help="text column of CSV/TSV/JSON (default: auto-detect)")
    parser.add_argument("--label-col", help="label column of CSV/TSV/JSON (default: auto-detect)")
    parser.add_argument(
        "--max-docs", type=int, help="use at most N labelled documents (the first N; a seeded random N for aclImdb)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="han", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"han {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    add_train_parser(commands, _data_args)

    evaluate = commands.add_parser("evaluate", help="accuracy of a checkpoint on labelled data (JSON)")
    evaluate.add_argument("--checkpoint", required=True)
    _data_args(evaluate)
    evaluate.add_argument(
        "--split", choices=["train", "dev", "test"], help="only this split, re-made with the checkpoint's recorded seed"
    )

    explain = commands.add_parser("explain", help="sentence and word weights of one document (JSON)")
    explain.add_argument("--checkpoint", required=True)
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument("--text")
    source.add_argument("--file", help="a UTF-8 text file ('-' for standard input)")
    explain.add_argument("--html", help="also write the rendering as standalone HTML here")

    stats = commands.add_parser("stats", help="word-attention statistics of a split (.npz)")
    stats.add_argument("--checkpoint", required=True)
    _data_args(stats)
    stats.add_argument("--split", choices=["train", "dev", "test"], default="test")
    stats.add_argument("--sample", type=int, help="a seeded random sample of N documents of the split")
    stats.add_argument("--out", required=True, help="file to write (.npz)")
    add_faithfulness_parser(commands)
    return parser


def _read_for(model, args: argparse.Namespace, like_training: bool):
    """Read --data; with `like_training`, options not given default to how training read it,
    so that the checkpoint's split can be made again."""
    from .data import read_dataset, read_like

    if like_training:
        return read_like(model.config, args.data, args.text_col, args.label_col, args.max_docs)
    return read_dataset(
        args.data, args.text_col, args.label_col, args.max_docs, with_unlabelled=False, seed=model.split_seed
    )


def run_evaluate(args: argparse.Namespace) -> dict:
    from . import load
    from .data import assign_splits

    model = load(args.checkpoint)
    examples = _read_for(model, args, like_training=args.split is not None).examples
    if args.split:
        parts, _ = assign_splits(examples, model.split_seed)
        examples = [examples[i] for i in parts[args.split]]
    return model.evaluate(examples) | {"checkpoint": args.checkpoint, "split": args.split or "all"}


def run_explain(args: argparse.Namespace) -> dict:
    from . import load
    from .explain import to_html

    text = args.text
    if args.file is not None:
        raw = sys.stdin.buffer.read() if args.file == "-" else _read_bytes(Path(args.file))
        text = decode_text(raw, args.file)
    model = load(args.checkpoint)
    explanation = model.explain(text)
    if args.html:
        Path(args.html).write_text(to_html(explanation, standalone=True), encoding="utf-8")
    return explanation


def run_stats(args: argparse.Namespace) -> dict:
    from . import load
    from .stats import collect, save

    model = load(args.checkpoint)
    dataset = _read_for(model, args, like_training=True)
    table = collect(model, dataset, split=args.split, max_docs=args.sample)
    save(table, Path(args.out))
    return {"out": args.out, "occurrences": len(table.word), "documents": table.documents}


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise HanError(f"{path}: no such file")
    return path.read_bytes()


COMMANDS = {
    "train": run_train,
    "evaluate": run_evaluate,
    "explain": run_explain,
    "stats": run_stats,
    "faithfulness": run_faithfulness,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = COMMANDS[args.command](args)
    except HanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if os.environ.get("RANK", "0") == "0":  # under torchrun only the first process reports
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
