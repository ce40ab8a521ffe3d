"""`han predict` (batch scoring of new reviews, streamed) and `han info` (what a checkpoint is).

han predict --checkpoint DIR --data reviews.csv --out predictions.csv      # or .jsonl, or - for stdout
cat reviews.txt | han predict --checkpoint DIR --data - --out -            # one review per line
han info DIR
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import json
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

from han.cli.common import add_command, add_overwrite, inputs_of
from han.data.cache import replaced_when_done
from han.errors import HanError, check_output_file

CHUNK = 1000  # reviews read, scored and written at a time: a file of any size never sits in memory


def add_predict_parsers(commands: argparse._SubParsersAction) -> None:
    predict = add_command(commands, "predict", "label and probabilities for every review of a file (streamed)")
    predict.add_argument("--checkpoint", required=True)
    predict.add_argument(
        "--data",
        required=True,
        help="CSV/TSV/JSON-lines (.gz ok) with a text column, a plain "
        "text file with one review per line, or - for standard input (one review per line)",
    )
    predict.add_argument("--text-col", help="text column of CSV/TSV/JSON (default: text)")
    predict.add_argument("--encoding", default="utf-8", help="text encoding of --data (default: utf-8)")
    predict.add_argument("--out", required=True, help="predictions.csv, predictions.jsonl, or - (JSON lines on stdout)")
    predict.add_argument("--top-words", type=int, default=0, help="also the K words with most attention (default: 0)")
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    add_overwrite(predict)
    info = add_command(commands, "info", "what a checkpoint is: variant, recipe, data, split, metrics, files")
    info.add_argument("checkpoint")


def _texts(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """(id, text) of every review of --data, streamed; rows without text are skipped."""
    from han.data.readers import TABLE_SUFFIXES, _decoding, _open_text, _table_rows

    table = args.data.removesuffix(".gz").lower().endswith(TABLE_SUFFIXES)
    if args.text_col and not table:
        raise HanError(f"--text-col names a column of a CSV/TSV/JSON file; {args.data} is plain text, a review a line")
    if args.data == "-":
        yield from ((str(n), line.rstrip("\n")) for n, line in enumerate(sys.stdin, start=1) if line.strip())
        return
    path = Path(args.data)
    if not path.is_file():
        raise HanError(f"{path}: no such file" if not path.exists() else f"{path}: not a file of reviews")
    if table:
        column = args.text_col or "text"
        for n, row in enumerate(_table_rows(path, args.encoding), start=1):
            if column not in row:
                raise HanError(f"{path}: no column {column!r}; columns are {', '.join(row)} (name it with --text-col)")
            if isinstance(row[column], str) and row[column].strip():
                yield str(row.get("id", row.get("review_id", n))), row[column]
        return
    with _open_text(path, args.encoding) as f:
        yield from (
            (str(n), line.rstrip("\n"))
            for n, line in enumerate(_decoding(path, f, args.encoding), start=1)
            if line.strip()
        )


def run_predict(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from han import load

    if args.out != "-":
        check_output_file("--out", args.out, args.overwrite, inputs_of(args))
        if not args.out.endswith((".csv", ".jsonl")):
            raise HanError("--out must end in .csv or .jsonl, or be - for standard output")
    if args.top_words < 0:
        raise HanError("--top-words cannot be negative")
    model = load(args.checkpoint)
    texts = _texts(args)
    first = list(islice(texts, CHUNK))  # read before anything is written: a bad --data stops here
    if not first:
        raise HanError(f"{args.data}: no review with text in it")
    chunks = itertools.chain([first], iter(lambda: list(islice(texts, CHUNK)), []))  # until a chunk comes back empty
    written = without_words = 0
    with contextlib.ExitStack() as stack:
        out = sys.stdout if args.out == "-" else stack.enter_context(replaced_when_done(Path(args.out)))
        bar = stack.enter_context(tqdm(unit="review", file=sys.stderr, disable=args.quiet))
        writer = _Writer(out, "csv" if args.out.endswith(".csv") else "jsonl", model.labels, args.top_words)
        for chunk in chunks:
            docs = [_tokenized(model, text) for _, text in chunk]
            results = iter(model.analyse([d for d in docs if d is not None]))
            for (doc_id, _), doc in zip(chunk, docs, strict=True):
                writer.write(doc_id, None if doc is None else next(results), doc)
            written += len(chunk)
            without_words += docs.count(None)
            bar.update(len(chunk))
    unscored = f", {without_words} of them without a word (their rows say so, with no label)" if without_words else ""
    print(
        f"{written - without_words} of {written} reviews scored by {model.name}{unscored} -> {args.out}",
        file=sys.stderr,
    )


def _tokenized(model: Any, text: str) -> Any:
    """The review tokenised, or None when it has no word (its row says so instead of stopping the run)."""
    try:
        return model.tokenize(text)
    except HanError:
        return None


class _Writer:
    """One row per review: id, label, a probability per class, and optionally the top words."""

    def __init__(self, out: IO[str], kind: str, labels: list[str], top_words: int) -> None:
        self.out, self.kind, self.labels, self.top_words = out, kind, labels, top_words
        if kind == "csv":
            self.csv = csv.writer(out)
            self.csv.writerow(["id", "label", *(f"p_{label}" for label in labels)] + (["top_words"] * bool(top_words)))

    def write(self, doc_id: str, result: Any, doc: Any) -> None:
        if result is None:  # a review without a single word
            if self.kind == "csv":
                self.csv.writerow([doc_id, "", *([""] * len(self.labels))] + ([""] if self.top_words else []))
            else:
                self.out.write(json.dumps({"id": doc_id, "label": None, "error": "no words"}) + "\n")
            return
        label = self.labels[result.predicted]
        row: dict[str, Any] = {
            "id": doc_id,
            "label": label,
            "probabilities": dict(zip(self.labels, result.probabilities, strict=True)),
        }
        if self.top_words:
            weights = [
                (w * s, t)
                for s, words, tokens in zip(result.sentence_weights, result.word_weights, doc.sentences, strict=True)
                for w, t in zip(words, tokens, strict=True)
            ]
            row["top_words"] = [t for _, t in sorted(weights, reverse=True)[: self.top_words]]
        if self.kind == "csv":
            self.csv.writerow(
                [doc_id, label, *(f"{p:.6f}" for p in result.probabilities)]
                + ([" ".join(row["top_words"])] if self.top_words else [])
            )
        else:
            self.out.write(json.dumps(row, ensure_ascii=False) + "\n")


def run_info(args: argparse.Namespace) -> dict:
    from han.checkpoint import io as checkpoint
    from han.checkpoint.objectives import objectives_summary
    from han.nn.variants import design, model_name

    directory = Path(args.checkpoint)
    _, _, config, metrics = checkpoint.load(directory)  # a damaged checkpoint is named, not described as whole
    model, training = config.get("model", {}), config.get("training", {})
    return {
        "checkpoint": str(directory),
        "variant": model.get("variant"),
        "model": model_name(model),  # as the app names it, from config.json (metrics.json's is training's label)
        "recipe": training.get("recipe", "paper (trained before recipes existed)"),
        "training": training,
        "faithful": objectives_summary(training),  # faithful-attention objectives (issue 34), None for none
        "model_config": model,
        "design": design(model),  # score, temperature, encoder, structure: the paper's where config.json has none
        "labels": config.get("labels"),
        "vocabulary": config.get("vocab"),
        "embeddings": config.get("embeddings"),
        "data": {k: config.get("data", {}).get(k) for k in ("sources", "read", "fingerprint")},
        "split": config.get("split"),
        "metrics": {
            k: metrics.get(k)
            for k in (
                "dev_accuracy",
                "test_accuracy",
                "majority_test_accuracy",
                "lr",
                "best_epoch",
                "epochs_run",
                "collapsed",
                "training_time_s",
            )
        },
        "files": {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()},
        "versions": config.get("versions"),
    }
