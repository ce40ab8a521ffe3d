"""Which epoch training keeps, and what it says of a collapsed one: `_better`, `_majority_share`, `collapse_warning`.

The collapse guard's end-to-end tests (a planted collapse, a healthy run) are in tests/test_recipes.py; these pin
the rules one by one, fast, so that mutation testing (scripts/mutation.py train-choice) can run them per mutant.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, cast

import pytest

from han.__main__ import build_parser
from han.training.train import _better, _majority_share, collapse_warning


def epoch(dev: float, collapsed: bool = False) -> dict:
    return {"dev_accuracy": dev, "collapsed": collapsed}


def test_the_first_epoch_is_always_kept():
    assert _better(epoch(0.1), None) and _better(epoch(0.1, collapsed=True), None)


def test_a_higher_dev_accuracy_wins_and_a_tie_keeps_the_earlier_epoch():
    assert _better(epoch(0.61), epoch(0.6))
    assert not _better(epoch(0.6), epoch(0.6))  # the earlier of two equal epochs stays
    assert not _better(epoch(0.59), epoch(0.6))
    assert _better(epoch(0.31, collapsed=True), epoch(0.3, collapsed=True))  # among collapsed ones, too
    assert not _better(epoch(0.3, collapsed=True), epoch(0.3, collapsed=True))


def test_a_healthy_epoch_beats_a_collapsed_one_whatever_their_dev_accuracy():
    assert _better(epoch(0.2), epoch(0.9, collapsed=True))
    assert not _better(epoch(0.9, collapsed=True), epoch(0.2))


def test_a_best_recorded_before_the_collapse_flag_counts_as_healthy():
    old = {"dev_accuracy": 0.5}  # a resume state written before `collapsed` was recorded
    assert not _better(epoch(0.9, collapsed=True), old) and _better(epoch(0.6), old) and not _better(epoch(0.4), old)


def test_the_majority_share_is_the_dev_accuracy_of_the_training_split_majority():
    # train's majority is class 0; dev's own majority is class 1: the guard judges against train's (1 in 4)
    data = cast(Any, SimpleNamespace(targets={"train": [1, 0, 0, 2, 0], "dev": [1, 0, 1, 1]}))
    assert _majority_share(data) == pytest.approx(0.25)
    data = cast(Any, SimpleNamespace(targets={"train": [2, 2, 1], "dev": [2, 2, 2, 0, 1]}))
    assert _majority_share(data) == pytest.approx(0.6)


def test_the_warning_of_an_epoch_names_it_and_both_accuracies_to_three_places():
    text = collapse_warning(3, 0.41234, 0.4)
    assert text.startswith("warning: after epoch 3 the model is no better than always predicting the most common")
    assert "(dev accuracy 0.412, majority class 0.400)" in text
    final = collapse_warning(None, 0.2, 0.25, final=True)
    assert final.startswith("warning: every epoch: the saved model is no better than always predicting")
    assert "(dev accuracy 0.200, majority class 0.250)" in final and "epoch None" not in final


def test_the_warning_gives_the_likely_causes_and_remedies_han_train_accepts():
    text = collapse_warning(1, 0.3, 0.3)
    assert "Likely cause: too few documents or epochs for the optimiser" in text
    assert "or a learning rate far off" in text and "more epochs or more data." in text
    options = re.findall(r"\((--[a-z-]+) ([\w-]+)", text)  # "(--recipe default: ...", "(--embeddings glove..."
    assert options == [("--recipe", "default"), ("--embeddings", "glove-6b-50d")]
    parser = build_parser()
    args = parser.parse_args(["train", "--data", "x.csv", "--out", "o", "--recipe", "default"])
    assert args.recipe == "default"
    args = parser.parse_args(["train", "--data", "x.csv", "--out", "o", "--embeddings", "glove-6b-50d"])
    assert args.embeddings == "glove-6b-50d"


def test_the_warning_reads_in_full_as_users_see_it_on_stderr():
    assert collapse_warning(2, 0.25, 0.3) == (
        "warning: after epoch 2 the model is no better than always predicting the most common class "
        "(dev accuracy 0.250, majority class 0.300). Likely cause: too few documents or epochs "
        "for the optimiser (SGD with the paper's settings needs far more data), or a learning rate far off. "
        "Try the default recipe (--recipe default: Adam with dropout), pretrained vectors "
        "(--embeddings glove-6b-50d), more epochs or more data."
    )
