"""Issue 34's evidence: attention trained to be faithful (TaSc, the faithful loss, word dropout) beside HN-ATT.

    python scripts/reproduce.py faithful --set yelp --seeds 0 [--only tasc kl1]

Every setting trains with the default recipe on the same split and seed as the default recipe's HN-ATT; its
metrics go to results/runs/SET-faithful/SLUG-seedN.json, its faithfulness figures (`han faithfulness --data`'s
data-set figures, from the same functions) on the first TEST_LIMIT test and DEV_LIMIT dev reviews to
results/runs/SET-faithful/SLUG-seedN.faithfulness.json. The HN-ATT row of Yelp seed 0 is the shipped
assets/yelp/att (the default recipe, seed 0); other HN-ATT rows are trained. The default faithful setting is
chosen on the dev figures, never on test. One run at a time: give it OMP_NUM_THREADS=1 (or 2) on 2 cores.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import han
from han.data.dataset import Dataset, checkpoint_parts, read_dataset
from han.interpret.faithfulness import dataset_faithfulness
from han.training.recipes import recipe_config
from repro import common

SEEDS = [0]
TEST_LIMIT = 500  # test reviews measured per run (the target: at least 500)
DEV_LIMIT = 200  # dev reviews measured per run, what the default setting is chosen on
SETTINGS: list[tuple[str, str, dict[str, Any]]] = [
    ("att", "HN-ATT", {}),
    ("kl1", "faithful loss, grad-input, both levels, lambda 1", {"faithful_loss": 1.0}),
    ("tasc", "TaSc (linear, word level)", {"tasc": True}),
    ("wd0.2", "word dropout 0.2", {"word_dropout": 0.2}),
    ("kl5", "faithful loss, grad-input, both levels, lambda 5", {"faithful_loss": 5.0}),
    ("tasc-wd0.2", "TaSc + word dropout 0.2", {"tasc": True, "word_dropout": 0.2}),
    ("kl5-wd0.2", "faithful loss lambda 5 + word dropout 0.2", {"faithful_loss": 5.0, "word_dropout": 0.2}),
    ("kl5-tasc", "faithful loss lambda 5 + TaSc", {"faithful_loss": 5.0, "tasc": True}),
    ("per-class", "attention per class, separate readout", {"class_attention": "separate"}),
    ("evidence", "evidence attention (per class, scores = evidence)", {"class_attention": "evidence"}),
]


SHIPPED = {("yelp", "att"): "att", ("yelp", "evidence"): "att-faithful", ("imdb", "att"): "att"}  # assets/SET/FOLDER
SET_SETTINGS = {"imdb": {"max_vocab": 15000}}  # as the shipped aclImdb checkpoint was trained (train_demo.sh)


def shipped(name: str, slug: str, seed: int) -> Path | None:
    """The shipped checkpoint that is this run already (Yelp HN-ATT and HN-ATT (evidence): the default recipe,
    seed 0, scripts/train_demo.sh), if any."""
    folder = SHIPPED.get((name, slug))
    path = common.ROOT / "assets" / name / (folder or "-")
    return path if folder and seed == 0 and (path / "metrics.json").exists() else None


def trained(dataset: Dataset, name: str, slug: str, seed: int, change: dict[str, Any]) -> Path:
    """The checkpoint of one setting and seed: the shipped one where it is that run, else trained (or resumed) under
    runs/results/SET-faithful/; its metrics kept at results/runs/SET-faithful/SLUG-seedN.json either way."""
    kept = common.RESULTS / "runs" / f"{name}-faithful" / f"{slug}-seed{seed}.json"
    checkpoint = shipped(name, slug, seed)
    if checkpoint is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text((checkpoint / "metrics.json").read_text())
        return checkpoint
    checkpoint = common.RUNS / f"{name}-faithful" / f"{slug}-seed{seed}"
    cfg = recipe_config("default", seed=seed, progress=False, **(SET_SETTINGS.get(name, {}) | change))
    common.train_once(dataset, cfg, checkpoint, kept)
    return checkpoint


def run_faithful(sets: list[str], seeds: list[int], only: list[str] | None = None) -> None:
    """Train (or reuse) every setting, then measure it; runs whose figures are kept are skipped."""
    for name in sets:
        dataset = read_dataset(common.SETS[name]["paths"])
        for slug, _, change in SETTINGS:
            if only and slug not in only:
                continue
            for seed in seeds:
                folder = common.RESULTS / "runs" / f"{name}-faithful"
                checkpoint = trained(dataset, name, slug, seed, change)
                figures = folder / f"{slug}-seed{seed}.faithfulness.json"
                if not figures.exists():
                    figures.write_text(json.dumps(measure(checkpoint, dataset), indent=1) + "\n")
                print(f"{figures.relative_to(common.ROOT)}: {json.dumps(headline(json.loads(figures.read_text())))}")
        print("\n".join(table(name, seeds[0])))


def measure(checkpoint: Path, dataset: Dataset) -> dict:
    """The data-set faithfulness figures of `checkpoint` on the first reviews of its test and dev splits."""
    model = han.load(checkpoint)
    parts = checkpoint_parts(model.config, dataset, model.path)
    out: dict = {"checkpoint": str(checkpoint.relative_to(common.ROOT))}
    for split, limit in (("test", TEST_LIMIT), ("dev", DEV_LIMIT)):
        started = time.perf_counter()
        examples = [dataset.examples[i] for i in parts[split]]
        out[split] = dataset_faithfulness(model, examples, limit) | {"seconds": round(time.perf_counter() - started)}
    return out


def headline(figures: dict) -> dict[str, dict[str, float | None]]:
    """Per split: attention's and leave-one-out's word comprehensiveness, tau(attention, LOO), top-1 flips and
    the share of decisions uniform attention changes."""
    out = {}
    for split in ("dev", "test"):
        word = figures[split]["word"]
        flips = word["flips"]
        out[split] = {
            "n": figures[split]["n"],
            "attention_comprehensiveness": word["aopc"]["attention"]["comprehensiveness"],
            "loo_comprehensiveness": word["aopc"]["leave_one_out"]["comprehensiveness"],
            "ig_comprehensiveness": word["aopc"]["integrated_gradients"]["comprehensiveness"],
            "attention_sufficiency": word["aopc"]["attention"]["sufficiency"],
            "random_comprehensiveness": word["aopc"]["random"]["comprehensiveness"],
            "tau_attention_loo": word["kendall_tau"]["leave_one_out"],
            "top1_flips": flips["attention"]["top_item_flips"] if flips else None,
            "uniform_changed": figures[split]["counterfactual"].get("uniform_changed"),
            "accuracy": figures[split]["counterfactual"].get("accuracy"),
        }
    return out


def table(name: str = "yelp", seed: int = 0) -> list[str]:
    """A markdown table of every setting measured. HN-ATT's leave-one-out is the yardstick for every row: the
    issue's target is 0.8 of it."""
    folder = common.RESULTS / "runs" / f"{name}-faithful"
    base = folder / f"att-seed{seed}.faithfulness.json"
    att_loo = headline(json.loads(base.read_text()))["test"]["loo_comprehensiveness"] if base.exists() else None
    lines = [
        "| setting | dev % | test % | attention comp. (test) | own LOO comp. | attention / HN-ATT LOO "
        "| tau(att, LOO) | top-1 flips | uniform changes | dev: attention comp. | dev: tau | training s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for slug, label, _ in SETTINGS:
        metrics, figures = folder / f"{slug}-seed{seed}.json", folder / f"{slug}-seed{seed}.faithfulness.json"
        if not (metrics.exists() and figures.exists()):
            continue
        m, h = json.loads(metrics.read_text()), headline(json.loads(figures.read_text()))
        test, dev = h["test"], h["dev"]
        attention = test["attention_comprehensiveness"]
        share = f"{attention / att_loo:.2f}" if att_loo and attention is not None else "-"
        lines.append(
            f"| {label} | {100 * m['dev_accuracy']:.1f} | {100 * m['test_accuracy']:.1f} | "
            f"{test['attention_comprehensiveness']:.3f} | {test['loo_comprehensiveness']:.3f} | {share} | "
            f"{test['tau_attention_loo']:+.3f} | {test['top1_flips']:.1%} | {test['uniform_changed']:.1%} | "
            f"{dev['attention_comprehensiveness']:.3f} | {dev['tau_attention_loo']:+.3f} | {m['training_time_s']:.0f} |"
        )
    return lines


def section(name: str = "yelp", seed: int = 0) -> list[str]:
    """RESULTS.md's section: the table of the settings measured so far, and what it shows and does not."""
    rows = table(name, seed)
    if len(rows) <= 2:
        return []
    return [
        "### Every figure, seed 0 (Yelp-15k)",
        "",
        "`python scripts/reproduce.py faithful --set yelp --seeds 0`: the default recipe with one objective each "
        "(`--tasc`, `--faithful-loss 1` toward gradient x input with T 0.25 from epoch 2, `--word-dropout 0.2`, "
        "`--class-attention separate|evidence`), faithfulness on the first 500 test and 200 dev reviews; HN-ATT "
        "and evidence attention are the shipped `assets/yelp/att` and `assets/yelp/att-faithful`. "
        "Comprehensiveness is ERASER's, of the words each ordering ranks first; issue 34's target for attention is "
        "0.8 of HN-ATT's leave-one-out (0.8 x 0.396 = 0.32 on test) with test accuracy within 1 point of HN-ATT's. "
        "Training seconds were measured with other jobs sharing the 2 cores and are not comparable across rows.",
        "",
        *rows,
        "",
        "One seed each, so no row is a verdict. " + verdict(name, seed),
        "",
    ]


def verdict(name: str, seed: int) -> str:
    """Which settings meet issue 34's two headline targets on test (0.8 of HN-ATT's leave-one-out
    comprehensiveness, accuracy within 1 point of HN-ATT's), computed from the runs' files."""
    folder = common.RESULTS / "runs" / f"{name}-faithful"
    base, base_metrics = folder / f"att-seed{seed}.faithfulness.json", folder / f"att-seed{seed}.json"
    if not (base.exists() and base_metrics.exists()):
        return "HN-ATT's own run is missing: no target can be judged."
    loo = headline(json.loads(base.read_text()))["test"]["loo_comprehensiveness"]
    accuracy = json.loads(base_metrics.read_text())["test_accuracy"]
    met: list[str] = []
    closest: list[str] = []
    for slug, label, _ in SETTINGS:
        metrics, figures = folder / f"{slug}-seed{seed}.json", folder / f"{slug}-seed{seed}.faithfulness.json"
        if slug == "att" or not (metrics.exists() and figures.exists()):
            continue
        attention = headline(json.loads(figures.read_text()))["test"]["attention_comprehensiveness"]
        if attention is None or not loo:
            continue
        share = attention / loo
        drop = 100 * (accuracy - json.loads(metrics.read_text())["test_accuracy"])
        (met if share >= 0.8 and drop <= 1 else closest).append(f"{label} ({share:.2f} of it, {drop:+.1f} points)")
    if met:
        return "Meeting both targets on test: " + "; ".join(met) + "."
    return (
        "No setting meets both targets on test (attention comprehensiveness as a share of HN-ATT's leave-one-out, "
        "and accuracy below HN-ATT's): " + "; ".join(closest) + ". So none is the default recipe's; evidence "
        "attention is shipped as `assets/yelp/att-faithful` for what its heatmap carries, its accuracy cost said "
        "beside it."
    )
