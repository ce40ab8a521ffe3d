"""Readers for review data, the train/dev/test split, and length-bucketed mini-batches.

Every reader yields `Example`s; `read_dataset` picks the reader from the path, combines several
files into one set and reports what it skipped. Supported sources:

- CSV / TSV / JSON lines, plain or `.gz` (the Yelp Open Dataset's `review.json` included),
  streamed row by row, with `text_col` / `label_col` or automatic recognition of the two Yelp
  layouts (`stars` + `text`, and `label2` = "Review Stars: N.0");
- aclImdb, as the official `aclImdb_v1.tar.gz` or its extracted folder (rating from
  `ID_RATING.txt`, official train/test kept, `train/unsup` as unlabelled text);
- Tang et al. 2015 `.ss` files (`user\\t\\tproduct\\t\\trating\\t\\ttext`, `<sssss>` between
  sentences), already tokenised; `.train.ss` / `.dev.ss` / `.test.ss` name the split.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
import re
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .errors import HanError

SPLITS = ("train", "dev", "test")
_RATING_FILE = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg|unsup)/\d+_(\d+)\.txt$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
YELP_STARS = {str(i) for i in range(1, 6)}

csv.field_size_limit(sys.maxsize)  # reviews can be long; the text limits cut them later


@dataclass
class Example:
    """One labelled document: raw text, or sentences already tokenised (Tang `.ss`)."""

    label: str  # the original rating name, e.g. "4" (stars) or "10" (IMDB)
    text: str | None = None  # raw review text
    sentences: list[list[str]] | None = None  # pre-split, pre-tokenised text
    split: str | None = None  # "train" / "dev" / "test" when the source has its own split

    def plain_text(self, sentence_separator: str = " ") -> str:
        """The raw text, or pre-tokenised sentences joined by spaces (one separator between sentences)."""
        if self.text is not None:
            return self.text
        return sentence_separator.join(" ".join(s) for s in self.sentences or [])


@dataclass
class Dataset:
    """Labelled examples, optional unlabelled texts (for word2vec), and where they came from."""

    examples: list[Example]
    unlabelled: list[str] = field(default_factory=list)  # aclImdb train/unsup
    sources: list[dict] = field(default_factory=list)  # per file: path, format, counts
    read_args: dict = field(default_factory=dict)  # how read_dataset was called (for read_like)

    @property
    def labels(self) -> list[str]:
        """Label names in class order: numeric ratings ascending, otherwise alphabetical."""
        return sort_labels({e.label for e in self.examples})

    def fingerprint(self) -> dict:
        """What identifies the labelled documents read, in order: their count and a hash of labels and texts.

        A checkpoint records it; re-making its split from other data (another file, another --max-docs)
        would put training documents into "test", so evaluation checks it first (`check_same_data`).
        """
        digest = hashlib.sha256()
        for example in self.examples:
            body = example.text if example.text is not None else json.dumps(example.sentences)
            digest.update(f"{example.label}\x1f{example.split}\x1f{body}\x1e".encode("utf-8", "surrogatepass"))
        return {"documents": len(self.examples), "sha256": digest.hexdigest()}


def check_same_data(config: dict, dataset: Dataset) -> None:
    """Refuse to re-make a checkpoint's split from documents other than those it was trained on."""
    recorded = config.get("data", {}).get("fingerprint")
    if recorded is None:  # checkpoints from before fingerprints: compare what they did record
        counts = [s.get("documents") for s in config.get("data", {}).get("sources", [])]
        if counts and sum(c or 0 for c in counts) != len(dataset.examples):
            raise HanError(
                f"the data given holds {len(dataset.examples)} labelled documents but the checkpoint was trained on "
                f"{sum(c or 0 for c in counts)}: its split cannot be made again from it"
            )
        return
    found = dataset.fingerprint()
    if found != recorded:
        raise HanError(
            f"the data given ({found['documents']} documents) is not the data this checkpoint was trained on "
            f"({recorded['documents']} documents, another content hash): its train/dev/test split cannot be made "
            "again from it, and a 'test' split of other data would hold training documents. Give the training "
            "files (same files, same order, same --max-docs), or evaluate without --split"
        )


def sort_labels(names: set[str] | list[str]) -> list[str]:
    names = set(names)
    if all(_NUMBER.fullmatch(n) for n in names):
        return sorted(names, key=float)
    return sorted(names)


def normalize_label(value: object) -> str:
    """ "5", 5, "5.0" and "Review Stars: 5.0" all become "5"; other strings are kept stripped."""
    text = str(value).strip()
    match = _NUMBER.search(text)
    if match and (_NUMBER.fullmatch(text) or ":" in text):
        number = float(match.group())
        return str(int(number)) if number.is_integer() else str(number)
    return text


# ----------------------------------------------------------------------------- readers


def _open_text(path: Path, encoding: str = "utf-8") -> io.TextIOBase:
    """Open plain or gzip text in `encoding`; undecodable bytes raise (see `_decoding`), never become U+FFFD."""
    try:
        "".encode(encoding)
    except LookupError:
        raise HanError(f"unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252)") from None
    # the wrapper owns the raw file and callers close it with `with`: no context manager here
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")


def _decoding(path: Path, lines: Iterator[str], encoding: str) -> Iterator[str]:
    """The lines, with a HanError naming the file and line where the bytes are not `encoding`."""
    try:
        yield from lines
    except UnicodeDecodeError as e:
        raise HanError(
            f"{path}: line {_first_bad_line(path, encoding)} is not valid {encoding} ({e.reason}); give the file's "
            "encoding with --encoding (e.g. --encoding latin-1)"
        ) from None


def _first_bad_line(path: Path, encoding: str) -> int:
    """The number of the first line that does not decode (the text layer decodes whole blocks, not lines)."""
    with gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb") as f:
        for n, line in enumerate(f, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError:
                return n
    return 0


def _table_rows(path: Path, encoding: str = "utf-8") -> Iterator[dict]:
    """Rows of a CSV / TSV / JSON-lines file as dicts, streamed."""
    name = path.name.removesuffix(".gz").lower()
    with _open_text(path, encoding) as f:
        lines = _decoding(path, f, encoding)
        if name.endswith((".json", ".jsonl", ".ndjson")):
            for n, line in enumerate(lines, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise HanError(f"{path}: line {n} is not valid JSON ({e.msg})") from None
        else:
            yield from csv.DictReader(lines, delimiter="\t" if name.endswith(".tsv") else ",")


def _pick_columns(
    path: Path, columns: Sequence[str], text_col: str | None, label_col: str | None
) -> tuple[str, str, str]:
    """Choose text and label columns; returns (text, label, layout name).

    A column given alone is used with the other one recognised as usual (text: `text`; label: `stars`,
    `label2`, `label`, `rating`), or an error names the one still missing.
    """
    if text_col or label_col:
        label_given = label_col is not None
        text_col = text_col or ("text" if "text" in columns else None)
        label_col = label_col or next((c for c in ("stars", "label2", "label", "rating") if c in columns), None)
        for option, value in (("--text-col", text_col), ("--label-col", label_col)):
            if value is None:
                raise HanError(f"{path}: cannot tell the {option[2:-4]} column among {', '.join(columns)}; "
                               f"name it with {option}")  # fmt: skip
        missing = [c for c in (text_col, label_col) if c not in columns]
        if missing:
            raise HanError(f"{path}: no column {', '.join(map(repr, missing))}; columns are {', '.join(columns)}")
        assert text_col is not None and label_col is not None
        detected = {"label2": "yelp-label2", "stars": "yelp-stars"}.get(label_col, "custom")
        return text_col, label_col, "custom" if label_given else detected
    if "text" in columns and "stars" in columns:
        return "text", "stars", "yelp-stars"
    if "text" in columns and "label2" in columns:
        return "text", "label2", "yelp-label2"
    if "text" in columns and "label" in columns:
        return "text", "label", "text-label"
    raise HanError(
        f"{path}: cannot tell the text and label columns among {', '.join(columns)}; "
        "name them with --text-col and --label-col"
    )


def read_table(
    path: Path,
    text_col: str | None = None,
    label_col: str | None = None,
    max_docs: int | None = None,
    encoding: str = "utf-8",
) -> tuple[list[Example], dict]:
    """Read a CSV / TSV / JSON-lines file of labelled reviews."""
    examples: list[Example] = []
    skipped_empty = 0
    layout = ""
    rows = _table_rows(path, encoding)
    for n, row in enumerate(rows, start=1):
        if not layout:
            text_col, label_col, layout = _pick_columns(path, list(row), text_col, label_col)
        text, label = row.get(text_col), row.get(label_col)
        if not isinstance(text, str) or not text.strip():
            skipped_empty += 1
            continue
        if label is None or str(label).strip() == "":
            raise HanError(f"{path}: row {n} has no value in column {label_col!r}")
        name = normalize_label(label)
        if layout.startswith("yelp") and name not in YELP_STARS:
            raise HanError(f"{path}: row {n}: {label_col}={label!r} is outside the 1-5 stars")
        examples.append(Example(label=name, text=text))
        if max_docs is not None and len(examples) >= max_docs:
            break
    if not layout:
        raise HanError(f"{path}: the file holds no rows")
    return examples, {
        "path": str(path),
        "format": f"table/{layout}",
        "text_col": text_col,
        "label_col": label_col,
        "documents": len(examples),
        "skipped_empty": skipped_empty,
    }


def _imdb_members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(relative name, bytes) of every review file in an aclImdb archive or folder."""
    if path.is_dir():
        root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
        for file in sorted(root.glob("*/*/*.txt")):
            yield f"aclImdb/{file.relative_to(root).as_posix()}", file.read_bytes()
        return
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            member_file = archive.extractfile(member) if member.isfile() and _RATING_FILE.search(member.name) else None
            if member_file is not None:
                yield member.name, member_file.read()


def read_imdb(
    path: Path, with_unlabelled: bool = True, max_docs: int | None = None, seed: int = 0
) -> tuple[list[Example], list[str], dict]:
    """aclImdb: labelled train/test reviews (rating from the file name) and train/unsup text.

    `max_docs` keeps a seeded random sample, since the archive is ordered by split and label.
    """
    examples: list[Example] = []
    unlabelled: list[str] = []
    for name, data in _imdb_members(path):
        match = _RATING_FILE.search(name)
        assert match is not None  # _imdb_members yields matching names only
        split, polarity, rating = match.groups()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise HanError(f"{path}: {name} is not valid UTF-8 ({e.reason})") from None
        if polarity == "unsup":
            if with_unlabelled:
                unlabelled.append(text)
        else:
            examples.append(Example(label=str(int(rating)), text=text, split=split))
    if not examples:
        raise HanError(f"{path}: no aclImdb/{{train,test}}/{{pos,neg}}/ID_RATING.txt files found")
    if max_docs is not None and max_docs < len(examples):
        examples = random.Random(seed).sample(examples, max_docs)
        unlabelled = unlabelled[:max_docs]
    return (
        examples,
        unlabelled,
        {"path": str(path), "format": "aclImdb", "documents": len(examples), "unlabelled": len(unlabelled)},
    )


def read_tang(path: Path, max_docs: int | None = None, encoding: str = "utf-8") -> tuple[list[Example], dict]:
    """Tang et al. 2015 `.ss`: user, product, rating, text with `<sssss>` between sentences."""
    match = re.search(r"\.(train|dev|test)\.ss$", path.name)
    examples: list[Example] = []
    with _open_text(path, encoding) as f:
        for n, line in enumerate(_decoding(path, f, encoding), start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t\t")
            if len(fields) != 4:
                raise HanError(
                    f"{path}: line {n} has {len(fields)} fields separated by two tabs, "
                    "expected 4 (user, product, rating, text)"
                )
            sentences = [s.split() for s in fields[3].split("<sssss>")]
            examples.append(
                Example(
                    label=normalize_label(fields[2]),
                    sentences=[s for s in sentences if s],
                    split=match.group(1) if match else None,
                )
            )
            if max_docs is not None and len(examples) >= max_docs:
                break
    return examples, {"path": str(path), "format": "tang2015", "documents": len(examples)}


def read_dataset(
    paths: Sequence[str | Path],
    text_col: str | None = None,
    label_col: str | None = None,
    max_docs: int | None = None,
    with_unlabelled: bool = True,
    seed: int = 0,
    encoding: str = "utf-8",
    max_docs_spread: str = "even",
) -> Dataset:
    """Read and combine one or more files; the reader is chosen from each path.

    `max_docs` N with several files is shared between them (`max_docs_spread="even"`): N // k each, the
    first N % k files one more, and what a short file lacks goes to the files after it; no file is left
    out. `"first"` (checkpoints from before) took the first N documents in file order.
    """
    if max_docs is not None and max_docs < 1:
        raise HanError("--max-docs must be at least 1")
    if max_docs_spread not in ("even", "first"):
        raise HanError(f"unknown max_docs_spread {max_docs_spread!r}")
    dataset = Dataset(
        examples=[],
        read_args={"text_col": text_col, "label_col": label_col, "max_docs": max_docs, "seed": seed}
        | ({"encoding": encoding} if encoding != "utf-8" else {})
        | ({"max_docs_spread": max_docs_spread} if max_docs is not None and len(paths) > 1 else {}),
    )
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise HanError(f"{missing[0]}: no such file or folder")
    for index, raw in enumerate(paths):
        path = Path(raw)
        remaining = _quota(max_docs, max_docs_spread, len(paths), index, len(dataset.examples))
        if remaining is not None and remaining <= 0:
            break
        name = path.name.lower()
        if path.is_dir() or "aclimdb" in name:
            examples, unlabelled, info = read_imdb(path, with_unlabelled, remaining, seed)
            dataset.unlabelled.extend(unlabelled)
        elif name.endswith((".ss", ".ss.gz")):
            examples, info = read_tang(path, remaining, encoding)
        elif name.removesuffix(".gz").endswith((".csv", ".tsv", ".json", ".jsonl", ".ndjson")):
            examples, info = read_table(path, text_col, label_col, remaining, encoding)
        else:
            raise HanError(
                f"{path}: unknown format; expected .csv, .tsv, .json(l), .ss "
                "(optionally .gz), an aclImdb archive or folder"
            )
        dataset.examples.extend(examples)
        dataset.sources.append(info)
    if not dataset.examples:
        raise HanError("the dataset is empty: no labelled documents were read")
    return dataset


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
) -> Dataset:
    """Re-read a checkpoint's data as it was read for training (same columns, --max-docs, seed).

    `paths` replaces the recorded files (e.g. the same data elsewhere); the other arguments,
    when given, replace the recorded read options. Unlabelled text is not read.
    """
    data = config.get("data", {})
    paths = paths or [s["path"] for s in data.get("sources", [])]
    if not paths:
        raise HanError("the checkpoint records no data files; give the data path")
    recorded = data.get("read", {})
    return read_dataset(
        paths,
        text_col or recorded.get("text_col"),
        label_col or recorded.get("label_col"),
        max_docs if max_docs is not None else recorded.get("max_docs"),
        with_unlabelled=False,
        seed=recorded.get("seed", config.get("split", {}).get("seed", 0)),
        encoding=encoding or recorded.get("encoding", "utf-8"),
        max_docs_spread=recorded.get("max_docs_spread", "first"),  # checkpoints from before took the first N
    )


def checkpoint_split(config: dict, dataset: Dataset, split: str) -> list[Example]:
    """The documents of one split of a checkpoint's own train/dev/test split, re-made from `dataset`.

    Refuses (HanError) when `dataset` is not the data the checkpoint was trained on.
    """
    check_same_data(config, dataset)
    parts, _ = assign_splits(dataset.examples, config.get("split", {}).get("seed", 0))
    return [dataset.examples[i] for i in parts[split]]


# ----------------------------------------------------------------------------- splits


def _stratified_cut(indices: list[int], labels: list[str], size: int, seed: int) -> tuple[list[int], list[int], bool]:
    """Split `indices` into (rest, cut) with `size` documents in cut, stratified when possible."""
    from sklearn.model_selection import train_test_split

    strata = [labels[i] for i in indices]
    try:
        rest, cut = train_test_split(indices, test_size=size, random_state=seed, stratify=strata)
        return list(rest), list(cut), True
    except ValueError:  # a class with a single document: fall back to a plain seeded split
        rest, cut = train_test_split(indices, test_size=size, random_state=seed)
        return list(rest), list(cut), False


def assign_splits(examples: list[Example], seed: int = 0) -> tuple[dict[str, list[int]], dict]:
    """Index lists per split, and a record of how they were made.

    The source's own split is kept when every example has one; a missing dev (or test) set is
    carved from train (10%, stratified). Otherwise a seeded stratified 80/10/10 split, made as
    scikit-learn's `train_test_split` twice (80/20, then the 20 halved), at least one
    document in each of dev and test.
    """
    if len(examples) < 3:
        raise HanError(f"need at least 3 documents to make train/dev/test splits, got {len(examples)}")
    labels = [e.label for e in examples]
    stratified = True
    tenth = lambda n: max(1, round(n / 10))
    if all(e.split in SPLITS for e in examples):
        parts = {s: [i for i, e in enumerate(examples) if e.split == s] for s in SPLITS}
        method = "official"
        for missing in ("dev", "test"):
            if not parts[missing]:
                if len(parts["train"]) < 2:
                    raise HanError(f"cannot carve a {missing} set from {len(parts['train'])} training document(s)")
                cut = tenth(len(parts["train"]))
                parts["train"], parts[missing], ok = _stratified_cut(parts["train"], labels, cut, seed)
                stratified &= ok
                method += f", {missing} carved from train (10%)"
    else:
        n_dev, n_test = tenth(len(examples)), tenth(len(examples))
        train, rest, ok1 = _stratified_cut(list(range(len(examples))), labels, n_dev + n_test, seed)
        dev, test, ok2 = _stratified_cut(rest, labels, n_test, seed)
        parts, method, stratified = {"train": train, "dev": dev, "test": test}, "80/10/10", ok1 and ok2
    record = {
        "method": method,
        "seed": seed,
        "stratified": stratified,
        "sizes": {s: len(parts[s]) for s in SPLITS},
        "label_counts": {s: dict(sorted(Counter(labels[i] for i in parts[s]).items())) for s in SPLITS},
    }
    return parts, record


def train_subset(train: list[int], fraction: float, seed: int) -> list[int]:
    """A seeded share of the train split's indices (learning curves), the same for every model seed."""
    if not 0 < fraction <= 1:
        raise HanError(f"train fraction must be in (0, 1], not {fraction}")
    if fraction == 1:
        return train
    return sorted(random.Random(seed).sample(train, max(1, round(fraction * len(train)))))


# ----------------------------------------------------------------------------- batches


@dataclass
class Batch:
    """A mini-batch holding only real sentences (no all-padding sentence reaches the word GRU)."""

    words: torch.Tensor  # (n_sentences, max_words) word ids, 0 = padding
    word_counts: torch.Tensor  # (n_sentences,) real words per sentence, all >= 1
    sentence_counts: torch.Tensor  # (n_docs,) real sentences per document, all >= 1
    labels: torch.Tensor | None = None  # (n_docs,) class indices
    padded: bool = False  # rows are n_docs x max_sentences, padding sentences included (bench only)


def collate(docs: Sequence[list[list[int]]], labels: Sequence[int] | None = None, padded: bool = False) -> Batch:
    """Encoded documents -> a `Batch`; every document needs at least one non-empty sentence.

    `padded` builds the naive layout instead, for benchmarks: every document padded to the
    batch's sentence count, each padding sentence a single PAD word that the word GRU still
    processes (the sentence level masks it out, so results are unchanged, only slower).
    """
    counts = [len(d) for d in docs]  # real sentences per document
    if padded:
        width = max(counts)
        docs = [list(d) + [[0]] * (width - len(d)) for d in docs]
    sentences = [s for doc in docs for s in doc]  # all rows, document after document
    max_words = max(len(s) for s in sentences)
    words = torch.zeros(len(sentences), max_words, dtype=torch.long)  # (n_sentences, max_words)
    for row, sentence in enumerate(sentences):
        words[row, : len(sentence)] = torch.tensor(sentence, dtype=torch.long)
    return Batch(
        words=words,
        word_counts=torch.tensor([len(s) for s in sentences]),  # (n_sentences,)
        sentence_counts=torch.tensor(counts),  # (n_docs,)
        labels=None if labels is None else torch.tensor(labels, dtype=torch.long),  # (n_docs,)
        padded=padded,
    )


def bucket_batches(
    lengths: Sequence[int], batch_size: int, shuffle: bool, seed: int = 0, bucket: bool = True, pool_batches: int = 50
) -> list[list[int]]:
    """Group document indices into batches of similar sentence count.

    With `shuffle`, documents are shuffled, cut into pools of `pool_batches` batches, sorted by
    length inside each pool, batched, and the batches shuffled: similar lengths share a batch
    (little padding, the paper's speed-up) while the order still changes every epoch.
    Without `bucket`, batches are plain random (or in-order) slices.
    """
    order = list(range(len(lengths)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
    if bucket:
        pool = batch_size * pool_batches if shuffle else len(order)
        order = [
            i
            for start in range(0, len(order), pool)
            for i in sorted(order[start : start + pool], key=lambda i: lengths[i])
        ]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle and bucket:
        rng.shuffle(batches)
    return batches
