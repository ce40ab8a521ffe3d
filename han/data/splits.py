"""The train/dev/test split of a data set: seeded, stratified, and the same wherever it is re-made.

split_indices(examples, seed)    index arrays per split, and a record of how they were made
assign_splits(examples, seed)    the same as lists
split_sizes(examples)            the sizes alone, without making the split
train_subset(train, fraction)    a seeded share of the train split (learning curves)
save_split / recorded_split      the split as training made it, kept in the checkpoint (split.npz)
"""

from __future__ import annotations

import random
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from han.data.readers import Example
from han.errors import HanError

SPLITS = ("train", "dev", "test")


def _stratified_cut(
    indices: np.ndarray, codes: np.ndarray, size: int, seed: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Split `indices` into (rest, cut) with `size` documents in cut, stratified when possible.

    `codes`: each document's class as its rank among the sorted label names, so that scikit-learn's
    `np.unique` sees the classes in the order the label strings gave it (the same split, in a fraction of the
    time of lists of strings: 1.5M documents, ~14 s -> ~2 s)."""
    from sklearn.model_selection import train_test_split

    try:
        rest, cut = train_test_split(indices, test_size=size, random_state=seed, stratify=codes[indices])
        return rest, cut, True
    except ValueError:  # a class with a single document: fall back to a plain seeded split
        rest, cut = train_test_split(indices, test_size=size, random_state=seed)
        return rest, cut, False


def _tenth(n: int) -> int:
    """The size of a dev or test set carved from n documents."""
    return max(1, round(n / 10))


def split_sizes(examples: list[Example]) -> dict[str, int]:
    """The sizes of the splits `assign_splits` makes, without making them (counts only: the split itself costs
    ~10 s at 1.5M documents, and `--embeddings auto` needs only its sizes before `prepare` makes it)."""
    if not all(e.split in SPLITS for e in examples):
        n_held = _tenth(len(examples))
        return {"train": len(examples) - 2 * n_held, "dev": n_held, "test": n_held}
    counts = Counter(e.split for e in examples)
    sizes = {split: counts[split] for split in SPLITS}
    for missing in ("dev", "test"):
        if not sizes[missing] and sizes["train"] >= 2:
            sizes[missing] = _tenth(sizes["train"])
            sizes["train"] -= sizes[missing]
    return sizes


def assign_splits(examples: list[Example], seed: int = 0) -> tuple[dict[str, list[int]], dict]:
    """Index lists per split, and a record of how they were made (`split_indices` as lists)."""
    parts, record = split_indices(examples, seed)
    return {s: part.tolist() for s, part in parts.items()}, record


def split_indices(examples: list[Example], seed: int = 0) -> tuple[dict[str, np.ndarray], dict]:
    """Index arrays per split (int64), and a record of how they were made.

    The source's own split is kept when every example has one; a missing dev (or test) set is
    carved from train (10%, stratified). Otherwise a seeded stratified 80/10/10 split, made as
    scikit-learn's `train_test_split` twice (80/20, then the 20 halved), at least one
    document in each of dev and test.
    """
    if len(examples) < 3:
        raise HanError(f"need at least 3 documents to make train/dev/test splits, got {len(examples)}")
    names = sorted({e.label for e in examples})  # code point order, as numpy sorts the strings
    rank = {name: code for code, name in enumerate(names)}
    codes = np.fromiter((rank[e.label] for e in examples), dtype=np.int64, count=len(examples))  # (n_docs,)
    stratified = True
    if all(e.split in SPLITS for e in examples):
        found = {s: np.array([i for i, e in enumerate(examples) if e.split == s], dtype=np.int64) for s in SPLITS}
        method = "official"
        for missing in ("dev", "test"):
            if not len(found[missing]):
                if len(found["train"]) < 2:
                    raise HanError(f"cannot carve a {missing} set from {len(found['train'])} training document(s)")
                cut = _tenth(len(found["train"]))
                found["train"], found[missing], ok = _stratified_cut(found["train"], codes, cut, seed)
                stratified &= ok
                method += f", {missing} carved from train (10%)"
    else:
        n_dev, n_test = _tenth(len(examples)), _tenth(len(examples))
        train, rest, ok1 = _stratified_cut(np.arange(len(examples)), codes, n_dev + n_test, seed)
        dev, test, ok2 = _stratified_cut(rest, codes, n_test, seed)
        found, method, stratified = {"train": train, "dev": dev, "test": test}, "80/10/10", ok1 and ok2
    counts = {s: np.bincount(codes[found[s]], minlength=len(names)) for s in SPLITS}  # (n_labels,) per split
    record = {
        "method": method,
        "seed": seed,
        "stratified": stratified,
        "sizes": {s: len(found[s]) for s in SPLITS},
        "label_counts": {s: {names[c]: int(n) for c, n in enumerate(counts[s]) if n} for s in SPLITS},
    }
    return {s: np.asarray(found[s], dtype=np.int64) for s in SPLITS}, record


def train_subset(train: list[int], fraction: float, seed: int) -> list[int]:
    """A seeded share of the train split's indices (learning curves), the same for every model seed."""
    if not 0 < fraction <= 1:
        raise HanError(f"train fraction must be in (0, 1], not {fraction}")
    if fraction == 1:
        return train
    return sorted(random.Random(seed).sample(train, subset_size(len(train), fraction)))


def subset_size(n_train: int, fraction: float) -> int:
    """How many of n_train training documents `train_subset` keeps."""
    return n_train if fraction == 1 else max(1, round(fraction * n_train))


SPLIT_FILE = "split.npz"  # in a checkpoint: the split of every labelled document the model was trained on


def split_codes(parts: dict[str, list[int]], n_docs: int) -> np.ndarray:
    """Which split each of `n_docs` labelled documents is in, one byte each: 0 train, 1 dev, 2 test."""
    codes = np.zeros(n_docs, dtype=np.uint8)  # (n_docs,)
    for code, split in enumerate(SPLITS):
        codes[np.asarray(parts[split], dtype=np.int64)] = code
    return codes


def save_split(directory: Path, codes: np.ndarray) -> None:
    """Keep `split_codes` in a checkpoint, compressed (~0.3 MB at 1.5M documents).

    Whoever reads the checkpoint later (`han stats`) takes the split from here instead of re-making it: the
    same documents even if scikit-learn's `train_test_split` changes between versions, and no scikit-learn
    import (~145 MB of resident memory) for a command that only needs to know which documents are the test's.
    """
    np.savez_compressed(directory / SPLIT_FILE, codes=codes)


def recorded_split(directory: Path | None, n_docs: int, sizes: dict[str, int]) -> dict[str, np.ndarray] | None:
    """The sorted document indices of each split as `save_split` recorded them, or None when the checkpoint has
    no record (it predates it) or one that does not fit: another number of documents, other split `sizes` (the
    checkpoint's record of them), an unreadable file. The caller then re-makes the split."""
    path = None if directory is None else Path(directory) / SPLIT_FILE
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            codes = data["codes"]  # (n_docs,) uint8
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):  # EOFError: an empty file
        return None
    if codes.shape != (n_docs,) or codes.dtype != np.uint8:
        return None
    parts = {split: np.flatnonzero(codes == code) for code, split in enumerate(SPLITS)}  # (n_split,) int64, sorted
    return parts if {split: len(parts[split]) for split in SPLITS} == sizes else None
