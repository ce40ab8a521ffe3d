"""`han analyse`: every document's prediction, lengths, top words and place on a 2-D map, in one file (the app's
Data set page reads it; han.interpret.analysis says what is in it).

han analyse --checkpoint DIR --data FILE... --split test        the checkpoint's own test split -> DIR/analysis-test.npz
han analyse --checkpoint DIR --data reviews.csv --out a.npz     any file as `han predict` reads it (labels optional)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from han.cli.common import add_command, add_overwrite, inputs_of
from han.errors import HanError, check_output_file


def add_analyse_parser(commands: argparse._SubParsersAction) -> None:
    parser = add_command(commands, "analyse", "per-document predictions, top words and a 2-D map of a data set (.npz)")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument(
        "--data",
        nargs="+",
        required=True,
        metavar="PATH",
        help="with --split: the checkpoint's training data (as for han evaluate); without: one CSV/TSV/JSON-lines "
        "file (a text column, a label column if any) or plain text file, a review a line",
    )
    parser.add_argument(
        "--split", choices=["train", "dev", "test"], help="a split of the checkpoint's own (default: the whole file)"
    )
    parser.add_argument("--text-col", help="text column (default: as in training with --split, else text)")
    parser.add_argument("--label-col", help="label column (default: as in training with --split, else detected)")
    parser.add_argument("--encoding", help="text encoding (default: as in training with --split, else utf-8)")
    parser.add_argument("--max-docs", type=int, help="without --split: the first N reviews of the file (default: all)")
    parser.add_argument(
        "--loo", type=int, help="leave-one-out's top word for the first N documents only (default: every document)"
    )
    parser.add_argument("--out", help="file to write, .npz (default: with --split, CHECKPOINT/analysis-SPLIT.npz)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_overwrite(parser)


def _check(args: argparse.Namespace) -> Path:
    """Options and paths refused before the checkpoint or the data is read; returns the output file."""
    if args.split is None:
        if len(args.data) > 1:
            raise HanError("without --split give one file of reviews (--split reads a checkpoint's several files)")
        if not args.out:
            raise HanError("without --split give --out FILE.npz (the checkpoint's folder keeps its splits' figures)")
    elif args.max_docs is not None:
        raise HanError("--max-docs applies to a file without --split; a split is re-made as the checkpoint recorded")
    for path in args.data:
        if not Path(path).exists():
            raise HanError(f"{path}: no such file")
    if args.max_docs is not None and args.max_docs < 1:
        raise HanError("--max-docs must be at least 1")
    if args.loo is not None and args.loo < 0:
        raise HanError("--loo cannot be negative")
    if not Path(args.checkpoint).is_dir():
        raise HanError(f"--checkpoint {args.checkpoint}: no such folder")
    out = args.out or str(Path(args.checkpoint) / f"analysis-{args.split}.npz")  # analysis.SPLIT_FILE (no torch yet)
    if not out.endswith(".npz"):  # numpy would add the suffix itself: the file written must be the one named
        raise HanError(f"--out {out}: give a file name ending in .npz")
    check_output_file("--out", out, args.overwrite, inputs_of(args))
    return Path(out)


def run_analyse(args: argparse.Namespace) -> dict:
    from tqdm import tqdm

    from han import load
    from han.interpret import analysis

    out = _check(args)
    model = load(args.checkpoint)
    if args.split:
        from han.data.dataset import checkpoint_split, read_like

        dataset = read_like(
            model.config, args.data, args.text_col, args.label_col, None, args.encoding, (args.split,), model.path
        )
        examples = checkpoint_split(model.config, dataset, args.split, model.path)
        source = f"{args.split} split"
    else:
        examples = analysis.read_file(
            args.data[0], args.text_col, args.label_col, args.encoding or "utf-8", args.max_docs
        )
        source = str(args.data[0])
    if not examples:
        raise HanError(f"{', '.join(args.data)}: no review with text in it")
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.setdefault(stage, tqdm(total=total, desc=stage, unit="doc", file=sys.stderr, disable=args.quiet))
        bar.update(done - bar.n)

    try:
        result = analysis.analyse(model, examples, args.loo, progress, source)
    finally:
        for bar in bars.values():
            bar.close()
    analysis.save(result, out)
    meta = result.meta
    labelled = result.gold != ""
    gold = [model.labels.index(g) for g in result.gold[labelled]]
    accuracy = float((result.predicted[labelled] == gold).mean()) if gold else None
    return {
        "out": str(out),
        "documents": len(result.index),
        "skipped_without_words": meta["skipped"],
        "labelled": meta["labelled"],
        "accuracy": None if accuracy is None else round(accuracy, 4),
        "leave_one_out_documents": meta["loo_documents"],
        "pca_explained": meta["pca_explained"],
    }
