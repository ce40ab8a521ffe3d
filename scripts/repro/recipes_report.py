"""RESULTS.md sections of the training-recipe study (scripts/repro_recipes.py runs it): the default recipe
against the paper's, how the default was chosen, the recipe table, the learning curve and the first run.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from han.data.dataset import assign_splits, read_dataset
from han.nn.variants import PAPER_VARIANTS as VARIANTS  # the tables are Table 2's three models
from han.training.recipes import RECIPES, WORD2VEC_FROM_DOCUMENTS
from repro import common
from repro.common import mean_std, paired_difference, pct
from repro.recipes import (
    CURVE_RECIPES,
    CURVE_SIZES,
    EXPLORE,
    EXPLORE_SMALL,
    EXPLORE_START,
    RECIPE_ROWS,
)
from repro.search_report import (
    cell,
    imdb_labelled_lines,
    imdb_search_lines,
    runs_in,
    yelp_default_search_lines,
    yelp_vectors_lines,
)


def default_lines() -> list[str]:
    """The default recipe's main table, beside the paper recipe's (Table 2 reproduction) and TF-IDF."""
    lines = ["## Default recipe against the paper's", ""]
    for name, spec in common.SETS.items():
        default = {v: runs_in(common.RESULTS / "runs" / f"{name}-default", f"{v}-seed*.json") for v in VARIANTS}
        if not any(default.values()):
            continue
        paper = common.collect(name)
        lines += [
            f"### {spec['title']}",
            "",
            "| model | default recipe: test % | default: dev % | paper recipe: test % | paper: dev % |",
            "|---|---|---|---|---|",
        ]
        for variant, model in VARIANTS.items():
            runs, old = default[variant], paper.get(variant, [])
            lines.append(
                f"| {model} | {cell(runs, 'test_accuracy')} | {cell(runs, 'dev_accuracy')} | "
                f"{cell(old, 'test_accuracy')} | {cell(old, 'dev_accuracy')} |"
            )
        baselines = common.RESULTS / f"baselines-{name}.json"
        tfidf = json.loads(baselines.read_text())["tfidf_logreg"]["test"] if baselines.exists() else None
        lines += ["", *default_target(name, default, tfidf), *paired_lines(name, default), ""]
        lines += (
            imdb_search_lines() + imdb_labelled_lines()
            if name == "imdb"
            else yelp_vectors_lines() + yelp_default_search_lines()
        )
    return lines if len(lines) > 2 else []


def paired_lines(name: str, runs: dict[str, list[dict]], resamples: int = 10_000) -> list[str]:
    """Paired bootstrap over the test documents of HN-ATT minus each other variant (test predictions kept in
    metrics.json, gold labels re-made from the data), averaged over the seeds both have."""
    if not any("test_predictions" in m for m in runs.get("att", [])):
        return []
    dataset = read_dataset(common.SETS[name]["paths"], with_unlabelled=False)
    parts, _ = assign_splits(dataset.examples, 0)
    gold = [dataset.labels.index(dataset.examples[i].label) for i in parts["test"]]
    out = []
    for other in ("ave", "max"):
        found = paired_difference(gold, runs["att"], runs.get(other, []), resamples)
        if found is None:
            continue
        mean, low, high, ahead = found
        pairs = min(len(runs["att"]), len(runs.get(other, [])))
        out.append(
            f"Paired bootstrap over the {len(gold):,} test reviews ({resamples:,} resamples, {pairs} "
            f"seed pair(s)): HN-ATT - {VARIANTS[other]} {mean:+.1f} points, 95% interval "
            f"{low:+.1f} to {high:+.1f}; HN-ATT ahead in {ahead:.0f}% of resamples."
        )
    return ["", *out] if out else []


TARGETS = {"yelp": 0.600, "imdb": 0.502}  # issue: Yelp-15k HN-ATT >= 60.0; aclImdb >= 50.2 (the paper recipe's)


def default_target(name: str, runs: dict[str, list[dict]], tfidf: float | None) -> list[str]:
    """The issue's target for the default recipe, checked on the mean test accuracy over the seeds run."""
    means = {v: statistics.mean(m["test_accuracy"] for m in r) for v, r in runs.items() if r}
    if "att" not in means:
        return []
    att, seeds = means["att"], len(runs["att"])
    others = {VARIANTS[v]: m for v, m in means.items() if v != "att"} | ({"TF-IDF + LR": tfidf} if tfidf else {})
    behind = [o for o, m in others.items() if m > att]
    met = att >= TARGETS[name] and not behind
    return [
        f"Target (HN-ATT at least {pct(TARGETS[name])} and ahead of the others, mean test accuracy): "
        f"{'met' if met else 'not met'}: HN-ATT {pct(att)} over {seeds} seed(s); "
        + ", ".join(f"{o} {pct(m)}" for o, m in others.items())
        + "."
    ]


def explore_lines() -> list[str]:
    """The search for the default recipe, dev accuracy first (test shown, not used to choose)."""
    found = [
        (what, json.loads(p.read_text()))
        for slug, what, _ in EXPLORE
        if (p := common.RESULTS / "explore" / slug / "att-seed0.json").exists()
    ]
    if not found:
        return []
    lines = [
        "### How the default was chosen",
        "",
        f"HN-ATT on Yelp-15k, seed 0, one change at a time from a starting point ({describe(EXPLORE_START)}, "
        'batch 64); dev accuracy decided (see "The choice" below).',
        "",
        "| change | dev % | test % | best epoch | dev % after each epoch |",
        "|---|---|---|---|---|",
    ]
    for what, m in found:
        curve = " ".join(pct(h["dev_accuracy"]) for h in m["history"])
        lines.append(f"| {what} | {pct(m['dev_accuracy'])} | {pct(m['test_accuracy'])} | {m['best_epoch']} | {curve} |")
    small = [
        (what, json.loads(p.read_text()))
        for slug, what, _ in EXPLORE_SMALL
        if (p := common.RESULTS / "explore-small" / slug / "att-seed0.json").exists()
    ]
    if small:
        lines += [
            "",
            "The same changes on a first run (the first 3,000 yelp_10k reviews, 3 epochs; dev = 300 "
            "reviews, so one standard error is about 2.9 points):",
            "",
            "| change | dev % | dev % after each epoch |",
            "|---|---|---|",
        ]
        lines += [
            f"| {what} | {pct(m['dev_accuracy'])} | {' '.join(pct(h['dev_accuracy']) for h in m['history'])} |"
            for what, m in small
        ]
    return [*lines, *choice_lines(), ""]


def choice_lines() -> list[str]:
    """Why the default is what it is, with the numbers read from the search's runs."""

    def dev(folder: str, slug: str) -> float | None:
        path = common.RESULTS / folder / slug / "att-seed0.json"
        return json.loads(path.read_text())["dev_accuracy"] if path.exists() else None

    found = [dev(folder, slug) for slug in ("glove", "glove_b32") for folder in ("explore", "explore-small")]
    if None in found:
        return []
    big64, small64, big32, small32 = (float(v or 0) for v in found)
    return [
        "",
        f"**The choice.** GloVe vectors helped most on Yelp-15k dev. With them, batch 64 had the best dev "
        f"accuracy ({pct(big64)}, against {pct(big32)} for batch 32: within one standard error of a 1,500-review "
        f"dev set, about 1.3 points); on the 3,000-review first run batch 32 was ahead ({pct(small32)} against "
        f"{pct(small64)}, also within noise) with twice the updates per epoch. We chose batch 32, for first runs "
        "on small data. In fairness: the search printed test accuracies too (the Yelp-15k ones are in the table "
        "above; for the first runs, their yelp_open_5k accuracy), and we saw them, so neither is a blind test of "
        "the search; the choices followed dev accuracy.",
    ]


def recipe_lines() -> list[str]:
    """Yelp-15k: the paper recipe, the default, and each change alone (HN-ATT and HN-AVE)."""
    rows = [
        ("paper", "paper recipe (SGD, lr grid 0.1/0.05, word2vec 200-d, no dropout)", common.collect("yelp")),
        (
            "default",
            "default recipe (" + describe(RECIPES["default"]) + ")",
            {v: runs_in(common.RESULTS / "runs" / "yelp-default", f"{v}-seed*.json") for v in ("att", "ave")},
        ),
    ]
    rows += [
        (slug, what, {v: runs_in(common.RESULTS / "recipes" / slug, f"{v}-seed*.json") for v in ("att", "ave")})
        for slug, what, _ in RECIPE_ROWS
    ]
    if not any(runs.get("att") for _, _, runs in rows[1:]):
        return ["## Training recipe (Yelp-15k)", "", *explore_lines()] if explore_lines() else []
    lines = [
        "## Training recipe (Yelp-15k)",
        "",
        "| recipe | HN-ATT test % | HN-ATT dev % | HN-AVE test % | HN-AVE dev % |",
        "|---|---|---|---|---|",
    ]
    for _, what, runs in rows:
        att, ave = runs.get("att", []), runs.get("ave", [])
        lines.append(
            f"| {what} | {cell(att, 'test_accuracy')} | {cell(att, 'dev_accuracy')} | "
            f"{cell(ave, 'test_accuracy')} | {cell(ave, 'dev_accuracy')} |"
        )
    note = "Rows 3 onwards train with lr 0.1 only (the paper recipe's grid chose it in 8 of 9 runs)."
    return [*lines, "", note, *recipe_reading(rows), "", *explore_lines()]


def recipe_reading(rows: list[tuple[str, str, dict[str, list[dict]]]]) -> list[str]:
    """Each row's HN-ATT mean test accuracy minus the paper recipe's, in one sentence."""
    means = {
        slug: statistics.mean(m["test_accuracy"] for m in runs["att"]) for slug, _, runs in rows if runs.get("att")
    }
    if "paper" not in means or len(means) < 3:
        return []
    names = {"default": "the default recipe (all of them, with GloVe)", "paper+optimizer": "Adam (lr 2e-3, 6 epochs)",
             "paper+dropout": "dropout", "paper+glove": "GloVe", "paper+cosine": "a cosine schedule"}  # fmt: skip
    changes = [
        f"{names.get(slug, slug)} {100 * (m - means['paper']):+.1f}" for slug, m in means.items() if slug != "paper"
    ]
    gains = {slug: 100 * (m - means["paper"]) for slug, m in means.items()}
    alone = [gains[s] for s in ("paper+optimizer", "paper+dropout", "paper+cosine") if s in gains]
    reading = []
    if len(alone) == 3 and max(alone) - min(alone) <= 0.5:
        reading.append("the optimizer, dropout and schedule are each worth about as much alone")
    if gains.get("paper+glove", 0) < 0 < gains.get("default", 0):
        reading.append(
            "GloVe's 50-d vectors cost accuracy under SGD at lr 0.1, while with Adam they were the search's best "
            "change (below)"
        )
    return [
        "",
        f"HN-ATT's mean test accuracy against the paper recipe's, in points: {', '.join(changes)}"
        + (f". Read: {'; '.join(reading)}." if reading else "."),
    ]


def describe(settings: dict[str, Any]) -> str:
    """A recipe in a few words, from its settings."""
    epochs = settings["epochs"] or "6 (8 with frozen word2vec)"  # None: as `--embeddings auto` decides
    parts = [f"{settings['optimizer']} lr {_lrs(settings['lrs'])}", f"{epochs} epochs"]
    if settings["dropout"]:
        parts.append(f"dropout {settings['dropout']:g} at {', '.join(settings['dropout_at'])}")
    if settings["lr_schedule"] != "constant":
        parts.append(f"{settings['lr_schedule']} schedule")
    if settings["label_smoothing"]:
        parts.append(f"label smoothing {settings['label_smoothing']:g}")
    if settings.get("ema"):  # absent from the settings of runs made before --ema
        parts.append(f"weights averaged (decay {settings['ema']:g} per step)")
    if settings["embeddings"] == "auto":
        parts.append(f"GloVe 6B 50-d below {WORD2VEC_FROM_DOCUMENTS:,} in-domain documents, else word2vec 200-d frozen")
    else:
        parts.append(settings["embeddings"] + (" frozen" if settings["freeze_embeddings"] else ""))
    return ", ".join(parts)


def _lrs(values: list[float]) -> str:
    return "/".join(f"{v:g}" for v in values)


def curve_lines() -> list[str]:
    tfidf_path = common.RESULTS / "curve" / "tfidf.json"
    tfidf = json.loads(tfidf_path.read_text()) if tfidf_path.exists() else {}
    if not tfidf and not (common.RESULTS / "curve").is_dir():
        return []
    lines = [
        "## Learning curve (yelp_10k; second test: yelp_open_5k, never trained on)",
        "",
        "| training reviews | model | yelp_10k test % | yelp_open_5k % |",
        "|---|---|---|---|",
    ]
    for size in CURVE_SIZES:
        for recipe in CURVE_RECIPES:
            runs = runs_in(common.RESULTS / "curve" / f"{recipe}-{size}", "att-seed*.json")
            lines.append(
                f"| {size:,} | HN-ATT, {recipe} recipe | {cell(runs, 'test_accuracy')} | "
                f"{cell(runs, 'open5k_accuracy')} |"
            )
        if str(size) in tfidf:
            t = tfidf[str(size)]
            lines.append(f"| {size:,} | TF-IDF + LR | {pct(t['test'])} | {pct(t['extra_test'])} |")
    return [*lines, "", *curve_reading(tfidf), ""]


def curve_reading(tfidf: dict) -> list[str]:
    """HN-ATT default minus the paper recipe and minus TF-IDF at each size, on both tests (points of the means)."""

    def mean(recipe: str, size: int, key: str) -> float | None:
        runs = runs_in(common.RESULTS / "curve" / f"{recipe}-{size}", "att-seed*.json")
        return 100 * statistics.mean(m[key] for m in runs) if runs else None

    parts = []
    for size in CURVE_SIZES:
        gaps = []
        for key, extra in (("test_accuracy", "test"), ("open5k_accuracy", "extra_test")):
            default, paper = mean("default", size, key), mean("paper", size, key)
            versus_paper = f"{default - paper:+.1f}" if default is not None and paper is not None else "-"
            base = tfidf.get(str(size), {}).get(extra)
            versus_tfidf = f"{default - 100 * base:+.1f}" if default is not None and base is not None else "-"
            gaps.append(f"{versus_paper} / {versus_tfidf}")
        parts.append(f"{size:,}: {gaps[0]} on yelp_10k, {gaps[1]} on yelp_open_5k")
    return [
        "The default recipe's HN-ATT minus the paper recipe's / minus TF-IDF + LR, in points of the means: "
        + "; ".join(parts)
        + "."
    ]


def small_lines() -> list[str]:
    runs = runs_in(common.RESULTS / "small", "att-seed*.json")
    tfidf_path = common.RESULTS / "small" / "tfidf.json"
    if not runs or not tfidf_path.exists():
        return []
    tfidf = json.loads(tfidf_path.read_text())
    open5k = [m["open5k_accuracy"] for m in runs]
    collapsed = sum(bool(m.get("collapsed")) for m in runs)
    worst = min(open5k)
    verdict = "met" if worst >= tfidf["extra_test"] and not collapsed else "not met"
    return [
        "## A first run on 3,000 reviews (HN-ATT, default recipe, 3 epochs)",
        "",
        f"Trained on the first 3,000 reviews of yelp_10k (split 80/10/10), tested on all 5,000 yelp_open_5k "
        f"reviews: HN-ATT {mean_std(open5k)} over {len(runs)} seeds (lowest {pct(worst)}), {collapsed} collapsed; "
        f"TF-IDF + LR on the same reviews {pct(tfidf['extra_test'])}. Target (every seed at least TF-IDF, none "
        f"collapsed): {verdict}.",
        "",
    ]


def section() -> list[str]:
    return default_lines() + recipe_lines() + curve_lines() + small_lines()
