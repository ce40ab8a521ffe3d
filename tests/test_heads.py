"""A multi-head HN-ATT checkpoint (2 heads, concatenated, penalised) through everything downstream:
explain, the heatmap per head, faithfulness (its weight overrides act on every head), stats, CLI and app."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

import han
from han.__main__ import main
from han.data.dataset import collate
from han.interpret import stats
from han.interpret.counterfactual import _keep_masks, _probabilities, counterfactuals, overridden, renormalised
from han.interpret.explain import head_view, to_html
from han.interpret.faithfulness import dataset_faithfulness, explain_faithfulness
from han.nn.pooling import Pooling

from .conftest import ROOT
from .faithfulness_checks import check_dataset, check_single
from .test_app import first_example

TEXT = "The tacos were fantastic and cheap. Service was slow, though. We will come back."


@pytest.fixture(scope="module")
def multi(tiny_checkpoints) -> han.Classifier:
    return han.load(tiny_checkpoints["att-2h"])


def test_explain_gives_every_heads_weights_and_their_mean(multi):
    explanation = multi.explain(TEXT)
    assert explanation["heads"] == 2 and multi.name == "HN-ATT (2 heads)"
    for sentence in explanation["sentences"]:
        assert len(sentence["head_weights"]) == 2 and len(sentence["head_word_weights"]) == 2
        for head in sentence["head_word_weights"]:
            assert sum(head) == pytest.approx(1.0, abs=1e-5)
        mean = [sum(ws) / 2 for ws in zip(*sentence["head_word_weights"], strict=True)]
        assert mean == pytest.approx(sentence["word_weights"], abs=1e-6)
    views = [head_view(explanation, k) for k in (0, 1)]
    assert [v["sentences"][0]["word_weights"] for v in views] == explanation["sentences"][0]["head_word_weights"]
    assert "han-word" in to_html(views[1])
    with pytest.raises(ValueError):
        head_view(explanation, 2)


def test_one_head_models_say_nothing_of_heads(tiny_checkpoints):
    explanation = han.load(tiny_checkpoints["att"]).explain(TEXT)
    assert "heads" not in explanation and "head_weights" not in explanation["sentences"][0]


@contextmanager
def edited_attention(pool: Pooling, edit: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[None]:
    """The pooling's attention weights (n, T, heads) edited where they are computed, without the override hook."""
    computed = pool._attention

    def edited(states: torch.Tensor, position: torch.Tensor, n: int, T: int) -> torch.Tensor:
        return edit(computed(states, position, n, T))

    setattr(pool, "_attention", edited)  # noqa: B010 (mypy refuses assigning to a method)
    try:
        yield
    finally:
        delattr(pool, "_attention")


def kept_only(keep: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """Every head's weights times `keep` (rows, T), renormalised over the positions kept."""

    def edit(weights: torch.Tensor) -> torch.Tensor:
        kept = weights * keep[:, : weights.size(1), None]  # (n, T, heads)
        return kept / kept.sum(dim=1, keepdim=True)

    return edit


@pytest.mark.parametrize("checkpoint", ["att-2h", "att"])
def test_changed_weights_act_on_every_head_exactly_as_in_a_full_forward(checkpoint, tiny_checkpoints):
    """The counterfactual fast path (word GRU once, copies pooled with changed weights) equals whole forward
    passes of the model with the same change, for the 2-head model as for one head: both the forward through
    the same override hook and one whose attention weights are edited directly; each head's weights are those
    of the unchanged forward with the removed words zeroed and renormalised."""
    model = han.load(tiny_checkpoints[checkpoint])
    pool = model.model.word_encoder.pool
    assert isinstance(pool, Pooling) and pool.heads == (2 if checkpoint == "att-2h" else 1)
    doc = model.encode(model.tokenize(TEXT))
    n, T = len(doc), max(len(s) for s in doc)
    with torch.no_grad():
        model.model(collate([doc]))
    assert pool.head_weights is not None
    unchanged = pool.head_weights.clone()  # (n_sentences, T, heads)
    removed = [[0], [1, 4], [2, 3, 5]]
    keep = _keep_masks(doc, "word", removed)  # (copies * n_sentences, max_words)
    fast = _probabilities(model.model, doc, "word", renormalised(keep), len(removed))
    assert pool.head_weights is not None
    pooled_with = pool.head_weights.clone()  # (copies * n_sentences, T, heads): what the fast path pooled with
    for copy in range(len(removed)):
        rows = keep[copy * n : (copy + 1) * n]
        with torch.no_grad(), overridden(model.model, word=renormalised(rows)):
            slow = model.model(collate([doc])).logits.softmax(dim=-1)[0]
        assert torch.allclose(fast[copy], slow, atol=1e-5)
        kept = unchanged * rows[:, :T, None]
        expected = kept / kept.sum(dim=1, keepdim=True)  # (n_sentences, T, heads)
        for head in range(pool.heads):
            got = pooled_with[copy * n : (copy + 1) * n, :, head]
            assert torch.allclose(got, expected[..., head], atol=1e-6), (copy, head)
            assert bool((got[rows[:, :T] == 0] == 0).all())  # the removed words weigh nothing in this head
        with torch.no_grad(), edited_attention(pool, kept_only(rows)):
            direct = model.model(collate([doc])).logits.softmax(dim=-1)[0]
        assert torch.allclose(fast[copy], direct, atol=1e-5), (copy, fast[copy], direct)


def permuted_word_tvd(classifier: han.Classifier, doc: list[list[int]], permutations: int, seed: int) -> float:
    """The mean total variation distance of the output when each head's word weights are shuffled within each
    sentence: whole forward passes whose attention is edited directly, one per permutation, with the shuffles
    drawn as the counterfactual figures draw them (seeded generator; head by head, copy by copy, sentence by
    sentence)."""
    pool = classifier.model.word_encoder.pool
    assert isinstance(pool, Pooling)
    generator = torch.Generator().manual_seed(seed)
    shuffles = [[torch.randperm(len(s), generator=generator) for _ in range(permutations) for s in doc]
                for _ in range(pool.heads)]  # fmt: skip
    with torch.no_grad():
        base = classifier.model(collate([doc])).logits.softmax(dim=-1)[0]
    distances = []
    for copy in range(permutations):

        def shuffle(weights: torch.Tensor, copy: int = copy) -> torch.Tensor:
            out = weights.clone()  # (n_sentences, T, heads)
            for head in range(pool.heads):
                for i, sentence in enumerate(doc):
                    order = shuffles[head][copy * len(doc) + i]
                    out[i, : len(sentence), head] = weights[i, : len(sentence), head][order]
            return out

        with torch.no_grad(), edited_attention(pool, shuffle):
            changed = classifier.model(collate([doc])).logits.softmax(dim=-1)[0]
        distances.append(0.5 * float((changed - base).abs().sum()))
    return float(np.mean(distances))


def test_faithfulness_of_a_multi_head_model(multi, yelp_slice):
    single = explain_faithfulness(multi, TEXT, n_steps=4)
    assert set(single["agreement"]) >= {"leave_one_out", "integrated_gradients"}
    check_single(multi, TEXT, single)
    examples = yelp_slice.examples[:4]
    figures = dataset_faithfulness(multi, examples, limit=4, n_steps=4)
    assert figures["word"]["flips"]["attention"]["documents"] == 4
    assert "gradient" in figures["word"]["flips"] and figures["counterfactual"]["permuted_word_tvd"]["mean"] >= 0
    assert multi.model.word_encoder.pool.override is None  # hooks removed
    check_dataset(multi, examples, figures)
    # each document's shuffles use the generator seeded seed + its number (1, 2 ...); 5 permutations by default
    tvds = [permuted_word_tvd(multi, multi.encode(multi.prepare(e)), 5, done) for done, e in enumerate(examples, 1)]
    measured = figures["counterfactual"]["permuted_word_tvd"]  # about 1e-5 for this barely trained model: relative
    assert measured["mean"] == pytest.approx(np.mean(tvds), rel=0.02) and min(tvds) > 0  # every head shuffled
    assert measured["median"] == pytest.approx(np.median(tvds), rel=0.02)
    shipped = han.load(ROOT / "assets" / "yelp" / "att-2h")  # trained: its heads' shuffles move the output more
    for done, example in enumerate(examples, 1):
        doc = shipped.encode(shipped.prepare(example))
        per_document = counterfactuals(shipped.model, doc, 5, done)["permuted_word_tvd"]
        assert per_document == pytest.approx(permuted_word_tvd(shipped, doc, 5, done), abs=1e-6), done


def test_stats_keep_each_heads_weights(multi, yelp_slice, tmp_path):
    table = stats.collect(multi, yelp_slice, max_docs=20)
    assert table.head_attention is not None and table.head_attention.shape == (len(table.word), 2)
    stats.save(table, tmp_path / "s.npz")
    again = stats.load(tmp_path / "s.npz")
    assert again.head_attention is not None and (again.head_attention == table.head_attention).all()
    second = again.for_head(1)
    assert (second.attention == table.head_attention[:, 1]).all() and second.meta["head"] == 1


def test_cli_explain_and_info_show_the_heads(tiny_checkpoints, capsys):
    assert main(["explain", "--checkpoint", str(tiny_checkpoints["att-2h"]), "--text", TEXT]) == 0
    assert json.loads(capsys.readouterr().out)["heads"] == 2
    assert main(["info", str(tiny_checkpoints["att-2h"])]) == 0
    assert '"heads": 2' in capsys.readouterr().out


def word_weights_shown(at: AppTest) -> list[str]:
    """The word weights p_w of the document the page draws, as its tooltips give them."""
    (document,) = [h.proto.body for h in at.get("html") if 'class="han-doc"' in h.proto.body]
    return re.findall(r'class="han-word[^"]*"[^>]* title="p_w=([0-9.]+);', document)  # joined punctuation too


def shown_weights(explanation: dict) -> list[str]:
    return [f"{w:.4f}" for sentence in explanation["sentences"] for w in sentence["word_weights"]]


def test_document_and_word_pages_offer_a_head_selector(tiny_checkpoints, tmp_path, yelp_slice):
    folder = tmp_path / "set"
    shutil.copytree(tiny_checkpoints["att-2h"], folder / "att-2h")
    stats.save(
        stats.collect(han.load(folder / "att-2h"), yelp_slice, max_docs=20), folder / "att-2h" / "word_stats.npz"
    )
    state = {"set_choice": "Another checkpoint folder...", "custom_folder": str(folder)}
    at = AppTest.from_file(str(ROOT / "views" / "1_Document.py"), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception and not at.error
    radio = at.sidebar.radio(key="head")
    assert radio.options == ["mean of the heads", "head 1", "head 2"]
    explanation = han.load(folder / "att-2h").explain(first_example())  # the page's first document, by the API
    assert word_weights_shown(at) == shown_weights(explanation)  # the mean of the heads, by default
    radio.set_value(1).run()
    assert not at.exception and "han-word" in "".join(h.proto.body for h in at.get("html"))
    assert word_weights_shown(at) == shown_weights(head_view(explanation, 1))  # head 2's weights, as explain gives
    assert shown_weights(head_view(explanation, 1)) != shown_weights(explanation)  # which are not the mean's
    words = AppTest.from_file(str(ROOT / "views" / "2_Word_attention.py"), default_timeout=120)
    for key, value in state.items():
        words.session_state[key] = value
    words.run()
    assert not words.exception and words.sidebar.radio(key="stats_head").options[2] == "head 2"
    words.sidebar.radio(key="stats_head").set_value(0).run()
    assert not words.exception and any("head 1" in m.value for m in words.markdown)
