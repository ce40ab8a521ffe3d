"""Training under torchrun: two CPU processes (gloo) on a small real slice."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import han

from .conftest import ROOT, YELP_OPEN


@pytest.mark.parametrize(
    "variant",
    [
        [],
        ["--variant", "cahan", "--context", "bi", "--context-gate"],
        ["--heads", "2", "--head-combine", "concat", "--penalty", "0.1"],
    ],
    ids=["att", "cahan-bi-gated", "att-2-heads"],
)
def test_two_processes_write_a_checkpoint_whose_reload_predicts_the_same(tmp_path, variant):
    out = tmp_path / "ddp"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "han",
            "train",
            "--data",
            str(YELP_OPEN),
            "--max-docs",
            "400",
            "--out",
            str(out),
            "--epochs",
            "2",
            "--lr",
            "0.1",
            "--w2v-epochs",
            "1",
            "--quiet",
            *variant,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reported = json.loads(result.stdout)  # only rank 0 prints
    assert reported["processes"] == 2
    model = han.load(out)  # a valid checkpoint: every file checked on load
    assert not (out / ".resume").exists()
    # the reloaded model predicts the test split exactly as the trained model did in memory
    evaluated = subprocess.run(
        [
            sys.executable,
            "-m",
            "han",
            "evaluate",
            "--checkpoint",
            str(out),
            "--data",
            str(YELP_OPEN),
            "--split",
            "test",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    scores = json.loads(evaluated.stdout)
    assert scores["n"] == 40
    assert scores["accuracy"] == reported["test_accuracy"]
    assert scores["confusion_matrix"] == reported["test_confusion_matrix"]
    assert model.predict(["Lovely staff, great food."])[0]["label"] in model.labels
