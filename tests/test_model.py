"""The network: shapes per variant, masking of padding, the fused GRU, AVE = ATT with u_ctx = 0."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from han.checkpoint import io as checkpoint
from han.data.dataset import Batch, collate
from han.data.vocab import Vocab
from han.nn.cahan import CahanPooling, ContextAttention
from han.nn.model import HAN, VARIANTS, BiGRU, ModelConfig, split_word_weights, unpack
from han.nn.pooling import Pooling, redundancy
from han.training.train import prepare

VOCAB = 500


@pytest.fixture(scope="module")
def real_docs(yelp_slice) -> list[list[list[int]]]:
    """Eight real Yelp reviews as word ids, of different lengths."""
    data = prepare(yelp_slice, min_count=2)
    docs = sorted(data.docs["train"][:40], key=len)
    chosen = docs[::5][:8]
    return [[[min(w, VOCAB - 1) for w in s] for s in d] for d in chosen]


# every pooling: the paper's three and multi-head attention (Lin et al.) at both levels or one, mean or concat
MODELS: dict[str, dict] = {
    **{variant: {"variant": variant} for variant in VARIANTS},
    "att-3heads": {"variant": "att", "heads": 3},
    "att-2heads-word-concat": {"variant": "att", "heads": 2, "heads_at": "word", "head_combine": "concat"},
    "att-4heads-sentence": {"variant": "att", "heads": 4, "heads_at": "sentence"},
    "cahan-bi-mean-gated": {
        "variant": "cahan",
        "context_direction": "bi",
        "context_aggregate": "mean",
        "context_gate": True,
    },
}


def make_model(variant: str, seed: int = 0, **settings: Any) -> HAN:
    torch.manual_seed(seed)
    return HAN(
        ModelConfig(vocab_size=VOCAB, n_classes=5, **(MODELS.get(variant, {"variant": variant}) | settings))
    ).eval()


@pytest.mark.parametrize("variant", list(MODELS))
def test_shapes_and_weights_per_variant(variant, real_docs):
    batch = collate(real_docs)
    out = make_model(variant)(batch)
    n_sentences, max_words = batch.words.shape
    assert out.logits.shape == (len(real_docs), 5)
    assert out.word_weights.shape == (n_sentences, max_words)
    assert out.sentence_weights.shape == (len(real_docs), max(len(d) for d in real_docs))
    word_mask = torch.arange(max_words) < batch.word_counts.unsqueeze(1)
    sentence_mask = torch.arange(out.sentence_weights.size(1)) < batch.sentence_counts.unsqueeze(1)
    for weights, mask in ((out.word_weights, word_mask), (out.sentence_weights, sentence_mask)):
        assert torch.all(weights[~mask] == 0), "padding must get exactly zero weight"
        assert torch.allclose(weights.sum(dim=1), torch.ones(weights.size(0)), atol=1e-5)
        assert torch.all(weights >= 0)
    if variant == "ave":
        assert torch.allclose(
            out.word_weights[word_mask], (1.0 / batch.word_counts).repeat_interleave(batch.word_counts)
        )
    if out.word_head_weights is not None and out.sentence_head_weights is not None:  # attention: every head
        settings = MODELS[variant]
        heads = {
            level: settings.get("heads", 1) if settings.get("heads_at", "both") in (level, "both") else 1
            for level in ("word", "sentence")
        }
        if settings["variant"] == "cahan":  # one head per reading direction, at the word level
            heads = {"word": 2 if settings.get("context_direction") == "bi" else 1, "sentence": 1}
        assert out.word_head_weights.shape == (n_sentences, max_words, heads["word"])
        assert out.sentence_head_weights.shape == (*out.sentence_weights.shape, heads["sentence"])
        for head_weights, mask, mean in (
            (out.word_head_weights, word_mask, out.word_weights),
            (out.sentence_head_weights, sentence_mask, out.sentence_weights),
        ):
            assert torch.all(head_weights[~mask] == 0)
            assert torch.allclose(head_weights.sum(dim=1), torch.ones(head_weights.shape[0], head_weights.shape[2]))
            assert torch.allclose(head_weights.mean(dim=-1), mean)  # what is drawn: the heads' mean


@pytest.mark.parametrize("variant", list(MODELS))
def test_padding_changes_no_output_or_weight(variant, real_docs):
    """A document gives the same logits and weights alone, beside longer documents (more padding
    sentences), and with extra padding words appended to every sentence."""
    model = make_model(variant)
    alone = [model(collate([doc])) for doc in real_docs]
    together_batch = collate(real_docs)
    together = model(together_batch)
    extra_words = Batch(
        torch.cat([together_batch.words, torch.zeros(len(together_batch.words), 7, dtype=torch.long)], dim=1),
        together_batch.word_counts,
        together_batch.sentence_counts,
    )
    padded = model(extra_words)
    if together.penalty is not None and padded.penalty is not None:  # padding words change no head's weights
        assert torch.allclose(together.penalty, padded.penalty, atol=1e-6)
    per_doc_words = split_word_weights(together.word_weights, together_batch)
    per_doc_padded = split_word_weights(padded.word_weights, extra_words)
    assert padded.word_weights[:, -7:].abs().max() == 0
    for i, (single, doc) in enumerate(zip(alone, real_docs, strict=True)):
        n = len(doc)
        for out in (together, padded):
            assert torch.allclose(single.logits[0], out.logits[i], atol=1e-5)
            assert torch.allclose(single.sentence_weights[0, :n], out.sentence_weights[i, :n], atol=1e-5)
            assert torch.all(out.sentence_weights[i, n:] == 0)
        single_words = split_word_weights(single.word_weights, collate([doc]))[0]
        for words in (per_doc_words[i], per_doc_padded[i]):
            for a, b in zip(single_words, words, strict=True):
                assert a == pytest.approx(b, abs=1e-5)


def test_fused_bigru_computes_what_nn_gru_computes():
    torch.manual_seed(0)
    reference = nn.GRU(12, 5, batch_first=True, bidirectional=True)
    fused = BiGRU(12, 5)
    param = reference.get_parameter  # typed access to nn.GRU's weight_ih_l0 ...
    with torch.no_grad():  # nn.GRU stores gates r, z, n row-wise; ours column-wise per direction
        fused.input_proj.weight.copy_(torch.cat([param("weight_ih_l0"), param("weight_ih_l0_reverse")]))
        fused.input_proj.bias.copy_(torch.cat([param("bias_ih_l0"), param("bias_ih_l0_reverse")]))
        w_hh = torch.stack([param("weight_hh_l0").T, param("weight_hh_l0_reverse").T])  # (2, H, 3H)
        b_hh = torch.stack([param("bias_hh_l0"), param("bias_hh_l0_reverse")]).unsqueeze(1)
        fused.w_hh_rz.copy_(w_hh[..., :10]), fused.w_hh_n.copy_(w_hh[..., 10:])
        fused.b_hh_rz.copy_(b_hh[..., :10]), fused.b_hh_n.copy_(b_hh[..., 10:])
    x = torch.randn(6, 9, 12)
    lengths = torch.tensor([9, 3, 1, 7, 9, 4])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected, _ = unpack(reference(packed)[0], 9)
    got, mask = unpack(packed._replace(data=fused(packed)), 9)
    assert torch.allclose(expected, got, atol=1e-6)
    assert mask.sum(1).tolist() == lengths.tolist()


def test_ave_is_att_with_a_zero_context_vector(real_docs):
    """The paper (sec. 3.4): with u_w = u_s = 0, attention is averaging."""
    att, ave = make_model("att"), make_model("ave")
    ave.load_state_dict({k: v for k, v in att.state_dict().items() if k in ave.state_dict()})
    with torch.no_grad():
        for pool in (att.word_encoder.pool, att.sentence_encoder.pool):
            assert isinstance(pool, Pooling)
            pool.context.zero_()
    batch = collate(real_docs)
    a, b = att(batch), ave(batch)
    assert torch.allclose(a.logits, b.logits, atol=1e-5)
    assert torch.allclose(a.word_weights, b.word_weights, atol=1e-6)
    assert torch.allclose(a.sentence_weights, b.sentence_weights, atol=1e-6)


def test_max_weights_are_the_share_of_dimensions_won(real_docs):
    model = make_model("max")
    batch = collate(real_docs[:2])
    out = model(batch)
    # each sentence's word weights count how many of the 100 dimensions each word wins
    assert torch.allclose((out.word_weights * 100).round(), out.word_weights * 100, atol=1e-4)


def test_gradients_flow_to_every_parameter(real_docs):
    model = make_model("att").train()
    batch = collate(real_docs, labels=[0, 1, 2, 3, 4, 0, 1, 2][: len(real_docs)])
    assert batch.labels is not None
    loss = nn.functional.cross_entropy(model(batch).logits, batch.labels)
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("variant", list(MODELS))
def test_projecting_each_distinct_word_once_changes_no_output_or_gradient(variant, real_docs):
    """Each distinct word of a batch goes through the word GRU's input projection once: outputs, weights
    and every gradient are those of projecting every token; with dropout on the word vectors in training
    (a mask per token) every token is projected."""
    batch = collate(real_docs, labels=[0, 1, 2, 3, 4, 0, 1, 2][: len(real_docs)])
    assert batch.labels is not None
    results = []
    for distinct in (True, False):
        model = make_model(variant).train()  # training mode, no dropout: the distinct-word path is taken
        model.project_distinct_words = distinct
        out = model(batch)
        nn.functional.cross_entropy(out.logits, batch.labels).backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        results.append((out, grads))
    (a, grads_a), (b, grads_b) = results
    torch.testing.assert_close(a.logits, b.logits, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a.word_weights, b.word_weights, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a.sentence_weights, b.sentence_weights, rtol=1e-5, atol=1e-6)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-4, atol=1e-6, msg=name)

    dropped = make_model(variant, dropout=0.5).train()
    calls = []
    dropped.word_encoder.gru.input_proj.register_forward_hook(lambda m, i, o: calls.append(i[0].size(0)))
    dropped(batch)
    assert calls == [int(batch.word_counts.sum())]  # every token projected: each has its own dropout mask
    dropped.eval()(batch)
    assert calls[1] == len(torch.unique(batch.words[batch.words > 0]))  # evaluation: each distinct word once


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_padded_layout_gives_the_same_results(variant, real_docs):
    """The naive layout (padding sentences through the word GRU) only costs time, never results."""
    model = make_model(variant)
    if variant == "cahan":  # reads each document's sentences in order: the bench layout is refused, not mixed
        with pytest.raises(ValueError, match="CAHAN"):
            model(collate(real_docs, padded=True))
        return
    packed, padded = model(collate(real_docs)), model(collate(real_docs, padded=True))
    assert torch.allclose(packed.logits, padded.logits, atol=1e-5)
    assert torch.allclose(packed.sentence_weights, padded.sentence_weights, atol=1e-6)


# ----------------------------------------------------------------------------- multi-head attention


def test_one_head_is_exactly_hn_att(real_docs, tmp_path):
    """r = 1, c = 0: the same parameters (names and shapes) as HN-ATT, hence identical outputs for identical weights,
    also through a checkpoint written by the multi-head code."""
    att, one = make_model("att", seed=0), make_model("att", seed=1, heads=1, head_combine="concat")
    assert {k: v.shape for k, v in att.state_dict().items()} == {k: v.shape for k, v in one.state_dict().items()}
    one.load_state_dict(att.state_dict())
    batch = collate(real_docs)
    a, b = att(batch), one(batch)
    assert torch.equal(a.logits, b.logits) and torch.equal(a.word_weights, b.word_weights)
    assert torch.equal(a.sentence_weights, b.sentence_weights) and float(b.penalty.detach()) == 0.0


@pytest.mark.parametrize("heads_at", ["word", "sentence", "both"])
def test_identical_heads_pool_like_one(real_docs, heads_at):
    """r heads with HN-ATT's context vector each, averaged, compute exactly what HN-ATT computes."""
    att, multi = make_model("att"), make_model("att", heads=3, heads_at=heads_at)
    state = att.state_dict()
    for key, value in multi.state_dict().items():
        state_value = state[key]
        multi.state_dict()[key].copy_(
            state_value.expand_as(value) if value.dim() == 2 and "context" in key else state_value
        )
    batch = collate(real_docs)
    a, m = att(batch), multi(batch)
    assert torch.allclose(a.logits, m.logits, atol=1e-6) and torch.allclose(a.word_weights, m.word_weights, atol=1e-6)
    assert float(m.penalty.detach()) > 0  # identical heads are what the penalty punishes


def test_penalty_is_zero_for_orthogonal_heads_and_positive_for_identical_ones():
    mask = torch.tensor([[True, True, True, False]])  # (1, T): the last position is padding
    orthogonal = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]])  # (1, T, 2): different words
    identical = torch.tensor([[[0.5, 0.5], [0.5, 0.5], [0.0, 0.0], [0.0, 0.0]]])
    spread = torch.tensor([[[0.2, 0.2], [0.3, 0.3], [0.5, 0.5], [0.0, 0.0]]])
    assert float(redundancy(orthogonal, mask)) == 0.0
    assert float(redundancy(identical, mask)) == pytest.approx(2 * (0.5 - 1) ** 2 + 2 * 0.5**2)
    assert float(redundancy(spread, mask)) > float(redundancy(identical, mask)) > 0
    assert float(redundancy(identical[..., :1], mask)) == 0.0  # one head: nothing to keep apart


def test_the_penalty_trains_heads_apart(real_docs):
    """Steps on the penalty alone make two heads look at different words (the cosine of their weight vectors
    falls): its gradient reaches the heads. (Identical heads would get identical gradients and stay identical.)"""
    model = make_model("att", heads=2, heads_at="word")
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    batch = collate(real_docs)

    def overlap() -> float:  # mean over sentences of the cosine between the two heads' weights
        heads = model(batch).word_head_weights.detach()  # (n_sentences, max_words, 2)
        return float(torch.nn.functional.cosine_similarity(heads[..., 0], heads[..., 1], dim=1).mean())

    before = overlap()
    for _ in range(20):
        optimizer.zero_grad()
        model(batch).penalty.backward()
        optimizer.step()
    assert overlap() < 0.5 * before


def test_multi_head_checkpoints_round_trip(real_docs, tmp_path):
    model = make_model("att-2heads-word-concat")
    words = [f"w{i}" for i in range(VOCAB - 2)]
    checkpoint.save(tmp_path, model, Vocab(words), {"labels": list("12345")}, {})
    loaded, _, config, _ = checkpoint.load(tmp_path)
    assert config["model"] | {} == {**config["model"], "heads": 2, "heads_at": "word", "head_combine": "concat"}
    batch = collate(real_docs)
    assert torch.equal(model(batch).logits, loaded(batch).logits)
    assert loaded(batch).word_head_weights.shape[-1] == 2 and loaded(batch).sentence_head_weights.shape[-1] == 1


def test_heads_need_attention_and_at_least_one():
    for bad in ({"variant": "ave", "heads": 2}, {"variant": "att", "heads": 0}, {"heads_at": "document"}):
        with pytest.raises(ValueError):
            HAN(ModelConfig(vocab_size=VOCAB, n_classes=5, **bad))


# ----------------------------------------------------------------------------- CAHAN


CAHAN_SETTINGS = [
    {"context_direction": direction, "context_aggregate": aggregate, "context_gate": gate}
    for direction in ("left", "bi")
    for aggregate in ("sum", "mean")
    for gate in (False, True)
]


def word_weights_of(model: HAN, doc: list[list[int]]) -> list[list[float]]:
    out = model(collate([doc]))
    return split_word_weights(out.word_weights, collate([doc]))[0]


@pytest.mark.parametrize("settings", CAHAN_SETTINGS, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_cahan_context_flows_only_the_way_it_should(real_docs, settings):
    """Left-to-right: changing a later sentence never changes an earlier sentence's word weights; bidirectional:
    it does. Either way the sentence's own weights change with its context (it is read in context)."""
    model = make_model("cahan", **settings)
    doc = max(real_docs, key=len)[:4]  # four real sentences
    changed = [*doc[:3], [(w * 7 + 3) % (VOCAB - 2) + 2 for w in doc[3]]]  # the last sentence, other words
    before, after = word_weights_of(model, doc), word_weights_of(model, changed)
    for i in range(3):
        same = before[i] == pytest.approx(after[i], abs=1e-6)
        assert same if settings["context_direction"] == "left" else not same, i
    alone = word_weights_of(model, doc[2:3])[0]  # the third sentence with no context
    assert alone != pytest.approx(before[2], abs=1e-6)


def test_cahan_first_sentence_of_left_context_is_hn_att_without_context(real_docs):
    """With no sentence before it, a left-to-right CAHAN's first sentence is weighted as HN-ATT would with
    W_c unused: u = tanh(W h + b), so a document of one sentence gives exactly that."""
    model = make_model("cahan")
    doc = real_docs[0][:1]
    assert isinstance(model.word_encoder.pool, CahanPooling)
    pool = model.word_encoder.pool.attention
    assert isinstance(pool, ContextAttention)
    with torch.no_grad():
        states, mask = model.word_states(doc)
        u = torch.tanh(states @ pool.project[0] + pool.bias[0, 0])  # (1, T, context_dim)
        expected = (u @ pool.context[0, :, 0]).masked_fill(~mask, float("-inf")).softmax(dim=1)[0, : len(doc[0])]
    assert word_weights_of(model, doc)[0] == pytest.approx(expected.tolist(), abs=1e-6)


@pytest.mark.parametrize("direction", ["left", "bi"])
def test_cahan_padding_sentences_never_reach_a_context(real_docs, direction):
    """Each document alone equals the same document in a batch with longer ones (more padding sentences)."""
    model = make_model("cahan", context_direction=direction, context_aggregate="mean", context_gate=True)
    together = model(collate(real_docs))
    for i, doc in enumerate(real_docs):
        alone = model(collate([doc]))
        assert torch.allclose(alone.logits[0], together.logits[i], atol=1e-5)


@pytest.mark.parametrize("settings", CAHAN_SETTINGS, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_cahan_from_the_real_words_equals_the_padded_path_with_its_gradients(settings):
    """The word encoder's path (real words only, a softmax per sentence over its words) gives the padded
    path's sentence vectors and weights, and the same gradients for the states and every parameter."""
    torch.manual_seed(0)
    pool = CahanPooling(6, 5, settings["context_direction"], settings["context_aggregate"], settings["context_gate"])
    counts = torch.tensor([3, 1, 4, 2])  # sentences per document: 10 rows, documents of unequal length
    lengths = torch.tensor([4, 1, 7, 2, 5, 7, 3, 1, 6, 2])  # real words per sentence; T = 7
    mask = torch.arange(7) < lengths.unsqueeze(1)  # (10, 7)
    position = mask.flatten().nonzero().squeeze(1)  # (k,)
    states = torch.randn(len(position), 6, requires_grad=True)  # (k, 6) the real words' states

    def run(tokens: bool) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        if tokens:
            vectors, weights = pool.forward_tokens(states, position, (10, 7), counts)
        else:
            padded = states.new_zeros(70, 6).index_copy(0, position, states).view(10, 7, 6)
            vectors, weights = pool(padded, mask, counts)
        weight = torch.linspace(-1, 1, weights.numel()).view_as(weights)
        ((vectors**2).sum() + (weights * weight).sum()).backward()  # every output reaches the loss
        grads = [t.grad.clone() for t in (states, *pool.parameters()) if t.grad is not None]
        assert len(grads) == 1 + len(list(pool.parameters()))  # every parameter takes part
        states.grad = None
        pool.zero_grad()
        assert pool.head_weights is not None
        return [vectors.detach(), weights.detach(), pool.head_weights.detach()], grads

    (padded_out, padded_grads), (token_out, token_grads) = run(tokens=False), run(tokens=True)
    for expected, found in zip(padded_out + padded_grads, token_out + token_grads, strict=True):
        assert torch.allclose(expected, found, atol=1e-6), (expected - found).abs().max()
    assert (token_out[1][~mask] == 0).all()  # padding: weight exactly 0


def test_cahan_round_trips_and_rejects_unknown_settings(real_docs, tmp_path):
    model = make_model("cahan", context_direction="bi", context_gate=True)
    checkpoint.save(tmp_path, model, Vocab([f"w{i}" for i in range(VOCAB - 2)]), {"labels": list("12345")}, {})
    loaded, _, config, _ = checkpoint.load(tmp_path)
    assert config["model"]["context_direction"] == "bi" and config["model"]["context_gate"] is True
    batch = collate(real_docs)
    assert torch.equal(model(batch).logits, loaded(batch).logits)
    assert loaded(batch).word_head_weights.shape[-1] == 2  # the before and after passes
    for bad in ({"context_direction": "right"}, {"context_aggregate": "max"}):
        with pytest.raises(ValueError):
            make_model("cahan", 0, **bad)
