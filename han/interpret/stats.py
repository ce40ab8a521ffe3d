"""Word-attention statistics: every word occurrence of a split with its weights (Figures 3-4).

For each occurrence we keep the word, its attention weight p_w, its sentence's weight p_s, the
document's gold and predicted class (sqrt(p_s) * p_w, the heatmaps' blue, is derived from them).
Saved as a compressed `.npz` of plain arrays (no pickles), small enough to ship beside a demo
checkpoint and to draw the distribution of any word without the review text.
"""

from __future__ import annotations

import itertools
import json
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from han.checkpoint.classifier import Classifier
from han.data.dataset import Dataset, Example, check_same_data, split_indices
from han.data.readers import Labels
from han.data.splits import recorded_split
from han.data.store import Corpus, DamagedStore
from han.data.store_writer import cached_store
from han.data.text import Tokenized, dataset_key
from han.errors import HanError


@dataclass
class WordStats:
    """Per-occurrence arrays (all the same length) and what they refer to."""

    words: list[str]  # word names; `word` indexes into this list
    word: np.ndarray  # (occurrences,) uint16 while the words seen fit in it, else int32
    attention: np.ndarray  # (occurrences,) float16 p_w
    sentence: np.ndarray  # (occurrences,) float16 p_s of the word's sentence
    gold: np.ndarray  # (occurrences,) int8 gold class of the document
    predicted: np.ndarray  # (occurrences,) int8 predicted class of the document
    labels: list[str]  # class names
    documents: int  # documents the occurrences come from
    meta: dict  # checkpoint, split, sampling
    head_attention: np.ndarray | None = None  # (occurrences, heads) float16 p_w of each head (several heads)

    @property
    def display(self) -> np.ndarray:
        """(occurrences,) float16 sqrt(p_s) * p_w (not normalised), derived when asked for: a column kept
        beside the others would cost 2 bytes per occurrence in `han stats` (~40 MB at 1.5M reviews)."""
        return (np.sqrt(self.sentence.astype(np.float32)) * self.attention.astype(np.float32)).astype(np.float16)

    def for_head(self, head: int) -> WordStats:
        """The same statistics with one head's p_w as `attention` (0-based; p_s stays the mean's, so
        `display` is sqrt(p_s) times the head's p_w)."""
        if self.head_attention is None or not 0 <= head < self.head_attention.shape[1]:
            raise HanError(f"these statistics have no head {head}")
        return replace(self, attention=self.head_attention[:, head], meta={**self.meta, "head": head})

    def index_of(self, word: str) -> int | None:
        try:
            return self.words.index(word)
        except ValueError:
            return None

    def occurrences(self, word: str) -> np.ndarray:
        """Boolean mask of the occurrences of `word` (all False for an unseen word)."""
        index = self.index_of(word)
        if index is None:
            return np.zeros(len(self.word), dtype=bool)
        return self.word == index


def collect(
    model: Classifier,
    dataset: Dataset,
    split: str = "test",
    max_docs: int | None = None,
    seed: int = 0,
    on_progress: Callable[[int, int], object] | None = None,
    release_texts: bool = False,
) -> WordStats:
    """Run `model` over a split of `dataset` (re-made with the checkpoint's split seed), in file order.

    `max_docs` keeps a seeded random sample of the split; `on_progress(done, total)` is called
    as documents are processed (for progress bars). A dataset read without the split's texts (labels
    only, as `han stats` reads a large corpus) is read again, and each document is analysed as it passes,
    a chunk at a time: memory is that of the labels and the results, whatever the corpus size.
    `release_texts` lets each document's text go once it is tokenised (a caller that read the texts only for
    this: memory stays that of the columns).
    """
    check_same_data(model.config, dataset)
    if release_texts and dataset.released is None:
        dataset.released = dataset.fingerprint()  # what it was read as, before texts go
    in_split = _split_of(model, dataset, split)  # (split_documents,) int64
    indices, split_documents = in_split.tolist(), len(in_split)
    del in_split
    if max_docs is not None and max_docs < len(indices):
        indices = random.Random(seed).sample(indices, max_docs)
    wanted = sorted(i for i in indices if dataset.examples[i].label in model.labels)
    collector = _Collector(model, len(wanted), on_progress)
    if all(_has_text(dataset.examples[i]) for i in wanted):
        bare = Labels()
        for index in wanted:
            example = dataset.examples[index]
            if release_texts:  # its text goes once tokenised
                dataset.examples[index] = bare(example.label, example.split)
            collector.add(example)
    elif (corpus := _stored_corpus(dataset, model)) is not None:  # the tokens training stored: no file read again
        for done, index in enumerate(wanted, 1):
            collector.add_tokens(dataset.examples[index].label, Tokenized(corpus.sentences(index)))
            if done % CHUNK == 0:
                corpus.release_pages()  # bounded memory: one chunk's pages at a time
    else:  # the texts were not kept: one more pass over the files, the split's documents analysed as read
        keep, position = set(wanted), itertools.count()
        dataset.reread(lambda example: collector.add(example) if next(position) in keep else None)
    columns, vocab_index = collector.finish()
    if not collector.documents:
        raise HanError(f"no {split} document with a known label to analyse")
    return WordStats(
        words=list(vocab_index),
        word=columns["word"],
        attention=columns["attention"],
        sentence=columns["sentence"],
        gold=columns["gold"],
        predicted=columns["predicted"],
        labels=list(model.labels),
        documents=collector.documents,
        head_attention=columns.get("head_attention"),
        meta={
            "checkpoint": str(model.path) if model.path else None,
            "model_sha256": model.weights_digest,  # the weights these figures describe
            "model": model.name,
            "split": split,
            "sampled": max_docs is not None and max_docs < split_documents,
            "split_documents": split_documents,
            "sample_seed": seed,
        },
    )


def _split_of(model: Classifier, dataset: Dataset, split: str) -> np.ndarray:
    """The corpus indices of one split of the checkpoint's split: as training recorded it (split.npz), else
    re-made (checkpoints from before the record; arrays, no Python int per corpus document)."""
    sizes = model.config.get("split", {}).get("sizes", {})
    parts = (
        recorded_split(model.path, len(dataset.examples), sizes) or split_indices(dataset.examples, model.split_seed)[0]
    )
    return parts[split]


def _stored_corpus(dataset: Dataset, model: Classifier) -> Corpus | None:
    """The token store of these documents under the checkpoint's text limits, if the cache still holds it
    (training built it): its documents are those `model.prepare` would make from the texts."""
    try:
        corpus = cached_store(dataset_key(dataset.fingerprint(), model.limits))
    except DamagedStore:
        return None  # the files are read again instead
    return corpus if corpus is not None and len(corpus) == len(dataset.examples) else None


def _has_text(example: Example) -> bool:
    return example.text is not None or example.sentences is not None


class _Collector:
    """Documents in, a chunk at a time: tokenised, analysed by the model, their occurrences appended."""

    def __init__(self, model: Classifier, total: int, on_progress: Callable[[int, int], object] | None) -> None:
        self.model, self.total, self.on_progress = model, total, on_progress
        self.buffers = _Buffers()
        self.vocab_index: dict[str, int] = {}  # word -> its index in WordStats.words (first appearance)
        self.chunk: list[tuple[int, Tokenized]] = []  # (gold class, tokenised document)
        self.seen = 0  # documents added
        self.documents = 0  # documents analysed (those with at least one sentence)

    def add(self, example: Example) -> None:
        self.add_tokens(example.label, self.model.prepare(example))

    def add_tokens(self, label: str, document: Tokenized) -> None:
        self.seen += 1
        if document.sentences:
            self.chunk.append((self.model.labels.index(label), document))
        if len(self.chunk) >= CHUNK:
            self._analyse()

    def _analyse(self) -> None:
        """Analyse the chunk's documents in one call (the model batches them) and keep their occurrences."""
        results = self.model.analyse([document for _, document in self.chunk]) if self.chunk else iter(())
        for (gold, document), result in zip(self.chunk, results, strict=True):
            _add_document(self.buffers, self.vocab_index, self.model, document.sentences, gold, result)
        self.buffers.flush(narrow_words=len(self.vocab_index) <= WORDS_IN_UINT16)
        self.documents += len(self.chunk)
        self.chunk = []
        if self.on_progress:
            self.on_progress(self.seen, self.total)

    def finish(self) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        self._analyse()
        return self.buffers.arrays(), self.vocab_index


ARRAYS = ("word", "attention", "sentence", "gold", "predicted")  # files from before also hold "display": not read
CHUNK = 512  # documents tokenised and analysed at a time
_TYPES = {"word": np.int32, "gold": np.int8, "predicted": np.int8}  # the other columns are float16
WORDS_IN_UINT16 = 1 << 16  # word indices 0 .. 65535 fit in 2 bytes: the word column halves


class _Buffers:
    """Typed columns grown a chunk at a time (a few bytes per occurrence, not a Python object per value)."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in (*ARRAYS, "head_attention")}
        self.pending: dict[str, list] = {name: [] for name in self.parts}  # this chunk's values

    def flush(self, narrow_words: bool = False) -> None:
        """Turn the chunk's values into typed arrays; word indices as uint16 while `narrow_words` says they fit
        (parts of both types concatenate to int32)."""
        for name, values in self.pending.items():
            if values:
                dtype = np.uint16 if name == "word" and narrow_words else _TYPES.get(name, np.float16)
                self.parts[name].append(np.asarray(values, dtype=dtype))
                values.clear()

    def arrays(self) -> dict[str, np.ndarray]:
        """Each column in one array. A part is freed as soon as it is copied, so the columns never exist
        twice: the peak is the columns plus one part, not plus the largest column."""
        self.flush()
        out = {}
        for name, parts in self.parts.items():
            if parts:
                rows = sum(len(p) for p in parts)  # occurrences
                column = np.empty((rows, *parts[0].shape[1:]), dtype=np.result_type(*parts))  # heads: (rows, r)
                start = 0
                parts.reverse()  # popped from the end: the first part first
                while parts:
                    part = parts.pop()
                    column[start : start + len(part)] = part
                    start += len(part)
                out[name] = column
        return out


def _add_document(
    buffers: _Buffers, vocab_index: dict[str, int], model: Classifier, sentences: list, gold: int, result
) -> None:
    """Append one document's word occurrences (word, p_w, p_s, gold, predicted, per-head p_w)."""
    heads: list = result.word_head_weights or [None] * len(result.word_weights)  # per sentence: head, word
    column = buffers.pending
    for tokens, p_s, weights, per_head in zip(
        sentences, result.sentence_weights, result.word_weights, heads, strict=True
    ):
        if per_head is not None:
            column["head_attention"].extend(zip(*per_head, strict=True))  # a row of head weights per word
        for token, p_w in zip(tokens, weights, strict=True):
            column["word"].append(vocab_index.setdefault(token if token in model.vocab else "<unk>", len(vocab_index)))
            column["attention"].append(p_w)
            column["sentence"].append(p_s)
            column["gold"].append(gold)
            column["predicted"].append(result.predicted)


def save(stats: WordStats, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"words": stats.words, "labels": stats.labels, "documents": stats.documents, "meta": stats.meta}
    arrays = {name: getattr(stats, name) for name in ARRAYS}
    if stats.head_attention is not None:
        arrays["head_attention"] = stats.head_attention
    np.savez_compressed(path, header=np.array(json.dumps(header)), **arrays)


def load(path: str | Path) -> WordStats:
    """Read a statistics file written by `save` (never unpickles)."""
    path = Path(path)
    if not path.is_file():
        raise HanError(f"{path}: no such statistics file")
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {name: data[name] for name in ARRAYS}
            heads = data["head_attention"] if "head_attention" in data.files else None
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as e:  # EOF: empty
        raise HanError(f"{path}: not a readable word-statistics file ({e or type(e).__name__})") from None
    return WordStats(
        words=header["words"],
        labels=header["labels"],
        documents=header["documents"],
        meta=header["meta"],
        head_attention=heads,
        **arrays,
    )


def summary(stats: WordStats, word: str) -> dict:
    """Occurrence count and mean attention of `word`, overall and per gold label."""
    mask = stats.occurrences(word)
    per_label = {}
    for index, label in enumerate(stats.labels):
        values = stats.attention[mask & (stats.gold == index)].astype(np.float32)
        per_label[label] = {"count": int(values.size), "mean": float(values.mean()) if values.size else None}
    values = stats.attention[mask].astype(np.float32)
    return {
        "word": word,
        "count": int(values.size),
        "mean": float(values.mean()) if values.size else None,
        "per_label": per_label,
    }
