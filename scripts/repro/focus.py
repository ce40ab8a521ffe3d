"""How concentrated multi-head attention is, with and without the penalty: issue 12's heads rows read.

    python scripts/reproduce.py focus [--set imdb] [--only heads4-c0 heads4-c0.1]

For the set's shipped HN-ATT (assets/SET/att) and every multi-head setting whose checkpoints the `successors`
step left in runs/results/SET-successors/SLUG-seedN, `interpret.focus.attention_focus` over the first DOCS reviews of
the checkpoint's own test split: per level and head, the top weight, the effective number of items exp(entropy)
and the share of one-hot units. Nothing is trained here: a setting without checkpoints is skipped, with a
message. Results go to results/focus-SET.json (one entry per checkpoint, kept across runs); the report's table
reads them.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import han
from han.checkpoint import files as checkpoint_files
from han.data.dataset import Dataset, checkpoint_split, read_like
from han.interpret.focus import ONE_HOT, attention_focus
from han.nn.variants import model_name
from repro import common, successors

DOCS = 500  # test reviews per checkpoint: the shares move by well under a point between 300 and 500
HEAD_SETTINGS = [(slug, label) for slug, label, change in successors.SETTINGS if change.get("heads", 1) > 1]


def _record_path(name: str) -> Path:
    return common.RESULTS / f"focus-{name}.json"


def _shipped(name: str) -> list[tuple[str, str, list[Path]]]:
    """The set's shipped HN-ATT and its shipped multi-head checkpoints (assets/SET/*): measurable anywhere."""
    found = []
    for folder in sorted((common.ROOT / "assets" / name).glob("*/config.json")):
        config = checkpoint_files.read_json(folder)
        model, penalty = config.get("model", {}), config.get("training", {}).get("penalty", 0.0)
        if model.get("variant") == "att" and (folder.parent.name == "att" or model.get("heads", 1) > 1):
            penalised = f", c = {penalty:g}" if penalty else ""
            label = f"{model_name(model)}{penalised}, shipped (assets/{name}/{folder.parent.name})"
            found.append((f"shipped-{folder.parent.name}", label, [folder.parent]))
    return found


def _trained(name: str, slug: str) -> list[Path]:
    """The finished checkpoints of a successors setting (a run still training has no metrics.json yet)."""
    found = (common.RUNS / f"{name}-successors").glob(f"{slug}-seed*")
    return sorted(p for p in found if (p / "metrics.json").is_file())


def _how_to_train(name: str, slug: str) -> str:
    """What makes a setting's checkpoints: `successors` trains what it has no record of, and skips the rest."""
    kept = common.RESULTS / "runs" / f"{name}-successors"
    if any(kept.glob(f"{slug}-seed*.json")):
        return (
            f"its runs are recorded ({kept}/{slug}-seed*.json) and `successors` skips them: train one again "
            f"with `han train` and the setting's options into {common.RUNS}/{name}-successors/{slug}-seedN"
        )
    return f"run `reproduce.py successors --set {name} --only {slug}` first"


def run_focus(sets: list[str], only: list[str] | None = None) -> None:
    """Measure the shipped checkpoints and every successors checkpoint present (or of `only` these settings)
    and add them to results/focus-SET.json."""
    for name in sets:
        targets = _shipped(name) + [(slug, label, _trained(name, slug)) for slug, label in HEAD_SETTINGS]
        targets = [target for target in targets if not only or target[0] in only]
        path = _record_path(name)
        record = checkpoint_files.read_json(path) if path.exists() else {}
        read: dict[str, Dataset] = {}  # the set as each checkpoint's training read it, once per way of reading
        for slug, label, folders in targets:
            for folder in folders:
                model = han.load(folder)
                way = json.dumps(model.config.get("data", {}), sort_keys=True)
                if way not in read:
                    read[way] = read_like(model.config, common.SETS[name]["paths"])
                test = checkpoint_split(model.config, read[way], "test", folder)[:DOCS]  # refuses other data
                rows = attention_focus(model, [model.prepare(e) for e in test])
                record[f"{slug}/{folder.name}"] = {
                    "slug": slug,
                    "label": label,
                    "heads": model.model.config.heads,
                    "penalty": model.config.get("training", {}).get("penalty", 0.0),
                    "rows": [r.as_dict() for r in rows],
                }
                print(f"focus {name} {slug} {folder.name}: {len(test)} test reviews")
            if not folders:
                print(f"focus {name} {slug}: no checkpoint here; {_how_to_train(name, slug)}")
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
            f"`reproduce.py focus`: the first {DOCS} test reviews through each checkpoint "
            "(`han.interpret.focus`). Per level, "
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
        order = [slug for slug, _ in HEAD_SETTINGS]  # shipped first, then the successors' order
        for slug in sorted(by_slug, key=lambda s: (s in order, order.index(s) if s in order else s)):
            entries = by_slug[slug]
            several = entries[0]["heads"] > 1
            for level, unit in (("word", "words per sentence"), ("sentence", "sentences per document")):
                alone = ["-", "-", "-"]  # one head: its weights are the heatmap's
                if several:
                    top, effective = _mean(entries, level, True, "top"), _mean(entries, level, True, "effective")
                    alone = [f"{top:.2f}", f"{effective:.1f}", f"{_mean(entries, level, True, 'one_hot'):.0%}"]
                lines.append(
                    f"| {entries[0]['label']} | {len(entries)} | {unit} | {_mean(entries, level, False, 'items'):.1f} "
                    f"| {_mean(entries, level, False, 'top'):.2f} | {_mean(entries, level, False, 'effective'):.1f} | "
                    f"{' | '.join(alone)} |"
                )
        lines += ["", _reading(by_slug), ""]
    return lines


def _reading(by_slug: dict[str, list[dict]]) -> str:
    """What the table says of the penalty: a head's spread over a sentence's words with and without it."""
    spread: dict[bool, list[float]] = {True: [], False: []}
    for entries in by_slug.values():
        if entries[0]["heads"] > 1:
            spread[entries[0]["penalty"] > 0].append(_mean(entries, "word", True, "effective"))
    if not spread[True]:
        return "Read: no checkpoint with the penalty was measured here."
    without = f"; without it (c = 0), over {_span(spread[False])}" if spread[False] else ""
    return (
        f"Read: with the penalty (c > 0) a head alone spreads a sentence's word weight over {_span(spread[True])} "
        f"words on average{without}. The penalty ||AA^T - I||^2 is lowest for one-hot heads on different items, "
        "and the penalised heads come close to that: together they read about as many words of a sentence as "
        "there are heads."
    )


def _span(values: list[float]) -> str:
    """'1.2' or '1.2-4.5': the range of the settings' figures, one figure when they agree."""
    low, high = f"{min(values):.1f}", f"{max(values):.1f}"
    return low if low == high else f"{low}-{high}"
