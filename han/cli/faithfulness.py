"""`han faithfulness`: is the attention a faithful account of the decision? JSON on stdout, progress on stderr.

han faithfulness --checkpoint DIR --text "..."                 one document: scores by method, agreement
han faithfulness --checkpoint DIR --data FILE --limit 1000    the data-set figures (ERASER, flips ...)
... --out DIR/faithfulness.json                                 keep them beside the checkpoint (the app reads it)
... --html report.html                                          a standalone report
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from han.cli.common import add_command, add_overwrite, inputs_of, read_document
from han.errors import HanError, check_output_file

LIMIT = 1000  # --data: documents measured when --limit is not given
PERMUTATIONS = 5  # --data: attention permutations per document when --permutations is not given
DATA_OPTIONS = ("split", "limit", "permutations", "text_col", "label_col")  # options that only --data reads


def add_faithfulness_parser(commands: argparse._SubParsersAction) -> None:
    from han.interpret.attribution import METHODS

    parser = add_command(commands, "faithfulness", "attention against attributions that do not read it (JSON)")
    parser.add_argument("--checkpoint", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="one document")
    source.add_argument("--file", help="one document from a UTF-8 text file ('-' for standard input)")
    source.add_argument("--data", nargs="+", metavar="PATH", help="labelled data: the data-set figures")
    parser.add_argument(
        "--split",
        choices=["train", "dev", "test"],
        help="with the checkpoint's training data: which split (default: test; other data: every document)",
    )
    parser.add_argument("--text-col", help="with --data: text column (default: as in training)")
    parser.add_argument("--label-col", help="with --data: label column (default: as in training)")
    parser.add_argument("--limit", type=int, help=f"with --data: the first N documents (default: {LIMIT})")
    parser.add_argument(
        "--methods", nargs="+", metavar="METHOD", help=f"with --text/--file: any of {', '.join(METHODS)} (default: all)"
    )
    parser.add_argument("--n-steps", type=int, default=20, help="integrated-gradients steps (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="random floor and permutations (default: 0)")
    parser.add_argument("--permutations", type=int, help=f"with --data: permutations per doc (default: {PERMUTATIONS})")
    parser.add_argument("--html", help="also write a standalone HTML report here (default: none)")
    parser.add_argument(
        "--out", help="also write the JSON here, e.g. CHECKPOINT/faithfulness.json (default: stdout only)"
    )
    add_overwrite(parser)


def _check(args: argparse.Namespace) -> None:
    """Bad options are refused before the checkpoint or any data is read."""
    from han.interpret.attribution import check_methods

    if args.methods:
        check_methods(args.methods)
        if args.data:
            raise HanError("--methods applies to one document (--text/--file); --data measures every method")
    if not args.data:  # one document: the data-set options would be silently ignored
        given = [f"--{name.replace('_', '-')}" for name in DATA_OPTIONS if getattr(args, name) is not None]
        if given:
            raise HanError(f"{', '.join(given)} appl{'y' if len(given) > 1 else 'ies'} to --data, not to one document")
    args.limit = LIMIT if args.limit is None else args.limit
    args.permutations = PERMUTATIONS if args.permutations is None else args.permutations
    if args.seed < 0:
        raise HanError("--seed must be 0 or more")
    if args.limit < 1:
        raise HanError("--limit must be at least 1")
    if args.n_steps < 1 or args.permutations < 1:
        raise HanError("--n-steps and --permutations must be at least 1")
    if args.text is not None and not args.text.strip():
        raise HanError("the text is empty")
    for option in ("html", "out"):
        if getattr(args, option):
            check_output_file(f"--{option}", getattr(args, option), args.overwrite, inputs_of(args))


def run_faithfulness(args: argparse.Namespace) -> dict:
    from han import load

    _check(args)
    model = load(args.checkpoint)
    if args.methods and "attention" in args.methods and model.variant != "att":
        raise HanError(
            f"{model.name} has no attention: its weights are its pooling's ({model.variant}); leave --methods out "
            "to compare those weights with the other methods, labelled as such"
        )
    result = _dataset(model, args) if args.data else _document(model, args)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if args.html:
        from han.interpret.report import dataset_html, document_html

        page = dataset_html(result) if args.data else document_html(result)
        Path(args.html).write_text(page, encoding="utf-8")
    return result


def _document(model, args: argparse.Namespace) -> dict:
    from han.interpret.attribution import METHODS
    from han.interpret.faithfulness import explain_faithfulness

    text = args.text if args.file is None else read_document(args.file)
    return explain_faithfulness(model, text, args.methods or METHODS, args.n_steps, args.seed)


def _dataset(model, args: argparse.Namespace) -> dict:
    """The data-set figures: on the checkpoint's training data, of one of its splits (test unless --split);
    on any other labelled data, of its documents (--split is then refused: see `check_same_data`)."""
    from han.data.dataset import check_same_data, checkpoint_parts, read_like
    from han.errors import NotTrainingData

    dataset = read_like(model.config, args.data, args.text_col, args.label_col)
    try:
        check_same_data(model.config, dataset)
    except NotTrainingData as error:
        if args.split:  # a split of other data would hold training documents
            raise
        return _other_data(model, args, error.reason)
    parts = checkpoint_parts(model.config, dataset, model.path)
    split = args.split or "test"
    chosen = [dataset.examples[i] for i in parts[split]]
    train = [dataset.examples[i] for i in parts["train"]]
    return _measure(model, args, chosen, train) | {"split": split}


def _other_data(model, args: argparse.Namespace, reason: str) -> dict:
    """Every document of data the checkpoint was not trained on (the user's own reviews), in file order: there
    is no split to re-make. Polarity's word classes then come from these documents' own labels."""
    from han.data.dataset import read_dataset

    dataset = read_dataset(args.data, args.text_col, args.label_col, with_unlabelled=False, seed=model.split_seed)
    print(
        f"note: {reason.split(':')[0]}; measuring its documents in file order (the first {args.limit}), no split",
        file=sys.stderr,
    )
    return _measure(model, args, dataset.examples, dataset.examples) | {"split": "all"}


def _measure(model, args: argparse.Namespace, chosen: list, train: list) -> dict:
    """The data-set figures of the first --limit of `chosen`; polarity's word classes from `train`."""
    from tqdm import tqdm

    from han.data.prepare import tokenized_store
    from han.interpret.faithfulness import dataset_faithfulness
    from han.interpret.polarity import categories, polarity_vs_attention

    with tqdm(total=min(args.limit, len(chosen)), desc="faithfulness", unit="doc", file=sys.stderr) as bar:
        result = dataset_faithfulness(
            model,
            chosen,
            args.limit,
            args.n_steps,
            args.seed,
            args.permutations,
            on_progress=lambda done, total: bar.update(done - bar.n),
        )
    store = tokenized_store([e.text for e in train], [e.sentences for e in train], model.limits)
    train_docs = (store.sentences(i) for i in range(len(store)))
    measured = [model.prepare(e) for e in chosen[: args.limit]]
    result["polarity"] = polarity_vs_attention(model, measured, categories(model, train_docs, [e.label for e in train]))
    return result | {"data": [str(p) for p in args.data], "model_sha256": model.weights_digest}
