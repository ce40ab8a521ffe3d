"""Training recipes (issue: models worth explaining): optimizers, schedules, pretrained vectors, the collapse guard."""

from __future__ import annotations

import json
import random
from dataclasses import asdict

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import han
from han.__main__ import main
from han.data.dataset import Dataset, Example, checkpoint_split
from han.data.text import TextLimits
from han.errors import HanError
from han.training import recipes
from han.training.optim import Schedule, weight_average
from han.training.recipes import RECIPES, in_domain_documents, recipe_config, resolve_auto
from han.training.train import TrainConfig, _better, train

from .conftest import YELP_10K, interrupt_epoch

LIMITS = TextLimits(max_sentences=15, max_words=30)

# TrainConfig's defaults before recipes existed: `--recipe paper` must give exactly these.
BEFORE_RECIPES = {
    "variant": "att", "epochs": 10, "batch_size": 64, "lrs": [0.05], "momentum": 0.9, "clip": 5.0, "seed": 0,
    "split_seed": 0, "embeddings": "word2vec", "embed_dim": 200, "w2v_epochs": 5, "min_count": 6, "max_vocab": None,
    "train_fraction": 1.0, "bucket": True, "dropout": 0.0, "patience": None, "device": "auto", "half": False,
    "progress": True,
}  # fmt: skip
# New settings, at the values that do what the code did before they existed.
NEUTRAL = {
    "recipe": "paper", "optimizer": "sgd", "weight_decay": 0.0, "lr_schedule": "constant", "warmup_epochs": 0.0,
    "label_smoothing": 0.0, "freeze_embeddings": False, "dropout_at": ["embeddings", "sentences"],
    "heads": 1, "heads_at": "both", "head_combine": "mean", "penalty": 0.0,  # one head: the paper's attention
    "context_direction": "left", "context_aggregate": "sum", "context_gate": False,  # CAHAN's, unused by att
    "workers": 0,  # tokenising processes: the tokens are the same for any number
    "ema": 0.0,  # no weight average: the model as the optimiser left it
    "score": "additive", "temperature": 1.0, "encoder": "gru", "encoder_at": "both", "layers": 1,
    "attention_heads": 4, "structure": "hierarchical",  # the paper's design (issue 35's options)
    "faithful_loss": 0.0, "faithful_target": "grad-input", "faithful_level": "both", "faithful_temperature": 0.25,
    "faithful_after": 1, "tasc": False, "word_dropout": 0.0, "class_attention": "none",  # no faithful objective (34)
}  # fmt: skip


@pytest.fixture(scope="module")
def small(yelp_slice) -> Dataset:
    return Dataset(examples=yelp_slice.examples[:300], sources=yelp_slice.sources)


def vectors_file(path, words, dim=12, header=False, bad_line=None):
    rng = np.random.default_rng(0)
    lines = [f"{len(words)} {dim}"] if header else []
    lines += [w + " " + " ".join(f"{x:.4f}" for x in rng.normal(size=dim)) for w in words]
    if bad_line is not None:
        lines.insert(bad_line, "broken 0.1 0.2")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_paper_recipe_is_exactly_the_settings_from_before_recipes(tmp_path):
    cfg = json.loads(json.dumps(asdict(recipe_config("paper"))))
    assert cfg == BEFORE_RECIPES | NEUTRAL | {"embed_dim": None}  # None: 200 once word2vec is chosen
    code = main(["train", "--data", str(YELP_10K), "--max-docs", "300", "--recipe", "paper", "--epochs", "1",
                 "--embeddings", "random", "--min-count", "2", "--out", str(tmp_path / "ckpt"), "--quiet"])  # fmt: skip
    assert code == 0
    recorded = json.loads((tmp_path / "ckpt" / "config.json").read_text())["training"]
    expected = BEFORE_RECIPES | NEUTRAL | {"epochs": 1, "embeddings": "random", "min_count": 2, "progress": False}
    assert recorded == expected, {k: (recorded.get(k), v) for k, v in expected.items() if recorded.get(k) != v}


def test_default_recipe_is_what_train_uses_without_flags(tmp_path):
    assert asdict(TrainConfig()) == asdict(recipe_config("default"))
    assert RECIPES["default"]["optimizer"] != "sgd" or RECIPES["default"]["dropout"] > 0  # not the paper's
    # The CLI itself, with no recipe flag (only --epochs 1 to keep it short): what config.json records.
    out = tmp_path / "ckpt"
    code = main(["train", "--data", str(YELP_10K), "--max-docs", "300", "--epochs", "1", "--out", str(out), "--quiet"])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    recorded = config["training"]
    assert recorded["recipe"] == "default"
    # Settings "auto" leaves to the data: 300 documents are far below word2vec's threshold, so GloVe, fine-tuned.
    auto = {"embeddings": "glove-6b-50d", "freeze_embeddings": False, "embed_dim": 50}  # 50: GloVe 6B 50-d's size
    assert RECIPES["default"]["embeddings"] == "auto" and config["embeddings"]["auto"]["chose"] == "glove-6b-50d"
    assert RECIPES["default"]["freeze_embeddings"] is None and RECIPES["default"]["embed_dim"] is None
    assert config["model"]["embed_dim"] == 50
    for name, value in RECIPES["default"].items():
        if name == "epochs":
            assert value is None and recorded[name] == 1  # auto (6 here), given as 1
            continue
        expected = auto.get(name, list(value) if isinstance(value, tuple) else value)
        assert recorded[name] == expected, (name, recorded[name], expected)
    # and the settings no recipe decides: TrainConfig's defaults (progress off: --quiet)
    others = {k: v for k, v in json.loads(json.dumps(asdict(TrainConfig()))).items() if k not in RECIPES["default"]}
    assert {k: recorded[k] for k in others} == others | {"progress": False}


@pytest.mark.parametrize(
    "documents, given, expected",
    [
        (19_999, {}, {"embeddings": "glove-6b-50d", "freeze_embeddings": False, "epochs": 6}),
        (20_000, {}, {"embeddings": "word2vec", "freeze_embeddings": True, "epochs": 8}),
        (75_000, {"epochs": 3}, {"embeddings": "word2vec", "freeze_embeddings": True, "epochs": 3}),
        (75_000, {"freeze_embeddings": False}, {"embeddings": "word2vec", "freeze_embeddings": False, "epochs": 6}),
        (
            75_000,
            {"embeddings": "glove-6b-50d"},
            {"embeddings": "glove-6b-50d", "freeze_embeddings": False, "epochs": 6},
        ),
        (75_000, {"embeddings": "word2vec"}, {"embeddings": "word2vec", "freeze_embeddings": False, "epochs": 6}),
    ],
    ids=["small-glove", "large-word2vec", "epochs-given", "unfrozen-given", "glove-given", "word2vec-given"],
)
def test_auto_embeddings_follow_the_in_domain_text_and_keep_what_is_given(documents, given, expected):
    cfg, record = resolve_auto(recipe_config("default", **given), documents)
    assert {k: getattr(cfg, k) for k in expected} == expected
    assert bool(record) == ("embeddings" not in given)  # a record only when auto decided
    if record:
        assert record["in_domain_documents"] == documents and record["chose"] == expected["embeddings"]
    assert resolve_auto(recipe_config("paper"), documents)[0] == recipe_config("paper")  # nothing automatic


def test_auto_counts_train_dev_and_unlabelled_text_and_is_recorded(small, tmp_path, monkeypatch, capsys):
    with_unlabelled = Dataset(examples=small.examples, sources=small.sources, unlabelled=["more text."] * 50)
    cfg = recipe_config("default", epochs=1, min_count=2, progress=False, train_fraction=0.5)
    documents = in_domain_documents(with_unlabelled, cfg)
    assert documents == 120 + 30 + 50  # half of the 240 training reviews, the 30 of dev, the unlabelled
    monkeypatch.setattr(recipes, "WORD2VEC_FROM_DOCUMENTS", documents)  # just enough: auto picks word2vec
    train(with_unlabelled, tmp_path / "ckpt", cfg, LIMITS)
    config = han.load(tmp_path / "ckpt").config
    assert config["training"]["embeddings"] == "word2vec" and config["training"]["freeze_embeddings"] is True
    assert config["embeddings"]["method"].startswith("word2vec") and config["embeddings"]["frozen"] is True
    assert config["embeddings"]["auto"] == {
        "rule": "auto", "in_domain_documents": 200, "word2vec_from_documents": 200, "chose": "word2vec"
    }  # fmt: skip
    assert "--embeddings auto: 200 documents of in-domain text >= 200: word2vec" in capsys.readouterr().err


@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "sgd", "lrs": [0.1]},
        {"optimizer": "adam", "lrs": [2e-3], "dropout": 0.3, "dropout_at": ("embeddings", "classifier")},
        {"optimizer": "adamw", "weight_decay": 0.01, "lr_schedule": "cosine", "warmup_epochs": 0.5},
        {"optimizer": "adam", "lr_schedule": "plateau", "label_smoothing": 0.1},
        {"embeddings": "VECTORS", "freeze_embeddings": True},
        {"optimizer": "adam", "ema": 0.99},
    ],
    ids=["sgd", "adam-dropout", "adamw-cosine-warmup", "plateau-smoothing", "vectors-frozen", "ema"],
)
def test_each_option_trains_and_round_trips(settings, small, tmp_path):
    if settings.get("embeddings") == "VECTORS":
        words = sorted({w for e in small.examples[:100] for w in e.text.lower().split()})
        settings = settings | {"embeddings": str(vectors_file(tmp_path / "v.txt", words))}
    cfg = recipe_config("default", epochs=2, min_count=2, progress=False, **settings)
    metrics = train(small, tmp_path / "ckpt", cfg, LIMITS)
    model = han.load(tmp_path / "ckpt")
    for key, value in settings.items():
        assert model.config["training"][key] == (list(value) if isinstance(value, tuple) else value)
    assert model.config["model"]["dropout_at"] == list(cfg.dropout_at)
    texts = [e.text for e in small.examples[:20]]
    again = han.load(tmp_path / "ckpt").predict(texts)
    assert model.predict(texts) == again and len(metrics["history"]) == 2
    # The reloaded model predicts the test split exactly as the trained model did in memory (metrics.json).
    recorded = json.loads((tmp_path / "ckpt" / "metrics.json").read_text())
    assert recorded["test_accuracy"] == metrics["test_accuracy"]
    test = checkpoint_split(model.config, small, "test", tmp_path / "ckpt")  # in training's order
    assert model.predict_examples(test) == [recorded["labels"][i] for i in recorded["test_predictions"]]
    scores = model.evaluate(test)
    assert scores["n"] == 30 and scores["accuracy"] == recorded["test_accuracy"]
    assert scores["confusion_matrix"] == recorded["test_confusion_matrix"]
    if cfg.freeze_embeddings:
        initial = model.config["embeddings"]
        assert initial["method"] == "pretrained" and initial["frozen"] and model.config["model"]["embed_dim"] == 12


def test_frozen_embeddings_do_not_move_and_oov_words_are_unk(small, tmp_path):
    known = ["the", "food", "was", "great", "and", "service", "good", "."]
    path = vectors_file(tmp_path / "v.txt", known, dim=8, header=True)
    cfg = recipe_config("default", epochs=1, min_count=1, progress=False, embeddings=str(path), freeze_embeddings=True)
    train(small, tmp_path / "ckpt", cfg, LIMITS)
    model = han.load(tmp_path / "ckpt")
    assert set(model.vocab.itos[2:]) <= set(known)  # every other training word is UNK
    assert model.vocab.encode(["food", "tacos"]) == [model.vocab.stoi["food"], 1]
    from gensim.models import KeyedVectors

    vectors = KeyedVectors.load_word2vec_format(str(path))
    row = model.model.embedding.weight[model.vocab.stoi["food"]]
    assert torch.allclose(
        row, torch.from_numpy(vectors["food"].copy()), atol=1e-6
    )  # frozen: still the pretrained vector


def test_glove_package_vectors(small, tmp_path):
    from han.training.embeddings import load_vectors

    vectors = load_vectors("glove-6b-50d")
    assert vectors is not None
    assert len(vectors) == 400_000 and vectors.vector_size == 50
    assert vectors.most_similar("good", topn=5)  # a real embedding space, not noise
    assert abs(float(vectors["the"][0]) - 0.418) < 1e-6  # GloVe 6B's first value, row order kept


def test_pretrained_plus_word2vec_puts_both_vectors_side_by_side(small, tmp_path):
    from gensim.models import KeyedVectors

    words = sorted({w for e in small.examples for w in e.text.lower().split()} | {".", ","})
    path = vectors_file(tmp_path / "v.txt", words, dim=12)
    frozen = {"epochs": 1, "min_count": 2, "progress": False, "freeze_embeddings": True}
    train(small, tmp_path / "both", recipe_config("default", embeddings=f"{path}+word2vec", embed_dim=20, **frozen))
    train(small, tmp_path / "w2v", recipe_config("default", embeddings="word2vec", embed_dim=8, **frozen))
    model, alone = han.load(tmp_path / "both"), han.load(tmp_path / "w2v")
    record = model.config["embeddings"]
    assert record["method"] == "concatenated" and record["dim"] == 20 and model.config["model"]["embed_dim"] == 20
    assert [part["dim"] for part in record["parts"]] == [12, 8] and record["parts"][1]["method"].startswith("word2vec")
    vectors = KeyedVectors.load_word2vec_format(str(path), no_header=True)
    table, own = model.model.embedding.weight, alone.model.embedding.weight  # frozen: the initial tables
    for word in ("food", "the", "great"):
        row = table[model.vocab.stoi[word]]  # (20,)
        assert torch.equal(row[:12], torch.from_numpy(vectors[word].copy()))  # the pretrained vector, then
        assert torch.equal(row[12:], own[alone.vocab.stoi[word]])  # word2vec's of the same text
    texts = [e.text for e in small.examples[:5]]
    assert model.predict(texts) == han.load(tmp_path / "both").predict(texts)


def test_a_vectors_file_named_like_a_combination_is_that_file_alone(tmp_path):
    from han.training.embeddings import pretrained_part

    named = vectors_file(tmp_path / "mine+word2vec", ["food", "good"], dim=4)  # the file's own name
    assert pretrained_part(str(named)) == (str(named), False)
    assert pretrained_part(str(tmp_path / "v.txt") + "+word2vec") == (str(tmp_path / "v.txt"), True)
    assert pretrained_part("glove-6b-50d+word2vec") == ("glove-6b-50d", True)


@pytest.mark.parametrize(
    "embeddings, extra, message",
    [
        ("word2vec+word2vec", [], "+word2vec goes after pretrained vectors"),
        ("random+word2vec", [], "+word2vec goes after pretrained vectors"),
        ("glove-6b-50d+word2vec", ["--embed-dim", "50"], "--embed-dim is the total size"),
    ],
    ids=["word2vec-twice", "random", "too-small"],
)
def test_bad_combined_vectors_are_refused_with_one_line(embeddings, extra, message, tmp_path, capsys):
    out = tmp_path / "ckpt"
    args = ["train", "--data", str(YELP_10K), "--max-docs", "100", "--embeddings", embeddings, "--out", str(out)]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and "Traceback" not in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    "make, extra, message",
    [
        (lambda p: p / "missing.txt", [], "no such file"),
        (lambda p: vectors_file(p / "v.txt", ["good", "bad"], dim=12), ["--embed-dim", "200"], "12-d vectors"),
        (lambda p: vectors_file(p / "v.txt", ["good", "bad", "ok"], dim=12, bad_line=1), [], "not a readable"),
    ],
    ids=["missing", "other-dimension", "malformed-line"],
)
def test_bad_vectors_files_fail_early_with_one_line(make, extra, message, tmp_path, capsys):
    out = tmp_path / "ckpt"
    args = [
        "train",
        "--data",
        str(YELP_10K),
        "--max-docs",
        "100",
        "--embeddings",
        str(make(tmp_path)),
        "--out",
        str(out),
    ]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and "Traceback" not in err, err
    assert not out.exists()


def test_collapse_guard_flags_a_collapsed_run_and_prefers_healthy_epochs(tmp_path, capsys):
    # A planted collapse: no signal in the text, 70% one class, and an lr too small to move the model.
    examples = [Example(label="5" if i % 10 < 7 else "1", text=f"Word{i % 3} is here. Also here.") for i in range(200)]
    cfg = recipe_config("paper", epochs=2, lrs=[1e-9], embeddings="random", min_count=1, progress=False)
    metrics = train(Dataset(examples=examples), tmp_path / "ckpt", cfg, LIMITS)
    assert metrics["collapsed"] and metrics["collapsed_epochs"] == [[1e-9, 1], [1e-9, 2]]
    err = capsys.readouterr().err
    assert "no better than always predicting the most common class" in err and "--recipe default" in err
    assert json.loads((tmp_path / "ckpt" / "metrics.json").read_text())["collapsed"] is True
    healthy, collapsed = {"dev_accuracy": 0.5, "collapsed": False}, {"dev_accuracy": 0.7, "collapsed": True}
    assert not _better(collapsed, healthy) and _better(healthy, collapsed)


def test_collapse_guard_leaves_a_healthy_run_unflagged(tmp_path, capsys):
    # A real small training on text whose words give the label away: 60% one class, dev far above that.
    rng = random.Random(0)
    good, bad = ["great", "lovely", "tasty", "friendly"], ["awful", "rude", "cold", "dirty"]
    filler = ["the", "food", "was", "and", "staff", "place", "really", "here"]

    def review(words: list[str]) -> str:
        said = " ".join(f"{rng.choice(filler)} {rng.choice(words)}" for _ in range(3))
        return f"{said}. {' '.join(rng.sample(filler, 4))}."

    examples = [
        Example(label=label, text=review(good if label == "5" else bad), split=split)
        for split, n in (("train", 200), ("dev", 40), ("test", 40))
        for label in ("5" if i % 5 < 3 else "1" for i in range(n))
    ]
    dev_majority = 24 / 40  # "5", the training majority, is 3 in 5 of dev too
    cfg = recipe_config("default", epochs=2, lrs=[0.01], embeddings="random", min_count=1, progress=False)
    metrics = train(Dataset(examples=examples), tmp_path / "ckpt", cfg, LIMITS)
    history = metrics["history"]
    assert len(history) == 2 and all(h["dev_accuracy"] > dev_majority + 0.2 for h in history)  # healthy
    assert [h["collapsed"] for h in history] == [False, False]
    assert metrics["collapsed"] is False and metrics["collapsed_epochs"] == []
    assert json.loads((tmp_path / "ckpt" / "metrics.json").read_text())["collapsed"] is False
    assert metrics["test_accuracy"] > metrics["majority_test_accuracy"] == pytest.approx(0.6)
    assert "no better than always predicting the most common class" not in capsys.readouterr().err


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_resume_with_adam_and_cosine_gives_the_same_model(ema, small, tmp_path, monkeypatch):
    import han.training.train as training

    cfg = recipe_config("default", epochs=3, min_count=2, progress=False, lr_schedule="cosine", warmup_epochs=1,
                        embeddings="random", ema=ema)  # fmt: skip
    straight = train(small, tmp_path / "straight", cfg, LIMITS)
    restore = interrupt_epoch(monkeypatch, 2)
    with pytest.raises(training.Interrupted):
        train(small, tmp_path / "resumed", cfg, LIMITS)
    restore()
    resumed = train(small, tmp_path / "resumed", cfg, LIMITS, resume=True)
    assert [h["loss"] for h in resumed["history"]] == pytest.approx([h["loss"] for h in straight["history"]], abs=1e-6)
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    kept, again = (load_file(tmp_path / run / "model.safetensors") for run in ("straight", "resumed"))
    for name, weight in kept.items():  # the weight average (--ema) survives the interruption too
        torch.testing.assert_close(again[name], weight, atol=1e-6, rtol=0)


def test_ema_keeps_an_exponential_moving_average_of_the_weights():
    model = torch.nn.Linear(1, 1, bias=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    average = weight_average(model, recipe_config("default", ema=0.75))
    assert average is not None and weight_average(model, recipe_config("default")) is None  # ema 0: off
    expected: float | None = None
    for _ in range(4):
        model(torch.ones(1, 1)).sum().backward()
        optimizer.step()  # the weight falls by 0.1 a step
        weight = model.weight.item()
        expected = weight if expected is None else 0.75 * expected + 0.25 * weight  # the first update copies
        average.update_parameters(model)
        assert average.get_parameter("module.weight").item() == pytest.approx(expected)
    assert expected is not None and model.weight.item() < expected  # the average lags behind the weights it follows


@pytest.mark.parametrize("warmup", [0.0, 1.0])
def test_plateau_halves_the_lr_for_the_steps_that_follow_and_resumes_with_it(warmup):
    def lrs_after(dev_accuracies, schedule=None):  # the lr of the last step of each epoch, 3 steps per epoch
        parameter = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([parameter], lr=0.1)
        cfg = recipe_config("paper", lr_schedule="plateau", warmup_epochs=warmup, epochs=5)
        schedule = schedule or Schedule(optimizer, cfg, steps_per_epoch=3)
        seen = []
        for dev in dev_accuracies:
            for _ in range(3):
                optimizer.step()
                schedule.after_step()
            seen.append(optimizer.param_groups[0]["lr"])
            schedule.after_epoch(dev)
        return seen, schedule

    seen, schedule = lrs_after([0.5, 0.6, 0.4, 0.3, 0.7])
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.025])  # halved after each epoch that did not improve
    assert schedule.scale == pytest.approx(0.25)  # the last epoch improved: no further halving
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    resumed = Schedule(optimizer, recipe_config("paper", lr_schedule="plateau", warmup_epochs=warmup, epochs=5), 3)
    resumed.restore(json.loads(json.dumps(schedule.state())))
    optimizer.step()
    resumed.after_step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)  # the reductions survive a resume


@pytest.mark.parametrize(
    "override, message",
    [({"optimizer": "rmsprop"}, "unknown optimizer"), ({"lr_schedule": "step"}, "unknown lr schedule"),
     ({"dropout": 1.2}, "dropout"), ({"dropout_at": ("words",)}, "dropout place"), ({"ema": 1.0}, "--ema"),
     ({"ema": -0.1}, "--ema"), ({"lrs": [float("nan")]}, "--lr must be a finite"),
     ({"lrs": [float("inf")]}, "--lr must be a finite"), ({"weight_decay": float("nan")}, "--weight-decay"),
     ({"penalty": float("nan"), "heads": 2}, "--penalty"), ({"clip": 0.0}, "--clip"),
     ({"momentum": -1.0}, "--momentum"),
     ({"train_fraction": float("nan")}, "--train-fraction"), ({"embed_dim": 0}, "--embed-dim"),
     ({"max_vocab": 0}, "--max-vocab"), ({"min_count": 0}, "--min-count")],
)  # fmt: skip
def test_bad_settings_are_refused_before_reading_data(override, message, tmp_path):
    with pytest.raises(HanError, match=message):
        train(Dataset(examples=[]), tmp_path, recipe_config("default", **override))
