"""Attention trained to be faithful (issue 34): the faithful loss, TaSc and word dropout.

What must hold: lambda = 0 is HN-ATT exactly; the loss's target never sees padding; a checkpoint with the
objectives round-trips through save/load; bad settings are refused in one line before any data is read; on a
planted task the faithful loss puts the attention on the deciding word where plain attention does not; and
the shipped checkpoints predict exactly as before the objectives existed.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import han
from han.__main__ import main
from han.checkpoint import io as checkpoint
from han.data.dataset import collate, read_dataset
from han.data.text import TextLimits
from han.nn.model import HAN, ModelConfig
from han.training.config import TrainConfig
from han.training.objectives import drop_words, forward_with_objective, row_kl
from han.training.recipes import recipe_config
from han.training.train import train

from .conftest import ROOT, YELP_10K

LIMITS = TextLimits(max_sentences=30, max_words=50)
TEXTS = ["The food was wonderful and the staff were friendly. We will come back!", "Cold fries, rude waiter."]


def tiny(dataset, directory: Path, **extra) -> dict:
    """One quick training run (default recipe, random vectors) into `directory`; its metrics."""
    cfg = recipe_config("default", epochs=2, embeddings="random", min_count=2, progress=False, **extra)
    return train(dataset, directory, cfg, LIMITS)


class BeforeObjectives:
    """The training loop's steps as they were before the objectives existed: the batch as gathered, model(batch),
    the task loss alone, nothing recorded."""

    def __init__(self, cfg: TrainConfig, epoch: int) -> None:
        pass

    def batch(self, batch):
        return batch

    def forward(self, model, batch):
        return model(batch)

    def add(self, loss: torch.Tensor, documents: int) -> torch.Tensor:
        return loss

    def record(self, documents: int) -> dict:
        return {}


def test_lambda_zero_is_hn_att_exactly(yelp_slice, tmp_path, monkeypatch):
    import han.training.train as training

    with monkeypatch.context() as patch:  # HN-ATT trained by the loop of before
        patch.setattr(training, "Objectives", BeforeObjectives)
        plain = tiny(yelp_slice, tmp_path / "plain")
    zero = tiny(yelp_slice, tmp_path / "zero", faithful_loss=0.0, word_dropout=0.0, tasc=False)
    a, b = load_file(tmp_path / "plain" / "model.safetensors"), load_file(tmp_path / "zero" / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert plain["test_predictions"] == zero["test_predictions"]
    assert [h["loss"] for h in plain["history"]] == [h["loss"] for h in zero["history"]]
    p, z = han.load(tmp_path / "plain").predict(TEXTS), han.load(tmp_path / "zero").predict(TEXTS)
    assert [r["probabilities"] for r in p] == [r["probabilities"] for r in z]
    training_record = json.loads((tmp_path / "zero" / "config.json").read_text())["training"]
    assert training_record["faithful_loss"] == 0.0 and training_record["word_dropout"] == 0.0
    assert training_record["tasc"] is False


def test_the_target_never_sees_padding():
    real = torch.tensor([[True, True, True, False, False], [True, True, False, False, False]])
    scores = torch.tensor([[0.3, -0.2, 0.1, 0.0, 0.0], [1.0, 2.0, 0.0, 0.0, 0.0]])
    weights = torch.tensor([[0.5, 0.2, 0.3, 0.0, 0.0], [0.4, 0.6, 0.0, 0.0, 0.0]])
    clean = row_kl(scores, real, weights, 0.25)
    junk = scores.masked_fill(~real, 1e6)  # padding's scores: anything at all
    assert torch.allclose(row_kl(junk, real, weights, 0.25), clean)
    # the same rows without their padding columns give the same KL
    first = row_kl(scores[:1, :3], real[:1, :3], weights[:1, :3], 0.25)
    second = row_kl(scores[1:, :2], real[1:, :2], weights[1:, :2], 0.25)
    assert torch.allclose(clean, (first + second) / 2)


def test_the_loss_of_a_document_does_not_depend_on_its_batch_padding():
    torch.manual_seed(0)
    model = HAN(ModelConfig(vocab_size=40, n_classes=3, embed_dim=8, dropout=0.0)).eval()
    short, long = [[2, 3, 4], [5, 6]], [[7, 8, 9, 10, 11, 12, 13, 14], [15, 16, 17], [18, 19]]

    def kl(docs: list, level: str) -> torch.Tensor:
        term = forward_with_objective(model, collate(docs), TrainConfig(faithful_loss=1.0, faithful_level=level))[1]
        assert term is not None
        return term

    words_short, words_long = kl([short], "word"), kl([long], "word")
    sentences_short, sentences_long = kl([short], "both") - words_short, kl([long], "both") - words_long
    # batched, the short document is padded to 8 words a sentence and 3 sentences: means over 2 + 3 sentences
    # and over the 2 documents, exactly as alone
    batched = kl([short, long], "word")
    assert torch.allclose(batched, (2 * words_short + 3 * words_long) / 5, atol=1e-6)
    assert torch.allclose(kl([short, long], "both") - batched, (sentences_short + sentences_long) / 2, atol=1e-6)


def test_word_dropout_removes_words_as_erasure_does():
    batch = collate([[[2, 3, 4], [5]], [[6]]], [0, 1])
    dropped = drop_words(batch, 0.999, torch.Generator().manual_seed(0))
    assert dropped.sentence_counts.tolist() == [1, 1]  # every word drawn away: each document keeps its first
    assert dropped.words[:, 0].tolist() == [2, 6] and dropped.labels is not None
    assert dropped.labels.tolist() == [0, 1]
    kept = drop_words(batch, 0.0, torch.Generator().manual_seed(0))
    assert torch.equal(kept.words, batch.words) and torch.equal(kept.sentence_counts, batch.sentence_counts)


@pytest.mark.parametrize("heads", [1, 2])
def test_objectives_round_trip_through_save_and_load(yelp_slice, tmp_path, heads):
    directory = tmp_path / "ckpt"
    settings = {"faithful_loss": 1.0, "tasc": True, "word_dropout": 0.1, "heads": heads}
    metrics = tiny(yelp_slice, directory, **settings)
    assert "faithful_kl" in metrics["history"][1] and "faithful_kl" not in metrics["history"][0]  # --faithful-after 1
    model = han.load(directory)
    assert model.model.tasc is not None
    before = model.predict(TEXTS)
    checkpoint.save(
        tmp_path / "again",
        model.model,
        model.vocab,
        {k: v for k, v in model.config.items() if k not in ("format", "model")},
        model.metrics,
    )
    again = han.load(tmp_path / "again")
    after = again.predict(TEXTS)
    assert [r["probabilities"] for r in before] == [r["probabilities"] for r in after]
    result = next(again.analyse([again.tokenize(TEXTS[0])]))
    assert all(sum(w) == pytest.approx(1.0, abs=1e-5) for w in result.word_weights)  # scaled, renormalised
    training = json.loads((directory / "config.json").read_text())["training"]
    assert {k: training[k] for k in settings} == settings
    assert json.loads((directory / "config.json").read_text())["model"]["tasc"] is True


def test_info_shows_the_objectives(yelp_slice, tmp_path, capsys):
    tiny(yelp_slice, tmp_path / "ckpt", faithful_loss=2.0, word_dropout=0.1)
    assert main(["info", str(tmp_path / "ckpt")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["faithful"] == "faithful loss 2 (grad-input, both levels, T 0.25, from epoch 2); word dropout 0.1"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--faithful-loss", "-1"], "--faithful-loss is the weight LAMBDA of the KL term, 0 (off) or more"),
        (["--faithful-loss", "nan"], "--faithful-loss must be a finite number"),
        (["--faithful-loss", "1", "--faithful-target", "attention"], "unknown --faithful-target 'attention'"),
        (["--faithful-loss", "1", "--faithful-level", "token"], "unknown --faithful-level 'token'"),
        (["--faithful-loss", "1", "--faithful-temperature", "0"], "--faithful-temperature must be positive"),
        (["--faithful-loss", "1", "--faithful-after", "-1"], "--faithful-after is a number of epochs"),
        (["--faithful-temperature", "1"], "give --faithful-loss > 0"),
        (["--word-dropout", "1"], "--word-dropout is the probability of removing a word, in [0, 1)"),
        (["--word-dropout", "-0.1"], "--word-dropout is the probability"),
        (["--variant", "ave", "--faithful-loss", "1"], "--faithful-loss acts on attention; --variant ave has none"),
        (["--variant", "max", "--tasc"], "--tasc acts on attention; --variant max has none"),
        (["--variant", "cahan", "--tasc"], "CAHAN's is not supported"),
        (["--structure", "flat", "--tasc"], "--structure flat has no such level"),
    ],
)
def test_bad_settings_are_refused_before_any_data_is_read(extra, message, tmp_path, capsys):
    missing = tmp_path / "no-such-data.csv"  # reading it would fail with another message
    out = tmp_path / "ckpt"
    assert main(["train", "--data", str(missing), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


# ----------------------------------------------------------------------------- the planted task


def planted_data(path: Path, n: int = 600, seed: int = 0) -> Path:
    """Two-sentence documents; the second holds one deciding word (pos0-7: yes, neg0-7: no) right after "tag",
    which every document has: "tag" co-occurs with the decider but carries no label, yet the GRU state at
    "tag" has read the decider (the backward direction), so plain attention may rest there."""
    rng = random.Random(seed)
    filler = [f"w{i}" for i in range(40)]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for k in range(n):
            label = k % 2
            words = [rng.choice(filler) for _ in range(rng.randint(5, 9))]
            at = rng.randint(0, len(words))
            words[at:at] = ["tag", f"{'pos' if label else 'neg'}{rng.randrange(8)}"]
            first = " ".join(rng.choice(filler) for _ in range(rng.randint(4, 8)))
            writer.writerow([f"{first} . {' '.join(words)} .", "yes" if label else "no"])
    return path


def decider_on_top(directory: Path, dataset, documents: int = 200) -> float:
    """Share of documents whose deciding word has the highest attention in its sentence."""
    model = han.load(directory)
    docs = [model.prepare(e) for e in dataset.examples[:documents]]
    hits = 0
    for doc, result in zip(docs, model.analyse(docs), strict=True):
        for sentence, weights in zip(doc.sentences, result.word_weights, strict=True):
            if "tag" in sentence:
                hits += int(np.argmax(weights)) == sentence.index("tag") + 1
    return hits / documents


def test_planted_task_faithful_loss_puts_attention_on_the_deciding_word(tmp_path):
    dataset = read_dataset([planted_data(tmp_path / "planted.csv")])

    def run(name: str, **extra) -> tuple[float, float]:
        cfg = recipe_config("default", epochs=4, embeddings="random", min_count=1, progress=False, **extra)
        metrics = train(dataset, tmp_path / name, cfg, TextLimits())
        return metrics["test_accuracy"], decider_on_top(tmp_path / name, dataset)

    plain_accuracy, plain_top = run("plain")
    faithful_accuracy, faithful_top = run("faithful", faithful_loss=1.0)
    assert plain_accuracy == faithful_accuracy == 1.0  # both solve the task
    assert plain_top < 0.9  # plain attention need not rest on the deciding word (here: "tag" about half the time)
    assert faithful_top >= 0.9


# ----------------------------------------------------------------------------- shipped checkpoints


def test_shipped_checkpoints_predict_exactly_as_before():
    """Probabilities and word weights of every checkpoint in assets/, against those the code of before the
    objectives gave (tests/data/shipped_predictions_before_issue34.json, made at commit 97e4342)."""
    before = json.loads((Path(__file__).parent / "data" / "shipped_predictions_before_issue34.json").read_text())
    for name, expected in before["predictions"].items():
        model = han.load(ROOT / name)
        got = model.predict(before["texts"])
        weights = [r.word_weights for r in model.analyse([model.tokenize(t) for t in before["texts"]])]
        assert [r["label"] for r in got] == [e["label"] for e in expected], name
        # to 1e-6: the record was made with one thread, and torch's CPU sums in another order with two (1e-8 apart)
        for r, e in zip(got, expected, strict=True):
            assert r["probabilities"] == pytest.approx(e["probabilities"], abs=1e-6), name
        for w, e in zip(weights, expected, strict=True):
            assert [x for s in w for x in s] == pytest.approx([x for s in e["word_weights"] for x in s], abs=1e-6), name


def test_old_configs_train_settings_default_to_no_objective():
    old = json.loads((ROOT / "assets" / "yelp" / "att" / "config.json").read_text())["training"]
    fields = asdict(TrainConfig())
    assert all(k not in old for k in ("faithful_loss", "tasc", "word_dropout"))
    assert fields["faithful_loss"] == 0.0 and fields["tasc"] is False and fields["word_dropout"] == 0.0
    assert YELP_10K.is_file()


@pytest.mark.parametrize("heads", [1, 2])
def test_tasc_weights_shown_and_reweighted_are_the_scaled_ones(heads):
    """Counterfactual attention pools the word states itself: with TaSc it must pool with the scale, so an
    unchanged weight gives the model's own output; the weights shown are |alpha s| renormalised."""
    from han.interpret import counterfactual

    torch.manual_seed(0)
    model = HAN(ModelConfig(vocab_size=40, n_classes=3, embed_dim=8, dropout=0.0, tasc=True, heads=heads)).eval()
    assert model.tasc is not None
    with torch.no_grad():
        model.tasc.u.uniform_(-2, 2)  # scales far from each other, so a pooling without them is told apart
    doc = [[2, 3, 4, 5], [6, 7], [8, 9, 10]]
    with torch.no_grad():
        output = model(collate([doc]))
        same = counterfactual._probabilities(model, doc, "word", lambda weights, mask: weights, 1)
    assert torch.allclose(same, output.logits.softmax(dim=-1), atol=1e-6)
    heads = model.word_encoder.pool.head_weights  # (3, 4, heads)
    assert heads is not None
    raw = heads.mean(dim=-1)  # (3, 4) alpha, the heads' mean
    scale = model.word_scales(doc)
    assert scale is not None
    shown = (raw * scale).abs() / (raw * scale).abs().sum(dim=1, keepdim=True)
    assert torch.allclose(output.word_weights, shown, atol=1e-6)
