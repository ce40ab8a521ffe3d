"""RESULTS.md sections on how the default recipe's settings were searched beyond the first search: aclImdb's
vectors, the small end of `--embeddings auto` on Yelp, and changes of the default itself on Yelp-15k.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from han.training.recipes import WORD2VEC_FROM_DOCUMENTS
from repro import common
from repro.common import mean_std, pct
from repro.recipes import EXPLORE_IMDB, EXPLORE_IMDB_LABELLED, EXPLORE_YELP_DEFAULT, EXPLORE_YELP_VECTORS


def runs_in(folder: Path, pattern: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob(pattern))]


def cell(runs: list[dict], key: str) -> str:
    return mean_std([m[key] for m in runs if key in m])


def imdb_search_lines() -> list[str]:
    """aclImdb, HN-ATT: the default recipe with one change at a time (seed 0 decides; more seeds where run),
    beside the paper recipe's runs."""
    found = [
        (what, runs_in(common.RESULTS / "explore-imdb" / slug, "att-seed*.json")) for slug, what, _ in EXPLORE_IMDB
    ]
    found = [(what, runs) for what, runs in found if runs]
    if not found:
        return []
    paper = runs_in(common.RESULTS / "runs" / "imdb", "att-seed*.json")
    if paper:
        found.append(("the paper recipe (SGD, lr grid 0.1/0.05 on dev, word2vec 200-d fine-tuned)", paper))
    lines = [
        "#### How the default found its aclImdb vectors",
        "",
        "HN-ATT, one change at a time of the default recipe as it was before `--embeddings auto` (GloVe 6B 50-d, "
        "fine-tuned, 6 epochs; `reproduce.py explore`); seed 0's dev accuracy decides, more seeds (`--seeds 1 2`) "
        "check it. The paper recipe's rows are its main runs (both learning rates, the epochs of each one after "
        "the other). The last column is seed 0's. The frozen word2vec row won, and is what `--embeddings auto` "
        f"now picks on aclImdb ({WORD2VEC_FROM_DOCUMENTS:,} documents of in-domain text or more; aclImdb has "
        "75,000, Yelp-15k 13,500): the table above shows its runs.",
        "",
    ]
    return [*lines, *search_table(found), ""]


LABELLED_IMDB = 25_000  # aclImdb's labelled train + dev reviews: the in-domain text without the unlabelled ones


def imdb_labelled_lines() -> list[str]:
    """aclImdb's labelled text alone (no unlabelled reviews): between the two sizes `auto` was set from."""
    found = [
        (what, runs_in(common.RESULTS / "explore-imdb-labelled" / slug, "att-seed*.json"))
        for slug, what, _ in EXPLORE_IMDB_LABELLED
    ]
    if not all(runs for _, runs in found):
        return []
    dev = [statistics.mean(m["dev_accuracy"] for m in runs) for _, runs in found]
    before = runs_in(common.RESULTS / "explore-imdb" / "imdb_default", "att-seed0.json")
    same = bool(before) and before[0]["test_predictions"] == found[0][1][0]["test_predictions"]
    again = (
        "GloVe never reads the unlabelled reviews, so its row is the first row of the table above trained again "
        f"(seed 0, with the code of a later day): {'the same' if same else 'other'} predictions for all "
        f"{len(found[0][1][0]['test_predictions']):,} test reviews. "
    )
    glove_ahead = dev[0] >= dev[1]
    picks_glove = LABELLED_IMDB < WORD2VEC_FROM_DOCUMENTS
    verdict = (
        f"GloVe is ahead on dev ({pct(dev[0])} against {pct(dev[1])}): the crossing lies above {LABELLED_IMDB:,} "
        "documents"
        if glove_ahead
        else f"frozen word2vec is ahead on dev already here ({pct(dev[1])} against {pct(dev[0])}): the crossing lies "
        f"below {LABELLED_IMDB:,} documents"
    ) + (
        f"; with the threshold at {WORD2VEC_FROM_DOCUMENTS:,}, `auto` picks {'GloVe' if picks_glove else 'word2vec'} "
        f"here, {'the better' if picks_glove == glove_ahead else 'the weaker'} of the two"
    )
    return [
        "#### The middle of `--embeddings auto`: aclImdb's labelled reviews alone",
        "",
        "HN-ATT on aclImdb without its 50,000 unlabelled reviews (`read_dataset(..., with_unlabelled=False)`): "
        f"{LABELLED_IMDB:,} labelled train + dev reviews of in-domain text, between the two sizes the threshold was "
        "first set from, 13,500 and 75,000 (it was then 30,000, so `auto` picked GloVe here). Run with "
        "`reproduce.py explore --only imdb_labelled_glove imdb_labelled_w2v_frozen --seeds 0 1`; the test split is "
        "aclImdb's 25,000 test reviews, as above.",
        "",
        *search_table(found),
        "",
        f"{again}Read: {verdict} (means over the seeds run).",
        "",
    ]


def yelp_vectors_lines() -> list[str]:
    """Yelp-15k, HN-ATT: the default (GloVe, as `--embeddings auto` picks there) against the aclImdb winner."""
    rows = [("the default: `--embeddings auto` picks GloVe 6B 50-d, fine-tuned, 6 epochs", "runs/yelp-default")]
    rows += [(what, f"explore-yelp-vectors/{slug}") for slug, what, _ in EXPLORE_YELP_VECTORS]
    found = [(what, runs_in(common.RESULTS / folder, "att-seed*.json")) for what, folder in rows]
    if not all(runs for _, runs in found):
        return []
    (_, default), (_, frozen) = found[0], found[-1]
    dev = [statistics.mean(m["dev_accuracy"] for m in runs) for runs in (default, frozen)]
    verdict = "holds: GloVe is ahead on dev" if dev[0] > dev[1] else "does not hold: frozen word2vec is as good"
    lines = [
        "#### The small end of `--embeddings auto`: frozen word2vec on Yelp-15k",
        "",
        f"HN-ATT on Yelp-15k (13,500 documents of in-domain text, below the {WORD2VEC_FROM_DOCUMENTS:,} where "
        "`auto` switches to word2vec), with the change that won on aclImdb (`reproduce.py explore --only "
        "yelp_w2v_frozen`).",
        "",
        "| vectors | dev % | test % |",
        "|---|---|---|",
        *[f"| {what} | {cell(runs, 'dev_accuracy')} | {cell(runs, 'test_accuracy')} |" for what, runs in found],
        "",
        f"The rule's choice on Yelp {verdict} (means over the seeds run).",
        "",
    ]
    return lines


def yelp_default_search_lines() -> list[str]:
    """Yelp-15k, HN-ATT: changes of the default recipe itself (EXPLORE_YELP_DEFAULT), beside the default's runs;
    mean dev accuracy over the seeds decides whether a change would become the default."""
    default = runs_in(common.RESULTS / "runs" / "yelp-default", "att-seed*.json")
    found = [
        (what, runs_in(common.RESULTS / "explore-yelp-default" / slug, "att-seed*.json"))
        for slug, what, _ in EXPLORE_YELP_DEFAULT
    ]
    found = [(what, runs) for what, runs in found if runs]
    if not default or not found:
        return []
    lines = [
        "#### Changes of the default recipe on Yelp-15k",
        "",
        "HN-ATT, each change alone on top of the default recipe (`reproduce.py explore --only yelp_ls01 yelp_plateau "
        "yelp_lr1e-3_e8 --seeds 0 1 2`); the mean dev accuracy over the seeds decides, test is shown, not used.",
        "",
    ]
    lines += search_table([("none (the default recipe)", default), *found])
    base_dev = statistics.mean(m["dev_accuracy"] for m in default)
    gains = {what: 100 * (statistics.mean(m["dev_accuracy"] for m in runs) - base_dev) for what, runs in found}
    verdicts = [f"{what} {gain:+.1f}" for what, gain in gains.items()]
    spread = 100 * statistics.stdev(m["dev_accuracy"] for m in default) if len(default) > 1 else 0.0
    ahead = [what for what, gain in gains.items() if gain > spread]
    reading = (
        f"ahead by more than the default's seed-to-seed spread ({spread:.1f} points): {', '.join(ahead)}"
        if ahead
        else f"none is ahead by more than the default's seed-to-seed spread ({spread:.1f} points), so the default stays"
    )
    lines += ["", f"Mean dev accuracy against the default's, in points: {'; '.join(verdicts)}; {reading}.", ""]
    return lines


def search_table(found: list[tuple[str, list[dict]]]) -> list[str]:
    """A search's table: each change's dev and test (mean over its seeds), and seed 0's best epoch and dev curve."""
    lines = [
        "| change | dev % | test % | best epoch (seed 0) | dev % after each epoch (seed 0) |",
        "|---|---|---|---|---|",
    ]
    for what, runs in found:
        first = runs[0]  # sorted by file name: seed 0 first
        curve = " ".join(pct(h["dev_accuracy"]) for h in first["history"])
        lines.append(
            f"| {what} | {cell(runs, 'dev_accuracy')} | {cell(runs, 'test_accuracy')} | {first['best_epoch']} "
            f"| {curve} |"
        )
    return lines
