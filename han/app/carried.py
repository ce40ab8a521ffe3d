"""How much of leave-one-out's effect a model's attention carries, from the figures precomputed beside its checkpoint
(`faithfulness.json`): the headline of the Faithfulness page's comparison and of the Document page's panel.

ERASER's word comprehensiveness (DeYoung et al. 2020): the drop in p(predicted class) when the words an ordering
ranks first are removed (top 1/5/10/20/50 %, averaged). Attention's divided by leave-one-out's, both of the same
model on the same reviews, is the share of leave-one-out's effect the heatmap carries; issue 34's target is
0.8 of HN-ATT's leave-one-out.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from han.app import ui
from han.checkpoint.files import read_json
from han.errors import HanError
from han.nn.variants import model_name


def carried(figures: dict) -> dict | None:
    """Attention's and leave-one-out's word comprehensiveness, the share, tau(attention, LOO) and N; None when the
    figures lack them (another version of han, or a model without attention)."""
    try:
        aopc = figures["word"]["aopc"]
        attention = float(aopc["attention"]["comprehensiveness"])
        loo = float(aopc["leave_one_out"]["comprehensiveness"])
        tau = figures["word"]["kendall_tau"].get("leave_one_out")
        return {
            "attention": attention,
            "leave_one_out": loo,
            "share": attention / loo if loo > 0 else None,
            "tau": None if tau is None else float(tau),
            "n": int(figures["n"]),
        }
    except (KeyError, TypeError, ValueError):
        return None


def saved(folder: Path) -> dict | None:
    """`carried` of the faithfulness.json beside a checkpoint; None without one, when it cannot be read, or when
    it was computed from another model than the folder's (e.g. a file copied over by hand): its model_sha256 says
    so (`ui.other_weights`), or, in files from before digests were kept, the model name it records. Read once per
    version of the files, not on every page view."""
    files = [folder / name for name in ("faithfulness.json", "model.safetensors", "config.json")]
    return _saved(str(folder), tuple(f.stat().st_mtime if f.exists() else 0.0 for f in files))


@st.cache_data(show_spinner=False, max_entries=64)
def _saved(path: str, stamps: tuple[float, ...]) -> dict | None:
    folder = Path(path)
    file = folder / "faithfulness.json"
    if not file.is_file():
        return None
    try:
        figures = read_json(file)
        recorded = figures.get("model_sha256")
        if ui.other_weights(folder, file, recorded):
            return None
        name = model_name(read_json(folder / "config.json").get("model", {}))
        if recorded is None and figures.get("model", name) != name:
            return None
    except (HanError, OSError):
        return None
    return carried(figures)


def sentence(shares: dict, against: dict | None = None, name: str = "HN-ATT") -> str:
    """One plain sentence: "Over 1,000 test reviews, removing the words this attention ranks first lowers
    p(predicted) by 0.33, against 0.40 for leave-one-out: it carries 82 % of leave-one-out's effect" (and, with
    `against`, that share of `name`'s leave-one-out)."""
    text = (
        f"Over {shares['n']:,} test reviews, removing the words this model's attention ranks first lowers "
        f"p(predicted class) by {shares['attention']:.2f} on average, against {shares['leave_one_out']:.2f} for "
        "leave-one-out"
    )
    if shares["share"] is not None:
        text += f": the heatmap carries {shares['share']:.0%} of leave-one-out's effect"
    if against and against["leave_one_out"] > 0:
        text += f" ({shares['attention'] / against['leave_one_out']:.0%} of {name}'s leave-one-out)"
    return text + "."
