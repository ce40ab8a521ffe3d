"""User mistakes found by a sweep of every command: each gets one `error:` line and exit 2, before any work,
and nothing the user had is lost (inputs, existing outputs, checkpoints)."""

from __future__ import annotations

import json
import shutil

import pytest

from han.__main__ import main

from .conftest import YELP_10K, YELP_OPEN


def refused(args: list[str], capsys: pytest.CaptureFixture[str], message: str) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and "Traceback" not in err, err


def test_predict_never_writes_over_its_input(tiny_checkpoints, tmp_path, capsys):
    data = tmp_path / "reviews.csv"
    data.write_text("text,stars\nGreat food.,5\nCold soup.,1\n", encoding="utf-8")
    before = data.read_bytes()
    for extra in ([], ["--overwrite"]):  # not even when told to overwrite
        args = ["predict", "--checkpoint", str(tiny_checkpoints["att"]), "--data", str(data), "--out", str(data)]
        refused(args + extra, capsys, "is also the input")
    assert data.read_bytes() == before


def test_outputs_that_exist_are_replaced_only_with_overwrite(tiny_checkpoints, tmp_path, capsys):
    checkpoint = str(tiny_checkpoints["att"])
    kept = tmp_path / "kept.csv"
    kept.write_text("mine\n", encoding="utf-8")
    predict = ["predict", "--checkpoint", checkpoint, "--data", str(YELP_OPEN), "--out", str(kept), "--quiet"]
    refused(predict, capsys, "exists; give --overwrite")
    assert kept.read_text(encoding="utf-8") == "mine\n"
    html = tmp_path / "kept.html"
    html.write_text("mine", encoding="utf-8")
    refused(["explain", "--checkpoint", checkpoint, "--text", "Good.", "--html", str(html)], capsys, "--overwrite")
    faith = ["faithfulness", "--checkpoint", checkpoint, "--text", "Good food.", "--out", str(html)]
    refused(faith, capsys, "--overwrite")
    assert html.read_text(encoding="utf-8") == "mine"
    assert main(["explain", "--checkpoint", checkpoint, "--text", "Good.", "--html", str(html), "--overwrite"]) == 0
    assert html.read_text(encoding="utf-8").lower().startswith("<!doctype html>")


def test_no_output_lands_on_a_checkpoint_file(tiny_checkpoints, tmp_path, capsys):
    checkpoint = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoints["att"], checkpoint)
    weights = (checkpoint / "model.safetensors").read_bytes()
    args = ["faithfulness", "--checkpoint", str(checkpoint), "--text", "Good food."]
    refused([*args, "--out", str(checkpoint / "model.safetensors"), "--overwrite"], capsys, "is also the input")
    assert (checkpoint / "model.safetensors").read_bytes() == weights


def test_stats_checks_its_output_before_reading_anything(tiny_checkpoints, tmp_path, capsys):
    stats = ["stats", "--checkpoint", str(tiny_checkpoints["att"]), "--data", str(YELP_10K), "--max-docs", "300"]
    refused([*stats, "--out", str(tmp_path / "stats.txt")], capsys, "ending in .npz")  # numpy would write .txt.npz
    refused([*stats, "--out", str(tmp_path / "no" / "stats.npz")], capsys, "does not exist")
    refused([*stats, "--out", str(tmp_path / "s.npz"), "--sample", "-3"], capsys, "--sample must be at least 1")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--patience", "0"], "--patience"),
        (["--split-seed", "-1"], "--split-seed must be a whole number"),
        (["--seed", str(2**64)], "--seed must be a whole number"),
        (["--max-words", "0"], '--max-sentences and --max-words, the "text" section'),
        (["--text-col", "stars", "--label-col", "stars"], "the text would be its own label"),
    ],
    ids=["patience-0", "negative-split-seed", "huge-seed", "no-words", "text-is-label"],
)
def test_train_settings_that_fail_late_or_mislead_are_refused_up_front(extra, message, tmp_path, capsys):
    out = tmp_path / "ckpt"
    refused(["train", "--data", str(YELP_10K), "--max-docs", "200", "--out", str(out), *extra], capsys, message)
    assert not out.exists()


def test_the_same_file_twice_would_leak_test_reviews_into_training(tmp_path, capsys):
    args = ["train", "--data", str(YELP_10K), str(YELP_10K), "--max-docs", "600", "--out", str(tmp_path / "c")]
    refused(args, capsys, "twice")


def test_a_single_label_is_no_classification(tmp_path, capsys):
    data = tmp_path / "one.csv"
    data.write_text("text,stars\n" + "".join(f"Review number {i} was fine.,4\n" for i in range(60)), encoding="utf-8")
    refused(["train", "--data", str(data), "--epochs", "1", "--out", str(tmp_path / "c")], capsys, "a single label")


def test_damaged_gzip_files_are_named_not_tracebacks(tiny_checkpoints, tmp_path, capsys):
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(YELP_10K.read_bytes()[:3000])  # the first 3,000 bytes of a real file
    fake = tmp_path / "fake.csv.gz"
    fake.write_text("not gzip at all\n", encoding="utf-8")
    for path in (cut, fake):
        refused(["evaluate", "--checkpoint", str(tiny_checkpoints["att"]), "--data", str(path)], capsys, "damaged")
    predict = ["predict", "--checkpoint", str(tiny_checkpoints["att"]), "--data", str(cut)]
    refused([*predict, "--out", str(tmp_path / "p.csv"), "--quiet"], capsys, "cut short")
    assert not (tmp_path / "p.csv").exists()


def test_a_hand_edited_variant_is_a_bad_config_not_a_traceback(tiny_checkpoints, tmp_path, capsys):
    checkpoint = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoints["att"], checkpoint)
    config = json.loads((checkpoint / "config.json").read_text())
    config["model"]["variant"] = "bogus"
    (checkpoint / "config.json").write_text(json.dumps(config))
    refused(["explain", "--checkpoint", str(checkpoint), "--text", "Good food."], capsys, "bad 'model' section")


def test_a_checkpoint_with_a_setting_this_version_does_not_know_is_refused(tiny_checkpoints, tmp_path, capsys):
    """A newer han's model setting (here one whose weights would still fit) must not be silently dropped: the
    model built without it would not be the one trained, and would answer as if it were."""
    checkpoint = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoints["att"], checkpoint)
    config = json.loads((checkpoint / "config.json").read_text())
    config["model"]["sparsemax"] = True
    (checkpoint / "config.json").write_text(json.dumps(config))
    says = "settings this version of han does not know (sparsemax); it was written by a newer han"
    refused(["explain", "--checkpoint", str(checkpoint), "--text", "Good food."], capsys, says)


def test_faithfulness_of_one_document_refuses_the_data_set_options(tiny_checkpoints, capsys):
    args = ["faithfulness", "--checkpoint", str(tiny_checkpoints["att"]), "--text", "Good food."]
    refused([*args, "--split", "dev", "--limit", "5"], capsys, "--split, --limit apply to --data")
    refused([*args, "--seed", "-1"], capsys, "--seed must be 0 or more")


def test_a_folder_given_as_the_document_file(tiny_checkpoints, tmp_path, capsys):
    refused(["explain", "--checkpoint", str(tiny_checkpoints["att"]), "--file", str(tmp_path)], capsys, "is a folder")


def test_predict_counts_the_reviews_it_could_not_score(tiny_checkpoints, tmp_path, capsys):
    data = tmp_path / "reviews.txt"
    data.write_text("Great tacos.\n...\nCold food.\n", encoding="utf-8")
    out = tmp_path / "p.jsonl"
    assert main(["predict", "--checkpoint", str(tiny_checkpoints["att"]), "--data", str(data), "--out", str(out)]) == 0
    assert "2 of 3 reviews scored" in capsys.readouterr().err
    assert [json.loads(line).get("error") for line in out.read_text().splitlines()] == [None, "no words", None]


def test_an_empty_statistics_file_is_named(tmp_path):
    from han.errors import HanError
    from han.interpret.stats import load

    empty = tmp_path / "word_stats.npz"
    empty.write_bytes(b"")
    with pytest.raises(HanError, match="not a readable word-statistics file"):
        load(empty)


def test_info_names_a_damaged_checkpoint_instead_of_describing_it(tiny_checkpoints, tmp_path, capsys):
    cut, twice = tmp_path / "cut", tmp_path / "twice"
    shutil.copytree(tiny_checkpoints["att"], cut)
    weights = cut / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    refused(["info", str(cut)], capsys, "model.safetensors")
    shutil.copytree(tiny_checkpoints["att"], twice)
    config = json.loads((twice / "config.json").read_text())
    config["labels"] = [config["labels"][0], *config["labels"][:-1]]  # one name twice, the last class unnamed
    (twice / "config.json").write_text(json.dumps(config))
    refused(["info", str(twice)], capsys, "different class names")
    assert main(["info", str(tiny_checkpoints["att"])]) == 0


def test_predict_refuses_a_column_name_for_plain_text(tiny_checkpoints, tmp_path, capsys):
    data = tmp_path / "reviews.txt"
    data.write_text("Great tacos.\n", encoding="utf-8")
    args = ["predict", "--checkpoint", str(tiny_checkpoints["att"]), "--data", str(data), "--text-col", "review"]
    refused([*args, "--out", str(tmp_path / "p.csv")], capsys, "is plain text")


def test_text_limits_below_one_are_refused_wherever_they_come_from(tiny_checkpoints, tmp_path, capsys):
    checkpoint = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoints["att"], checkpoint)
    config = json.loads((checkpoint / "config.json").read_text())
    for bad in (-5, "50", 2.5, None):  # a hand-edited checkpoint: before, "the text has no words" or a traceback
        config["text"]["max_words"] = bad
        (checkpoint / "config.json").write_text(json.dumps(config))
        refused(["explain", "--checkpoint", str(checkpoint), "--text", "Good food."], capsys, "config.json) must be")


def test_a_vocab_txt_other_than_the_weights_own_is_refused(tiny_checkpoints, tmp_path, capsys):
    """Same size, other order: every word would read another word's embedding row, and predictions would look fine."""
    checkpoint = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoints["att"], checkpoint)
    vocab = checkpoint / "vocab.txt"
    words = vocab.read_text(encoding="utf-8").split("\n")
    words[2], words[3] = words[3], words[2]  # two real words swapped (PAD and UNK stay first)
    vocab.write_text("\n".join(words), encoding="utf-8")
    refused(["explain", "--checkpoint", str(checkpoint), "--text", "Good food."], capsys, "vocab.txt: not the vocab")
    refused(["info", str(checkpoint)], capsys, "restore the checkpoint's own vocab.txt")


def test_checkpoints_saved_before_the_vocab_digest_still_load(tiny_checkpoints, tmp_path):
    from safetensors.torch import load_file, save_file

    import han
    from han.checkpoint.files import FORMAT

    checkpoint = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoints["att"], checkpoint)
    weights = checkpoint / "model.safetensors"
    save_file(load_file(str(weights)), str(weights), metadata={"format": FORMAT})  # no digest, as before
    assert han.load(checkpoint).predict("Good food.") == han.load(tiny_checkpoints["att"]).predict("Good food.")
