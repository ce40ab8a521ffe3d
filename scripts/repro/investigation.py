"""Why is HN-ATT (paper recipe) not ahead on Yelp? One setting changed at a time, a paired bootstrap
over the test reviews, and the per-epoch curves; every sentence of the reading computed from the runs.
"""

from __future__ import annotations

import itertools
import json
import statistics
from pathlib import Path
from typing import Any

import han
from han import paper
from han.data.dataset import assign_splits, read_dataset
from han.nn.variants import PAPER_VARIANTS as VARIANTS  # the tables are Table 2's three models
from han.training.recipes import recipe_config
from repro import common
from repro.common import _and, collect, pct, signed, train_once

# The Yelp investigation: each experiment changes one thing of the main runs' settings (lr grid
# replaced by lr 0.1, which the grid chose in every HN-ATT and HN-AVE main run) for HN-ATT and HN-AVE.


INVESTIGATION: list[tuple[str, str, dict]] = [
    ("split-1", "test sample: split seed 1 (another 80/10/10 of the same reviews)", {"split_seed": 1}),
    ("split-2", "test sample: split seed 2", {"split_seed": 2}),
    ("lr-0.2", "learning rate 0.2 (0.1, the top of the grid, won 8 of 9 main runs)", {"lrs": [0.2]}),
    ("vocab-gt2", "vocabulary: words seen more than 2 times (paper: more than 5)", {"min_count": 3}),
    ("w2v-20", "embeddings: 20 word2vec passes instead of 5 over the small corpus", {"w2v_epochs": 20}),
    ("train-25", "data size: a seeded 25% of the train split (same dev and test)", {"train_fraction": 0.25}),
    ("train-50", "data size: a seeded 50% of the train split (same dev and test)", {"train_fraction": 0.5}),
]


INVESTIGATED = ["att", "ave"]


def investigate(seeds: list[int], only: list[str] | None = None) -> None:
    """Train HN-ATT and HN-AVE on Yelp with one setting changed at a time (see INVESTIGATION)."""
    spec = common.SETS["yelp"]
    dataset = read_dataset(spec["paths"])
    for slug, _, change in INVESTIGATION:
        if only and slug not in only:
            continue
        for seed in seeds:
            for variant in INVESTIGATED:
                out = common.ROOT / "runs" / "investigate" / slug / f"{variant}-seed{seed}"
                settings = spec["train"] | {"lrs": [0.1]} | change  # split seed 0 unless the change sets one
                cfg = recipe_config("paper", variant=variant, seed=seed, progress=False, **settings)
                train_once(dataset, cfg, out, common.RESULTS / "investigate" / slug / f"{out.name}.json")


def paired(name: str = "yelp", resamples: int = 10_000) -> None:
    """Paired bootstrap over the test documents of HN-ATT minus each other variant, same seeds.

    Needs the main runs' checkpoints; writes their test predictions and the intervals to
    results/paired-NAME.json so the report needs no checkpoint.
    """
    import numpy as np

    dataset = read_dataset(common.SETS[name]["paths"], with_unlabelled=False)
    parts, _ = assign_splits(dataset.examples, 0)
    test = [dataset.examples[i] for i in parts["test"]]
    gold = np.array([e.label for e in test])
    correct: dict[str, dict[int, list[int]]] = {}
    for path in sorted((common.RUNS / name).glob("*-seed*/metrics.json")):
        model = han.load(path.parent)
        if model.split_seed != 0:
            continue
        variant, seed = path.parent.name.split("-seed")
        predicted = np.array(model.predict_examples(test), dtype=object)
        correct.setdefault(variant, {})[int(seed)] = (predicted == gold).astype(int).tolist()
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(test), size=(resamples, len(test)))  # the same resamples for every pair
    result: dict = {"test_documents": len(test), "resamples": resamples, "correct": correct, "pairs": {}}
    for other in ("ave", "max"):
        seeds = sorted(set(correct.get("att", {})) & set(correct.get(other, {})))
        if not seeds:
            continue
        diff = np.mean([np.array(correct["att"][s]) - np.array(correct[other][s]) for s in seeds], axis=0)  # (n_test,)
        boot = diff[draws].mean(axis=1)  # (resamples,)
        result["pairs"][other] = {
            "seeds": seeds,
            "difference": float(diff.mean()),
            "ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
            "share_att_ahead": float((boot > 0).mean()),
        }
    (common.RESULTS / f"paired-{name}.json").write_text(json.dumps(result) + "\n")
    print(json.dumps(result["pairs"], indent=2))


def paired_lines() -> list[str]:
    path = common.RESULTS / "paired-yelp.json"
    if not path.exists():
        return []
    result = json.loads(path.read_text())
    lines = [
        "### 1. Is the gap larger than the test sample's noise?",
        "",
        f"Paired bootstrap over the {result['test_documents']:,} test reviews ({result['resamples']:,} resamples; "
        "per resample, HN-ATT's accuracy minus the other's, averaged over the seeds; `reproduce.py paired`):",
        "",
        "| comparison | seeds | difference (points) | 95% interval | resamples with HN-ATT ahead |",
        "|---|---|---|---|---|",
    ]
    for other, pair in result["pairs"].items():
        low, high = pair["ci95"]
        lines.append(
            f"| HN-ATT - {VARIANTS[other]} | {len(pair['seeds'])} | {signed(100 * pair['difference'])} | "
            f"{signed(100 * low)} to {signed(100 * high)} | {100 * pair['share_att_ahead']:.0f}% |"
        )
    return [*lines, ""]


def epoch_lines(runs: dict[str, list[dict]], lr: float = 0.1) -> list[str]:
    """Mean dev (and train) accuracy after each epoch at one learning rate, over the main runs' seeds."""
    lines = [
        f"### 2. Epochs: accuracy after each epoch at lr {lr:g} (main runs, mean over seeds)",
        "",
        "| model | " + " | ".join(f"epoch {e}" for e in range(1, common.SETS["yelp"]["train"]["epochs"] + 1)) + " |",
        "|---|" + "---|" * common.SETS["yelp"]["train"]["epochs"],
    ]
    for variant, metrics in runs.items():
        for key, what in (("dev_accuracy", "dev"), ("train_accuracy", "train")):
            curves = [[h[key] for h in m["history"] if h["lr"] == lr] for m in metrics]
            cells = [
                f"{pct(statistics.mean(values))}" + ("" if len(values) == len(curves) else f" (n={len(values)})")
                for values in _columns(curves)
            ]
            lines.append(f"| {VARIANTS[variant]} {what} | " + " | ".join(cells) + " |")
    return [
        *lines,
        "",
        "A run stops an lr after 3 epochs without dev gain, so late epochs may average fewer seeds (n).",
        "",
    ]


def _columns(curves: list[list[float]]) -> list[list[float]]:
    longest = max((len(c) for c in curves), default=0)
    return [[c[i] for c in curves if i < len(c)] for i in range(longest)]


def experiment_results() -> dict[str, dict[str, Any]]:
    """slug -> variant -> metrics (None if not run), the main runs' seed 0 first as "main"."""

    def read(path: Path) -> dict | None:
        return json.loads(path.read_text()) if path.exists() else None

    found = {"main": {v: read(common.RESULTS / "runs" / "yelp" / f"{v}-seed0.json") for v in INVESTIGATED}}
    for slug, _, _ in INVESTIGATION:
        found[slug] = {v: read(common.RESULTS / "investigate" / slug / f"{v}-seed0.json") for v in INVESTIGATED}
    return found


def gap(pair: dict[str, dict | None]) -> float | None:
    """HN-ATT minus HN-AVE test accuracy, in points."""
    if not pair["att"] or not pair["ave"]:
        return None
    return 100 * (pair["att"]["test_accuracy"] - pair["ave"]["test_accuracy"])


def experiment_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """One row per experiment: HN-ATT and HN-AVE, seed 0."""
    what = {"main": "main settings (lr 0.1, split seed 0)"} | {slug: text for slug, text, _ in INVESTIGATION}
    lines = [
        "### 3. One change at a time (HN-ATT and HN-AVE, seed 0; `reproduce.py investigate`)",
        "",
        "Each row changes one setting of the main runs and trains with lr 0.1 (the rate the grid chose in every "
        "main HN-ATT and HN-AVE run, so the first row is those runs).",
        "",
        "| experiment | HN-ATT test | HN-AVE test | HN-ATT - HN-AVE | HN-ATT dev | HN-AVE dev | best epoch ATT / AVE |",
        "|---|---|---|---|---|---|---|",
    ]
    for slug, pair in results.items():
        att, ave = pair["att"], pair["ave"]
        difference = gap(pair)
        if difference is None:
            lines.append(
                f"| {what[slug]} | "
                + " | ".join(pct(m["test_accuracy"]) if m else "not run" for m in (att, ave))
                + " | - | - | - | - |"
            )
            continue
        lines.append(
            f"| {what[slug]} | {pct(att['test_accuracy'])} | {pct(ave['test_accuracy'])} | {signed(difference)} | "
            f"{pct(att['dev_accuracy'])} | {pct(ave['dev_accuracy'])} | "
            f"{att['best_epoch']} / {ave['best_epoch']} |"
        )
    return [*lines, ""]


def investigation_section() -> list[str]:
    runs = collect("yelp")
    if "att" not in runs:
        return []
    results = experiment_results()
    lines = [
        "## Why is HN-ATT not ahead on Yelp?",
        "",
        "HN-ATT has the best dev accuracy of the three variants but not the best test accuracy. Three checks:",
        "",
    ]
    lines += paired_lines() + epoch_lines(runs) + experiment_lines(results)
    return lines + investigation_reading(runs, results)


def _other_splits(results: dict[str, dict[str, Any]]) -> str:
    """Dev minus test per variant on the other splits, as a clause for the reading."""
    parts = []
    for v in INVESTIGATED:
        values = [
            pair[v]["dev_accuracy"] - pair[v]["test_accuracy"]
            for slug, pair in results.items()
            if slug.startswith("split-") and pair[v]
        ]
        if values:
            parts.append(f"{VARIANTS[v]} {' and '.join(signed(100 * x) for x in values)}")
    return f" (on splits 1 and 2, dev minus test is {_and(parts)})" if parts else ""


def investigation_reading(runs: dict[str, list[dict]], results: dict[str, dict[str, Any]]) -> list[str]:
    """What the three checks say, with every number computed from the runs."""
    gaps = {slug: g for slug, pair in results.items() if (g := gap(pair)) is not None}
    if "main" not in gaps:
        return []
    lines = ["### What the checks say", ""]
    splits = [gaps[s] for s in ("main", "split-1", "split-2") if s in gaps]
    low, high = min(splits), max(splits)
    if len(splits) > 1:
        lines.append(
            f"- **Test sample.** With the same model seed on {len(splits)} different 80/10/10 splits of the "
            "same reviews, HN-ATT minus HN-AVE on test is "
            + ", ".join(signed(g) for g in splits)
            + " points"
            + (": the sign depends on which 1,500 reviews form the test set." if low < 0 < high else ".")
        )
    best = {v: statistics.mean(m["best_epoch"] for m in runs[v]) for v in INVESTIGATED if runs.get(v)}
    if len(best) == len(INVESTIGATED):
        epochs = common.SETS["yelp"]["train"]["epochs"]
        lines.append(
            f"- **Epochs.** HN-ATT reaches its best dev accuracy at epoch {best['att']:.1f} on average and "
            f"HN-AVE at {best['ave']:.1f} (of {epochs}); after its peak HN-ATT's training accuracy keeps "
            "rising while dev does not, so it is not short of epochs."
            + (
                " HN-AVE peaks near the end of the budget, so more epochs would, if anything, help HN-AVE."
                if best["ave"] >= epochs - 1
                else ""
            )
        )
    named = {
        "lr-0.2": "learning rate 0.2",
        "vocab-gt2": "a larger vocabulary",
        "w2v-20": "longer word2vec training",
        "train-25": "25% of the training data",
        "train-50": "50% of the training data",
    }
    moved = {slug: gaps[slug] for slug in named if slug in gaps}
    outside = []
    if moved and len(splits) > 1:
        inside = [named[s] for s, g in moved.items() if low <= g <= high]
        outside = [f"{named[s]} ({signed(g)})" for s, g in moved.items() if not low <= g <= high]
        lines.append(
            f"- **Settings.** With {_and(inside) or 'none of the changes'}, the gap stays within the "
            f"range the test sample alone produces ({signed(low)} to {signed(high)})"
            + (f"; outside it: {', '.join(outside)}." if outside else ".")
        )
    optimism = {
        v: [m["dev_accuracy"] - m["test_accuracy"] for m in runs.get(v, [])]
        + [
            pair[v]["dev_accuracy"] - pair[v]["test_accuracy"]
            for slug, pair in results.items()
            if slug != "main" and pair[v]
        ]
        for v in INVESTIGATED
    }
    if all(optimism.values()):
        lines.append(
            "- **Dev against test.** Over every HN-ATT and HN-AVE run above (main runs, all seeds, and the "
            "experiments), dev accuracy exceeds test accuracy by "
            + _and(
                [f"{signed(100 * statistics.mean(values))} points for {VARIANTS[v]}" for v, values in optimism.items()]
            )
            + " on average. Two readings fit: the epoch kept is the best on dev, and HN-ATT's curve "
            "peaks early and falls back as it overfits, so that pick flatters it more; or split 0's dev "
            "set happens to suit HN-ATT, since most of these runs share it" + _other_splits(results) + "."
        )
    sizes = [
        (label, gaps[slug])
        for slug, label in (("train-25", "25%"), ("train-50", "50%"), ("main", "100%"))
        if slug in gaps
    ]
    if len(sizes) > 1:
        lines.append(
            f"- **Data size.** HN-ATT minus HN-AVE when trained on {_and([label for label, _ in sizes])} "
            f"of the 12,000 training reviews: {_and([signed(g) for _, g in sizes])} points"
            + (
                "; HN-ATT's deficit shrinks as the training set grows, the direction the paper's far larger "
                "sets point to, though by less than the test sample moves it."
                if all(a < b for (_, a), (_, b) in itertools.pairwise(sizes)) and sizes[-1][1] < 0
                else "."
            )
        )
    return [*lines, "", *conclusion(outside)]


def conclusion(outside: list[str]) -> list[str]:
    """The judgement drawn from the checks above (the paper's lead is read from han/paper.py)."""
    if outside:
        return [
            f"**Conclusion.** {_and(outside)} moved the HN-ATT - HN-AVE gap beyond what the test sample alone "
            "does; train more seeds of those settings before reading it as an effect.",
            "",
        ]
    leads = [_reference("HN-ATT", d) - _reference("HN-AVE", d) for d in common.SETS["yelp"]["paper"]]
    return [
        "**Conclusion.** None of the things the issue names (embeddings, learning rate, epochs, vocabulary), nor",
        "training size, puts HN-ATT ahead of HN-AVE by more than a change of test sample alone moves the difference.",
        "On 12,000 training reviews the three pooling schemes are within noise of each other on test, with HN-ATT",
        f"best on dev. The paper's lead of HN-ATT over HN-AVE on Yelp ({min(leads):.1f}-{max(leads):.1f} points; its",
        "HN-AVE row is not cross-checked) was measured on test sets of 33k-113k reviews; ours has 1,500, where one",
        "standard error of an accuracy is about 1.3 points and the HN-ATT - HN-AVE difference moves by several",
        "points from one split to another, so a lead of that size cannot be resolved here. We report the tie rather",
        "than tune HN-ATT on test. Seeing the paper's ordering on Yelp would need far more reviews than the 15,000",
        "in `../shared/data` (or many splits averaged).",
        "",
    ]


def _reference(model: str, dataset: str) -> float:
    """The paper's figure, which Table 2 has for every model on the Yelp sets."""
    value = paper.reference(model, dataset)
    assert value is not None, (model, dataset)
    return value
