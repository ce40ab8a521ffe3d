"""Faithfulness of every shipped checkpoint: computed into assets/*/*/faithfulness.json, read back for RESULTS.md.

    python scripts/reproduce.py faithfulness      # each shipped checkpoint's test split, first 1,000 (CAHAN: 300)

Every sentence of the reading is computed from the figures, so it follows them when they change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from han.checkpoint.io import discover
from han.interpret.polarity import RATIO
from han.interpret.report import METHOD_NAMES
from repro import common
from repro.common import _and

LIMIT = 1000
CAHAN_LIMIT = 300  # CAHAN's leave-one-out re-reads whole documents (~3 s a review): as scripts/train_demo.sh
SHIPPED = {"yelp": "Yelp", "imdb": "aclImdb"}


def shipped() -> list[tuple[str, Path]]:
    """(set name, checkpoint folder) of every shipped checkpoint, in Table 2's order within a set."""
    return [(name, path) for name in SHIPPED for path in discover(common.ROOT / "assets" / name).values()]


def run_faithfulness(limit: int = LIMIT) -> None:
    """`han faithfulness --data` on each shipped checkpoint's own test split (its recorded data)."""
    for name, path in shipped():
        data = [str(p) for p in common.SETS[name]["paths"]]
        variant = json.loads((path / "config.json").read_text())["model"]["variant"]
        command = [
            sys.executable,
            "-m",
            "han",
            "faithfulness",
            "--checkpoint",
            str(path),
            "--data",
            *data,
            "--limit",
            str(min(limit, CAHAN_LIMIT) if variant == "cahan" else limit),
            "--out",
            str(path / "faithfulness.json"),
            "--overwrite",  # the figures of the retrained weights replace the old ones
        ]
        print(" ".join(command), flush=True)
        subprocess.run(command, cwd=common.ROOT, check=True, stdout=subprocess.DEVNULL)


def _rank(aopc: dict, ordering: str, key: str, reverse: bool) -> int:
    ordered = sorted(aopc, key=lambda o: aopc[o][key], reverse=reverse)
    return ordered.index(ordering) + 1


def reading(figures: dict) -> list[str]:
    """Plain-language sentences about how far this model's attention can be trusted."""
    word, sentence = figures["word"], figures["sentence"]
    aopc = word["aopc"]
    n = len(aopc)
    att = aopc["attention"]
    lines = [
        f"- **Erasure (words).** Removing the words attention ranks highest lowers p(predicted class) by "
        f"{att['comprehensiveness']:.3f} on average over the bins (AOPC comprehensiveness; rank "
        f"{_rank(aopc, 'attention', 'comprehensiveness', True)} of {n}, "
        f"random {aopc['random']['comprehensiveness']:.3f}, "
        f"leave-one-out {aopc['leave_one_out']['comprehensiveness']:.3f}, integrated gradients "
        f"{aopc['integrated_gradients']['comprehensiveness']:.3f}); keeping only them leaves a drop of "
        f"{att['sufficiency']:.3f} (sufficiency, lower is better; rank {_rank(aopc, 'attention', 'sufficiency', False)}"
        f" of {n}, random {aopc['random']['sufficiency']:.3f}).",
    ]
    s_aopc = sentence["aopc"]
    lines.append(
        f"- **Erasure (sentences).** The top 1-3 sentences by attention: comprehensiveness "
        f"{s_aopc['attention']['comprehensiveness']:.3f} (rank {_rank(s_aopc, 'attention', 'comprehensiveness', True)} "
        f"of {n}; random {s_aopc['random']['comprehensiveness']:.3f})."
    )
    tau = word["kendall_tau"]
    lines.append(
        "- **Agreement.** Mean Kendall τ between attention's word ranking and "
        + _and([f"{METHOD_NAMES[m]} {_tau(tau[m])}" for m in tau])
        + "; sentences: "
        + _and([f"{METHOD_NAMES[m]} {_tau(v)}" for m, v in sentence["kendall_tau"].items()])
        + "."
    )
    flips = word["flips"]
    if flips:
        lines.append(
            "- **Decision flips.** Zeroing the single highest-weighted word flips "
            f"{flips['attention']['top_item_flips']:.0%} of decisions; zeroing words in attention order flips the "
            f"decision after {flips['attention']['fraction_to_flip']:.0%} of them on average, in gradient order after "
            f"{flips['gradient']['fraction_to_flip']:.0%}, in random order after "
            f"{flips['random']['fraction_to_flip']:.0%}."
        )
    counterfactual = figures["counterfactual"]
    if "not_applicable" in counterfactual:
        lines.append(f"- **Counterfactual attention.** Not applicable: {counterfactual['not_applicable']}.")
    else:
        lines.append(
            f"- **Counterfactual attention.** Permuting the word weights within each sentence moves the output "
            f"distribution by a total variation of {counterfactual['permuted_word_tvd']['mean']:.3f} (median "
            f"{counterfactual['permuted_word_tvd']['median']:.3f}); permuting sentence weights by "
            f"{counterfactual['permuted_sentence_tvd']['mean']:.3f}. Uniform weights at inference change "
            f"{counterfactual['uniform_changed']:.0%} of decisions (accuracy {counterfactual['accuracy']:.1%} → "
            f"{counterfactual['uniform_accuracy']:.1%})."
        )
    lines.append(verdict(aopc))
    polarity = figures.get("polarity", {}).get("summary", {})
    if polarity.get("spearman_attention_abs_polarity") is not None:
        by = polarity["by_category"]
        lines.append(
            f"- **Polarity.** Over the {len(figures['polarity']['words'])} most frequent words, Spearman ρ between "
            f"mean attention and |polarity| is {polarity['spearman_attention_abs_polarity']:.2f}; mean attention of "
            + _and([f"{k} words {v['mean_attention']:.3f} (n={v['words']})" for k, v in by.items() if v["words"]])
            + "."
            + "".join(
                f" No word among them is {RATIO:g}× more frequent in {k} than in "
                f"{'negative' if k == 'positive' else 'positive'} training reviews (none is {k})."
                for k, v in by.items()
                if not v["words"] and k != "neutral"
            )
        )
    return lines


def _tau(value: float | None) -> str:
    """A mean tau, or why there is none (uniform weights rank nothing)."""
    return "undefined (constant weights)" if value is None else f"{value:+.2f}"


def verdict(aopc: dict) -> str:
    """What the word-level erasure figures mean for reading this model's heatmaps."""
    attention, floor = aopc["attention"]["comprehensiveness"], aopc["random"]["comprehensiveness"]
    best = max(v["comprehensiveness"] for o, v in aopc.items() if o not in ("attention", "random"))
    if attention <= floor:
        return (
            "- **Reading.** Attention's top words matter no more to the decision than random words: the blue "
            "heatmap is not evidence of what this model used."
        )
    share = (attention - floor) / (best - floor) if best > floor else 1.0
    if share >= 0.8:
        return (
            f"- **Reading.** Attention's top words carry {share:.0%} of the best attribution method's gain over "
            "random: the heatmap is a fair first account of what the decision rests on."
        )
    return (
        f"- **Reading.** Attention's top words matter more than random ones, but carry only {share:.0%} of the "
        "best attribution method's gain over random: read the heatmap as a hint, and check a decision with "
        'leave-one-out or integrated gradients (the Document page\'s "Weights from").'
    )


def section() -> list[str]:
    found = [
        (name, path, json.loads((path / "faithfulness.json").read_text()))
        for name, path in shipped()
        if (path / "faithfulness.json").exists()
    ]
    if not found:
        return []
    lines = [
        "## Faithfulness of the shipped checkpoints",
        "",
        "Generated by `python scripts/reproduce.py faithfulness` or `scripts/train_demo.sh` (`han faithfulness "
        "--data` on the first reviews of each checkpoint's test split, as many as each heading says). "
        "Orderings: attention, leave-one-out, integrated gradients, gradient × input, random. AOPC over the "
        "top 1/5/10/20/50% of words and the top 1/2/3 sentences (DeYoung et al. 2020); flips (Serrano & Smith "
        "2019); counterfactual attention (Jain & "
        "Wallace 2019; Wiegreffe & Pinter 2019); polarity (Sun & Lu 2020).",
        "",
    ]
    for name, path, figures in found:
        lines += [
            f"### {SHIPPED[name]}: {figures['model']} (`{path.relative_to(common.ROOT)}`, {figures['n']:,} "
            f"test reviews; 'attention' = {figures['attention_label']})",
            "",
        ]
        lines += [
            "| ordering | word comprehensiveness | word sufficiency | sentence comprehensiveness | "
            "sentence sufficiency | τ with attention (words) |",
            "|---|---|---|---|---|---|",
        ]
        for ordering, word in figures["word"]["aopc"].items():
            sentence = figures["sentence"]["aopc"][ordering]
            tau = figures["word"]["kendall_tau"].get(ordering)
            lines.append(
                f"| {METHOD_NAMES[ordering]} | {word['comprehensiveness']:.3f} | {word['sufficiency']:.3f} | "
                f"{sentence['comprehensiveness']:.3f} | {sentence['sufficiency']:.3f} | "
                f"{'-' if tau is None else f'{tau:+.2f}'} |"
            )
        lines += ["", *reading(figures), ""]
    return lines
