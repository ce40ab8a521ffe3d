"""Evidence attention, "HN-ATT (evidence)": attention whose scores are the decision's evidence (issue 34).

HN-ATT's attention is unsigned: it weighs the words that matter whichever way they push, and 37 % of its top 10 %
push against its decision (RESULTS.md). An attention per class whose logit reads a separate readout
(han/nn/class_attention.py) does not mend this: a class's attention still looks for evidence both for and
against it. Here the attention score *is* the evidence, at both levels, so the words a class attends to most
are those that raise its logit most:

    word level      u_t = tanh(W h_t + b)                       the paper's projection of the word BiGRU's states
                    e^c_t = u_t . u_c                          the paper's attention score, one u_c per class
                    alpha^c_t = softmax_t(e^c_t)                 word attention of class c
                    S^c = sum_t alpha^c_t e^c_t                  the sentence's evidence for c
    sentence level  beta^c_i = softmax_i(S^c_i / tau)            sentence attention of class c (tau learned)
                    z_c = sum_i beta^c_i S^c_i + b_c             the document's evidence for c: its logit

Every weight is a softmax of the very scores it averages, so removing a class's most attended word removes
its largest term (and lowers S^c), and the same holds for sentences. The sentences are read without a
sentence GRU: a sentence's evidence comes from its own words (in the context of their sentence). The weights
shown are the predicted class's alpha and beta. Padding: scores are -inf at padding before each softmax.
"""

from __future__ import annotations

import torch
from torch import nn

from han.nn.class_attention import pick
from han.nn.pooling import Pooling, WeightOverride, override_each, real_mask


class EvidencePooling(Pooling):
    """The word level: (n, C) sentence evidence S^c from the real positions' states; `head_weights` (n, T, C)."""

    def __init__(self, input_dim: int, context_dim: int, n_classes: int) -> None:
        super().__init__("att", input_dim, context_dim, n_classes, "mean")
        self.output_dim = n_classes  # a sentence is its evidence for each class

    def forward_tokens(
        self,
        states: torch.Tensor,
        position: torch.Tensor,
        shape: tuple[int, int] | torch.Size,
        counts: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # states: (k, d) the real positions' states; position: (k,) each one's index in the flattened (n, T)
        n, T = shape
        evidence = self._scores(states)  # (k, C): e^c_t, the paper's additive score against each class's u_c
        heads = self._distribution(evidence, position, n, T)  # (n, T, C): alpha^c, exactly 0 at padding
        if self.override is not None:  # faithfulness methods: each class's weights changed alike
            mask = real_mask(position, shape)  # (n, T)
            heads = override_each(self.override, heads, mask)  # (n, T, C)
        self.head_weights, self.penalty = heads, heads.new_zeros(())
        share = heads.flatten(0, 1).index_select(0, position)  # (k, C)
        row = torch.div(position, T, rounding_mode="floor")  # (k,) the sentence of each position
        sentences = evidence.new_zeros(n, self.heads).index_add(0, row, share * evidence)  # (n, C): S^c
        return sentences, heads.mean(dim=-1)  # (n, C), (n, T); the model shows the predicted class's


class EvidenceDocument(nn.Module):
    """The sentence level: beta^c = softmax over a document's real sentences of S^c / tau, and the document's
    evidence sum_i beta^c_i S^c_i per class. `override` (faithfulness methods) changes each class's beta."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.heads = n_classes
        self.log_tau = nn.Parameter(torch.zeros(()))  # tau = 1 at first; training sets how sharp beta is
        self.override: WeightOverride | None = None
        self.head_weights: torch.Tensor | None = None  # (n_docs, S, C) of the last forward pass
        self.penalty: torch.Tensor | None = None

    def forward(self, sentences: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # sentences: (n_docs, S, C) each sentence's evidence, anything at padding; mask: (n_docs, S) True at real
        real = mask.unsqueeze(-1)  # (n_docs, S, 1)
        beta = (sentences / self.log_tau.exp()).masked_fill(~real, float("-inf")).softmax(dim=1)  # (n_docs, S, C)
        if self.override is not None:
            beta = override_each(self.override, beta, mask)  # (n_docs, S, C)
        self.head_weights, self.penalty = beta, beta.new_zeros(())
        return (beta * sentences.masked_fill(~real, 0.0)).sum(dim=1), beta  # (n_docs, C), (n_docs, S, C)


class EvidenceReadout(nn.Module):
    """z_c = the document's evidence for c + b_c. A module of its own so that the representation the classifier
    reads (the Data set page's document map hooks this module's input) is the (n_docs, C) evidence."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(n_classes))  # (C,)

    def forward(self, evidence: torch.Tensor) -> torch.Tensor:
        return evidence + self.bias  # (n_docs, C)


class EvidenceLevel(nn.Module):
    """Stands where the sentence encoder stands (`model.sentence_encoder.pool` is what faithfulness methods
    override), with no sequence encoder: a sentence's evidence is read from its own words."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.pool = EvidenceDocument(n_classes)


def evidence_logits(
    level: EvidenceLevel, readout: nn.Module, docs: torch.Tensor, sentence_counts: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The sentence level of the evidence model: docs (n_docs, S, C) sentence evidence, zeros at padding
    sentences -> (n_docs, C) logits and the predicted class's (n_docs, S) sentence weights."""
    width = torch.arange(docs.size(1), device=docs.device)  # (S,)
    mask = width < sentence_counts.to(docs.device).unsqueeze(1)  # (n_docs, S) True at real sentences
    evidence, every = level.pool(docs, mask)  # (n_docs, C), (n_docs, S, C)
    logits = readout(evidence)  # (n_docs, C)
    return logits, pick(every, logits.argmax(dim=-1))
