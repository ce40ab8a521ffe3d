"""Training, checkpoints (round trip, corruption), resume, the CLI and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import han
from han.checkpoint import io as checkpoint
from han.data.dataset import read_dataset
from han.data.text import TextLimits
from han.errors import HanError
from han.training.recipes import recipe_config
from han.training.train import train

from .conftest import ROOT, YELP_10K, YELP_OPEN, interrupt_epoch

TEXT = (
    "The tacos were fantastic and the salsa bar is great. Service was slow though. "
    "We waited forty minutes for a table.\n\nStill, I would come back for the food."
)


def test_att_learns_real_yelp_reviews_clearly_above_the_majority_class(tmp_path):
    data = read_dataset([YELP_10K, YELP_OPEN], max_docs=4000)
    cfg = recipe_config("default", variant="att", epochs=3, seed=0, embeddings="word2vec", w2v_epochs=3, progress=False)
    metrics = train(data, tmp_path, cfg, TextLimits(max_sentences=30, max_words=60))
    assert metrics["test_accuracy"] >= metrics["majority_test_accuracy"] + 0.08, metrics
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["embeddings"]["method"].startswith("word2vec")
    assert config["embeddings"]["vocab_covered"] > 0.9 * config["vocab"]["size"]


def test_checkpoint_files_record_what_the_issue_asks(tiny_checkpoints):
    directory = tiny_checkpoints["att"]
    assert sorted(p.name for p in directory.iterdir()) == sorted(checkpoint.FILES)
    config = json.loads((directory / "config.json").read_text())
    metrics = json.loads((directory / "metrics.json").read_text())
    assert config["model"]["variant"] == "att" and config["labels"] == ["1", "2", "3", "4", "5"]
    assert config["split"]["seed"] == 0 and sum(config["split"]["sizes"].values()) == 600
    assert {"torch", "nltk", "gensim", "han"} <= config["versions"].keys()
    assert config["text"]["max_words"] == 50 and config["data"]["sources"][0]["path"].endswith("yelp_10k.csv.gz")
    for key in (
        "dev_accuracy",
        "test_accuracy",
        "test_per_class_accuracy",
        "test_confusion_matrix",
        "epochs_run",
        "training_time_s",
        "train_docs_per_s",
    ):
        assert key in metrics
    assert sum(map(sum, metrics["test_confusion_matrix"])) == config["split"]["sizes"]["test"]


@pytest.mark.parametrize("half", [False, True])
def test_round_trip_gives_the_same_predictions(tiny_checkpoints, tmp_path, half):
    model = han.load(tiny_checkpoints["max"])
    before = model.predict([TEXT, "Terrible. Never again."])
    checkpoint.save(
        tmp_path,
        model.model,
        model.vocab,
        {k: v for k, v in model.config.items() if k not in ("format", "model")},
        model.metrics,
        half=half,
    )
    after = han.load(tmp_path).predict([TEXT, "Terrible. Never again."])
    for a, b in zip(before, after, strict=True):
        assert a["label"] == b["label"]
        for label in a["probabilities"]:
            assert a["probabilities"][label] == pytest.approx(b["probabilities"][label], abs=2e-3 if half else 1e-6)
    if half:
        assert (tmp_path / "model.safetensors").stat().st_size < 0.6 * (
            tiny_checkpoints["max"] / "model.safetensors"
        ).stat().st_size


def _broken_copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "broken"
    shutil.copytree(source, target)
    return target


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:5000]),
            r"model\.safetensors: truncated or corrupt",
        ),
        (lambda d: (d / "vocab.txt").unlink(), "missing vocab.txt"),
        (
            lambda d: (d / "config.json").write_text('{"format": "han-checkpoint/1", "model": {'),
            r"config\.json: not valid JSON",
        ),
        (lambda d: (d / "vocab.txt").write_text("<pad>\n<unk>\nthe\n"), r"vocab\.txt: has 3 words but config\.json"),
        (
            lambda d: (d / "config.json").write_text(
                json.dumps(
                    json.loads((d / "config.json").read_text())
                    | {"model": json.loads((d / "config.json").read_text())["model"] | {"word_hidden": 64}}
                )
            ),
            r"model\.safetensors: tensor .* has shape",
        ),
    ],
)
def test_a_corrupt_checkpoint_is_rejected_naming_the_file(tiny_checkpoints, tmp_path, damage, message):
    directory = _broken_copy(tiny_checkpoints["att"], tmp_path)
    damage(directory)
    with pytest.raises(HanError, match=message):
        han.load(directory)


def test_loading_never_unpickles(tiny_checkpoints, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert han.load(tiny_checkpoints["ave"]).predict([TEXT])


def test_explain_gives_sentences_tokens_and_weights(tiny_checkpoints):
    model = han.load(tiny_checkpoints["att"])
    result = model.explain(TEXT)
    assert result["model"] == "HN-ATT" and result["label"] in model.labels
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert len(result["sentences"]) == 4  # 3 Punkt sentences, a blank line, 1 more
    assert sum(s["weight"] for s in result["sentences"]) == pytest.approx(1.0, abs=1e-5)
    for s in result["sentences"]:
        assert len(s["tokens"]) == len(s["word_weights"]) == len(s["display_weights"])
        assert sum(s["word_weights"]) == pytest.approx(1.0, abs=1e-5)
    assert max(w for s in result["sentences"] for w in s["display_weights"]) == pytest.approx(1.0)


def test_bad_text_gets_clear_errors_or_documented_results(tiny_checkpoints):
    model = han.load(tiny_checkpoints["att"])
    for empty in ("", "   \n\t "):
        with pytest.raises(HanError, match="empty"):
            model.explain(empty)
    one = model.explain("Delicious")
    assert [s["tokens"] for s in one["sentences"]] == [["delicious"]]
    assert one["sentences"][0]["word_weights"] == [pytest.approx(1.0)]
    huge = model.explain("The soup was cold and the staff did not care at all. " * 20_000)  # ~1 MB
    assert huge["truncated"]["chars"] > 0 and len(huge["sentences"]) == model.limits.max_sentences


def test_predict_and_evaluate_api(tiny_checkpoints):
    model = han.load(tiny_checkpoints["att"])
    assert [p["label"] in model.labels for p in model.predict([TEXT, "Awful."])] == [True, True]
    data = read_dataset([YELP_10K], max_docs=600)
    result = model.evaluate(data)
    assert result["n"] == 600 and 0 <= result["accuracy"] <= 1
    bad = read_dataset([YELP_10K], max_docs=5)
    bad.examples[0] = replace(bad.examples[0], label="7")
    with pytest.raises(HanError, match="labels 7 are not among"):
        model.evaluate(bad)


def test_interrupted_training_resumes_to_the_same_result(tmp_path, yelp_slice, monkeypatch):
    import han.training.train as training

    cfg = recipe_config(
        "paper", variant="ave", epochs=2, lrs=[0.1, 0.05], embeddings="random", min_count=2, progress=False
    )
    limits = TextLimits(max_sentences=20, max_words=40)
    straight = train(yelp_slice, tmp_path / "straight", cfg, limits)

    restore = interrupt_epoch(monkeypatch, 3)
    with pytest.raises(training.Interrupted, match="--resume"):
        train(yelp_slice, tmp_path / "resumed", cfg, limits)
    assert not (tmp_path / "resumed" / "model.safetensors").exists()
    restore()
    resumed = train(yelp_slice, tmp_path / "resumed", cfg, limits, resume=True)
    assert [h["dev_accuracy"] for h in resumed["history"]] == [h["dev_accuracy"] for h in straight["history"]]
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    assert not (tmp_path / "resumed" / ".resume").exists()
    with pytest.raises(HanError, match="nothing to resume"):
        train(yelp_slice, tmp_path / "resumed", cfg, limits, resume=True)


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "han", *args], cwd=ROOT, input=stdin, capture_output=True, timeout=300)


def test_cli_train_evaluate_explain(tmp_path):
    out = tmp_path / "ck"
    trained = run_cli(
        "train",
        "--data",
        str(YELP_OPEN),
        "--max-docs",
        "300",
        "--variant",
        "max",
        "--out",
        str(out),
        "--epochs",
        "1",
        "--embeddings",
        "random",
        "--quiet",
    )
    assert trained.returncode == 0, trained.stderr.decode()
    assert json.loads(trained.stdout)["model"] == "HN-MAX"
    evaluated = run_cli(
        "evaluate", "--checkpoint", str(out), "--data", str(YELP_OPEN), "--max-docs", "300", "--split", "test"
    )
    result = json.loads(evaluated.stdout)
    assert result["n"] == 30 and 0 <= result["accuracy"] <= 1
    explained = run_cli("explain", "--checkpoint", str(out), "--text", TEXT, "--html", str(tmp_path / "e.html"))
    data = json.loads(explained.stdout)
    assert data["label"] in data["probabilities"] and len(data["sentences"]) == 4
    assert "han-word" in (tmp_path / "e.html").read_text()
    piped = run_cli("explain", "--checkpoint", str(out), "--file", "-", stdin=TEXT.encode())
    assert json.loads(piped.stdout)["sentences"] == data["sentences"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["explain", "--checkpoint", "/nonexistent", "--text", "hi"], "no such checkpoint folder"),
        (["explain", "--checkpoint", "{ck}", "--text", "   "], "the text is empty"),
        (["explain", "--checkpoint", "{ck}", "--file", "{binary}"], "binary"),
        (["train", "--data", "{csv}", "--out", "{tmp}/x"], "cannot tell the text and label columns"),
        (
            ["evaluate", "--checkpoint", "{ck}", "--data", "{csv}", "--text-col", "body", "--label-col", "nope"],
            "no column 'nope'",
        ),
    ],
)
def test_cli_errors_are_one_line_without_traceback(args, message, tiny_checkpoints, tmp_path):
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    csv_file = tmp_path / "x.csv"
    csv_file.write_text("body,rating\nnice,5\n")
    filled = [a.format(ck=tiny_checkpoints["att"], binary=binary, csv=csv_file, tmp=tmp_path) for a in args]
    result = run_cli(*filled)
    stderr = result.stderr.decode()
    assert result.returncode == 2 and message in stderr and "Traceback" not in stderr


def test_read_like_remakes_the_training_split(tiny_checkpoints):
    from han.data.dataset import assign_splits, read_like

    model = han.load(tiny_checkpoints["att"])
    dataset = read_like(model.config)  # recorded: yelp_10k with --max-docs 600
    assert len(dataset.examples) == 600
    _, record = assign_splits(dataset.examples, model.config["split"]["seed"])
    assert record == model.config["split"]
    with pytest.raises(HanError, match="records no data files"):
        read_like({"data": {"sources": []}})


def test_resume_after_a_patience_stop_moves_on_to_the_next_learning_rate(tmp_path, yelp_slice, monkeypatch):
    import han.training.train as training

    cfg = recipe_config(
        "paper", variant="ave", epochs=4, lrs=[0.1, 0.05], embeddings="random", min_count=2, progress=False, patience=1
    )
    limits = TextLimits(max_sentences=20, max_words=40)
    straight = train(yelp_slice, tmp_path / "straight", cfg, limits)
    runs = [(h["lr"], h["epoch"]) for h in straight["history"]]
    assert runs[:2] == [(0.1, 1), (0.1, 2)] and runs[2] == (0.05, 1)  # patience ended lr 0.1 after 2 epochs

    restore = interrupt_epoch(monkeypatch, 3)
    with pytest.raises(training.Interrupted):
        train(yelp_slice, tmp_path / "resumed", cfg, limits)
    restore()
    resumed = train(yelp_slice, tmp_path / "resumed", cfg, limits, resume=True)
    assert [(h["lr"], h["epoch"]) for h in resumed["history"]] == runs


def test_word2vec_table_is_cached_per_corpus_vocabulary_and_seed(tmp_path, monkeypatch, yelp_slice):
    import gensim.models

    from han.data.text import tokenize
    from han.data.vocab import Vocab
    from han.training.embeddings import word2vec_embeddings

    monkeypatch.setenv("HAN_CACHE", str(tmp_path))
    docs = [tokenize(e.text) for e in yelp_slice.examples[:300]]
    sentences = [s for d in docs for s in d.sentences]
    vocab = Vocab.build((d.sentences for d in docs), min_count=3)
    table, summary = word2vec_embeddings(sentences, vocab, dim=20, seed=0, epochs=1)
    assert len(list(tmp_path.glob("word2vec-*.safetensors"))) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("word2vec trained again although cached")

    monkeypatch.setattr(gensim.models, "Word2Vec", refuse)
    again, again_summary = word2vec_embeddings(sentences, vocab, dim=20, seed=0, epochs=1)
    assert torch.equal(again, table) and again_summary == summary
    for changed in ({"seed": 1}, {"epochs": 2}):
        with pytest.raises(AssertionError, match="trained again"):
            word2vec_embeddings(sentences, vocab, **({"dim": 20, "seed": 0, "epochs": 1} | changed))
    with pytest.raises(AssertionError, match="trained again"):
        word2vec_embeddings(sentences[:-1], vocab, dim=20, seed=0, epochs=1)
