"""What every step of scripts/reproduce.py shares: where data, runs and results live, the data sets,
training a run once (skipped when its metrics are kept, resumed when interrupted), and number formatting.

Trained runs go to runs/results/..., each run's metrics.json is kept under results/ (committed, so the
report needs no checkpoint). Tests point RESULTS and RUNS at a temporary folder.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the repository: scripts/repro/common.py
sys.path.insert(0, str(ROOT))

from han.data.dataset import Dataset
from han.data.text import TextLimits
from han.nn.variants import PAPER_VARIANTS as VARIANTS  # the tables are Table 2's three models
from han.training.train import TrainConfig, train

DATA = ROOT.parent / "shared" / "data"


RUNS = ROOT / "runs" / "results"


RESULTS = ROOT / "results"


DOCS = ROOT / "docs"


SETS: dict[str, dict[str, Any]] = {
    "yelp": {
        "title": "Yelp (15,000 reviews, 1-5 stars)",
        "paths": [DATA / "yelp" / "yelp_10k.csv.gz", DATA / "yelp" / "yelp_open_5k.csv.gz"],
        "train": {"epochs": 8, "lrs": [0.1, 0.05], "patience": 3},
        "paper": ["Yelp 2013", "Yelp 2014", "Yelp 2015"],
    },
    "imdb": {
        "title": "aclImdb (50,000 reviews, ratings 1-4 and 7-10)",
        "paths": [DATA / "imdb" / "aclImdb_v1.tar.gz"],
        "train": {"epochs": 6, "lrs": [0.1, 0.05], "patience": 2},
        "paper": ["IMDB review"],
    },
}


def run_dir(name: str, variant: str, seed: int) -> Path:
    return RUNS / name / f"{variant}-seed{seed}"


def train_once(dataset: Dataset, cfg: TrainConfig, out: Path, kept: Path) -> None:
    """Train into `out` unless done (an interrupted run resumes); keep its metrics.json at `kept`."""
    if not kept.exists():
        if not (out / "metrics.json").exists():
            train(dataset, out, cfg, TextLimits(), resume=(out / ".resume").exists())
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text((out / "metrics.json").read_text())
    metrics = json.loads(kept.read_text())
    print(f"{kept.relative_to(ROOT)}: test {metrics['test_accuracy']:.4f}, dev {metrics['dev_accuracy']:.4f}")


def keep_metrics(name: str) -> None:
    """Copy each finished run's metrics.json to results/runs/ (committed; checkpoints are not)."""
    for path in sorted((RUNS / name).glob("*-seed*/metrics.json")):
        target = RESULTS / "runs" / name / f"{path.parent.name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())


def collect(name: str) -> dict[str, list[dict]]:
    """Metrics of every finished run of a set, per variant (from results/runs/)."""
    keep_metrics(name)
    found: dict[str, list[dict]] = {}
    for variant in VARIANTS:
        for path in sorted((RESULTS / "runs" / name).glob(f"{variant}-seed*.json")):
            found.setdefault(variant, []).append(json.loads(path.read_text()))
    return found


def mean_std(values: list[float]) -> str:
    if not values:
        return "not run"
    mean = 100 * statistics.mean(values)
    if len(values) == 1:
        return f"{mean:.1f} (one seed)"
    return f"{mean:.1f} ± {100 * statistics.stdev(values):.1f} (n={len(values)})"


def signed(points: float) -> str:
    """+1.2 / -0.3 / +0.0 (never -0.0)."""
    return f"{round(points, 1) + 0.0:+.1f}"


def pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + (items[-1] if items else "")


def paired_difference(
    gold: list[int], runs: list[dict], others: list[dict], resamples: int = 10_000
) -> tuple[float, float, float, float] | None:
    """Paired bootstrap over the test documents of `runs` minus `others` (seed i paired with seed i), using the
    test predictions kept in their metrics: (mean difference, 2.5th and 97.5th percentile in points, % of
    resamples in which `runs` is ahead). None when no pair has predictions for every test document."""
    import numpy as np

    truth = np.asarray(gold)
    pairs = [
        (a["test_predictions"], b["test_predictions"])
        for a, b in zip(runs, others, strict=False)
        if len(a.get("test_predictions", [])) == len(truth) == len(b.get("test_predictions", []))
    ]
    if not pairs:
        return None
    diff = np.mean([(np.asarray(a) == truth).astype(float) - (np.asarray(b) == truth) for a, b in pairs], axis=0)
    draws = np.random.default_rng(0).integers(0, len(truth), size=(resamples, len(truth)))  # the same for every pair
    boot = diff[draws].mean(axis=1)  # (resamples,)
    low, high = np.percentile(boot, [2.5, 97.5])
    return 100 * float(diff.mean()), 100 * float(low), 100 * float(high), 100 * float((boot > 0).mean())
