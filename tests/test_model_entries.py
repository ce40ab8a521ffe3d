"""The HAN's other entries (han/nn/model.py), each against a full forward pass from word ids: word vectors given
instead of ids (what captum attributions scale), one document's sentence vectors, TaSc's per-word scalars.

Each fails on mutants of model.py that tests/test_model.py and tests/test_pooling.py never reached
(scripts/mutation.py model).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from han.data.dataset import collate
from han.nn.model import HAN, ModelConfig

VOCAB = 60
DOCS = [  # word ids (0 is padding): documents of 3, 1 and 2 sentences, sentences of 1 to 6 words
    [[5, 9, 13, 2], [7, 7, 30, 41, 8, 12], [3]],
    [[22, 5]],
    [[17, 18, 19], [50, 2, 9, 9, 11]],
]
SETTINGS: dict[str, dict[str, Any]] = {
    "att": {},
    "ave": {"variant": "ave"},
    "max": {"variant": "max"},
    "att-2heads-concat": {"heads": 2, "head_combine": "concat"},
    "cahan": {"variant": "cahan", "context_direction": "bi"},
    "tasc": {"tasc": True},
    "flat": {"structure": "flat"},
}


def make(name: str, **extra: Any) -> HAN:
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=VOCAB, n_classes=3, embed_dim=8, word_hidden=5, sentence_hidden=4, context_dim=6)
    for key, value in (SETTINGS[name] | extra).items():
        setattr(config, key, value)
    return HAN(config).eval()


@pytest.mark.parametrize("name", list(SETTINGS))
def test_forward_from_given_word_vectors_equals_forward_from_ids(name):
    model = make(name)
    batch = collate(DOCS)
    embedded = model.embedding(batch.words).detach().requires_grad_()  # (n_sentences, max_words, embed)
    given = model.forward_embedded(batch, embedded)
    expected = model(batch)
    for field in ("logits", "word_weights", "sentence_weights"):
        assert torch.allclose(getattr(given, field), getattr(expected, field), atol=1e-6), field
    given.logits[:, 1].sum().backward()
    assert embedded.grad is not None
    real = torch.arange(batch.words.size(1)) < batch.word_counts.unsqueeze(1)  # (n_sentences, max_words)
    assert bool((embedded.grad[~real] == 0).all())  # padding vectors never reach the output
    assert bool((embedded.grad[real].abs().sum(dim=-1) > 0).all())  # every real word does


def test_given_word_vectors_reach_tasc_scalars_too():
    model = make("tasc")
    batch = collate(DOCS)
    embedded = model.embedding(batch.words).detach()
    doubled = model.forward_embedded(batch, 2 * embedded)  # s_t = u[w] * sum(e): doubles with the vectors
    with torch.no_grad():
        assert model.tasc is not None
        model.tasc.u.zero_()  # every scale 0: the pooled sums vanish, whatever the vectors
    vanished = model.forward_embedded(batch, 2 * embedded)
    assert not torch.allclose(doubled.logits, vanished.logits, atol=1e-4)
    assert torch.allclose(vanished.logits, model(batch).logits, atol=1e-6)


@pytest.mark.parametrize("name", ["att", "max", "cahan", "tasc"])
def test_a_documents_sentence_vectors_give_its_logits_at_the_sentence_level(name):
    model = make(name)
    with torch.no_grad():
        for doc in DOCS:
            vectors = model.sentence_vectors(doc)  # (len(doc), sentence dim)
            assert vectors.shape[0] == len(doc)
            logits, weights = model.encode_sentences(vectors, torch.tensor([len(doc)]))
            full = model(collate([doc]))
            assert torch.allclose(logits, full.logits, atol=1e-6)
            assert torch.allclose(weights, full.sentence_weights, atol=1e-6)


def test_word_scales_are_u_of_the_word_times_its_vector_sum_and_zero_at_padding():
    model = make("tasc")
    assert model.tasc is not None
    doc = DOCS[0]
    with torch.no_grad():
        scales = model.word_scales(doc)  # (3 sentences, 6 words)
        assert scales is not None and scales.shape == (3, 6)
        for i, sentence in enumerate(doc):
            for j in range(6):
                if j >= len(sentence):
                    assert float(scales[i, j]) == 0.0  # padding
                    continue
                word = sentence[j]
                expected = model.tasc.u[word] * model.embedding.weight[word].sum()
                assert float(scales[i, j]) == pytest.approx(float(expected), abs=1e-6)
    assert make("att").word_scales(doc) is None


def test_a_flat_model_refuses_the_padded_bench_layout():
    model = make("flat")
    batch = collate(DOCS)
    with pytest.raises(ValueError) as refused:
        model(collate(DOCS, padded=True))
    assert str(refused.value) == (
        "a flat model reads each document's words in order: the padded (bench) layout mixes them"
    )
    assert model(batch).logits.shape == (3, 3)


def test_the_padding_row_of_the_embedding_is_zero_and_never_trained():
    model = make("att").train()
    assert bool((model.embedding.weight[0] == 0).all())
    model(collate(DOCS)).logits.sum().backward()
    grad = model.embedding.weight.grad
    assert grad is not None and bool((grad[0] == 0).all()) and bool((grad[5] != 0).any())


def test_encoder_and_heads_apply_at_the_levels_asked():
    config = ModelConfig(vocab_size=VOCAB, n_classes=3, encoder="conv", encoder_at="word", heads=2, heads_at="sentence")
    assert [config.level_encoder(level) for level in ("word", "sentence")] == ["conv", "gru"]
    assert [config.level_heads(level) for level in ("word", "sentence")] == [1, 2]
    config.encoder_at, config.heads_at = "both", "both"
    assert [config.level_encoder(level) for level in ("word", "sentence")] == ["conv", "conv"]
    assert [config.level_heads(level) for level in ("word", "sentence")] == [2, 2]
    model = make("att", encoder="transformer", encoder_at="sentence", attention_heads=2)
    assert (model.word_encoder.kind, model.sentence_encoder.kind) == ("gru", "transformer")


def test_a_flat_model_weighs_each_real_sentence_one_and_its_words_over_the_whole_document():
    model = make("flat")
    batch = collate(DOCS)
    with torch.no_grad():
        out = model(batch)
    real = torch.arange(out.sentence_weights.size(1)) < batch.sentence_counts.unsqueeze(1)
    assert torch.equal(out.sentence_weights, real.float())  # p_s = 1 per real sentence, 0 at padding
    starts = [0, 3, 4]
    for d, doc in enumerate(DOCS):  # p_w: one distribution over all the document's words
        rows = out.word_weights[starts[d] : starts[d] + len(doc)]
        assert float(rows.sum()) == pytest.approx(1.0, abs=1e-6)
        assert all(float(rows[i, len(s) :].abs().sum()) == 0 for i, s in enumerate(doc))


@pytest.mark.parametrize("at", ["word", "sentence", "both"])
def test_transformer_self_attention_maps_come_back_per_level_only_while_recorded(at):
    model = make("att", encoder="transformer", encoder_at=at, attention_heads=2, layers=2)
    batch = collate(DOCS)
    with torch.no_grad():
        assert model(batch).self_attention is None
        model.record_self_attention(True)
        maps = model(batch).self_attention
        model.record_self_attention(False)
        assert model(batch).self_attention is None
    levels = ["word", "sentence"] if at == "both" else [at]
    assert maps is not None and list(maps) == levels
    rows = {"word": (6, 6), "sentence": (3, 3)}  # (rows, T) of each level's weights
    for level in levels:
        n, T = rows[level]
        assert [tuple(m.shape) for m in maps[level]] == [(n, 2, T, T)] * 2


def test_tasc_gives_the_same_outputs_whether_each_token_or_each_distinct_word_is_projected():
    model = make("tasc")
    with torch.no_grad():
        assert model.tasc is not None
        model.tasc.u.mul_(50)  # scales far from 0: a missing scale changes the logits
        distinct = model(collate(DOCS))
        model.project_distinct_words = False
        per_token = model(collate(DOCS))
        model.tasc.u.zero_()
        unscaled = model(collate(DOCS))
    assert torch.allclose(distinct.logits, per_token.logits, atol=1e-6)
    assert torch.allclose(distinct.word_weights, per_token.word_weights, atol=1e-6)
    assert not torch.allclose(per_token.logits, unscaled.logits, atol=1e-3)


@pytest.mark.parametrize("encoder", ["gru", "transformer", "conv"])
def test_word_states_pooled_by_the_model_give_its_sentence_vectors(encoder):
    model = make("att", encoder=encoder, encoder_at="word", attention_heads=2)
    with torch.no_grad():
        for doc in DOCS:
            states, mask = model.word_states(doc)  # (n, max_words, 2*word_hidden), (n, max_words)
            assert mask.tolist() == [[j < len(s) for j in range(max(map(len, doc)))] for s in doc]
            pooled, _ = model.word_encoder.pool(states, mask)
            assert torch.allclose(pooled, model.sentence_vectors(doc), atol=1e-6)


def test_layouts_a_model_cannot_read_are_refused_saying_why():
    with pytest.raises(ValueError) as refused:
        make("cahan")(collate(DOCS, padded=True))
    assert str(refused.value) == "CAHAN reads documents' sentences in order: the padded (bench) layout would mix them"
    with pytest.raises(ValueError) as refused:
        make("att", heads_at="document")
    assert str(refused.value) == "heads_at must be one of ('word', 'sentence', 'both')"


def test_stacked_sentence_vectors_of_several_documents_give_their_logits():
    model = make("att")
    with torch.no_grad():
        vectors = torch.cat([model.sentence_vectors(doc) for doc in DOCS])  # (6, d): 3, 1 and 2 sentences
        logits, weights = model.encode_sentences(vectors, torch.tensor([len(doc) for doc in DOCS]))
        full = model(collate(DOCS))
    assert torch.allclose(logits, full.logits, atol=1e-6) and torch.allclose(weights, full.sentence_weights, atol=1e-6)


def test_a_flat_model_with_heads_returns_each_heads_weights_its_penalty_and_its_maps():
    model = make("flat", heads=2, heads_at="word")
    batch = collate(DOCS)
    with torch.no_grad():
        out = model(batch)
    assert out.word_head_weights is not None and out.sentence_head_weights is not None
    assert tuple(out.word_head_weights.shape) == (6, 6, 2)
    assert torch.allclose(out.word_head_weights.mean(dim=-1), out.word_weights, atol=1e-6)
    assert torch.equal(out.sentence_head_weights, out.sentence_weights.unsqueeze(-1).expand(-1, -1, 2))
    assert out.penalty is not None and model.word_encoder.pool.penalty is not None
    assert float(out.penalty) == float(model.word_encoder.pool.penalty) > 0
    single = make("flat")
    with torch.no_grad():
        one = single(batch)
    assert one.penalty is not None and float(one.penalty) == 0.0 and one.word_head_weights is not None
    recorded = make("flat", encoder="transformer", attention_heads=2)
    recorded.record_self_attention()  # on by default
    with torch.no_grad():
        maps = recorded(batch).self_attention
    assert maps is not None and list(maps) == ["word"]
    assert tuple(maps["word"][0].shape) == (3, 2, 11, 11)  # documents, heads, and their longest: 11 words


@pytest.mark.parametrize("variant", ["ave", "max"])
def test_a_flat_model_without_attention_has_no_head_weights_and_a_zero_penalty(variant):
    model = make("flat", variant=variant)
    with torch.no_grad():
        out = model(collate(DOCS))
    assert out.word_head_weights is None and out.sentence_head_weights is None
    assert out.penalty is not None and out.penalty.shape == () and float(out.penalty) == 0.0
    assert float(out.word_weights[:3].sum()) == pytest.approx(1.0, abs=1e-6)  # the first document's words
