"""Word embeddings initialised by word2vec (gensim) trained on the training + dev text.

The paper initialises its 200-d embedding layer with word2vec trained on the training and
validation splits; we add unlabelled text where a data set has it (aclImdb `train/unsup`).
One worker thread and a fixed seed make the vectors repeatable, so the table of a given corpus,
vocabulary and seed is cached on disk (`han.cache`): HN-AVE, HN-MAX and HN-ATT trained with the
same seed share it instead of running word2vec three times (minutes on aclImdb).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from .cache import cache_path, write_atomically
from .vocab import PAD_ID, Vocab


def random_embeddings(vocab: Vocab, dim: int, seed: int) -> torch.Tensor:
    """Uniform(-0.1, 0.1) vectors, PAD fixed at zero."""
    generator = torch.Generator().manual_seed(seed)
    table = torch.empty(len(vocab), dim).uniform_(-0.1, 0.1, generator=generator)  # (V, dim)
    table[PAD_ID] = 0.0
    return table


def word2vec_embeddings(
    sentences: Iterable[list[str]], vocab: Vocab, dim: int = 200, seed: int = 0, epochs: int = 5, window: int = 5
) -> tuple[torch.Tensor, dict]:
    """Train word2vec on `sentences` and return the embedding table for `vocab`.

    Words of the vocabulary that word2vec did not keep (and UNK) get small random vectors.
    Returns the (len(vocab), dim) table and a summary for the checkpoint's config.
    """
    import gensim
    from gensim.models import Word2Vec  # imported here: only training needs gensim

    sentences = [s for s in sentences if s]
    settings = [dim, seed, epochs, window, gensim.__version__]
    digest = hashlib.sha256(Path(__file__).read_bytes() + json.dumps([settings, vocab.itos]).encode())
    for sentence in sentences:
        digest.update("\x1f".join(sentence).encode("utf-8", "surrogatepass") + b"\x1e")
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
        "sentences": len(sentences),
        "w2v_vocab": len(w2v.wv),
        "vocab_covered": found,
    }
    if path is not None:
        encoded = torch.tensor(list(json.dumps(summary).encode()), dtype=torch.uint8)
        write_atomically(path, save({"table": table.contiguous(), "summary": encoded}))
    return table, summary
