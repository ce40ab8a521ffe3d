"""`han predict` (streamed batch scoring) and `han info`."""

from __future__ import annotations

import csv
import io
import json

from han.__main__ import main

from .conftest import YELP_OPEN


def test_predict_a_csv_file_to_csv(tiny_checkpoints, tmp_path, capsys):
    out = tmp_path / "predictions.csv"
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(tiny_checkpoints["att"]),
                "--data",
                str(YELP_OPEN),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["id", "label", "p_1", "p_2", "p_3", "p_4", "p_5"] and len(rows) == 5001
    assert all(abs(sum(float(p) for p in row[2:]) - 1) < 1e-4 for row in rows[1:50])
    assert "5000 of 5000 reviews scored" in capsys.readouterr().err


def test_predict_from_stdin_to_json_lines_with_top_words(tiny_checkpoints, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("Great tacos, friendly staff.\n\n...\nCold food.\n"))
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(tiny_checkpoints["ave"]),
                "--data",
                "-",
                "--out",
                "-",
                "--top-words",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == ["1", "3", "4"]  # the blank line is not a review
    assert len(rows[0]["top_words"]) == 2 and rows[0]["label"] in rows[0]["probabilities"]


def test_predict_refuses_an_unknown_output_kind_before_work(tiny_checkpoints, tmp_path, capsys):
    code = main(["predict", "--checkpoint", "/nowhere", "--data", "-", "--out", str(tmp_path / "p.xlsx")])
    assert code == 2 and "must end in .csv or .jsonl" in capsys.readouterr().err


def test_info_describes_a_checkpoint(tiny_checkpoints, capsys):
    assert main(["info", str(tiny_checkpoints["att"])]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["variant"] == "att" and info["recipe"] == "paper" and info["vocabulary"]["size"] > 2
    assert info["data"]["fingerprint"]["documents"] == 600 and info["split"]["seed"] == 0
    assert {"config.json", "model.safetensors", "vocab.txt", "metrics.json"} <= info["files"].keys()


def test_predict_leaves_an_earlier_output_as_it_was_when_the_data_is_bad(tiny_checkpoints, tmp_path, capsys):
    out = tmp_path / "predictions.jsonl"
    out.write_text("an earlier run's predictions\n")
    bad_row = tmp_path / "reviews.jsonl"  # fails after the first chunk of 1,000 has been written
    bad_row.write_text('{"text": "Great tacos."}\n' * 1500 + "{not json\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("text,stars\n")
    for data, message in [
        (tmp_path / "missing.csv", "no such file"),
        (tmp_path, "not a file of reviews"),
        (empty, "no review with text"),
        (bad_row, "line 1501"),
    ]:
        args = ["predict", "--checkpoint", str(tiny_checkpoints["att"]), "--data", str(data), "--out", str(out)]
        code = main([*args, "--overwrite"])  # told to replace it: still kept, since the run fails
        assert code == 2 and message in capsys.readouterr().err
    assert out.read_text() == "an earlier run's predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.csv", "predictions.jsonl", "reviews.jsonl"]
