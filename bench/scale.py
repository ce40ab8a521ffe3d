"""Peak memory and wall time of each stage as the corpus grows: does `han` fit the paper's data sizes?

    python bench/scale.py [--sizes 20000 100000 300000] [--workers 2] [--train-docs 5000] [--baseline SRC]
                          [--baseline-stages train warm stats] [--skip word2vec stats]
    (from a checkout of commit 7e6c090, before the token store: --baseline /path/to/that/checkout)

For each size N it writes a Yelp-shaped corpus (N reviews drawn with replacement from the shared
yelp_10k + yelp_open_5k, star ratings kept; the vocabulary therefore grows less than in a real corpus
of that size) and runs every stage as its own `python -m han` process, one after the other:

- tokenise, cold:  `train --epochs 0 --embeddings random` with an empty cache (read, tokenise, token
                   store, vocabulary); with `--workers 1` too, for the parallel speed-up;
- warm start:      the same again, the store already built;
- word2vec:        `--epochs 0 --embeddings word2vec` on the warm store;
- train, 1 epoch:  `train --epochs 1` on a fixed slice of `--train-docs` training reviews (dev and
                   test are 10% of N each, and are evaluated), writing a checkpoint;
- stats:           `han stats` over the test split (N/10 reviews).

Peak RSS is the stage process's own (os.wait4; tokenising workers are separate processes of about
100 MB each). The last lines fit peak RSS = a + b*N per stage and extrapolate to 1.5M reviews.
`--baseline SRC` also runs the train stage (or those of `--baseline-stages train warm stats`) with the code
of another checkout (e.g. a worktree of an older commit), side by side. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HAN_DATA", ROOT.parent / "shared" / "data")) / "yelp"
SOURCES = [DATA / "yelp_10k.csv.gz", DATA / "yelp_open_5k.csv.gz"]


def write_corpus(path: Path, size: int, seed: int = 0) -> None:
    """`size` (stars, text) rows drawn with replacement from the shared Yelp reviews."""
    sys.path.insert(0, str(ROOT))
    from han.data.dataset import read_dataset

    examples = read_dataset(SOURCES, with_unlabelled=False).examples
    rng = random.Random(seed)
    with gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=1) as handle:
        writer = csv.writer(handle)
        writer.writerow(["stars", "text"])
        for _ in range(size):
            example = examples[rng.randrange(len(examples))]
            writer.writerow([example.label, example.text])


def run_stage(args: list[str], cache: Path, source: Path = ROOT) -> tuple[float, float, int]:
    """Run `python -m han ARGS` from `source`; returns (seconds, peak RSS in MB, exit code)."""
    env = os.environ | {"HAN_CACHE": str(cache), "PYTHONPATH": str(source), "OMP_NUM_THREADS": "1"}
    if args[0] == "stats":  # the bench's own scratch file, written by every stats stage (a baseline's code too)
        Path(args[args.index("--out") + 1]).unlink(missing_ok=True)
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "han", *args], env=env, cwd=source, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    errors = process.stderr.read()  # drained while it runs, so a chatty stage cannot block on a full pipe
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        print(f"   failed ({process.returncode}): {errors.decode(errors='replace')[-400:]}", file=sys.stderr)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, process.returncode


def stages(corpus: Path, work: Path, size: int, opts: argparse.Namespace) -> list[tuple[str, list[str], str]]:
    """(name, han arguments, cache) of every stage; cache "cold" starts empty, "warm" is shared."""
    base = ["train", "--data", str(corpus), "--quiet", "--overwrite"]
    fraction = min(1.0, opts.train_docs / (0.8 * size))
    out = str(work / "run")
    steps = [
        (f"tokenise, cold ({opts.workers} workers)", [*base, "--epochs", "0", "--embeddings", "random",
                                                      "--workers", str(opts.workers), "--out", out], "warm"),
        ("warm start (store built)", [*base, "--epochs", "0", "--embeddings", "random", "--out", out], "warm"),
        ("word2vec (warm store)", [*base, "--epochs", "0", "--embeddings", "word2vec", "--out", out], "warm"),
        (f"train 1 epoch ({opts.train_docs} docs)", [*base, "--epochs", "1", "--embeddings", "random",
                                                     "--train-fraction", f"{fraction:.6f}", "--out", out], "warm"),
        ("stats (test split)", ["stats", "--checkpoint", out, "--data", str(corpus), "--split", "test",
                                "--out", str(work / "stats.npz")], "warm"),
    ]  # fmt: skip
    if size <= opts.compare_workers_up_to:
        one = [*base, "--epochs", "0", "--embeddings", "random", "--workers", "1", "--out", out]
        steps.insert(1, ("tokenise, cold (1 worker)", one, "cold"))
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 300_000])
    parser.add_argument("--workers", type=int, default=2, help="tokenising processes of the cold stage")
    parser.add_argument("--train-docs", type=int, default=5_000, help="training reviews of the 1-epoch stage")
    parser.add_argument("--compare-workers-up-to", type=int, default=100_000, help="sizes that also run 1 worker")
    parser.add_argument("--baseline", type=Path, help="another checkout: its train stage runs too, for comparison")
    parser.add_argument("--baseline-up-to", type=int, default=100_000, help="sizes that run the baseline's stage")
    parser.add_argument("--baseline-stages", nargs="+", default=["train"], choices=["train", "warm", "stats"],
                        help="stages the baseline's code runs too")  # fmt: skip
    parser.add_argument("--skip", nargs="+", default=[], choices=["word2vec", "stats"], help="stages left out")
    opts = parser.parse_args()
    print(f"# bench/scale.py on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")  # fmt: skip
    print("| reviews | stage | wall time (s) | peak RSS (MB) | docs/s |")
    print("|---|---|---|---|---|")
    peaks: dict[str, list[tuple[int, float]]] = {}
    for size in opts.sizes:
        work = Path(tempfile.mkdtemp(prefix=f"han-scale-{size}-"))
        try:
            corpus = work / "corpus.csv.gz"
            write_corpus(corpus, size)
            steps = [step for step in stages(corpus, work, size, opts) if step[0].split()[0] not in opts.skip]
            runs = [(*step, ROOT) for step in steps]  # (name, han arguments, cache, code to run)
            if opts.baseline and size <= opts.baseline_up_to:
                runs += baseline_runs(steps, opts.baseline.resolve(), opts.baseline_stages)
            for name, args, cache_kind, source in runs:
                cache = work / ("cache" if cache_kind == "warm" else f"cache-{cache_kind}")
                if cache_kind == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                seconds, peak, code = run_stage(args, cache, source)
                rate = f"{size / seconds:.0f}" if name.startswith(("tokenise", "warm")) else "-"
                status = "" if code == 0 else " (failed)"
                print(f"| {size:,} | {name}{status} | {seconds:.1f} | {peak:.0f} | {rate} |", flush=True)
                baseline = ", baseline" if source != ROOT else ""
                peaks.setdefault(name.split(" (")[0] + baseline, []).append((size, peak))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print()
    for name, points in peaks.items():
        if len(points) >= 2:
            slope, intercept = fit(points)
            print(f"{name}: peak RSS ~ {intercept:.0f} MB + {slope * 1024:.2f} KB per review; "
                  f"at 1.5M reviews ~ {intercept + slope * 1_500_000:,.0f} MB")  # fmt: skip


def baseline_runs(
    steps: list[tuple[str, list[str], str]], baseline: Path, stages: list[str]
) -> list[tuple[str, list[str], str, Path]]:
    """The `stages` again with the baseline's code, after all of ours (its train stage rewrites the checkpoint).

    "train" runs with a cache of its own (a checkout from before the token store builds everything itself);
    "warm" and "stats" read the warm store and the checkpoint our stages made, so both codes do the same work.
    """
    runs = []
    for stage in ("warm", "stats", "train"):  # train last: the stats stages read the checkpoint it replaces
        if stage in stages:
            name, args, _ = next(step for step in steps if step[0].startswith(stage))
            runs.append((f"{name}, baseline", args, "base" if stage == "train" else "warm", baseline))
    return runs


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares line through (size, MB): (MB per review, MB at zero)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    return slope, mean_y - slope * mean_x


if __name__ == "__main__":
    main()
