"""Reference figures from Yang et al. (2016), "Hierarchical Attention Networks for Document
Classification", NAACL-HLT, Table 2: document classification accuracy in percent.

Shown beside our own measurements for orientation only: the paper's data sets are larger and
differ from the samples in ../shared/data (e.g. Yelp 2013 has 335k reviews; our Yelp set 15k).
"""

from __future__ import annotations

DATASETS = ("Yelp 2013", "Yelp 2014", "Yelp 2015", "IMDB review", "Yahoo Answer", "Amazon review")

TABLE_2: dict[str, tuple[float, ...]] = {
    "HN-AVE": (67.0, 69.3, 69.9, 47.8, 75.2, 62.9),
    "HN-MAX": (66.9, 70.3, 70.1, 48.2, 75.2, 62.9),
    "HN-ATT": (68.2, 70.5, 71.0, 49.4, 75.8, 63.6),
}

# HN-ATT's row matches a second, independent transcription; the HN-AVE and HN-MAX rows were
# transcribed once and have not been cross-checked. The app says so beside them.
CROSS_CHECKED = {"HN-ATT"}


def reference(model: str, dataset: str) -> float | None:
    """The paper's accuracy (%) for a model name ("HN-ATT") on a data set, if it reports one."""
    row = TABLE_2.get(model)
    return row[DATASETS.index(dataset)] if row and dataset in DATASETS else None
