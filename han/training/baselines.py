"""The paper's linear baselines on the same splits as the HAN models.

- majority class of the training split;
- TF-IDF of word 1-2 grams + logistic regression, C chosen on dev (scikit-learn).
"""

from __future__ import annotations

import time
from collections import Counter

from han.checkpoint.classifier import confusion_metrics
from han.data.dataset import Dataset, assign_splits, train_subset

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


def _texts(dataset: Dataset, indices: list[int]) -> list[str]:
    return [dataset.examples[i].plain_text() for i in indices]


def majority(dataset: Dataset, split_seed: int = 0) -> dict:
    """Accuracy of always predicting the most frequent training label."""
    parts, _ = assign_splits(dataset.examples, split_seed)
    top = Counter(dataset.examples[i].label for i in parts["train"]).most_common(1)[0][0]
    return {s: sum(dataset.examples[i].label == top for i in parts[s]) / len(parts[s]) for s in ("dev", "test")}


def tfidf_logreg(
    dataset: Dataset,
    split_seed: int = 0,
    c_grid: tuple[float, ...] = C_GRID,
    train_fraction: float = 1.0,
    extra_test: Dataset | None = None,
) -> dict:
    """TF-IDF (1-2 grams) + logistic regression; C picked by dev accuracy, scored on test.

    `train_fraction` trains on the same seeded share of the train split as `han train
    --train-fraction`; `extra_test` (another data set, e.g. reviews from another source) is scored too.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    parts, _ = assign_splits(dataset.examples, split_seed)
    parts["train"] = train_subset(parts["train"], train_fraction, split_seed)
    labels = dataset.labels
    target = {s: [labels.index(dataset.examples[i].label) for i in parts[s]] for s in parts}
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_train = vectorizer.fit_transform(_texts(dataset, parts["train"]))
    x = {s: vectorizer.transform(_texts(dataset, parts[s])) for s in ("dev", "test")}
    best = None
    for c in c_grid:
        model = LogisticRegression(C=c, max_iter=3000).fit(x_train, target["train"])
        dev = (model.predict(x["dev"]) == target["dev"]).mean()
        if best is None or dev > best[0]:
            best = (dev, c, model)
    assert best is not None  # c_grid is not empty
    dev_accuracy, c, model = best
    test = confusion_metrics(target["test"], model.predict(x["test"]).tolist(), labels)
    extra = {}
    if extra_test is not None:
        gold = [labels.index(e.label) for e in extra_test.examples]
        predicted = model.predict(vectorizer.transform(_texts(extra_test, list(range(len(extra_test.examples))))))
        extra = {"extra_test": float((predicted == gold).mean()), "extra_test_n": len(gold)}
    return extra | {
        "dev": float(dev_accuracy),
        "test": test["accuracy"],
        "train_documents": len(parts["train"]),
        "C": c,
        "features": x_train.shape[1],
        "seconds": round(time.perf_counter() - start, 1),
    }
