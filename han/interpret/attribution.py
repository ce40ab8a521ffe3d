"""Word and sentence scores of one document by methods that do and do not read the attention.

    scores = document_scores(classifier, tokenized_doc, n_steps=20, seed=0)
    scores.word["integrated_gradients"]   # per sentence, per real word
    agreement(scores)                      # Kendall tau and top-k overlap of attention with each method

Methods (scores say how much a word / sentence supports the predicted class c):
- attention: the model's own weights: word sqrt(p_s) * p_w (what the heatmap shows; raw p_w is kept as
  `attention_raw`), sentence p_s. For HN-AVE / HN-MAX these are the pooling's own weights (uniform; the
  share of hidden dimensions a position wins), labelled as such by `attention_label`.
- leave_one_out: p_c(document) - p_c(document without that word / sentence). Every erased variant of the
  document goes through the model in one batch. A word's erasure shortens its sentence, a sentence left
  empty disappears, and a document left empty is replaced by the baseline document: one PAD word (the
  zero vector; integrated gradients' baseline too).
- integrated_gradients: captum's LayerIntegratedGradients on the embedding layer, baseline = the PAD
  embedding at every real position, n_steps steps; summed over the embedding dimension. Captum's
  convergence delta is reported (`ig_delta`): the gap between the attributions' sum and
  p_c(document) - p_c(baseline).
- gradient_x_input: captum's LayerGradientXActivation on the embedding layer, summed the same way.
- random: a seeded uniform draw per word and per sentence, so every figure has its floor.
Sentence scores of the gradient methods are sums over the sentence's words. Padding never gets a score:
every result lists exactly the document's real words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.stats import kendalltau

from han.checkpoint.classifier import Classifier
from han.data.dataset import Batch, collate
from han.data.text import Tokenized
from han.data.vocab import PAD_ID
from han.errors import HanError
from han.nn.model import HAN

METHODS = ("attention", "leave_one_out", "integrated_gradients", "gradient_x_input", "random")
COMPARED = METHODS[1:]  # what attention is compared with
TOKEN_BUDGET = 400_000  # word positions per forward pass of erased variants (bounds memory on long documents)
TOP_K = (1, 3, 5)
Document = list[list[int]]  # word ids per sentence


@dataclass
class DocumentScores:
    """Scores of every real word and sentence of one document, by method."""

    tokens: list[list[str]]  # the document's words, per sentence
    predicted: int  # class index the model predicts
    probability: float  # p_c(document)
    word: dict[str, list[list[float]]] = field(default_factory=dict)  # method -> per sentence, per word
    sentence: dict[str, list[float]] = field(default_factory=dict)  # method -> per sentence
    extra: dict[str, Any] = field(default_factory=dict)  # attention_raw (p_w), ig_delta ...

    def flat(self, method: str) -> np.ndarray:
        """(n_words,) the method's word scores in reading order."""
        return np.array([s for sentence in self.word[method] for s in sentence], dtype=np.float64)


def attention_label(classifier: Classifier) -> str:
    """What the 'attention' row is for this model's pooling."""
    if classifier.config.get("model", {}).get("tasc"):
        return "task-scaled attention weights |alpha s| (TaSc), renormalised per sentence"
    mode = classifier.config.get("model", {}).get("class_attention", "none")
    if mode != "none":
        return (
            f"the predicted class's attention weights ({'evidence' if mode == 'evidence' else 'per-class'} attention)"
        )
    return {
        "att": "attention weights",
        "ave": "average pooling's uniform weights (HN-AVE has no attention)",
        "max": "max pooling's argmax shares (HN-MAX has no attention)",
    }.get(classifier.variant, "attention weights")


def check_methods(methods: tuple[str, ...] | list[str]) -> None:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise HanError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")


# ----------------------------------------------------------------------------- the model on variants


@torch.no_grad()
def class_probabilities(classifier: Classifier, variants: list[Document], target: int) -> np.ndarray:
    """p_target of each document variant (an empty variant is the one-PAD-word baseline document).

    One forward pass for all variants unless they exceed TOKEN_BUDGET word positions.
    """
    model = classifier.model.eval()
    docs = [[s for s in doc if s] or [[PAD_ID]] for doc in variants]
    out = np.empty(len(docs))
    start = 0
    while start < len(docs):
        stop, tokens = start, 0
        while stop < len(docs) and (stop == start or tokens + _size(docs[stop]) <= TOKEN_BUDGET):
            tokens += _size(docs[stop])
            stop += 1
        logits = model(collate(docs[start:stop])).logits  # (n_variants, n_classes)
        out[start:stop] = logits.softmax(dim=-1)[:, target].cpu().numpy()
        start = stop
    return out


def _size(doc: Document) -> int:
    return len(doc) * max(len(s) for s in doc)


def without_words(doc: Document, positions: set[tuple[int, int]]) -> Document:
    """The document with the words at (sentence, word) `positions` erased."""
    return [[w for j, w in enumerate(s) if (i, j) not in positions] for i, s in enumerate(doc)]


def only_words(doc: Document, positions: set[tuple[int, int]]) -> Document:
    """Only the words at `positions`, in reading order (ERASER's sufficiency input)."""
    return [[w for j, w in enumerate(s) if (i, j) in positions] for i, s in enumerate(doc)]


def leave_one_out(classifier: Classifier, doc: Document, target: int) -> tuple[list[list[float]], list[float], float]:
    """(word scores, sentence scores, p_target(doc)) by erasing each word and each sentence."""
    p = erased_logits(classifier, doc).softmax(dim=-1)[:, target].numpy()  # (1 + n_words + n_sentences,)
    n_words = sum(len(s) for s in doc)
    drops = p[0] - p[1:]
    return _per_sentence(drops[:n_words], doc), drops[n_words:].tolist(), float(p[0])


@torch.no_grad()
def erased_logits(classifier: Classifier, doc: Document) -> torch.Tensor:
    """Logits of the document, then of it with each word erased, then with each sentence erased.

    (1 + n_words + n_sentences, n_classes). Erasing one word changes one sentence, so the word level runs
    once on the document's sentences and once on every shortened sentence; the sentence level then runs on
    all variants in one batch.
    """
    model = classifier.model.eval()
    words = [(i, j) for i, s in enumerate(doc) for j in range(len(s))]
    if model.reads_context:  # CAHAN, flat: a changed sentence changes the others' word weights; whole documents
        return _erased_documents(model, doc, words)
    shortened = [doc[i][:j] + doc[i][j + 1 :] for i, j in words]
    kept = [k for k, s in enumerate(shortened) if s]
    originals = model.sentence_vectors(doc)  # (n_sentences, d)
    changed = model.sentence_vectors([shortened[k] for k in kept]) if kept else originals[:0]  # (n_kept, d)
    replacement = dict(zip(kept, changed, strict=True))
    baseline = model.sentence_vectors([[PAD_ID]])  # (1, d): the document left empty
    variants = [originals]
    for k, (i, _) in enumerate(words):  # the document with word k erased
        rows = [originals[:i], replacement[k].unsqueeze(0)] if k in replacement else [originals[:i]]
        variants.append(torch.cat([*rows, originals[i + 1 :]]))
    variants += [torch.cat([originals[:i], originals[i + 1 :]]) for i in range(len(doc))]  # sentence i erased
    variants = [v if len(v) else baseline for v in variants]
    counts = torch.tensor([len(v) for v in variants])  # (n_variants,)
    return model.encode_sentences(torch.cat(variants), counts)[0].cpu()  # (n_variants, n_classes)


ERASED_BATCH = 64  # erased copies of a document per forward pass (CAHAN's whole-document path)


def _erased_documents(model: HAN, doc: Document, words: list[tuple[int, int]]) -> torch.Tensor:
    """erased_logits for models whose sentences read each other (CAHAN): every variant as a whole document,
    ERASED_BATCH at a time. An emptied sentence is dropped; an emptied document becomes one PAD word."""
    variants = [doc] + [without_words(doc, {position}) for position in words]
    variants += [doc[:i] + doc[i + 1 :] for i in range(len(doc))]  # sentence i erased
    variants = [[s for s in v if s] or [[PAD_ID]] for v in variants]
    chunks = [variants[k : k + ERASED_BATCH] for k in range(0, len(variants), ERASED_BATCH)]
    return torch.cat([model(collate(chunk)).logits.cpu() for chunk in chunks])  # (n_variants, n_classes)


def _per_sentence(values: np.ndarray, doc: Document) -> list[list[float]]:
    out, start = [], 0
    for sentence in doc:
        out.append([float(v) for v in values[start : start + len(sentence)]])
        start += len(sentence)
    return out


# ----------------------------------------------------------------------------- gradients (captum)


def _document_forward(classifier: Classifier, base: Batch):
    """f(ids (k, n_sentences, max_words)) -> class probabilities (k, n_classes) of k copies of one document.

    The embedding layer sees (k, n_sentences, max_words), so captum's layer methods find the documents
    along dim 0 and scale each copy's word vectors.
    """
    model = classifier.model

    def forward(ids: torch.Tensor) -> torch.Tensor:
        k = ids.size(0)
        embedded = model.embedding(ids)  # (k, n_sentences, max_words, embed_dim)
        batch = Batch(
            words=ids.flatten(0, 1),  # (k * n_sentences, max_words)
            word_counts=base.word_counts.repeat(k),  # (k * n_sentences,)
            sentence_counts=base.sentence_counts.repeat(k),  # (k,)
        )
        return model.forward_embedded(batch, embedded.flatten(0, 1)).logits.softmax(dim=-1)  # (k, n_classes)

    return forward


def gradient_scores(
    classifier: Classifier, doc: Document, target: int, methods: tuple[str, ...], n_steps: int
) -> tuple[dict[str, list[list[float]]], float | None]:
    """Integrated gradients and/or gradient x input per real word, and IG's convergence delta."""
    from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

    model = classifier.model.eval()
    base = collate([doc])
    ids = base.words.unsqueeze(0)  # (1, n_sentences, max_words)
    forward = _document_forward(classifier, base)
    real = base.words != PAD_ID  # (n_sentences, max_words)
    out: dict[str, list[list[float]]] = {}
    delta = None
    with torch.enable_grad():
        if "integrated_gradients" in methods:
            ig = LayerIntegratedGradients(forward, model.embedding)
            attributions, deltas = ig.attribute(
                ids, baselines=torch.zeros_like(ids), target=target, n_steps=n_steps, return_convergence_delta=True
            )  # (1, n_sentences, max_words, embed_dim), (1,)
            out["integrated_gradients"] = _real(attributions[0].sum(-1), real, doc)
            delta = float(deltas[0])
        if "gradient_x_input" in methods:
            gxi = LayerGradientXActivation(forward, model.embedding)
            attributions = gxi.attribute(ids, target=target)  # (1, n_sentences, max_words, embed_dim)
            out["gradient_x_input"] = _real(attributions[0].sum(-1), real, doc)
    return out, delta


def _real(values: torch.Tensor, real: torch.Tensor, doc: Document) -> list[list[float]]:
    """(n_sentences, max_words) -> the values at real words only, per sentence."""
    rows = values.detach().cpu()
    return [rows[i, : len(s)].tolist() for i, s in enumerate(doc)]


# ----------------------------------------------------------------------------- one document


def document_scores(
    classifier: Classifier,
    doc: Tokenized,
    methods: tuple[str, ...] | list[str] = METHODS,
    n_steps: int = 20,
    seed: int = 0,
) -> DocumentScores:
    """Scores of every word and sentence of `doc` by each of `methods` (see the module docstring)."""
    check_methods(methods)
    if not doc.sentences:
        raise HanError("the document has no words")
    if n_steps < 1:
        raise HanError("n_steps must be at least 1")
    encoded = classifier.encode(doc)
    result = next(classifier.analyse([doc]))
    target = result.predicted
    scores = DocumentScores(tokens=doc.sentences, predicted=target, probability=result.probabilities[target])
    if "attention" in methods:
        scores.word["attention"] = [
            [math.sqrt(p_s) * p_w for p_w in words]
            for p_s, words in zip(result.sentence_weights, result.word_weights, strict=True)
        ]
        # a flat model weighs no sentence (p_s = 1 each): a sentence's attention is its words' share
        flat = classifier.model.flat
        scores.sentence["attention"] = [sum(w) for w in result.word_weights] if flat else list(result.sentence_weights)
        scores.extra["attention_raw"] = result.word_weights
        scores.extra["attention_label"] = attention_label(classifier)
    if "leave_one_out" in methods:
        scores.word["leave_one_out"], scores.sentence["leave_one_out"], _ = leave_one_out(classifier, encoded, target)
    wanted = tuple(m for m in ("integrated_gradients", "gradient_x_input") if m in methods)
    if wanted:
        gradients, delta = gradient_scores(classifier, encoded, target, wanted, n_steps)
        for method, values in gradients.items():
            scores.word[method] = values
            scores.sentence[method] = [sum(s) for s in values]
        if delta is not None:
            scores.extra["ig_delta"] = delta
            scores.extra["ig_n_steps"] = n_steps
    if "random" in methods:
        rng = np.random.default_rng(seed)
        scores.word["random"] = [rng.random(len(s)).tolist() for s in encoded]
        scores.sentence["random"] = rng.random(len(encoded)).tolist()
    return scores


# ----------------------------------------------------------------------------- agreement


def top_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float | None:
    """Share of a's k highest-scored items that are among b's k highest (None when fewer than k items)."""
    if len(a) < k:
        return None
    return len(set(np.argsort(-a, kind="stable")[:k]) & set(np.argsort(-b, kind="stable")[:k])) / k


def tau(a: np.ndarray, b: np.ndarray) -> float | None:
    """Kendall's tau-b (scipy); None with fewer than 2 items or a constant ranking."""
    if len(a) < 2:
        return None
    value = kendalltau(a, b).statistic
    return None if np.isnan(value) else float(value)


def agreement(scores: DocumentScores) -> dict[str, dict]:
    """Kendall tau (words, sentences) and top-k overlap of attention with every other method present."""
    if "attention" not in scores.word:
        raise HanError("agreement needs the attention scores")
    attention = scores.flat("attention")
    sentences = np.array(scores.sentence["attention"])
    out = {}
    for method in COMPARED:
        if method not in scores.word:
            continue
        other, other_sentences = scores.flat(method), np.array(scores.sentence[method])
        out[method] = {
            "word": tau(attention, other),
            "sentence": tau(sentences, other_sentences),
            "top_k": {f"word_top{k}": top_overlap(attention, other, k) for k in TOP_K}
            | {"sentence_top1": top_overlap(sentences, other_sentences, 1)},
        }
    return out
