"""Per-document figures of one checkpoint over a set of documents: what the app's Data set page shows.

    result = analyse(classifier, examples, loo=None)      # every document: prediction, lengths, top words, map
    save(result, checkpoint / "analysis-test.npz");  load(path)

Per document (`Analysis`): class probabilities (the prediction is their argmax), length in sentences and
words as the model reads it (after its text limits), attention's top word (the largest sqrt(p_s) * p_w, what
the heatmap colours darkest; none for HN-AVE, whose weights are uniform), leave-one-out's top word (the word
whose erasure lowers p(predicted class) most, han.interpret.attribution) for the first `loo` documents, and
the document vector the classifier reads (the sentence level's pooled output, the input of its linear layer)
projected to 2-D by PCA, for a map of the documents.

The file is an .npz of plain arrays (no pickle) with a JSON `meta`: the weights' sha256 (figures of other
weights are not shown) and a sha256 of the documents' labels and texts in order, so that a reader can tell
whether the rows are those of the documents it has; no review text is stored.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from han.checkpoint.classifier import Classifier
from han.data.batches import within_budget
from han.data.dataset import Example, bucket_batches, collate
from han.data.readers import TABLE_SUFFIXES, _decoding, _open_text, _table_rows, normalize_label
from han.errors import HanError
from han.interpret.attribution import attention_label, leave_one_out

SPLIT_FILE = "analysis-{split}.npz"  # beside the checkpoint: a split's figures, where the app looks for them
VERSION = 1  # of the file's layout: a reader refuses other versions rather than misread them
LABEL_COLUMNS = ("stars", "label2", "label", "rating")  # recognised as the gold label, as han.data.readers does
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Analysis:
    """One row per document analysed, in input order (`index`: its position among the documents given)."""

    index: np.ndarray  # (n,) int64 position in the input (documents without a word are left out)
    gold: np.ndarray  # (n,) str, "" where the document has no label
    probabilities: np.ndarray  # (n, n_classes) float32, classes in the order of meta["labels"]
    sentences: np.ndarray  # (n,) int32 sentences the model read
    words: np.ndarray  # (n,) int32 words the model read
    attention_word: np.ndarray  # (n,) str, "" without attention (HN-AVE)
    attention_position: np.ndarray  # (n,) int32 the word's position in reading order, -1 when none
    loo_word: np.ndarray  # (n,) str, "" where leave-one-out was not run
    loo_position: np.ndarray  # (n,) int32, -1 where leave-one-out was not run
    coordinates: np.ndarray  # (n, 2) float32 the document vectors' first two principal components
    meta: dict = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    @property
    def predicted(self) -> np.ndarray:
        """(n,) class index of the prediction."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """(n,) probability of the predicted class."""
        return self.probabilities.max(axis=1)


ARRAYS = [name for name in Analysis.__dataclass_fields__ if name != "meta"]


# ----------------------------------------------------------------------------- documents in


def documents_digest(examples: Sequence[Example]) -> str:
    """sha256 of the documents' labels and texts in order: the same rows, or not."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.label}\0{example.plain_text()}\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def read_file(
    path: str | Path,
    text_col: str | None = None,
    label_col: str | None = None,
    encoding: str = "utf-8",
    max_docs: int | None = None,
) -> list[Example]:
    """Documents of a CSV/TSV/JSON-lines file (text column `text` or `text_col`; label, when there is one:
    `label_col` or a column named stars, label2, label or rating) or of a plain text file (a review a line,
    no labels), as `han predict` reads them. An unlabelled document has the label ""."""
    path = Path(path)
    if not path.is_file():
        raise HanError(f"{path}: no such file" if not path.exists() else f"{path}: not a file of reviews")
    if not path.name.removesuffix(".gz").lower().endswith(TABLE_SUFFIXES):
        if text_col or label_col:
            raise HanError(f"{path} is plain text, a review a line: it has no columns to name")
        with _open_text(path, encoding) as f:
            lines = (line.rstrip("\n") for line in _decoding(path, f, encoding))
            return [Example("", line) for line in _first(filter(str.strip, lines), max_docs)]
    return list(_first(_table_examples(path, text_col, label_col, encoding), max_docs))


def _table_examples(path: Path, text_col: str | None, label_col: str | None, encoding: str) -> Iterator[Example]:
    columns: tuple[str, str | None] | None = None
    for row in _table_rows(path, encoding):
        if columns is None:
            text = text_col or "text"
            label = label_col or next((c for c in LABEL_COLUMNS if c in row), None)
            missing = [repr(c) for c in (text, label_col) if c is not None and c not in row]
            if missing:
                raise HanError(f"{path}: no column {', '.join(missing)}; columns are {', '.join(row)}")
            columns = (text, label)
        value, label_value = row.get(columns[0]), row.get(columns[1]) if columns[1] else None
        if isinstance(value, str) and value.strip():
            gold = "" if label_value is None or str(label_value).strip() == "" else normalize_label(label_value)
            yield Example(gold, value)
    if columns is None:
        raise HanError(f"{path}: the file holds no rows")


def _first(items: Iterator, n: int | None) -> Iterator:
    for count, item in enumerate(items):
        if n is not None and count >= n:
            return
        yield item


# ----------------------------------------------------------------------------- the model


@torch.inference_mode()
def _forward(classifier: Classifier, encoded: list[list[list[int]]], batch_size: int = 64) -> Iterator[tuple]:
    """Per batch: (indices, probabilities (b, k), document vectors (b, d), sentence weights (b, S), word weights
    per document per sentence). The document vectors are what the classifier's linear layer reads, caught by a
    hook on it, so every variant (heads concatenated, CAHAN's two passes) gives the vector it really classifies."""
    counts = [len(d) for d in encoded]
    caught: list[torch.Tensor] = []
    hook = classifier.model.classifier.register_forward_pre_hook(lambda _, inputs: caught.append(inputs[0]))
    try:
        for batch_indices in bucket_batches(counts, batch_size, shuffle=False):
            for indices in within_budget(batch_indices, counts):
                caught.clear()
                batch = collate([encoded[i] for i in indices])
                out = classifier.model(batch)
                probabilities = out.logits.softmax(dim=-1).float().cpu().numpy()  # (b, n_classes)
                vectors = caught[-1].float().cpu().numpy()  # (b, 2*sentence_hidden)
                from han.nn.model import split_word_weights

                words = split_word_weights(out.word_weights, batch)  # per document, per sentence, real words only
                yield indices, probabilities, vectors, out.sentence_weights.float().cpu().numpy(), words
    finally:
        hook.remove()


def _top(sentence_weights: np.ndarray, word_weights: list[list[float]]) -> int:
    """Reading-order position of the word with the largest sqrt(p_s) * p_w (the heatmap's darkest word)."""
    shown = [
        math.sqrt(max(float(p_s), 0.0)) * p_w
        for p_s, words in zip(sentence_weights, word_weights, strict=True)
        for p_w in words
    ]
    return int(np.argmax(shown))


def project(vectors: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """(n, d) document vectors -> (n, 2) first two principal components, and the variance share of each."""
    if len(vectors) < 3:  # PCA needs more documents than components
        return np.zeros((len(vectors), 2), dtype=np.float32), [0.0, 0.0]
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=0)
    return pca.fit_transform(vectors).astype(np.float32), [float(v) for v in pca.explained_variance_ratio_]


def analyse(
    classifier: Classifier,
    examples: Sequence[Example],
    loo: int | None = None,
    on_progress: Progress | None = None,
    source: str = "",
) -> Analysis:
    """The figures of the module docstring for `examples` (label "" = unlabelled); leave-one-out for the first
    `loo` documents (None: all, 0: none). Documents without a word are left out (meta["skipped"])."""
    if loo is not None and loo < 0:
        raise HanError("--loo cannot be negative")
    unknown = sorted({e.label for e in examples} - set(classifier.labels) - {""})
    if unknown:
        raise HanError(
            f"labels {', '.join(unknown[:10])} are not among the checkpoint's labels ({', '.join(classifier.labels)}): "
            "is this data of another model's classes?"
        )
    docs = [classifier.prepare(e) for e in examples]
    kept = [i for i, d in enumerate(docs) if d.sentences]
    if not kept:
        raise HanError("no document with a word in it to analyse")
    encoded = [classifier.encode(docs[i]) for i in kept]
    tokens = [[t for s in docs[i].sentences for t in s] for i in kept]
    n, k = len(kept), len(classifier.labels)
    probabilities = np.zeros((n, k), dtype=np.float32)
    vectors: np.ndarray | None = None
    attention_position = np.full(n, -1, dtype=np.int32)
    with_attention = classifier.variant != "ave"  # HN-AVE's weights are uniform: no word stands out
    done = 0
    for indices, p, v, sentence_weights, word_weights in _forward(classifier, encoded):
        vectors = np.zeros((n, v.shape[1]), dtype=np.float32) if vectors is None else vectors
        probabilities[indices], vectors[indices] = p, v
        for row, i in enumerate(indices):
            if with_attention:
                attention_position[i] = _top(sentence_weights[row, : len(encoded[i])], word_weights[row])
        done += len(indices)
        if on_progress:
            on_progress("predictions", done, n)
    assert vectors is not None
    loo_position = _leave_one_out(classifier, encoded, probabilities.argmax(axis=1), loo, on_progress)
    coordinates, explained = project(vectors)
    word_at = lambda positions: np.array([tokens[r][p] if p >= 0 else "" for r, p in enumerate(positions)], dtype=str)
    return Analysis(
        index=np.array(kept, dtype=np.int64),
        gold=np.array([examples[i].label for i in kept], dtype=str),
        probabilities=probabilities,
        sentences=np.array([len(d) for d in encoded], dtype=np.int32),
        words=np.array([len(t) for t in tokens], dtype=np.int32),
        attention_word=word_at(attention_position),
        attention_position=attention_position,
        loo_word=word_at(loo_position),
        loo_position=loo_position,
        coordinates=coordinates,
        meta={
            "version": VERSION,
            "model": classifier.name,
            "variant": classifier.variant,
            "labels": classifier.labels,
            "attention_label": attention_label(classifier) if with_attention else None,
            "checkpoint": str(classifier.path) if classifier.path else None,
            "model_sha256": classifier.weights_digest,
            "source": source,
            "documents": len(examples),
            "documents_sha256": documents_digest(examples),
            "skipped": len(examples) - n,
            "labelled": int(sum(1 for i in kept if examples[i].label)),
            "loo_documents": int((loo_position >= 0).sum()),
            "pca_explained": explained,
        },
    )


def _leave_one_out(
    classifier: Classifier, encoded: list, predicted: np.ndarray, loo: int | None, on_progress: Progress | None
) -> np.ndarray:
    """Per document, the position of the word whose erasure lowers p(predicted) most; -1 past the first `loo`."""
    positions = np.full(len(encoded), -1, dtype=np.int32)
    todo = len(encoded) if loo is None else min(loo, len(encoded))
    for i in range(todo):
        words, _, _ = leave_one_out(classifier, encoded[i], int(predicted[i]))
        positions[i] = int(np.argmax([score for sentence in words for score in sentence]))
        if on_progress:
            on_progress("leave-one-out", i + 1, todo)
    return positions


# ----------------------------------------------------------------------------- the file


def save(analysis: Analysis, path: Path) -> None:
    """Write the .npz (arrays and a JSON meta; nothing that needs pickle to read) in one piece."""
    temporary = path.with_name(path.name + ".partial.npz")
    arrays = {name: getattr(analysis, name) for name in ARRAYS}
    np.savez_compressed(temporary, meta=np.array(json.dumps(analysis.meta)), **arrays)
    temporary.replace(path)


def load(path: Path) -> Analysis:
    """Read a file `save` wrote; a damaged or foreign file is a HanError naming it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("version") != VERSION:
                raise HanError(f"{path} is of another layout (version {meta.get('version')}): run han analyse again")
            return Analysis(**{name: data[name] for name in ARRAYS}, meta=meta)
    except HanError:
        raise
    except Exception as e:  # zip, key or JSON errors: whatever the damage, one line
        raise HanError(f"{path} is not a readable analysis file ({type(e).__name__}): run han analyse again") from None
