"""The network: shapes per variant, masking of padding, the fused GRU, AVE = ATT with u_ctx = 0."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from han.data import Batch, collate
from han.model import HAN, VARIANTS, BiGRU, ModelConfig, split_word_weights, unpack
from han.train import prepare

VOCAB = 500


@pytest.fixture(scope="module")
def real_docs(yelp_slice) -> list[list[list[int]]]:
    """Eight real Yelp reviews as word ids, of different lengths."""
    data = prepare(yelp_slice, min_count=2)
    docs = sorted(data.docs["train"][:40], key=len)
    chosen = docs[::5][:8]
    return [[[min(w, VOCAB - 1) for w in s] for s in d] for d in chosen]


def make_model(variant: str, seed: int = 0) -> HAN:
    torch.manual_seed(seed)
    return HAN(ModelConfig(vocab_size=VOCAB, n_classes=5, variant=variant)).eval()


@pytest.mark.parametrize("variant", list(VARIANTS))
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


@pytest.mark.parametrize("variant", list(VARIANTS))
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
        att.word_encoder.pool.context.zero_()
        att.sentence_encoder.pool.context.zero_()
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


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_padded_layout_gives_the_same_results(variant, real_docs):
    """The naive layout (padding sentences through the word GRU) only costs time, never results."""
    model = make_model(variant)
    packed, padded = model(collate(real_docs)), model(collate(real_docs, padded=True))
    assert torch.allclose(packed.logits, padded.logits, atol=1e-5)
    assert torch.allclose(packed.sentence_weights, padded.sentence_weights, atol=1e-6)
