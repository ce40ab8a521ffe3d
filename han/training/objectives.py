"""Training objectives that make the attention a faithful account of the decision (issue 34).

    --faithful-loss LAMBDA   loss += LAMBDA * KL(softmax(a / T) || alpha), a = an attribution of the model being
                             trained, computed on the fly and detached (a target, never a path for gradients)
    --faithful-after N       ... from epoch N + 1 on: the first N epochs train on the task alone (default 1)
    --word-dropout P         each real word of a training document removed with probability P, as erasure
                             removes words, so erased documents are no longer out of distribution (Madsen et al.)
    --tasc                   task-scaled word attention (han/nn/tasc.py; the model's, not a loss)

Targets (`--faithful-target`):
    grad-input   gradient x input of log p(predicted class) with respect to each real word's vector, summed
                 over the vector's dimensions (what `han faithfulness` calls gradient x input), from the same
                 forward pass as the loss: one extra backward pass to the word vectors.

Levels (`--faithful-level`): `word` supervises each sentence's word weights alpha_w; `both` also each
document's sentence weights alpha_s, towards the sentences' summed word attributions. Each target row is
scaled by its largest |a| before the softmax, so the temperature T means the same in every sentence. The
target is built from the real words only: padding is -inf before the softmax (exactly 0 in the target) and
never enters the KL.

Why the loss waits (--faithful-after): the target is an attribution of the model being trained, and an untrained
model's is noise. From the first step, on a planted task (tests/test_faithful.py), chasing it kept the model at
chance (lambda 1 and 5); after one or two epochs on the task alone, the same loss moved the attention onto the
deciding word in every document.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from han.data.dataset import Batch, collate
from han.errors import HanError
from han.nn.class_attention import CLASS_ATTENTION
from han.nn.model import HAN, Output, scatter_sentences, token_positions
from han.nn.tasc import padded_scale

FAITHFUL_TARGETS = ("grad-input",)  # --faithful-target's choices
FAITHFUL_LEVELS = ("word", "both")  # --faithful-level's choices
ATTENTION_VARIANTS = ("att", "cahan")  # variants with attention to supervise (multi-head is att with --heads)


def check_objectives(cfg: Any) -> None:
    """Refuse objective settings that cannot train, before any data is read (cfg: a TrainConfig)."""
    for option, value in (("--faithful-loss", cfg.faithful_loss), ("--faithful-temperature", cfg.faithful_temperature)):
        if not math.isfinite(value):
            raise HanError(f"{option} must be a finite number, not {value}")
    if cfg.faithful_loss < 0:
        raise HanError(f"--faithful-loss is the weight LAMBDA of the KL term, 0 (off) or more, not {cfg.faithful_loss}")
    if cfg.faithful_target not in FAITHFUL_TARGETS:
        raise HanError(f"unknown --faithful-target {cfg.faithful_target!r}; choose from {', '.join(FAITHFUL_TARGETS)}")
    if cfg.faithful_level not in FAITHFUL_LEVELS:
        raise HanError(f"unknown --faithful-level {cfg.faithful_level!r}; choose from {', '.join(FAITHFUL_LEVELS)}")
    if cfg.faithful_temperature <= 0:
        raise HanError(f"--faithful-temperature must be positive, not {cfg.faithful_temperature}")
    if not 0 <= cfg.word_dropout < 1:  # NaN fails this too
        raise HanError(f"--word-dropout is the probability of removing a word, in [0, 1), not {cfg.word_dropout}")
    if cfg.faithful_after < 0:
        raise HanError(f"--faithful-after is a number of epochs, 0 or more, not {cfg.faithful_after}")
    shape = (cfg.faithful_level, cfg.faithful_temperature, cfg.faithful_after)
    if cfg.faithful_loss == 0 and shape != ("both", 0.25, 1):
        raise HanError(
            "--faithful-level, --faithful-temperature and --faithful-after shape the faithful loss: "
            "give --faithful-loss > 0"
        )
    wants = [name for name, on in (("--faithful-loss", cfg.faithful_loss > 0), ("--tasc", cfg.tasc)) if on]
    if wants and cfg.variant not in ATTENTION_VARIANTS:
        verb = "act" if len(wants) > 1 else "acts"
        raise HanError(f"{' and '.join(wants)} {verb} on attention; --variant {cfg.variant} has none: use att or cahan")
    if cfg.tasc and cfg.variant == "cahan":
        raise HanError("--tasc scales HN-ATT's word attention (one head or several); CAHAN's is not supported")
    if cfg.tasc and cfg.structure == "flat":
        raise HanError("--tasc scales the hierarchical model's word attention; --structure flat has no such level")
    check_class_attention(cfg)


def check_class_attention(cfg: Any) -> None:
    """--class-attention is HN-ATT's attention, one head per class, at both levels of the hierarchical model."""
    if cfg.class_attention not in CLASS_ATTENTION:
        raise HanError(f"unknown --class-attention {cfg.class_attention!r}; choose from {', '.join(CLASS_ATTENTION)}")
    if cfg.class_attention == "none":
        return
    clashes = [
        name
        for name, on in (
            (f"--variant {cfg.variant}", cfg.variant != "att"),
            (f"--heads {cfg.heads}", cfg.heads > 1),
            ("--tasc", cfg.tasc),
            ("--structure flat", cfg.structure == "flat"),
            ("--faithful-loss", cfg.faithful_loss > 0),
        )
        if on
    ]
    if clashes:
        raise HanError(
            f"--class-attention {cfg.class_attention} gives HN-ATT one attention head per class: "
            f"not with {', '.join(clashes)}"
        )


class Objectives:
    """One epoch's objectives in the training loop: with every option off, each method hands back what it was
    given and the loop computes exactly what it did before (same ops, same random draws)."""

    def __init__(self, cfg: Any, epoch: int) -> None:
        self.cfg = cfg
        self.removals = word_dropout_generator(cfg, epoch)  # None without --word-dropout
        self.faithful = bool(cfg.faithful_loss) and epoch >= cfg.faithful_after  # the KL term this epoch
        self.term: torch.Tensor | None = None  # the last batch's KL term
        self.kl_sum = 0.0  # sum over the epoch's documents of the KL term

    def batch(self, batch: Batch) -> Batch:
        """The batch with --word-dropout's words removed (the batch itself without)."""
        return batch if self.removals is None else drop_words(batch, self.cfg.word_dropout, self.removals)

    def forward(self, model: nn.Module, batch: Batch) -> Output:
        """model(batch); with --faithful-loss, the KL term is kept for `add`."""
        if not self.faithful:
            return model(batch)
        output, self.term = forward_with_objective(model, batch, self.cfg)
        return output

    def add(self, loss: torch.Tensor, documents: int) -> torch.Tensor:
        """loss + LAMBDA * KL of the last batch (`loss` itself without --faithful-loss)."""
        if self.term is None:
            return loss
        self.kl_sum += self.term.item() * documents
        return loss + self.cfg.faithful_loss * self.term

    def record(self, documents: int) -> dict:
        """The epoch's mean KL, for the training history ({} without --faithful-loss)."""
        return {"faithful_kl": self.kl_sum / documents} if self.faithful else {}


# ----------------------------------------------------------------------------- the faithful loss


@contextmanager
def word_vectors(embedding: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Collect the outputs of the embedding layer during the block, made to require a gradient (frozen vectors
    included), so an attribution can be taken with respect to them."""
    seen: list[torch.Tensor] = []

    def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        output = output if output.requires_grad else output.detach().requires_grad_(True)
        seen.append(output)
        return output

    handle = embedding.register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def forward_with_objective(model: nn.Module, batch: Batch, cfg: Any) -> tuple[Output, torch.Tensor | None]:
    """The model's output on `batch` and the faithful loss term (None when --faithful-loss is 0: then exactly
    `model(batch)`, nothing else runs). `model` may be wrapped by DistributedDataParallel."""
    if not cfg.faithful_loss:
        return model(batch), None
    core = cast(HAN, getattr(model, "module", model))
    distinct, core.project_distinct_words = core.project_distinct_words, False  # one vector per token, not per word
    try:
        with word_vectors(core.embedding) as seen:
            output = model(batch)
    finally:
        core.project_distinct_words = distinct
    vectors = seen[0]  # (tokens, embed_dim), packed order
    predicted = output.logits.detach().argmax(dim=-1, keepdim=True)  # (n_docs, 1)
    chosen = output.logits.log_softmax(dim=-1).gather(1, predicted).sum()
    (gradient,) = torch.autograd.grad(chosen, vectors, retain_graph=True)  # (tokens, embed_dim)
    attribution = (gradient * vectors).sum(dim=-1).detach()  # (tokens,) gradient x input
    return output, faithful_kl(attribution, batch, output, cfg.faithful_temperature, cfg.faithful_level == "both")


def faithful_kl(
    attribution: torch.Tensor, batch: Batch, output: Output, temperature: float, sentences: bool
) -> torch.Tensor:
    """KL(softmax(a / T) || alpha) at the word level (mean over sentences of 2+ words), plus the sentence level's
    (mean over documents of 2+ sentences) when `sentences`. attribution: (tokens,) in the packed order of
    `batch.words` (as the model packs them)."""
    packed = pack_padded_sequence(batch.words, batch.word_counts, batch_first=True, enforce_sorted=False)
    n, T = batch.words.shape
    device = output.word_weights.device
    a = padded_scale(attribution, token_positions(packed, T).to(device), (n, T))  # (n_sentences, T), 0 at padding
    real = torch.arange(T, device=device) < batch.word_counts.to(device).unsqueeze(1)  # (n_sentences, T)
    loss = row_kl(a, real, output.word_weights, temperature)
    if sentences:
        per_sentence = scatter_sentences(a.sum(dim=1, keepdim=True), batch.sentence_counts)[..., 0]  # (n_docs, S)
        S = per_sentence.size(1)
        real_s = torch.arange(S, device=device) < batch.sentence_counts.to(device).unsqueeze(1)  # (n_docs, S)
        loss = loss + row_kl(per_sentence, real_s, output.sentence_weights, temperature)
    return loss


def row_kl(scores: torch.Tensor, real: torch.Tensor, weights: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over rows with 2+ real items of KL(q || weights), q = softmax over the real items of
    scores / (max |score| of the row) / T. scores, real, weights: (rows, T); weights are 0 at padding."""
    scores = scores.masked_fill(~real, 0.0)  # whatever sits at padding never reaches the row's scale
    scaled = scores / scores.abs().amax(dim=1, keepdim=True).clamp_min(1e-12)  # (rows, T) in [-1, 1]
    target = (scaled / temperature).masked_fill(~real, float("-inf")).softmax(dim=1)  # (rows, T), 0 at padding
    terms = torch.special.xlogy(target, target) - target * weights.clamp_min(1e-12).log()  # (rows, T)
    per_row = torch.where(real, terms, torch.zeros_like(terms)).sum(dim=1)  # (rows,)
    several = real.sum(dim=1) >= 2  # a single item's weight is 1 whatever the target
    return per_row[several].mean() if bool(several.any()) else per_row.new_zeros(())


# ----------------------------------------------------------------------------- word dropout


def word_dropout_generator(cfg: Any, epoch: int) -> torch.Generator | None:
    """The seeded generator of one epoch's word removals (its own: dropout's masks are drawn as before)."""
    if not cfg.word_dropout:
        return None
    return torch.Generator().manual_seed(cfg.seed * 1000 + epoch + 500_000)


def drop_words(batch: Batch, p: float, generator: torch.Generator) -> Batch:
    """The batch with each real word removed with probability p, as erasure removes words: a sentence left
    empty disappears, and a document left empty keeps its first word (a document needs one)."""
    keep = torch.rand(batch.words.shape, generator=generator) >= p  # (n_sentences, max_words)
    rows = [
        [w for w, k in zip(words[:n], kept[:n], strict=True) if k]
        for words, kept, n in zip(batch.words.tolist(), keep.tolist(), batch.word_counts.tolist(), strict=True)
    ]
    originals = [words[:1] for words in batch.words.tolist()]
    docs, start = [], 0
    for count in batch.sentence_counts.tolist():
        doc = [s for s in rows[start : start + count] if s]
        docs.append(doc or [originals[start]])
        start += count
    labels = None if batch.labels is None else batch.labels.tolist()
    return collate(docs, labels)
