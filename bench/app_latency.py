"""App responsiveness: model load, explanation latency of a 30-sentence review, first page render.

    python bench/app_latency.py [--set assets/yelp] [--repeats 30]

Prints a table; nothing is asserted. Goals (issue 3): explaining a 30-sentence review well under
100 ms of model time; the first page up within a few seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import han
from han.checkpoint.io import discover


def long_review(n_sentences: int = 30) -> str:
    """A 30-sentence review assembled from our own example reviews (assets/examples.json)."""
    from han.data.text import split_sentences

    data = json.loads((ROOT / "assets" / "examples.json").read_text())
    sentences = [s for group in ("restaurant", "movie") for e in data[group] for s in split_sentences(e["text"])]
    return " ".join((sentences * (n_sentences // len(sentences) + 1))[:n_sentences])


def time_ms(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


FIRST_PAGE = """
import time; start = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=120); at.run()
assert not at.exception, at.exception
print(time.perf_counter() - start)
"""


def first_page_seconds() -> float:
    """Home page rendered in a fresh Python process: imports, model loads and all."""
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", FIRST_PAGE.format(app=str(ROOT / "app.py"))], capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default=str(ROOT / "assets" / "yelp"))
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    text = long_review()
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"document: {len(text.split())} words in 30 sentences\n")
    print(
        f"{'model':8} {'load ms':>8} {'tokenise ms':>12} {'model ms (median/max)':>22} {'explain ms (median/max)':>24}"
    )
    for path in discover(args.set).values():
        start = time.perf_counter()
        model = han.load(path)
        load_ms = (time.perf_counter() - start) * 1000
        doc = model.tokenize(text)
        assert len(doc.sentences) == 30, len(doc.sentences)
        tokenise, _ = time_ms(lambda m=model: m.tokenize(text), args.repeats)
        model_med, model_max = time_ms(lambda m=model, d=doc: next(m.analyse([d])), args.repeats)
        full_med, full_max = time_ms(lambda m=model: m.explain(text), args.repeats)
        print(
            f"{model.name:8} {load_ms:8.0f} {tokenise:12.1f} {model_med:13.1f} / {model_max:6.1f} "
            f"{full_med:15.1f} / {full_max:6.1f}"
        )
    print(f"\nfirst page (home, fresh process, AppTest): {first_page_seconds():.2f} s")


if __name__ == "__main__":
    main()
