"""Faithfulness speed: one 30-sentence review (every method), and the data-set figures over N test reviews.

    python bench/faithfulness.py [--checkpoint assets/yelp/att] [--docs 1000] [--threads 2] [--repeats 5]

Prints a table; nothing is asserted. Goals (issue: faithfulness evidence): one 30-sentence review under
1 s on 2 CPU cores; the data-set command over 1,000 documents under 10 minutes.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from app_latency import long_review

import han
from han.data.dataset import assign_splits, read_like
from han.interpret.faithfulness import dataset_faithfulness, explain_faithfulness
from han.interpret.polarity import polarity_vs_attention


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(ROOT / "assets" / "yelp" / "att"))
    parser.add_argument("--docs", type=int, default=1000, help="test documents for the data-set figures")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", nargs="+", help="the checkpoint's data (default: as recorded)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = han.load(args.checkpoint)
    text = long_review(30)
    doc = model.tokenize(text)
    explain_faithfulness(model, doc)  # warm-up: imports, captum
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        explain_faithfulness(model, doc)
        seconds.append(time.perf_counter() - start)
    print(f"machine: {platform.machine()}, {args.threads} torch threads, torch {torch.__version__}")
    print(f"checkpoint: {args.checkpoint} ({model.name})")
    print(f"one document: {doc.n_words} words in {len(doc.sentences)} sentences, every method, IG 20 steps")
    print(f"  seconds per document: median {statistics.median(seconds):.2f}, max {max(seconds):.2f}")

    dataset = read_like(model.config, args.data)
    parts, _ = assign_splits(dataset.examples, model.split_seed)
    test = [dataset.examples[i] for i in parts["test"]]
    start = time.perf_counter()
    figures = dataset_faithfulness(model, test, limit=args.docs)
    measured = time.perf_counter() - start
    start = time.perf_counter()
    polarity_vs_attention(model, [model.prepare(e) for e in test[: args.docs]])
    polarity = time.perf_counter() - start
    n = figures["n"]
    print(f"data set: {n} test documents")
    print(
        f"  figures {measured:.0f} s ({n / measured:.1f} docs/s), polarity {polarity:.0f} s; "
        f"1,000 documents: {(measured + polarity) * 1000 / n / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
