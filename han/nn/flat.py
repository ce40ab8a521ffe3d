"""The flat structure (FLAN, Serrano & Smith 2019): one encoder and one attention over all words of a document.

A batch keeps its hierarchical layout (rows are sentences, `Batch.words` (n_sentences, max_words)); a
`FlatLayout` moves the real words of each document, sentence after sentence, into one row of a
(n_docs, L) layout (L: the longest document's word count) and the weights found there back, so the outputs
keep the shapes every reader of them expects. What a flat model's explanation holds (decided here):

    p_w  the word's weight in the one attention over the whole document: the words of a document, not of a
         sentence, sum to 1;
    p_s  1 for every real sentence (0 at padding): no sentence is weighed, each passes whole.

So p_s * p_w, and the paper's display sqrt(p_s) * p_w normalised per document, are the flat attention
itself: the heatmap shows word weights over the whole text, on one scale across sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

STRUCTURES = ("hierarchical", "flat")  # --structure's choices; hierarchical = the paper's HAN


@dataclass
class FlatLayout:
    """Where each real word of a hierarchical batch stands in the flat (n_docs, L) layout."""

    source: torch.Tensor  # (k,) each real word's index in the flattened (n_sentences * max_words) layout
    target: torch.Tensor  # (k,) its index in the flattened (n_docs * L) layout
    lengths: torch.Tensor  # (n_docs,) real words per document, on the CPU (what packing wants)
    sentence_shape: tuple[int, int]  # (n_sentences, max_words)

    @property
    def shape(self) -> tuple[int, int]:
        """(n_docs, L)."""
        return self.lengths.numel(), int(self.lengths.max())

    def to_documents(self, x: torch.Tensor) -> torch.Tensor:
        """(n_sentences, max_words, ...) -> (n_docs, L, ...), zeros at padding."""
        rows = x.flatten(0, 1).index_select(0, self.source.to(x.device))  # (k, ...)
        n_docs, length = self.shape
        out = x.new_zeros(n_docs * length, *x.shape[2:]).index_copy(0, self.target.to(x.device), rows)
        return out.view(n_docs, length, *x.shape[2:])

    def to_sentences(self, x: torch.Tensor) -> torch.Tensor:
        """(n_docs, L, ...) -> (n_sentences, max_words, ...), zeros at padding: the inverse of `to_documents`."""
        rows = x.flatten(0, 1).index_select(0, self.target.to(x.device))  # (k, ...)
        n, width = self.sentence_shape
        out = x.new_zeros(n * width, *x.shape[2:]).index_copy(0, self.source.to(x.device), rows)
        return out.view(n, width, *x.shape[2:])

    def pack(self, x: torch.Tensor) -> PackedSequence:
        """(n_docs, L, ...) batch-first documents -> their real words packed (what the encoders take)."""
        return pack_padded_sequence(x, self.lengths, batch_first=True, enforce_sorted=False)


def flat_layout(word_counts: torch.Tensor, sentence_counts: torch.Tensor, max_words: int) -> FlatLayout:
    """The layout of a batch whose rows are the sentences of documents one after another.

    word_counts: (n_sentences,) real words per sentence; sentence_counts: (n_docs,) sentences per document."""
    word_counts, sentence_counts = word_counts.cpu(), sentence_counts.cpu()
    n_sentences = word_counts.numel()
    real = torch.arange(max_words) < word_counts.unsqueeze(1)  # (n_sentences, max_words)
    source = real.flatten().nonzero().squeeze(1)  # (k,) row-major: a document's words in reading order
    doc_of_sentence = torch.repeat_interleave(torch.arange(sentence_counts.numel()), sentence_counts)
    doc = doc_of_sentence[torch.div(source, max_words, rounding_mode="floor")]  # (k,) each word's document
    lengths = torch.zeros(sentence_counts.numel(), dtype=torch.long).index_add_(0, doc_of_sentence, word_counts)
    starts = torch.cumsum(lengths, 0) - lengths  # (n_docs,) index of each document's first word among the k
    within = torch.arange(source.numel()) - starts[doc]  # (k,) the word's place in its document
    target = doc * int(lengths.max()) + within  # (k,)
    return FlatLayout(source, target, lengths, (n_sentences, max_words))


def sentence_ones(sentence_counts: torch.Tensor, max_sentences: int, like: torch.Tensor) -> torch.Tensor:
    """(n_docs, max_sentences): p_s of a flat model, 1 at every real sentence and 0 at padding."""
    real = torch.arange(max_sentences, device=like.device) < sentence_counts.to(like.device).unsqueeze(1)
    return real.to(like.dtype)
