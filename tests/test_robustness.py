"""A newcomer's mistakes: silent wrong answers become clear refusals, tracebacks become one-line errors."""

from __future__ import annotations

import json
import os
import shutil

import pytest

import han
from han.__main__ import main
from han.data.dataset import read_dataset

from .conftest import YELP_10K, YELP_OPEN, interrupt_epoch

TEXT = "The tacos were great. The service was slow."
TINY_TRAIN = ("train", "--data", YELP_10K, "--max-docs", "150", "--embeddings", "random", "--min-count", "2", "--quiet")


def cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(code: int, err: str, message: str) -> None:
    assert code == 2 and err.startswith("error:") and message in err and "Traceback" not in err, err


# ----------------------------------------------------------------------------- silent wrong answers


def test_evaluating_a_split_of_other_data_is_refused(tiny_checkpoints, capsys):
    checkpoint = tiny_checkpoints["att"]  # trained on the first 600 reviews of yelp_10k
    code, out, _ = cli(capsys, "evaluate", "--checkpoint", checkpoint, "--data", YELP_10K, "--split", "test")
    assert code == 0 and json.loads(out)["n"] == 60  # the same data: its own test split
    for data in (["--data", YELP_OPEN], ["--data", YELP_10K, "--max-docs", "900"]):
        code, _, err = cli(capsys, "evaluate", "--checkpoint", checkpoint, *data, "--split", "test")
        one_line_error(code, err, "is not the data this checkpoint was trained on")
    code, _, err = cli(capsys, "stats", "--checkpoint", checkpoint, "--data", YELP_OPEN, "--out", "/tmp/never.npz")
    one_line_error(code, err, "is not the data this checkpoint was trained on")


def test_max_docs_is_shared_between_files_none_left_out():
    data = read_dataset([YELP_10K, YELP_OPEN], max_docs=301)
    assert [s["documents"] for s in data.sources] == [151, 150]
    assert data.read_args["max_docs_spread"] == "even"


def test_a_column_given_alone_keeps_the_other_recognised(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("body,stars\nGreat food.,5\nAwful.,1\n")
    data = read_dataset([path], text_col="body")
    assert [e.label for e in data.examples] == ["5", "1"] and data.sources[0]["label_col"] == "stars"
    other = tmp_path / "other.csv"
    other.write_text("body,grade\nGreat food.,5\n")
    with pytest.raises(han.HanError, match=r"cannot tell the label column .* --label-col"):
        read_dataset([other], text_col="body")


def test_non_utf8_input_names_file_and_line_and_can_be_declared(tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes('text,stars\nGood.,5\n"Caf\xe9 au lait, tr\xe8s bon.",4\n'.encode("latin-1"))
    with pytest.raises(han.HanError, match=r"latin\.csv: line 3 is not valid utf-8.*--encoding"):
        read_dataset([path])
    data = read_dataset([path], encoding="latin-1")
    assert data.examples[1].text == "Café au lait, très bon."
    code, _, err = cli(capsys, "train", "--data", path, "--out", tmp_path / "ck", "--encoding", "nonsense")
    one_line_error(code, err, "unknown encoding 'nonsense'")


def test_too_few_documents_per_class_are_refused_before_training(tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--data", YELP_10K, "--max-docs", "5", "--out", tmp_path / "ck")
    one_line_error(code, err, "fewer than 5 documents of some classes")
    assert not (tmp_path / "ck").exists()


def test_predict_takes_one_string_as_one_text(tiny_checkpoints):
    model = han.load(tiny_checkpoints["att"])
    single = model.predict(TEXT)
    assert len(single) == 1 and single == model.predict([TEXT])


# ----------------------------------------------------------------------------- tracebacks


def test_out_that_is_a_file_or_a_checkpoint_is_refused_before_reading(tmp_path, tiny_checkpoints, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    code, _, err = cli(capsys, "train", "--data", "/missing.csv", "--out", a_file)
    one_line_error(code, err, "is a file")
    assert a_file.read_text() == "mine"
    existing = tmp_path / "ck"
    shutil.copytree(tiny_checkpoints["ave"], existing)
    before = (existing / "model.safetensors").read_bytes()
    code, _, err = cli(capsys, "train", "--data", "/missing.csv", "--out", existing)
    one_line_error(code, err, "already holds a checkpoint; give --overwrite")
    assert (existing / "model.safetensors").read_bytes() == before
    (existing / "faithfulness.json").write_text("{}")  # records of the old weights
    (existing / "word_stats.npz").write_bytes(b"old")
    code, _, err = cli(capsys, *TINY_TRAIN, "--out", existing, "--overwrite", "--epochs", "1")
    assert code == 0, err
    assert (existing / "model.safetensors").read_bytes() != before
    assert not (existing / "faithfulness.json").exists() and not (existing / "word_stats.npz").exists()
    assert "removed word_stats.npz, faithfulness.json of the replaced model" in err


def test_out_that_holds_other_files_or_an_interrupted_run_is_refused(tmp_path, capsys):
    theirs = tmp_path / "mine"
    theirs.mkdir()
    (theirs / "metrics.json").write_text("my own")
    code, _, err = cli(capsys, *TINY_TRAIN, "--out", theirs, "--overwrite")
    one_line_error(code, err, "holds other files (metrics.json), not a checkpoint")
    assert [p.name for p in theirs.iterdir()] == ["metrics.json"] and (theirs / "metrics.json").read_text() == "my own"
    interrupted = tmp_path / "run"
    (interrupted / ".resume").mkdir(parents=True)
    (interrupted / ".resume" / "state.json").write_text("{}")
    code, _, err = cli(capsys, *TINY_TRAIN, "--out", interrupted)
    one_line_error(code, err, "holds an interrupted run; give --resume to continue it, --overwrite to start again")
    assert (interrupted / ".resume" / "state.json").read_text() == "{}"


@pytest.mark.parametrize(
    "device, message", [("foo", "unknown device 'foo'"), ("cuda", "no CUDA GPU"), ("mps", "not supported")]
)
def test_bad_devices_are_refused_before_reading(device, message, tmp_path, capsys):
    pytest.importorskip("torch")
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code, _, err = cli(capsys, "train", "--data", "/missing.csv", "--out", tmp_path / "ck", "--device", device)
    one_line_error(code, err, message)


def test_explain_html_into_a_missing_folder(tiny_checkpoints, tmp_path, capsys):
    code, _, err = cli(
        capsys,
        "explain",
        "--checkpoint",
        tiny_checkpoints["att"],
        "--text",
        TEXT,
        "--html",
        tmp_path / "no" / "such" / "out.html",
    )
    one_line_error(code, err, "does not exist")


def test_ctrl_c_during_training_is_one_line_and_exit_130(tmp_path, monkeypatch, capsys):
    interrupt_epoch(monkeypatch, 1)
    code, _, err = cli(capsys, *TINY_TRAIN, "--out", tmp_path / "ck", "--epochs", "2")
    assert code == 130 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("interrupted") and "--resume" in err


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_checkpoint_without_readable_metrics_still_explains(damage, tiny_checkpoints, tmp_path, capsys):
    directory = tmp_path / "ck"
    shutil.copytree(tiny_checkpoints["att"], directory)
    if damage == "missing":
        (directory / "metrics.json").unlink()
    else:
        (directory / "metrics.json").write_text("{ truncated")
    code, out, err = cli(capsys, "explain", "--checkpoint", directory, "--text", TEXT)
    assert code == 0 and json.loads(out)["sentences"] and "warning:" in err and "metrics.json" in err
    assert han.load(directory).metrics == {}


def test_written_files_have_normal_permissions(tiny_checkpoints):
    umask = os.umask(0)
    os.umask(umask)
    for path in tiny_checkpoints["att"].iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name  # safetensors alone would make 0600


@pytest.mark.parametrize(
    "option, message",
    [
        (["--lr", "nan"], "--lr must be a finite number"),
        (["--train-fraction", "nan"], "--train-fraction must be a finite number"),
        (["--embed-dim", "-5"], "--embed-dim must be at least 1"),
        (["--clip", "0"], "--clip is the largest gradient norm"),
    ],
)
def test_numbers_that_would_train_garbage_or_crash_are_refused_before_reading(option, message, tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--data", "/missing.csv", "--out", tmp_path / "ck", *option)
    one_line_error(code, err, message)


def test_a_diverging_learning_rate_stops_and_says_so_and_the_grid_goes_on(yelp_slice, tmp_path, capsys):
    """A loss that becomes nan/inf (an lr far too large) stops that lr after the epoch, with one line saying so;
    the next lr of the grid still trains its epochs, and the checkpoint keeps the better one."""
    import math

    from han.data.text import TextLimits
    from han.training.recipes import recipe_config
    from han.training.train import train

    cfg = recipe_config("paper", epochs=2, lrs=[1e30, 0.05], embeddings="random", min_count=2, progress=True)
    metrics = train(yelp_slice, tmp_path / "ckpt", cfg, TextLimits(max_sentences=30, max_words=50))
    history = metrics["history"]
    assert [h["lr"] for h in history] == [1e30, 0.05, 0.05]  # one epoch at the diverging lr, then the next lr
    assert not math.isfinite(history[0]["loss"]) and all(math.isfinite(h["loss"]) for h in history[1:])
    assert "training diverged: this lr stops" in capsys.readouterr().err
    assert metrics["lr"] == 0.05  # the better lr kept
