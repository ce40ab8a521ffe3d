"""How concentrated multi-head attention is, with and without the penalty: issue 12's heads rows read.

    python scripts/reproduce.py focus [--set imdb] [--only heads4-c0 heads4-c0.1]

For the set's shipped HN-ATT (assets/SET/att) and every multi-head setting whose checkpoints the `successors`
step left in runs/results/SET-successors/SLUG-seedN, `han.focus.attention_focus` over the first DOCS reviews of
the test split: per level and head, the top weight, the effective number of items exp(entropy) and the share
of one-hot units. Nothing is trained here: a setting without checkpoints is skipped, with a message. Results
go to results/focus-SET.json (one entry per checkpoint, kept across runs); the report's table reads them.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import repro_common as common
import repro_successors as successors

import han
from han.data import assign_splits, read_dataset
from han.focus import ONE_HOT, attention_focus

DOCS = 500  # test reviews per checkpoint: the shares move by well under a point between 300 and 500
HEAD_SETTINGS = [(slug, label) for slug, label, change in successors.SETTINGS if change.get("heads", 1) > 1]


def _record_path(name: str) -> Path:
    return common.RESULTS / f"focus-{name}.json"


def _checkpoints(name: str, slug: str) -> list[Path]:
    if slug == "att":
        return [common.ROOT / "assets" / name / "att"]
    found = (common.RUNS / f"{name}-successors").glob(f"{slug}-seed*")
    return sorted(p for p in found if (p / "metrics.json").is_file())


def run_focus(sets: list[str], only: list[str] | None = None) -> None:
    """Measure every checkpoint present (or of `only` these settings) and add it to results/focus-SET.json."""
    for name in sets:
        targets = [("att", "HN-ATT (the shipped checkpoint)"), *HEAD_SETTINGS]
        targets = [(slug, label) for slug, label in targets if not only or slug in only]
        found = {slug: _checkpoints(name, slug) for slug, _ in targets}
        if not any(found[slug] for slug, _ in HEAD_SETTINGS if slug in found):
            print(f"focus {name}: no multi-head checkpoint in {common.RUNS}; run the successors step first")
            continue
        dataset = read_dataset(common.SETS[name]["paths"], with_unlabelled=False)
        parts, _ = assign_splits(dataset.examples, 0)
        texts = [t for i in parts["test"][:DOCS] if (t := dataset.examples[i].text) and t.strip()]
        path = _record_path(name)
        record = json.loads(path.read_text()) if path.exists() else {}
        for slug, label in targets:
            for folder in found[slug]:
                model = han.load(folder)
                rows = attention_focus(model, [model.tokenize(t) for t in texts])
                record[f"{slug}/{folder.name}"] = {"slug": slug, "label": label, "rows": [r.as_dict() for r in rows]}
                print(f"focus {name} {slug} {folder.name}: {len(texts)} test reviews")
            if not found[slug]:
                print(f"focus {name} {slug}: no checkpoint; run `reproduce.py successors --only {slug}` first")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1) + "\n")


def _mean(entries: list[dict], level: str, each_head: bool, key: str) -> float:
    """`key` of `level` over the checkpoints of a setting: of the heads' mean, or of every head alone."""
    return statistics.mean(
        row[key]
        for entry in entries
        for row in entry["rows"]
        if row["level"] == level and (row["head"] != "mean") == each_head
    )


def section() -> list[str]:
    """A table per set with measurements: each setting's concentration at both levels, then a reading."""
    lines: list[str] = []
    for name, spec in common.SETS.items():
        path = _record_path(name)
        if not path.exists():
            continue
        by_slug: dict[str, list[dict]] = {}
        for entry in json.loads(path.read_text()).values():
            by_slug.setdefault(entry["slug"], []).append(entry)
        lines += [
            f"### How concentrated the heads are: {spec['title']}",
            "",
            f"`reproduce.py focus`: the first {DOCS} test reviews through each checkpoint (`han.focus`). Per level, "
            "the top weight of a sentence's words (a document's sentences), the effective number of items they "
            f"spread over (exp of the entropy: 1 for one-hot, n for uniform) and the share of units whose top weight "
            f"is at least {ONE_HOT} (one-hot, for reading purposes); units of one item are left out. 'Heatmap' is "
            "the heads' mean, what the app draws; 'a head alone' is each head's own weights, averaged over the "
            "heads. Means over the checkpoints measured.",
            "",
            "| model | checkpoints | level | items per unit | heatmap: top weight | heatmap: effective items "
            "| a head alone: top weight | a head alone: effective items | a head alone: one-hot |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for slug, label in [("att", "HN-ATT (the shipped checkpoint)"), *HEAD_SETTINGS]:
            entries = by_slug.get(slug, [])
            for level, unit in (("word", "words per sentence"), ("sentence", "sentences per document")):
                if not entries:
                    continue
                alone = ["-", "-", "-"]  # HN-ATT: one head, its weights are the heatmap's
                if slug != "att":
                    top, effective = _mean(entries, level, True, "top"), _mean(entries, level, True, "effective")
                    alone = [f"{top:.2f}", f"{effective:.1f}", f"{_mean(entries, level, True, 'one_hot'):.0%}"]
                lines.append(
                    f"| {label} | {len(entries)} | {unit} | {_mean(entries, level, False, 'items'):.1f} | "
                    f"{_mean(entries, level, False, 'top'):.2f} | {_mean(entries, level, False, 'effective'):.1f} | "
                    f"{' | '.join(alone)} |"
                )
        lines += ["", _reading(by_slug), ""]
    return lines


def _reading(by_slug: dict[str, list[dict]]) -> str:
    """What the table says of the penalty: a head's spread over a sentence's words with and without it."""
    penalised = {s for s, _, c in successors.SETTINGS if c.get("heads", 1) > 1 and c.get("penalty", 0) > 0}
    heads = [slug for slug in by_slug if slug != "att"]
    spread = {
        with_penalty: [_mean(by_slug[s], "word", True, "effective") for s in heads if (s in penalised) == with_penalty]
        for with_penalty in (True, False)
    }
    if not spread[True] or not spread[False]:
        return "Read: a comparison needs settings with and without the penalty; measure both."
    return (
        f"Read: with the penalty (c > 0) a head alone spreads a sentence's word weight over {_span(spread[True])} "
        f"words on average; without it (c = 0), over {_span(spread[False])}. The penalty ||AA^T - I||^2 is lowest "
        "for one-hot heads on different items, and the penalised heads come close to that: together they read "
        "about as many words of a sentence as there are heads."
    )


def _span(values: list[float]) -> str:
    """'1.2' or '1.2-4.5': the range of the settings' figures, one figure when they agree."""
    low, high = f"{min(values):.1f}", f"{max(values):.1f}"
    return low if low == high else f"{low}-{high}"
