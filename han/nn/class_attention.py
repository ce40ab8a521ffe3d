"""Per-class attention, "HN-ATT (per class)": attention that shows the evidence for the class it explains.

Why: HN-ATT's attention is unsigned. It picks the words that matter to the decision whichever way they push,
while erasure (ERASER's comprehensiveness, leave-one-out) asks which words the predicted class rests on. On the
shipped Yelp HN-ATT, 37 % of the words in attention's top 10 % of a review push *against* its decision
(leave-one-out < 0), and ranking those last lifts attention's comprehensiveness from 0.20 to 0.38, close to
leave-one-out's 0.40 (RESULTS.md, issue 34). So each class gets an attention of its own, and the class's logit
reads only what its own attention pooled:

    word level:      alpha^c_t = softmax_t(u_c . tanh(W h_t + b))   one context vector u_c per class, W shared
                     s^c = sum_t alpha^c_t h_t                       a sentence vector per class
    sentence level:  the sentence GRU (shared) reads each class's s^c_1 .. s^c_L as a sequence of its own,
                     beta^c_i = softmax_i(v_c . tanh(W' g^c_i + b')), d^c = sum_i beta^c_i g^c_i
    logits:          z_c = w_c . d^c + b_c                           w_c: row c of the classifier

The weights shown (explain, the heatmap, stats, faithfulness) are the predicted class's alpha and beta: what
the winning class's score was built from. Padding: every attention is masked as in han/nn/pooling.py; a
class's rows hold the document's real sentences only. One class's logit never reads another class's attention.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from han.nn.pooling import Pooling, override_each, real_mask

CLASS_ATTENTION = ("none", "separate", "evidence")  # --class-attention's choices; evidence: han/nn/evidence.py


def check_class_attention(config: Any) -> str:
    """ValueError where an attention per class cannot be built; the mode ("none", "separate", "evidence").
    `config`: a ModelConfig."""
    mode = config.class_attention
    if mode not in CLASS_ATTENTION:
        raise ValueError(f"unknown class attention {mode!r}; choose from {', '.join(CLASS_ATTENTION)}")
    if mode != "none" and (
        config.variant != "att" or config.heads > 1 or config.tasc or config.structure != "hierarchical"
    ):
        raise ValueError(
            "an attention per class is HN-ATT's (one head per class): not with other variants, --heads, TaSc or flat"
        )
    return mode


def class_rows(docs: torch.Tensor, counts: torch.Tensor, n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_docs, S, C * d) sentence vectors, each class's side by side, and (n_docs,) sentence counts ->
    (n_docs * C, S, d), row doc * C + c holding class c's sentence vectors of document `doc`, and their counts."""
    n_docs, sentences, _ = docs.shape
    rows = docs.view(n_docs, sentences, n_classes, -1).transpose(1, 2).reshape(n_docs * n_classes, sentences, -1)
    return rows, counts.repeat_interleave(n_classes)  # (n_docs * C, S, d), (n_docs * C,)


def separate_logits(
    doc_vectors: torch.Tensor, weights: torch.Tensor, classifier: nn.Module
) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_docs * C, d) per-class document vectors and their (n_docs * C, S) sentence weights -> (n_docs, C)
    logits (`class_logits`) and the predicted class's (n_docs, S) sentence weights."""
    assert isinstance(classifier, nn.Linear)
    logits = class_logits(doc_vectors, classifier)  # (n_docs, C)
    every = weights.view(logits.size(0), classifier.out_features, -1).transpose(1, 2)  # (n_docs, S, C)
    return logits, pick(every, logits.argmax(dim=-1))


def class_logits(doc_vectors: torch.Tensor, classifier: nn.Linear) -> torch.Tensor:
    """(n_docs * C, d) per-class document vectors -> (n_docs, C) logits, z_c = w_c . d^c + b_c."""
    n_classes = classifier.out_features
    per_doc = doc_vectors.view(-1, n_classes, doc_vectors.size(-1))  # (n_docs, C, d)
    return (per_doc * classifier.weight).sum(dim=-1) + classifier.bias  # (n_docs, C)


def pick(weights: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """(n, T, C) every class's weights and (n,) one class per row -> (n, T) that class's weights."""
    index = classes.view(-1, 1, 1).expand(-1, weights.size(1), 1)  # (n, T, 1)
    return weights.gather(2, index)[..., 0]  # (n, T)


def predicted_word_weights(
    every: torch.Tensor | None, logits: torch.Tensor, sentence_counts: torch.Tensor, padded: bool
) -> torch.Tensor:
    """(n_sentences, max_words) the word weights of each sentence's document's predicted class, from the word
    pooling's last head weights `every` (n_sentences, max_words, C); `padded`: each document has max_sentences rows."""
    assert every is not None, "the word pooling has not run"
    rows = torch.full_like(sentence_counts, every.size(0) // sentence_counts.numel()) if padded else sentence_counts
    classes = torch.repeat_interleave(logits.argmax(dim=-1), rows.to(logits.device))  # (n_sentences,)
    return pick(every, classes)


class ClassRowPooling(Pooling):
    """The sentence level's attention: one head per class, row i (document i // C, class i % C) pooled by head
    i % C alone. A weight override (faithfulness methods) sees each class's rows as one row per document, the
    layout it is written for."""

    def __init__(self, input_dim: int, context_dim: int, n_classes: int, score: str, temperature: float) -> None:
        super().__init__("att", input_dim, context_dim, n_classes, "mean", score, temperature)

    def forward_tokens(
        self,
        states: torch.Tensor,
        position: torch.Tensor,
        shape: tuple[int, int] | torch.Size,
        counts: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # states: (k, d) real positions' states; position: (k,) in the flattened (n, T), n = n_docs * C
        n, T = shape
        heads = self._attention(states, position, n, T)  # (n, T, C)
        own = pick(heads, torch.arange(n, device=heads.device) % self.heads)  # (n, T): each row's class's weights
        every = own.view(n // self.heads, self.heads, T).transpose(1, 2)  # (n_docs, T, C): a document's classes
        if self.override is not None:  # each class's (n_docs, T) weights in turn; a document's rows share a mask
            mask = real_mask(position, shape).view(n // self.heads, self.heads, T)[:, 0]  # (n_docs, T)
            every = override_each(self.override, every, mask)  # (n_docs, T, C)
            own = every.transpose(1, 2).reshape(n, T)  # (n, T)
        self.head_weights, self.penalty = every, own.new_zeros(())
        share = own.flatten().index_select(0, position)  # (k,) each real position's weight in its row
        row = torch.div(position, T, rounding_mode="floor")  # (k,)
        pooled = states.new_zeros(n, states.size(-1)).index_add(0, row, share.unsqueeze(-1) * states)  # (n, d)
        return pooled, own
