"""Readers for review files: each yields `Example`s and a record of what it read.

- CSV / TSV / JSON lines, plain or `.gz` (the Yelp Open Dataset's `review.json` included),
  streamed row by row, with `text_col` / `label_col` or automatic recognition of the two Yelp
  layouts (`stars` + `text`, and `label2` = "Review Stars: N.0");
- aclImdb, as the official `aclImdb_v1.tar.gz` or its extracted folder (rating from
  `ID_RATING.txt`, official train/test kept, `train/unsup` as unlabelled text);
- Tang et al. 2015 `.ss` files (`user\\t\\tproduct\\t\\trating\\t\\ttext`, `<sssss>` between
  sentences), already tokenised; `.train.ss` / `.dev.ss` / `.test.ss` name the split.

Text is decoded strictly (UTF-8 unless an encoding is declared): a byte sequence that does not decode
is an error naming the file and line, never a silent U+FFFD.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gzip
import io
import json
import random
import re
import sys
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from han.errors import HanError

_RATING_FILE = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg|unsup)/\d+_(\d+)\.txt$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
YELP_STARS = {str(i) for i in range(1, 6)}

csv.field_size_limit(sys.maxsize)  # reviews can be long; the text limits cut them later


@dataclass(slots=True, frozen=True)  # slots: ~290 bytes less per document; frozen: safe to share (Labels)
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


class Labels:
    """Documents without their texts, as one shared Example per (label, split) pair: a labels-only list of
    1.5M documents then costs a pointer each (~12 MB), not an object each (~110 MB). Sharing is safe
    because an Example is immutable."""

    def __init__(self) -> None:
        self.shared: dict[tuple[str, str | None], Example] = {}

    def __call__(self, label: str, split: str | None) -> Example:
        """The one text-less Example of this label and split."""
        example = self.shared.get((label, split))
        if example is None:
            example = self.shared[label, split] = Example(label=label, split=split)
        return example

    def strip(self, examples: Iterable[Example]) -> list[Example]:
        """The same documents, labels and splits, without their texts."""
        return [self(e.label, e.split) for e in examples]


def sort_labels(names: set[str] | list[str]) -> list[str]:
    names = set(names)
    if all(_NUMBER.fullmatch(n) for n in names):
        return sorted(names, key=float)
    return sorted(names)


def normalize_label(value: object) -> str:
    """ "5", 5, "5.0" and "Review Stars: 5.0" all become "5"; other strings are kept stripped."""
    return _normalize(str(value))


@functools.lru_cache(maxsize=1 << 14)  # a corpus has a handful of distinct label strings: parse each once
def _normalize(raw: str) -> str:
    text = raw.strip()
    match = _NUMBER.search(text)
    if match and (_NUMBER.fullmatch(text) or ":" in text):
        number = float(match.group())
        text = str(int(number)) if number.is_integer() else str(number)
    return sys.intern(text)  # one string per class, not one per document (~50 bytes each at 1.5M documents)


TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".ndjson")  # files read as tables of rows (.gz of them too)


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
    with _naming_bad_bytes(path, encoding):
        yield from lines


@contextlib.contextmanager
def _naming_bad_bytes(path: Path, encoding: str) -> Iterator[None]:
    """UnicodeDecodeError raised inside -> a HanError naming the file and the first line that is not `encoding`;
    a damaged or cut-short .gz and a malformed CSV -> a HanError naming the file."""
    try:
        yield
    except UnicodeDecodeError as e:
        raise HanError(
            f"{path}: line {_first_bad_line(path, encoding)} is not valid {encoding} ({e.reason}); give the file's "
            "encoding with --encoding (e.g. --encoding latin-1)"
        ) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:  # gzip's errors for a truncated or non-gzip file
        raise HanError(f"{path}: the compressed file is damaged or cut short ({e}); get a complete copy") from None
    except csv.Error as e:
        raise HanError(f"{path}: not a readable CSV/TSV file ({e})") from None


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
    # decoding errors are caught once around the whole file: a generator per line cost ~10 % of reading
    with _open_text(path, encoding) as f, _naming_bad_bytes(path, encoding):
        if name.endswith((".json", ".jsonl", ".ndjson")):
            for n, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise HanError(f"{path}: line {n} is not valid JSON ({e.msg})") from None
        else:
            yield from csv.DictReader(f, delimiter="\t" if name.endswith(".tsv") else ",")


def _table_pairs(path: Path, encoding: str, pick: Callable[[list[str]], tuple[str, str]]) -> Iterator[tuple[Any, Any]]:
    """(text, label) of every row of a CSV / TSV / JSON-lines file, streamed; `pick(columns)` names the two
    columns at the first row. CSV rows stay lists: a dict per row (csv.DictReader) cost a quarter of reading."""
    name = path.name.removesuffix(".gz").lower()
    if name.endswith((".json", ".jsonl", ".ndjson")):
        wanted: tuple[str, str] | None = None
        for row in _table_rows(path, encoding):
            wanted = wanted or pick(list(row))
            yield row.get(wanted[0]), row.get(wanted[1])
        return
    with _open_text(path, encoding) as f, _naming_bad_bytes(path, encoding):
        reader = csv.reader(f, delimiter="\t" if name.endswith(".tsv") else ",")
        header = next(reader, [])
        at: list[int] = []  # positions of the text and label columns (the last of equal names, as DictReader)
        for values in reader:
            if not values:  # a blank line: csv.DictReader skipped these too
                continue
            if not at:
                at = [len(header) - 1 - header[::-1].index(column) for column in pick(header)]
            text, label = (values[i] if i < len(values) else None for i in at)
            yield text, label


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
    through: Callable[[Example], Example] = lambda example: example,
) -> tuple[list[Example], dict]:
    """Read a CSV / TSV / JSON-lines file of labelled reviews; every example passes `through` as it is read."""
    examples: list[Example] = []
    skipped_empty = 0
    layout = ""

    def pick(columns: list[str]) -> tuple[str, str]:  # called once, at the first row
        nonlocal text_col, label_col, layout
        text_col, label_col, layout = _pick_columns(path, columns, text_col, label_col)
        return text_col, label_col

    for n, (text, label) in enumerate(_table_pairs(path, encoding, pick), start=1):
        if not isinstance(text, str) or not text.strip():
            skipped_empty += 1
            continue
        if label is None or str(label).strip() == "":
            raise HanError(f"{path}: row {n} has no value in column {label_col!r}")
        name = normalize_label(label)
        if layout.startswith("yelp") and name not in YELP_STARS:
            raise HanError(f"{path}: row {n}: {label_col}={label!r} is outside the 1-5 stars")
        examples.append(through(Example(label=name, text=text)))
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
    path: Path,
    with_unlabelled: bool = True,
    max_docs: int | None = None,
    seed: int = 0,
    through: Callable[[Example], Example] = lambda example: example,
) -> tuple[list[Example], list[str], dict]:
    """aclImdb: labelled train/test reviews (rating from the file name) and train/unsup text.

    `max_docs` keeps a seeded random sample, since the archive is ordered by split and label; the
    examples pass `through` after it (at most 50,000 of them), in their final order.
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
            examples.append(Example(label=sys.intern(str(int(rating))), text=text, split=split))
    if not examples:
        inside = sorted(f.name for f in path.iterdir() if f.is_file())[:3] if path.is_dir() else []
        hint = f"; to read files of the folder, give them: {', '.join(str(path / f) for f in inside)}" if inside else ""
        raise HanError(f"{path}: no aclImdb/{{train,test}}/{{pos,neg}}/ID_RATING.txt files found{hint}")
    if max_docs is not None and max_docs < len(examples):
        examples = random.Random(seed).sample(examples, max_docs)
        unlabelled = unlabelled[:max_docs]
    examples = [through(e) for e in examples]
    return (
        examples,
        unlabelled,
        {"path": str(path), "format": "aclImdb", "documents": len(examples), "unlabelled": len(unlabelled)},
    )


def read_tang(
    path: Path,
    max_docs: int | None = None,
    encoding: str = "utf-8",
    through: Callable[[Example], Example] = lambda example: example,
) -> tuple[list[Example], dict]:
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
                through(
                    Example(
                        label=normalize_label(fields[2]),
                        sentences=[s for s in sentences if s],
                        split=match.group(1) if match else None,
                    )
                )
            )
            if max_docs is not None and len(examples) >= max_docs:
                break
    return examples, {"path": str(path), "format": "tang2015", "documents": len(examples)}
