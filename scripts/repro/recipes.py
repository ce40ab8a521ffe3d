"""The training-recipe study: the default recipe against the paper's, on Yelp and aclImdb.

    default   HN-AVE, HN-MAX, HN-ATT with the default recipe, 3 seeds (Yelp-15k and aclImdb)
    recipes   Yelp-15k, HN-ATT and HN-AVE: the paper recipe with one change of the default at a time
    curve     learning curve on yelp_10k (1k-8k training reviews), tested on its test split and on all
              of yelp_open_5k, a second source never trained on: HN-ATT default, HN-ATT paper, TF-IDF + LR
    small     the first 3,000 reviews of yelp_10k, 3 epochs (a new user's first run), 5 seeds, on yelp_open_5k

Every run keeps its metrics under results/ (see repro_common); runs tested on yelp_open_5k keep that
accuracy too, so the report needs no checkpoint.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import han
from han.data.dataset import Dataset, assign_splits, read_dataset
from han.training.baselines import tfidf_logreg
from han.training.recipes import RECIPES, in_domain_documents, recipe_config, resolve_auto
from repro import common

SEEDS = [0, 1, 2]
# The paper-recipe rows change one thing of the paper's settings; they train with lr 0.1 only (the rate the
# paper recipe's grid chose in 8 of 9 Yelp main runs) to halve their cost.
PAPER_YELP = {"epochs": 8, "lrs": [0.1], "patience": 3}
DEFAULT = RECIPES["default"]
RECIPE_ROWS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "paper+optimizer",
        "paper, but the default's optimizer, lr and epochs",
        {k: DEFAULT[k] for k in ("optimizer", "lrs", "epochs")},
    ),
    ("paper+dropout", "paper, but the default's dropout", {k: DEFAULT[k] for k in ("dropout", "dropout_at")}),
    ("paper+glove", "paper, but GloVe 6B 50-d vectors instead of word2vec 200-d", {"embeddings": "glove-6b-50d"}),
    (
        "paper+cosine",
        "paper, but a cosine lr schedule with half an epoch of warm-up",
        {"lr_schedule": "cosine", "warmup_epochs": 0.5},
    ),
]
# How the default recipe was chosen: HN-ATT on Yelp-15k, seed 0, one change at a time from a starting point
# (Adam 2e-3, dropout 0.3 on embeddings and sentence vectors, word2vec 200-d, batch 64, 6 epochs); dev accuracy
# alone decides. The starting point is the `start` row, whatever han/training/recipes.py's default is now.
EXPLORE_START: dict[str, Any] = {
    "optimizer": "adam",
    "lrs": [2e-3],
    "epochs": 6,
    "dropout": 0.3,
    "dropout_at": ("embeddings", "sentences"),
    "embeddings": "word2vec",
    "batch_size": 64,
    "lr_schedule": "constant",
    "warmup_epochs": 0.0,
    "label_smoothing": 0.0,
    "weight_decay": 0.0,
    "min_count": 6,
    "clip": 5.0,
    "freeze_embeddings": False,
    "momentum": 0.9,
    "embed_dim": None,
}
ALL_THREE = ("embeddings", "sentences", "classifier")
EXPLORE: list[tuple[str, str, dict[str, Any]]] = [
    ("start", "starting point", {}),
    ("b32", "batch 32", {"batch_size": 32}),
    ("lr4e-3", "lr 4e-3", {"lrs": [4e-3]}),
    ("cosine", "cosine schedule, half an epoch of warm-up", {"lr_schedule": "cosine", "warmup_epochs": 0.5}),
    ("drop_cls", "dropout also before the classifier", {"dropout_at": ALL_THREE}),
    ("drop5_cls", "dropout 0.5, also before the classifier", {"dropout": 0.5, "dropout_at": ALL_THREE}),
    ("glove", "GloVe 6B 50-d instead of word2vec 200-d", {"embeddings": "glove-6b-50d"}),
    ("glove_b32", "GloVe, batch 32", {"embeddings": "glove-6b-50d", "batch_size": 32}),
    (
        "glove_drop_cls",
        "GloVe, dropout also before the classifier",
        {"embeddings": "glove-6b-50d", "dropout_at": ALL_THREE},
    ),
    ("glove_e10", "GloVe, 10 epochs", {"embeddings": "glove-6b-50d", "epochs": 10}),
    ("glove_min2", "GloVe, words seen 2 or more times", {"embeddings": "glove-6b-50d", "min_count": 2}),
]
# The same search on a new user's first run (the first 3,000 yelp_10k reviews, 3 epochs; dev = 300 reviews).
EXPLORE_SMALL = [
    row for row in EXPLORE if row[0] in ("start", "b32", "lr4e-3", "cosine", "drop_cls", "glove", "glove_b32")
]
# aclImdb, where the default recipe trailed the paper's (48.2 test against 50.2) before `--embeddings auto`: HN-ATT,
# seed 0, dev decides; each row changes that default (not EXPLORE_START). Fine-tuned 50-d GloVe overfits by epoch 3
# there. The frozen word2vec row is what `--embeddings auto` now picks on aclImdb (run_default reuses its runs).
EXPLORE_IMDB: list[tuple[str, str, dict[str, Any]]] = [
    (
        "imdb_default",
        "the default recipe before `--embeddings auto` (GloVe 6B 50-d, fine-tuned, 6 epochs)",
        {"embeddings": "glove-6b-50d"},
    ),
    (
        "imdb_w2v_frozen",
        "word2vec 200-d (train + dev + the 50k unlabelled reviews), frozen, 8 epochs",
        {"embeddings": "word2vec", "freeze_embeddings": True, "epochs": 8},
    ),
    (
        "imdb_glove_frozen",
        "GloVe 6B 50-d, frozen, 8 epochs",
        {"embeddings": "glove-6b-50d", "freeze_embeddings": True, "epochs": 8},
    ),
]
# The aclImdb winner tried on Yelp-15k (13,500 documents of in-domain text, below WORD2VEC_FROM_DOCUMENTS): does
# the small end of `--embeddings auto` hold, or would frozen word2vec win there too? The default's runs compare.
EXPLORE_YELP_VECTORS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "yelp_w2v_frozen",
        "word2vec 200-d (train + dev), frozen, 8 epochs",
        {"embeddings": "word2vec", "freeze_embeddings": True, "epochs": 8},
    ),
]
# Between the two sizes `--embeddings auto` was measured at (13,500 and 75,000 documents): aclImdb without its 50k
# unlabelled reviews, i.e. its labelled train + dev text alone, below WORD2VEC_FROM_DOCUMENTS. GloVe is what `auto`
# picks there; does frozen word2vec on that text already win, which would put the threshold lower? (GloVe never
# reads the unlabelled reviews: its row is EXPLORE_IMDB's imdb_default configuration again, run with later code.)
EXPLORE_IMDB_LABELLED: list[tuple[str, str, dict[str, Any]]] = [
    (
        "imdb_labelled_glove",
        "GloVe 6B 50-d, fine-tuned, 6 epochs (what `auto` picks here)",
        {"embeddings": "glove-6b-50d"},
    ),
    (
        "imdb_labelled_w2v_frozen",
        "word2vec 200-d (train + dev only), frozen, 8 epochs",
        {"embeddings": "word2vec", "freeze_embeddings": True, "epochs": 8},
    ),
]
# Yelp-15k, where HN-ATT with the default recipe is 59.6 on test against the 60.0 target (issue #11): changes of the
# default itself (not EXPLORE_START), HN-ATT, 3 seeds each since one seed's dev accuracy moves ~1.3 points by chance;
# mean dev accuracy decides, as for the rest of the recipe.
EXPLORE_YELP_DEFAULT: list[tuple[str, str, dict[str, Any]]] = [
    ("yelp_ls01", "label smoothing 0.1", {"label_smoothing": 0.1}),
    ("yelp_plateau", "lr halved when dev accuracy stops rising (plateau)", {"lr_schedule": "plateau"}),
    ("yelp_lr1e-3_e8", "lr 1e-3, 8 epochs", {"lrs": [1e-3], "epochs": 8}),
    ("yelp_b64", "batch 64 (the paper's; seed 0's best dev in the search)", {"batch_size": 64}),
    ("yelp_adamw01", "AdamW, decoupled weight decay 0.01", {"optimizer": "adamw", "weight_decay": 0.01}),
    ("yelp_drop05", "dropout 0.5", {"dropout": 0.5}),
    # dev accuracy swings by 2-3 points from one epoch to the next: a moving average of the weights smooths the
    # optimiser's step-to-step noise (horizons of ~200 and ~500 steps; an epoch is 375 batches of 32)
    ("yelp_ema995", "weights averaged, decay 0.995 per step", {"ema": 0.995}),
    ("yelp_ema998", "weights averaged, decay 0.998 per step", {"ema": 0.998}),
    # the two changes ahead on dev (plateau +0.1, lr 1e-3 over 8 epochs +0.4), each given the epochs to use its
    # smaller steps: seed 0's dev was still rising at the plateau's last (6th) epoch
    ("yelp_plateau_e8", "plateau, 8 epochs", {"lr_schedule": "plateau", "epochs": 8}),
    ("yelp_plateau_lr1e-3_e8", "plateau, lr 1e-3, 8 epochs", {"lr_schedule": "plateau", "lrs": [1e-3], "epochs": 8}),
    # the two vector sources were level on Yelp-15k test (GloVe 59.6, frozen word2vec 59.4 for seed 0) from
    # different text (general English, the reviews themselves): both at once, fine-tuned as GloVe is by default
    (
        "yelp_glove_w2v",
        "GloVe 6B 50-d and word2vec 200-d (train + dev) side by side, 250-d",
        {"embeddings": "glove-6b-50d+word2vec"},
    ),
    # fine-tuned, the 250-d table overfits (seed 0: 85 % train accuracy at epoch 6, dev best at epoch 2): frozen,
    # with the 8 epochs frozen vectors get under `--embeddings auto`
    (
        "yelp_glove_w2v_frozen",
        "the same, frozen, 8 epochs",
        {"embeddings": "glove-6b-50d+word2vec", "freeze_embeddings": True, "epochs": 8},
    ),
]
CURVE_SIZES = [1000, 3000, 6000, 8000]
CURVE_RECIPES = {"default": {}, "paper": PAPER_YELP | {"lrs": [0.1, 0.05]}}


def _yelp(paths: list[str]) -> Dataset:
    return read_dataset([common.DATA / "yelp" / p for p in paths], with_unlabelled=False)


def _open5k() -> Dataset:
    return _yelp(["yelp_open_5k.csv.gz"])


def train_and_keep(dataset: Dataset, cfg: Any, out: Path, kept: Path, second: Dataset | None = None) -> dict:
    """train_once, then (once) the accuracy on `second` (yelp_open_5k) added to the kept metrics."""
    common.train_once(dataset, cfg, out, kept)
    metrics = json.loads(kept.read_text())
    if second is not None and "open5k_accuracy" not in metrics:
        metrics["open5k_accuracy"] = han.load(out).evaluate(second)["accuracy"]
        kept.write_text(json.dumps(metrics) + "\n")
    return metrics


def run_default(sets: list[str], variants: list[str], seeds: list[int]) -> None:
    """HN-AVE / HN-MAX / HN-ATT with the default recipe on the main sets."""
    for name in sets:
        spec = common.SETS[name]
        dataset = read_dataset(spec["paths"])
        for seed in seeds:
            for variant in variants:
                out = common.RUNS / f"{name}-default" / f"{variant}-seed{seed}"
                cfg = recipe_config("default", variant=variant, seed=seed, progress=False)
                kept = common.RESULTS / "runs" / f"{name}-default" / f"{out.name}.json"
                searched = _searched_run(dataset, cfg) if name == "imdb" and not kept.exists() else None
                if searched is not None:  # the search already trained this very configuration
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(searched, kept)
                    print(f"{kept.relative_to(common.ROOT)}: the same run as {searched.relative_to(common.ROOT)}")
                    continue
                train_and_keep(dataset, cfg, out, kept)


def _searched_run(dataset: Dataset, cfg: Any) -> Path | None:
    """The kept metrics of an aclImdb search run (EXPLORE_IMDB) whose settings, once `--embeddings auto` and the
    other automatic settings are resolved for `dataset`, are exactly `cfg`'s: it stands for `cfg`'s run."""
    documents = in_domain_documents(dataset, cfg)
    wanted = resolve_auto(cfg, documents)[0]
    for slug, _, change in EXPLORE_IMDB:
        searched = recipe_config("default", progress=False, **(change | {"seed": cfg.seed, "variant": cfg.variant}))
        kept = common.RESULTS / "explore-imdb" / slug / f"{cfg.variant}-seed{cfg.seed}.json"
        if kept.exists() and resolve_auto(searched, documents)[0] == wanted:
            return kept
    return None


def run_recipes(seeds: list[int], only: list[str] | None = None, variants: Sequence[str] = ("att", "ave")) -> None:
    """Yelp-15k, HN-ATT and HN-AVE (or `variants` of them): the paper recipe with one change of the default at
    a time."""
    dataset = read_dataset(common.SETS["yelp"]["paths"])
    for slug, _, change in RECIPE_ROWS:
        if only and slug not in only:
            continue
        for seed in seeds:
            for variant in [v for v in ("att", "ave") if v in variants]:
                out = common.RUNS / "recipes" / slug / f"{variant}-seed{seed}"
                cfg = recipe_config("paper", variant=variant, seed=seed, progress=False, **(PAPER_YELP | change))
                train_and_keep(dataset, cfg, out, common.RESULTS / "recipes" / slug / f"{out.name}.json")


def run_explore(only: list[str] | None = None, seeds: Sequence[int] = (0,), variants: Sequence[str] = ("att",)) -> None:
    """The search that chose the default recipe: Yelp-15k, HN-ATT, seed 0, dev accuracy (see EXPLORE); and the
    one on aclImdb that looks for a default that does not trail the paper's there (EXPLORE_IMDB). More seeds and
    the other variants check what a row found."""
    searches = {  # folder: (data, rows, settings every row starts from)
        "explore": (lambda: read_dataset(common.SETS["yelp"]["paths"]), EXPLORE, EXPLORE_START),
        "explore-small": (_first_3000, EXPLORE_SMALL, EXPLORE_START | {"epochs": 3}),
        "explore-imdb": (lambda: read_dataset(common.SETS["imdb"]["paths"]), EXPLORE_IMDB, {}),
        "explore-imdb-labelled": (
            lambda: read_dataset(common.SETS["imdb"]["paths"], with_unlabelled=False),
            EXPLORE_IMDB_LABELLED,
            {},
        ),
        "explore-yelp-vectors": (lambda: read_dataset(common.SETS["yelp"]["paths"]), EXPLORE_YELP_VECTORS, {}),
        "explore-yelp-default": (lambda: read_dataset(common.SETS["yelp"]["paths"]), EXPLORE_YELP_DEFAULT, {}),
    }
    for folder, (read, rows, start) in searches.items():
        wanted = [(slug, change) for slug, _, change in rows if not only or slug in only]
        dataset = read() if wanted else None  # aclImdb is read only when one of its rows is wanted
        for slug, change in wanted:
            for seed, variant in itertools.product(seeds, variants):  # the search itself: HN-ATT, seed 0
                assert dataset is not None
                out = common.RUNS / folder / slug / f"{variant}-seed{seed}"
                settings = start | change | {"seed": seed, "variant": variant}
                cfg = recipe_config("default", progress=False, **settings)
                train_and_keep(dataset, cfg, out, common.RESULTS / folder / slug / f"{out.name}.json")


def _first_3000() -> Dataset:
    return read_dataset([common.DATA / "yelp" / "yelp_10k.csv.gz"], max_docs=3000, with_unlabelled=False)


def curve_cells() -> list[str]:
    """The learning curve's cells, "<recipe>-<training reviews>" (e.g. paper-6000): `--only` picks some."""
    return [f"{recipe}-{size}" for size in CURVE_SIZES for recipe in CURVE_RECIPES]


def run_curve(seeds: list[int], only: list[str] | None = None) -> None:
    """Learning curve on yelp_10k's split; tested on its test split and on yelp_open_5k. `only`: these cells."""
    dataset, second = _yelp(["yelp_10k.csv.gz"]), _open5k()
    train_size = dataset_train_size(dataset)
    tfidf_path = common.RESULTS / "curve" / "tfidf.json"
    tfidf = json.loads(tfidf_path.read_text()) if tfidf_path.exists() else {}
    for size in CURVE_SIZES:
        wanted = [recipe for recipe in CURVE_RECIPES if not only or f"{recipe}-{size}" in only]
        if not wanted:
            continue
        fraction = size / train_size
        if str(size) not in tfidf:  # kept as it is done: an interrupted curve keeps its baselines
            tfidf[str(size)] = tfidf_logreg(dataset, train_fraction=fraction, extra_test=second)
            tfidf_path.parent.mkdir(parents=True, exist_ok=True)
            tfidf_path.write_text(json.dumps(tfidf, indent=1) + "\n")
        for recipe in wanted:
            settings = CURVE_RECIPES[recipe]
            for seed in seeds:
                out = common.RUNS / "curve" / f"{recipe}-{size}" / f"att-seed{seed}"
                cfg = recipe_config(recipe, seed=seed, progress=False, train_fraction=fraction, **settings)
                train_and_keep(
                    dataset, cfg, out, common.RESULTS / "curve" / f"{recipe}-{size}" / f"{out.name}.json", second
                )


def dataset_train_size(dataset: Dataset) -> int:
    return len(assign_splits(dataset.examples, 0)[0]["train"])


def run_small(seeds: list[int]) -> None:
    """A new user's first run: the first 3,000 yelp_10k reviews, 3 epochs; tested on yelp_open_5k."""
    dataset, second = _first_3000(), _open5k()
    for seed in seeds:
        out = common.RUNS / "small" / f"att-seed{seed}"
        cfg = recipe_config("default", seed=seed, epochs=3, progress=False)
        train_and_keep(dataset, cfg, out, common.RESULTS / "small" / f"{out.name}.json", second)
    result = tfidf_logreg(dataset, extra_test=second)
    (common.RESULTS / "small" / "tfidf.json").write_text(json.dumps(result, indent=1) + "\n")
