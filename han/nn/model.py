"""The Hierarchical Attention Network (Yang et al. 2016) and its HN-AVE / HN-MAX variants.

word ids -> embeddings -> word BiGRU -> word pooling -> sentence vectors
         -> sentence BiGRU -> sentence pooling -> document vector -> linear -> class logits

Pooling is the same kind at both levels: `att` (the paper's attention), `ave` (mean) or `max`
(element-wise max). Both GRUs run on packed sequences and every pooling is masked, so padding
never changes an output or a weight. Only real sentences go through the word GRU. The GRU and its
hand-written backward pass are in han/nn/gru.py. Other encoders (Transformer, convolutional, none) at either
level: han/nn/encoders.py; other attention score functions and a temperature: han/nn/scores.py; the flat
structure (one encoder and attention over all words of a document, FLAN): han/nn/flat.py; an attention per
class: han/nn/class_attention.py, evidence attention: han/nn/evidence.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from han.data.dataset import Batch, collate
from han.nn.cahan import CahanPooling
from han.nn.class_attention import (
    ClassRowPooling,
    check_class_attention,
    class_rows,
    predicted_word_weights,
    separate_logits,
)
from han.nn.encoders import TransformerEncoder, check_encoder
from han.nn.evidence import EvidenceLevel, EvidencePooling, EvidenceReadout, evidence_logits
from han.nn.flat import STRUCTURES, FlatLayout, flat_layout, sentence_ones
from han.nn.gru import BiGRU, reverse_index
from han.nn.level import Encoder, token_positions, unpack
from han.nn.pooling import Pooling, WeightOverride
from han.nn.tasc import TaskScale, padded_scale
from han.nn.variants import VARIANTS

__all__ = ["HAN", "VARIANTS", "BiGRU", "ModelConfig", "Output", "Pooling", "WeightOverride", "reverse_index"]

# Where dropout can act: word embeddings, sentence vectors between the two levels, document vector
# before the classifier.
DROPOUT_PLACES = ("embeddings", "sentences", "classifier")
HEAD_LEVELS = ("word", "sentence", "both")  # where --heads applies


@dataclass
class ModelConfig:
    """Sizes of the network; stored in every checkpoint's config.json."""

    vocab_size: int  # rows of the embedding table, PAD (0) and UNK (1) included
    n_classes: int  # output classes (e.g. 5 for Yelp stars)
    variant: str = "att"  # pooling at both levels: "att", "ave" or "max"
    embed_dim: int = 200  # word embedding size (paper: 200, word2vec-initialised)
    word_hidden: int = 50  # word GRU units per direction (paper: 50)
    sentence_hidden: int = 50  # sentence GRU units per direction (paper: 50)
    context_dim: int = 100  # attention projection and context vector size (paper: 100)
    dropout: float = 0.0  # dropout probability where `dropout_at` says (paper: none)
    dropout_at: tuple[str, ...] = ("embeddings", "sentences")  # any of DROPOUT_PLACES
    heads: int = 1  # attention heads (Lin et al. 2017) where `heads_at` says; 1 = the paper's attention
    heads_at: str = "both"  # word, sentence or both levels (with heads > 1)
    head_combine: str = "mean"  # the heads' pooled vectors: their mean, or concatenated and projected ("concat")
    context_direction: str = "left"  # CAHAN: context from the sentences before ("left") or before and after ("bi")
    context_aggregate: str = "sum"  # CAHAN: the context vector is the sum or the mean of those sentences' vectors
    context_gate: bool = False  # CAHAN: gate between a word's own projection and the context's (the paper's gated)
    score: str = "additive"  # attention's score function against u_ctx (han/nn/scores.py); additive = the paper's
    temperature: float = 1.0  # attention scores divided by it before the softmax (Sun & Lu 2020); 1 = the paper's
    encoder: str = "gru"  # the sequence encoder where `encoder_at` says: gru, transformer, conv or none
    encoder_at: str = "both"  # word, sentence or both levels (the other level keeps the GRU)
    layers: int = 1  # Transformer layers (encoder transformer)
    attention_heads: int = 4  # Transformer self-attention heads; they must divide 2 * hidden
    structure: str = "hierarchical"  # hierarchical (HAN) or flat (one encoder and attention over all words)
    tasc: bool = False  # TaSc: a learned per-word scalar multiplies each word's attention weight (han/nn/tasc.py)
    class_attention: str = "none"  # an attention per class: "separate" readout or "evidence" (class_attention.py)

    def level_heads(self, level: str) -> int:
        """Attention heads at `level` ("word" or "sentence")."""
        return self.heads if self.heads_at in (level, "both") else 1

    def level_encoder(self, level: str) -> str:
        """The encoder at `level` ("word" or "sentence"): `encoder` where `encoder_at` says, else the GRU."""
        return self.encoder if self.encoder_at in (level, "both") else "gru"


@dataclass
class Output:
    """What a forward pass returns: logits and the weights to visualise."""

    logits: torch.Tensor  # (n_docs, n_classes)
    word_weights: torch.Tensor  # (n_sentences, max_words) p_w, rows sum to 1 over real words (mean over heads)
    sentence_weights: torch.Tensor  # (n_docs, max_sentences) p_s, rows sum to 1 over real sentences
    word_head_weights: torch.Tensor | None = None  # (n_sentences, max_words, heads) with attention
    sentence_head_weights: torch.Tensor | None = None  # (n_docs, max_sentences, heads) with attention
    penalty: torch.Tensor | None = None  # () Lin et al.'s head redundancy, both levels summed (0 for one head)
    # Transformer encoders' self-attention maps while `HAN.record_self_attention(True)`: level -> per layer
    # (rows, heads, T, T), rows and T as that level's weights (flat: documents and their words)
    self_attention: dict[str, list[torch.Tensor]] | None = None


class HAN(nn.Module):
    """Hierarchical network: word encoder -> sentence encoder -> classifier."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        if config.heads_at not in HEAD_LEVELS:
            raise ValueError(f"heads_at must be one of {HEAD_LEVELS}")  # the poolings check the rest
        self.flat = check_structure(config)
        self.class_mode = check_class_attention(config)  # "none", "separate" or "evidence"
        self.per_class = self.class_mode != "none"
        word_dim = 2 * config.word_hidden  # the word encoder's states
        scoring = (config.score, config.temperature)

        def word_pool() -> Pooling | CahanPooling:  # CAHAN: context-aware word attention; its sentence level is att
            if config.variant == "cahan":
                context = (config.context_direction, config.context_aggregate, config.context_gate)
                return CahanPooling(word_dim, config.context_dim, *context)
            heads = (config.level_heads("word"), config.head_combine)
            if self.class_mode == "evidence":  # each sentence's evidence for each class (n, C)
                return EvidencePooling(word_dim, config.context_dim, config.n_classes)
            if self.per_class:  # one head per class, each class's sentence vector kept (n, C * word_dim)
                heads = (config.n_classes, "class")
            return Pooling(config.variant, word_dim, config.context_dim, *heads, *scoring)

        transformer = (config.layers, config.attention_heads)
        self.word_encoder = Encoder(
            config.embed_dim, config.word_hidden, word_pool, config.level_encoder("word"), *transformer
        )
        sentence_dim = self.word_encoder.pool.output_dim  # CAHAN bi: both passes' vectors, concatenated
        sentence_dim = word_dim if self.per_class else sentence_dim  # per class: each class's sequence alone
        sentence_variant = "att" if config.variant == "cahan" else config.variant
        sentence_pool = (config.level_heads("sentence"), config.head_combine, *scoring)
        self.sentence_encoder: Encoder | EvidenceLevel
        if self.class_mode == "evidence":  # no sentence encoder: a sentence's evidence is its words'
            self.sentence_encoder = EvidenceLevel(config.n_classes)
        elif not self.flat:  # a flat model pools the words of a document once: it has no sentence level
            self.sentence_encoder = Encoder(
                sentence_dim,
                config.sentence_hidden,
                lambda: (
                    ClassRowPooling(2 * config.sentence_hidden, config.context_dim, config.n_classes, *scoring)
                    if self.per_class
                    else Pooling(sentence_variant, 2 * config.sentence_hidden, config.context_dim, *sentence_pool)
                ),
                config.level_encoder("sentence"),
                *transformer,
            )
        unknown = set(config.dropout_at) - set(DROPOUT_PLACES)
        if unknown:
            raise ValueError(f"unknown dropout place(s) {sorted(unknown)}; choose from {', '.join(DROPOUT_PLACES)}")
        self.dropout = nn.ModuleDict(
            {place: nn.Dropout(config.dropout if place in config.dropout_at else 0.0) for place in DROPOUT_PLACES}
        )
        self.classifier: nn.Module = nn.Linear(
            sentence_dim if self.flat else 2 * config.sentence_hidden, config.n_classes
        )
        if self.class_mode == "evidence":
            self.classifier = EvidenceReadout(config.n_classes)  # the logits are the evidence, plus a bias
        if config.tasc and (config.variant != "att"):
            raise ValueError("TaSc scales attention weights: it needs --variant att (one head or several)")
        if config.tasc and self.flat:
            raise ValueError("TaSc scales the word attention of the hierarchical model: not with --structure flat")
        self.tasc = TaskScale(config.vocab_size) if config.tasc else None  # made last: seeds give the same others
        self.project_distinct_words = True  # see _word_inputs; off: every token projected (bench/speed.py compares)

    def forward(self, batch: Batch) -> Output:
        """Logits and weights of a batch; only real words are embedded (packed ids)."""
        if self.flat:  # each document's words in one row
            layout = self._flat_layout(batch)
            embedded, projected, _ = self._word_inputs(layout.pack(layout.to_documents(batch.words)))  # no TaSc
            return self.encode_flat(batch, layout, embedded, projected)
        words = pack_padded_sequence(
            batch.words, batch.word_counts, batch_first=True, enforce_sorted=False
        )  # word ids of real tokens only
        return self.encode(batch, *self._word_inputs(words))

    def _flat_layout(self, batch: Batch) -> FlatLayout:
        if batch.padded:
            raise ValueError("a flat model reads each document's words in order: the padded (bench) layout mixes them")
        return flat_layout(batch.word_counts, batch.sentence_counts, batch.words.size(1))

    def encode_flat(self, batch: Batch, layout: FlatLayout, embedded: PackedSequence, projected: bool) -> Output:
        """The flat structure: packed documents' word vectors -> one encoder -> one pooling -> logits.

        The weights come back in the hierarchical layout: p_w over the whole document, p_s = 1 per real
        sentence (han/nn/flat.py says why)."""
        doc_vectors, weights = self.word_encoder(embedded, layout.shape[1], None, projected)  # (n_docs, d), (n_docs, L)
        logits = self.classifier(self.dropout["classifier"](doc_vectors))  # (n_docs, n_classes)
        sentences = sentence_ones(batch.sentence_counts, int(batch.sentence_counts.max()), weights)  # (n_docs, S)
        pool = self.word_encoder.pool
        heads = None if pool.head_weights is None else layout.to_sentences(pool.head_weights)  # (n_s, max_w, r)
        sentence_heads = None if heads is None else sentences.unsqueeze(-1).expand(-1, -1, heads.size(-1))
        penalty = pool.penalty if pool.penalty is not None else logits.new_zeros(())
        maps = self._self_attention([self.word_encoder], ["word"])
        return Output(logits, layout.to_sentences(weights), sentences, heads, sentence_heads, penalty, maps)

    def record_self_attention(self, on: bool = True) -> None:
        """Keep the Transformer encoders' self-attention maps in `Output.self_attention` (slower: no fused path)."""
        for module in self.modules():
            if isinstance(module, TransformerEncoder):
                module.record = on

    def _self_attention(self, encoders: list[Encoder], levels: list[str]) -> dict[str, list[torch.Tensor]] | None:
        """Level -> the recorded maps of that level's Transformer encoder, if any records."""
        maps = {}
        for encoder, level in zip(encoders, levels, strict=True):
            sequence = getattr(encoder, "sequence", None)  # absent for the GRU
            if isinstance(sequence, TransformerEncoder) and sequence.record:
                maps[level] = list(sequence.maps)
        return maps or None

    def _word_inputs(self, words: PackedSequence) -> tuple[PackedSequence, bool, torch.Tensor | None]:
        """Packed word ids -> the word GRU's packed inputs, whether they are already its input projections, and
        TaSc's (tokens,) scalars in packed order (None without TaSc).

        Without dropout on the word vectors (evaluation, or a recipe without it) every occurrence of a word
        gets the same projection W_i e_w + b_i, so each distinct word of the batch is projected once and
        gathered: a batch has about a quarter as many distinct words as tokens, and this matmul was the
        largest cost of a forward pass (bench/speed.py). Gradients reach the same parameters either way.
        Not on CUDA, where the word GRU runs through cuDNN (see below).
        """
        ids = words.data.to(self.embedding.weight.device)  # (tokens,)
        dropped = self.training and self.config.dropout > 0 and "embeddings" in self.config.dropout_at
        # cuDNN's GRU (the word GRU's path on CUDA) multiplies its inputs by W_i inside its fused kernel and
        # takes no inputs already projected (passing them would need an identity-like W_i of 3H x 6H per
        # direction: a larger product per token than the projection it would save); on a GPU projecting every
        # token is one cheap matmul anyway. So there the word GRU gets every token's word vector.
        per_token = dropped or not self.project_distinct_words  # dropout: a mask per token, each its own product
        encoder = self.word_encoder  # an encoder other than the GRU takes word vectors
        if per_token or encoder.kind != "gru" or encoder.gru.uses_cudnn(ids.device):
            vectors = self.embedding(ids)  # (tokens, embed)
            scale = None if self.tasc is None else self.tasc(ids, vectors)  # (tokens,)
            return words._replace(data=self.dropout["embeddings"](vectors)), False, scale
        distinct, occurrence = torch.unique(ids, return_inverse=True)  # (n_distinct,), (tokens,)
        vectors = self.embedding(distinct)  # (n_distinct, embed)
        table = encoder.gru.input_proj(vectors)  # (n_distinct, 6*word_hidden)
        scale = None if self.tasc is None else self.tasc(distinct, vectors).index_select(0, occurrence)  # (tokens,)
        return words._replace(data=table.index_select(0, occurrence)), True, scale  # (tokens, 6*word_hidden)

    def forward_embedded(self, batch: Batch, embedded: torch.Tensor) -> Output:
        """The same as `forward`, from given word vectors instead of the embedding table's.

        embedded: (n_sentences, max_words, embed_dim), batch-first like `batch.words`; padding positions are
        dropped by packing before the GRU. Attribution methods (captum) scale these vectors.
        """
        if self.flat:
            layout = self._flat_layout(batch)
            return self.encode_flat(
                batch, layout, layout.pack(layout.to_documents(self.dropout["embeddings"](embedded))), False
            )
        packed = pack_padded_sequence(
            self.dropout["embeddings"](embedded), batch.word_counts, batch_first=True, enforce_sorted=False
        )  # packed.data: (tokens, embed_dim), real tokens only
        scale = None
        if self.tasc is not None:  # from the given (undropped) vectors, so attributions see the scale's share
            vectors = pack_padded_sequence(embedded, batch.word_counts, batch_first=True, enforce_sorted=False)
            ids = pack_padded_sequence(batch.words, batch.word_counts, batch_first=True, enforce_sorted=False)
            scale = self.tasc(ids.data.to(embedded.device), vectors.data)  # (tokens,)
        return self.encode(batch, packed, scale=scale)

    def encode(
        self, batch: Batch, embedded: PackedSequence, projected: bool = False, scale: torch.Tensor | None = None
    ) -> Output:
        """Packed word vectors (or their GRU input projections, `projected`) -> word encoder -> sentence
        encoder -> logits, with both levels' weights; `scale`: TaSc's (tokens,) scalars, packed order."""
        if batch.padded and self.config.variant == "cahan":
            raise ValueError("CAHAN reads documents' sentences in order: the padded (bench) layout would mix them")
        counts = None if batch.padded else batch.sentence_counts
        sentence_vectors, word_weights = self.encode_words(embedded, batch.words.size(1), counts, projected, scale)
        logits, sentence_weights = self.encode_sentences(sentence_vectors, batch.sentence_counts, batch.padded)
        if self.per_class:  # shown: the predicted class's word weights (n_sentences, max_words); as heads: each class's
            every = (self.word_encoder.pool.head_weights, self.sentence_encoder.pool.head_weights)
            word_weights = predicted_word_weights(every[0], logits, batch.sentence_counts, batch.padded)
            return Output(logits, word_weights, sentence_weights, *every, penalty=logits.new_zeros(()))
        pools = (self.word_encoder.pool, self.sentence_encoder.pool)  # head weights: None for ave and max
        penalty = sum((p.penalty for p in pools if p.penalty is not None), logits.new_zeros(()))
        maps = self._self_attention([self.word_encoder, cast(Encoder, self.sentence_encoder)], ["word", "sentence"])
        heads = (pools[0].head_weights, pools[1].head_weights)
        return Output(logits, word_weights, sentence_weights, *heads, penalty, maps)

    @property
    def reads_context(self) -> bool:
        """True when a sentence's word weights depend on the document's other sentences (CAHAN; the flat structure,
        whose one attention spans them all): its sentence vectors must then be computed document by document,
        never sentence by sentence."""
        return self.config.variant == "cahan" or self.flat

    def encode_words(
        self,
        embedded: PackedSequence,
        max_words: int,
        counts: torch.Tensor | None = None,
        projected: bool = False,
        scale: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The word level: (n_sentences, sentence dim) sentence vectors and (n_sentences, max_words) weights.

        counts: (n_docs,) sentences per document, rows being documents' sentences in order; None: the rows are
        the sentences of one document (what CAHAN's context needs; the other variants ignore it).
        projected: `embedded` holds the word GRU's input projections (see `_word_inputs`); scale: TaSc's scalars.
        With TaSc the weights are the scaled ones |alpha_t s_t|, renormalised per sentence."""
        return self.word_encoder(embedded, max_words, counts, projected, scale)

    def encode_sentences(
        self, sentence_vectors: torch.Tensor, sentence_counts: torch.Tensor, padded: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The sentence level: stacked sentence vectors of documents -> (n_docs, n_classes) logits and weights.

        sentence_vectors: (n_sentences, 2*word_hidden), documents one after another (`sentence_counts` each),
        or n_docs x max_sentences rows when `padded`. Faithfulness methods call it on sentence vectors they
        re-use across document variants.
        """
        if self.class_mode != "evidence":  # the evidence model's sentence vectors are its (n, C) evidence
            sentence_vectors = self.dropout["sentences"](sentence_vectors)
        if padded:  # rows already form n_docs x max_sentences
            docs = sentence_vectors.view(sentence_counts.numel(), -1, sentence_vectors.size(-1))
        else:
            docs = scatter_sentences(sentence_vectors, sentence_counts)
        # docs: (n_docs, max_sentences, 2*word_hidden), zeros at padding sentences
        if isinstance(self.sentence_encoder, EvidenceLevel):  # no sentence encoder: han/nn/evidence.py
            return evidence_logits(self.sentence_encoder, self.classifier, docs, sentence_counts)
        if self.per_class:  # each class's sentence vectors a sequence of its own: (n_docs * C, S, word dim)
            docs, sentence_counts = class_rows(docs, sentence_counts, self.config.n_classes)
        packed_docs = pack_padded_sequence(docs, sentence_counts, batch_first=True, enforce_sorted=False)
        doc_vectors, sentence_weights = self.sentence_encoder(packed_docs, docs.size(1))
        # doc_vectors: (n_docs, 2*sentence_hidden); sentence_weights: (n_docs, max_sentences); per class n_docs * C
        if self.per_class:  # (n_docs, C) logits, the predicted class's (n_docs, S) weights
            return separate_logits(self.dropout["classifier"](doc_vectors), sentence_weights, self.classifier)
        logits = self.classifier(self.dropout["classifier"](doc_vectors))  # (n_docs, n_classes)
        return logits, sentence_weights

    def sentence_vectors(self, sentences: list[list[int]]) -> torch.Tensor:
        """(len(sentences), sentence dim): the word level on the sentences of one document, as word-id lists."""
        embedded, projected, scale = self._word_inputs(self._packed_ids(sentences))
        return self.encode_words(embedded, max(len(s) for s in sentences), projected=projected, scale=scale)[0]

    def word_states(self, sentences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The word GRU's states of sentences given as word-id lists: (n, max_words, 2*word_hidden) and mask.

        Faithfulness methods pool these states with weights of their own (zeroed, permuted) without running
        the GRU again for every variant.
        """
        max_words = max(len(s) for s in sentences)
        packed, projected, _ = self._word_inputs(self._packed_ids(sentences))
        position = token_positions(packed, max_words)  # (tokens,)
        states = self.word_encoder.states(packed, position, (len(sentences), max_words), projected)
        return unpack(packed._replace(data=states), max_words)

    def word_scales(self, sentences: list[list[int]]) -> torch.Tensor | None:
        """TaSc's (n, max_words) scalars of sentences given as word-id lists (0 at padding); None without TaSc.
        Whoever pools `word_states` with weights of its own passes them to the pooling as `scale`."""
        if self.tasc is None:
            return None
        packed, max_words = self._packed_ids(sentences), max(len(s) for s in sentences)
        scale = self._word_inputs(packed)[2]  # (tokens,) packed order
        assert scale is not None
        return padded_scale(scale, token_positions(packed, max_words), (len(sentences), max_words))  # (n, max_words)

    def _packed_ids(self, sentences: list[list[int]]) -> PackedSequence:
        batch = collate([[s] for s in sentences])  # one sentence per row
        return pack_padded_sequence(batch.words, batch.word_counts, batch_first=True, enforce_sorted=False)


def check_structure(config: ModelConfig) -> bool:
    """ValueError for an encoder or structure that cannot be built; True for the flat structure."""
    dims = [2 * config.word_hidden] * (config.encoder_at != "sentence")
    dims += [2 * config.sentence_hidden] * (config.encoder_at != "word" and config.structure != "flat")
    check_encoder(config.encoder, config.encoder_at, config.layers, config.attention_heads, dims)
    if config.structure not in STRUCTURES:
        raise ValueError(f"unknown structure {config.structure!r}; choose from {', '.join(STRUCTURES)}")
    flat = config.structure == "flat"
    if flat and (config.variant == "cahan" or config.encoder_at == "sentence" or config.heads_at == "sentence"):
        raise ValueError("a flat model has no sentence level (CAHAN's context, --encoder-at or --heads-at sentence)")
    return flat


def scatter_sentences(vectors: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """(n_sentences, d) stacked sentence vectors -> (n_docs, max_sentences, d), zero-padded."""
    n_docs, max_sentences = counts.numel(), int(counts.max())
    doc_index = torch.repeat_interleave(torch.arange(n_docs), counts)  # (n_sentences,)
    starts = torch.cumsum(counts, 0) - counts  # (n_docs,) first sentence row of each document
    position = torch.arange(vectors.size(0)) - starts[doc_index]  # (n_sentences,)
    out = vectors.new_zeros(n_docs, max_sentences, vectors.size(1))
    out[doc_index.to(vectors.device), position.to(vectors.device)] = vectors
    return out


def split_word_weights(word_weights: torch.Tensor, batch: Batch) -> list[list[list[float]]]:
    """Per document, per sentence, the weights of its real words (padding dropped)."""
    rows = [w[:n].tolist() for w, n in zip(word_weights.cpu(), batch.word_counts.tolist(), strict=True)]
    out, start = [], 0
    for count in batch.sentence_counts.tolist():
        out.append(rows[start : start + count])
        start += count
    return out
