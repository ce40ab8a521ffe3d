"""A labelled data set: reading one or more files, the train/dev/test split, and the data's fingerprint.

`read_dataset` picks the reader (han/data/readers.py) from each path, combines several files into one
set and records how it read them, so that `read_like` re-reads a checkpoint's data the same way and
`checkpoint_split` re-makes its split (refusing other data). Mini-batches are in han/data/batches.py, the
split itself in han/data/splits.py.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from han.data import label_cache
from han.data.batches import Batch, bucket_batches, collate
from han.data.readers import (
    TABLE_SUFFIXES,
    Example,
    Labels,
    normalize_label,
    read_imdb,
    read_table,
    read_tang,
    sort_labels,
)
from han.data.splits import SPLITS, assign_splits, recorded_split, split_indices, split_sizes, subset_size, train_subset
from han.errors import HanError, NotTrainingData

__all__ = [  # the readers, batches and splits are also reachable from here, where they lived before
    "SPLITS",
    "Batch",
    "Dataset",
    "Example",
    "assign_splits",
    "bucket_batches",
    "collate",
    "normalize_label",
    "read_imdb",
    "read_table",
    "read_tang",
    "sort_labels",
    "split_indices",
    "split_sizes",
    "subset_size",
    "train_subset",
]


@dataclass
class Dataset:
    """Labelled examples, optional unlabelled texts (for word2vec), and where they came from."""

    examples: list[Example]
    unlabelled: list[str] = field(default_factory=list)  # aclImdb train/unsup
    sources: list[dict] = field(default_factory=list)  # per file: path, format, counts
    read_args: dict = field(default_factory=dict)  # how read_dataset was called (for read_like)
    released: dict | None = None  # the fingerprint, when some texts were let go (release_texts, keep_text)

    @property
    def labels(self) -> list[str]:
        """Label names in class order: numeric ratings ascending, otherwise alphabetical."""
        return sort_labels({e.label for e in self.examples})

    def fingerprint(self) -> dict:
        """What identifies the labelled documents read, in order: their count and a hash of labels and texts.

        A checkpoint records it; re-making its split from other data (another file, another --max-docs)
        would put training documents into "test", so evaluation checks it first (`check_same_data`).
        """
        if self.released is not None:
            return self.released
        digest = hashlib.sha256()
        for example in self.examples:
            _add_to_digest(digest, example)
        return {"documents": len(self.examples), "sha256": digest.hexdigest()}

    def reread(self, on_example: Callable[[Example], object]) -> None:
        """Read this dataset's files again as they were read, passing every document (text included) to
        `on_example` and keeping none; refuses files that changed since."""
        read = _recorded_reader([source["path"] for source in self.sources], self.read_args, spread="even")
        again = read(keep_examples=False, on_example=on_example)
        if again.fingerprint() != self.fingerprint():
            raise HanError("the data files changed since they were read; start again")

    @property
    def has_texts(self) -> bool:
        """Whether every document still holds its text (or its sentences)."""
        return self.released is None

    def release_texts(self) -> None:
        """Let go of every raw text and tokenised sentence (labels and splits stay) once they are in the token
        store: a large corpus then costs a few bytes per document. The fingerprint is kept."""
        fingerprint = self.fingerprint()
        self.examples = Labels().strip(self.examples)
        self.unlabelled = []
        self.released = fingerprint


def _add_to_digest(digest: Any, example: Example) -> None:
    """One document's share of the fingerprint: label, split and text (or its sentences)."""
    body = example.text if example.text is not None else json.dumps(example.sentences)
    digest.update(f"{example.label}\x1f{example.split}\x1f{body}\x1e".encode("utf-8", "surrogatepass"))


def check_same_data(config: dict, dataset: Dataset) -> None:
    """Refuse to re-make a checkpoint's split from documents other than those it was trained on."""
    recorded = config.get("data", {}).get("fingerprint")
    if recorded is None:  # checkpoints from before fingerprints: compare what they did record
        counts = [s.get("documents") for s in config.get("data", {}).get("sources", [])]
        if counts and sum(c or 0 for c in counts) != len(dataset.examples):
            raise NotTrainingData(
                f"the data given holds {len(dataset.examples)} labelled documents but the checkpoint was trained on "
                f"{sum(c or 0 for c in counts)}: its split cannot be made again from it",
                "Give the training files (same files, same order, same --max-docs)",
            )
        return
    found = dataset.fingerprint()
    if found != recorded:
        raise NotTrainingData(
            f"the data given ({found['documents']} documents) is not the data this checkpoint was trained on "
            f"({recorded['documents']} documents, another content hash): its train/dev/test split cannot be made "
            "again from it, and a test or dev split of other data would hold training documents",
            "Give the training files (same files, same order, same --max-docs); `han evaluate` without --split "
            "scores any data",
        )


def check_sources(paths: Sequence[str | Path], text_col: str | None, label_col: str | None) -> None:
    """Mistakes that would read without complaint into a wrong answer: the same file twice (its reviews would
    land in train and test alike, so test accuracy would measure memory) or one column as text and label."""
    seen: dict[Path, str | Path] = {}
    for path in paths:
        resolved = Path(path).expanduser().resolve()
        if resolved in seen:
            raise HanError(f"--data names {seen[resolved]} twice ({path}): its reviews would be in train and test")
        seen[resolved] = path
    if text_col is not None and text_col == label_col:
        raise HanError(f"--text-col and --label-col are both {text_col!r}: the text would be its own label")


def read_dataset(
    paths: Sequence[str | Path],
    text_col: str | None = None,
    label_col: str | None = None,
    max_docs: int | None = None,
    with_unlabelled: bool = True,
    seed: int = 0,
    encoding: str = "utf-8",
    max_docs_spread: str = "even",
    keep_text: Callable[[int], bool] | None = None,
    on_example: Callable[[Example], object] | None = None,
    keep_examples: bool = True,
    labels_only: bool = False,
) -> Dataset:
    """Read and combine one or more files; the reader is chosen from each path.

    `max_docs` N with several files is shared between them (`max_docs_spread="even"`): N // k each, the
    first N % k files one more, and what a short file lacks goes to the files after it; no file is left
    out. `"first"` (checkpoints from before) took the first N documents in file order.
    With `keep_text`, only documents whose index it accepts keep their text (the others keep label and
    split): the fingerprint is computed as they are read, so a split of a large corpus fits in memory.
    `on_example` sees every labelled document, text included, as it is read (e.g. to tokenise it).
    `keep_examples=False` (a pass that only feeds `on_example`) keeps no document at all: the dataset
    returned has none, only their fingerprint (`released`), so a second pass costs no second list.
    `labels_only` keeps no text at all (labels, splits and fingerprint; the token store reads the texts): such a
    read of files is kept in the cache (han/data/label_cache.py), so the same files are not parsed again for it.
    """
    if max_docs is not None and max_docs < 1:
        raise HanError("--max-docs must be at least 1")
    if max_docs_spread not in ("even", "first"):
        raise HanError(f"unknown max_docs_spread {max_docs_spread!r}")
    check_sources(paths, text_col, label_col)
    dataset = Dataset(
        examples=[],
        read_args={"text_col": text_col, "label_col": label_col, "max_docs": max_docs, "seed": seed}
        | ({"encoding": encoding} if encoding != "utf-8" else {})
        | ({"max_docs_spread": max_docs_spread} if max_docs is not None and len(paths) > 1 else {}),
    )
    digest, position, bare = hashlib.sha256(), itertools.count(), Labels()

    keep_text = _no_text if labels_only else keep_text
    fingerprinting = keep_text is not None or not keep_examples  # texts go as they are read: hash them now

    def through(example: Example) -> Example:  # every labelled example, in the dataset's order
        if on_example is not None:
            on_example(example)
        if fingerprinting:
            _add_to_digest(digest, example)
        if not keep_examples:
            return _PASSED  # the readers count it (for --max-docs); one shared object, not one per document
        if keep_text is not None and not keep_text(next(position)):
            return bare(example.label, example.split)  # its text goes: a pointer to a shared one
        return example

    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise HanError(f"{missing[0]}: no such file or folder")
    cached = label_cache.cache_key(paths, dataset.read_args) if labels_only and on_example is None else None
    if cached is not None and (hit := label_cache.load(cached)) is not None:
        dataset.examples, dataset.sources, dataset.released = hit
        return dataset
    for index, raw in enumerate(paths):
        path = Path(raw)
        remaining = _quota(max_docs, max_docs_spread, len(paths), index, len(dataset.examples))
        if remaining is not None and remaining <= 0:
            break
        name = path.name.lower()
        if path.is_dir() or "aclimdb" in name:
            examples, unlabelled, info = read_imdb(path, with_unlabelled, remaining, seed, through)
            dataset.unlabelled.extend(unlabelled)
        elif name.endswith((".ss", ".ss.gz")):
            examples, info = read_tang(path, remaining, encoding, through)
        elif name.removesuffix(".gz").endswith(TABLE_SUFFIXES):
            examples, info = read_table(path, text_col, label_col, remaining, encoding, through)
        else:
            raise HanError(
                f"{path}: unknown format; expected .csv, .tsv, .json(l), .ss "
                "(optionally .gz), an aclImdb archive or folder"
            )
        dataset.examples.extend(examples)
        dataset.sources.append(info)
    if not dataset.examples:
        raise HanError("the dataset is empty: no labelled documents were read")
    if fingerprinting:
        dataset.released = {"documents": len(dataset.examples), "sha256": digest.hexdigest()}
    if cached is not None and dataset.released is not None and keep_examples:
        label_cache.save(cached, dataset.examples, dataset.sources, dataset.released)
    if not keep_examples:
        dataset.examples = []
    return dataset


def _no_text(index: int) -> bool:
    return False


_PASSED = Example(label="")  # stands for every document of a keep_examples=False pass while it is read


def _quota(max_docs: int | None, spread: str, files: int, index: int, read_so_far: int) -> int | None:
    """How many documents file `index` may give (None: all)."""
    if max_docs is None:
        return None
    if spread == "first":
        return max_docs - read_so_far
    shares = [max_docs // files + (i < max_docs % files) for i in range(files)]
    return sum(shares[: index + 1]) - read_so_far  # a short earlier file leaves its shortfall to this one


def read_like(
    config: dict,
    paths: Sequence[str | Path] | None = None,
    text_col: str | None = None,
    label_col: str | None = None,
    max_docs: int | None = None,
    encoding: str | None = None,
    splits: Sequence[str] | None = None,
    directory: Path | None = None,
) -> Dataset:
    """Re-read a checkpoint's data as it was read for training (same columns, --max-docs, seed).

    `paths` replaces the recorded files (e.g. the same data elsewhere); the other arguments,
    when given, replace the recorded read options. Unlabelled text is not read. With `splits`, only
    the documents of those splits of the checkpoint's own split keep their text: the files are read
    twice (labels and fingerprint first, checked against the checkpoint's), memory follows the split.
    With `splits=()` no document keeps its text (one pass; labels, split and fingerprint only).
    `directory`: the checkpoint's folder, whose recorded split checks the re-made one (`checkpoint_parts`).
    """
    data = config.get("data", {})
    paths = paths or [s["path"] for s in data.get("sources", [])]
    if not paths:
        raise HanError("the checkpoint records no data files; give the data path")
    given: dict[str, Any] = {"text_col": text_col or None, "label_col": label_col or None, "encoding": encoding or None}
    given = {k: v for k, v in (given | {"max_docs": max_docs}).items() if v is not None}  # what replaces the record
    recorded = {"seed": config.get("split", {}).get("seed", 0)} | data.get("read", {}) | given
    read = _recorded_reader(paths, recorded, spread="first")  # checkpoints from before took the first N
    if splits is None:
        return read()
    dataset = read(labels_only=True)
    check_same_data(config, dataset)
    if not splits:  # labels and fingerprint only: `han.interpret.stats.collect` reads the texts again as it goes
        return dataset
    parts = checkpoint_parts(config, dataset, directory)
    wanted = {i for split in splits for i in parts[split]}
    del parts
    position = itertools.count()

    def keep_wanted(example: Example) -> None:  # the second pass gives the split's documents their texts back
        index = next(position)
        if index in wanted:
            dataset.examples[index] = example  # the same label and split (the fingerprint says so), with its text

    if read(keep_examples=False, on_example=keep_wanted).fingerprint() != dataset.fingerprint():
        raise HanError(f"{', '.join(map(str, paths))} changed while being read; read it again")
    return dataset


def _recorded_reader(paths: Sequence[str | Path], recorded: dict, spread: str) -> Callable[..., Dataset]:
    """`read_dataset` with the options a dataset was read with (its `read_args`), unlabelled text left out;
    `spread` is the --max-docs sharing when none is recorded."""
    return partial(
        read_dataset,
        paths,
        recorded.get("text_col"),
        recorded.get("label_col"),
        recorded.get("max_docs"),
        with_unlabelled=False,
        seed=recorded.get("seed", 0),
        encoding=recorded.get("encoding", "utf-8"),
        max_docs_spread=recorded.get("max_docs_spread", spread),
    )


def checkpoint_split(config: dict, dataset: Dataset, split: str, directory: Path | None = None) -> list[Example]:
    """The documents of one split of a checkpoint's own train/dev/test split, re-made from `dataset`
    (`checkpoint_parts`; `directory` is the checkpoint's folder).

    Refuses (HanError) when `dataset` is not the data the checkpoint was trained on.
    """
    check_same_data(config, dataset)
    return [dataset.examples[i] for i in checkpoint_parts(config, dataset, directory)[split]]


def checkpoint_parts(config: dict, dataset: Dataset, directory: Path | None = None) -> dict[str, list[int]]:
    """The indices of each split of a checkpoint's split of `dataset`, re-made in training's order, and checked
    against the split training recorded in `directory` (split.npz) where there is one.

    Should the two differ (a scikit-learn whose `train_test_split` draws differently), the re-made split would
    put training documents into "test" and every figure would look right: the recorded one is used instead,
    in corpus order, and stderr says so.
    """
    parts, record = assign_splits(dataset.examples, config.get("split", {}).get("seed", 0))
    recorded = recorded_split(directory, len(dataset.examples), record["sizes"])
    if recorded is None or all(np.array_equal(np.sort(parts[s]), recorded[s]) for s in SPLITS):
        return parts
    print(
        f"warning: the train/dev/test split re-made here differs from the one {directory} recorded (another "
        "scikit-learn version?); the recorded split is used",
        file=sys.stderr,
    )
    return {s: recorded[s].tolist() for s in SPLITS}
