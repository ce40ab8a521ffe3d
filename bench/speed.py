"""Training and inference speed and peak memory of batching choices, on a fixed slice of real Yelp data.

    python bench/speed.py [--docs 3000] [--threads 2] [--epochs 1] [--rounds 3]

Each configuration runs in its own process (so peak memory is its own), one after the other in
one invocation, so ratios compare like with like on the same machine. With --rounds N every
configuration runs once per round, the rounds one after the other, and each figure is the median
of its N runs: a slow spell of the machine then touches every row alike instead of one.

- layout: `real` = only real sentences go through the word GRU (ours); `padded` = every document
  padded to the batch's sentence count, padding sentences processed (the naive layout);
- bucketing: documents of similar sentence count batched together (the paper) or random batches;
- GRU: our fused BiGRU, pooling read from the real positions alone, or `nn.GRU` + `pad_packed_sequence` with
  attention over the padded (n, T, d) states (the usual recipe: the yardstick, kept as it was measured first);
  ours with its backward pass recorded by autograd step by step (backend "autograd", the reference)
  instead of han/nn/gru.py's hand-written one;
- ours with every token through the word GRU's input projection (before each distinct word of a batch
  was projected once), and ours with the default recipe's dropout on word vectors, which needs a
  projection per token in training (evaluation projects distinct words);
- inference: our rows run under `torch.inference_mode()`, as `Classifier.analyse` and training's dev
  evaluation do (since 2026-12-01), the yardstick under `torch.no_grad()` as first measured; the row
  "ours, no_grad" shows what inference_mode is worth; and ours in batches of 256 documents instead of 64
  (training unchanged in both rows);
- inference with the GRU's time step through `torch.compile` (inductor, dynamic shapes: one fused
  kernel for the gates instead of six), compiled in an untimed first pass (training unchanged).

Prints a table: training docs/s, inference docs/s (the median of INFER_PASSES passes), peak RSS over
the data-loaded baseline (medians over the rounds), each speed relative to the first row, and the
spread of training docs/s over the rounds (slowest and fastest run over the median). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HAN_DATA", ROOT.parent / "shared" / "data")) / "yelp" / "yelp_10k.csv.gz"
CONFIGS: list[dict[str, Any]] = [
    {"name": "real sentences + bucketing (ours)", "padded": False, "bucket": True, "gru": "fused"},
    {"name": "ours, autograd GRU step", "padded": False, "bucket": True, "gru": "fused", "backend": "autograd"},
    {"name": "padded documents + bucketing", "padded": True, "bucket": True, "gru": "fused"},
    {"name": "real sentences, no bucketing", "padded": False, "bucket": False, "gru": "fused"},
    {"name": "padded documents, no bucketing", "padded": True, "bucket": False, "gru": "fused"},
    {"name": "real + bucketing, nn.GRU + pad_packed", "padded": False, "bucket": True, "gru": "native"},
    {"name": "ours, every token projected", "padded": False, "bucket": True, "gru": "fused", "distinct": False},
    {"name": "ours, dropout 0.3 on word vectors", "padded": False, "bucket": True, "gru": "fused", "dropout": 0.3},
    {"name": "ours, no_grad", "padded": False, "bucket": True, "gru": "fused", "inference_mode": False},
    {"name": "ours, inference batches of 256", "padded": False, "bucket": True, "gru": "fused", "infer_batch": 256},
    {"name": "ours, torch.compile'd GRU step", "padded": False, "bucket": True, "gru": "fused", "compile": True},
]


INFER_PASSES = 3  # inference is timed as the median of this many passes over every document


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def use_native_gru() -> None:
    """Swap in nn.GRU, pad_packed_sequence and pooling over padded states for our GRU and token pooling."""
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pad_packed_sequence

    import han.nn.model as model

    class NativeBiGRU(nn.Module):
        def __init__(self, input_dim: int, hidden: int) -> None:
            super().__init__()
            self.gru = nn.GRU(input_dim, hidden, bidirectional=True)

        def forward(self, packed, projected=False):
            assert not projected  # nn.GRU projects its inputs itself: the yardstick embeds every token
            return self.gru(packed)[0].data  # same packed order as the input

    def native_unpack(packed, max_length):
        h, lengths = pad_packed_sequence(packed, batch_first=True, total_length=max_length)
        return h, torch.arange(max_length) < lengths.unsqueeze(1)

    def padded_pool(pool, h, mask):  # attention as the usual recipe computes it: on the padded (n, T, d) states
        if pool.variant != "att":
            return pool(h, mask)
        scores = h.new_full((*mask.shape, pool.heads), float("-inf"))  # (n, T, r)
        scores[mask] = torch.tanh(pool.project(h[mask])) @ pool.context.view(pool.heads, -1).T
        heads = scores.softmax(dim=1)  # (n, T, r)
        return torch.einsum("ntr,ntd->nrd", heads, h).mean(dim=1), heads.mean(dim=-1)

    def padded_encoder(self, packed, max_length, counts=None, projected=False, scale=None):
        h, mask = native_unpack(packed._replace(data=self.gru(packed, projected)), max_length)
        return padded_pool(self.pool, h, mask)

    model.BiGRU = NativeBiGRU  # type: ignore[misc,assignment]  # the benchmark swaps in the yardstick GRU
    model.unpack = native_unpack
    model.Encoder.forward = padded_encoder  # type: ignore[method-assign]  # and the padded pooling with it


def use_compiled_step() -> None:
    """Evaluation's recurrence (`gru_loop`) with each time step (`gru_step`) compiled by torch.compile (inductor)."""
    import torch

    import han.nn.gru as gru

    gru.gru_step = torch.compile(gru.gru_step, dynamic=True)  # gru_loop looks it up at every step


def child(config: dict, docs: int, epochs: int, threads: int) -> dict:
    """Train `epochs` on the train split of the first `docs` reviews, then predict them all."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    if config["gru"] == "native":
        use_native_gru()
    from han.data.dataset import bucket_batches, collate, read_dataset
    from han.nn.gru import BiGRU
    from han.nn.model import HAN, ModelConfig
    from han.training.train import prepare

    data = prepare(read_dataset([DATA], max_docs=docs), min_count=6)
    train_docs, targets = data.docs["train"], data.targets["train"]
    baseline = rss_mb()
    torch.manual_seed(0)
    model = HAN(ModelConfig(len(data.vocab), len(data.labels), dropout=config.get("dropout", 0.0)))
    model.project_distinct_words = config.get("distinct", config["gru"] == "fused")
    for module in model.modules():
        if isinstance(module, BiGRU) and "backend" in config:
            module.backend = config["backend"]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = time.perf_counter()
    for epoch in range(epochs):
        for indices in bucket_batches([len(d) for d in train_docs], 64, True, epoch, config["bucket"]):
            batch = collate([train_docs[i] for i in indices], [targets[i] for i in indices], config["padded"])
            assert batch.labels is not None
            loss = F.cross_entropy(model(batch).logits, batch.labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    train_rate = epochs * len(train_docs) / (time.perf_counter() - start)
    everything = [d for split in ("train", "dev", "test") for d in data.docs[split]]
    model.eval()
    ours = config["gru"] == "fused"  # our rows infer as han does; the yardstick as it was first measured
    no_autograd = torch.inference_mode if config.get("inference_mode", ours) else torch.no_grad
    batches = bucket_batches([len(d) for d in everything], config.get("infer_batch", 64), False, 0, config["bucket"])
    if config.get("compile"):
        use_compiled_step()
    warmup = 1 if config.get("compile") else 0  # the first pass compiles (~40 s): not timed
    passes = []  # seconds of each pass over every document: one pass is ~2 s, and the machine's noise is ~20 %
    for run in range(warmup + INFER_PASSES):
        start = time.perf_counter()
        with no_autograd():
            for indices in batches:
                model(collate([everything[i] for i in indices], padded=config["padded"]))
        if run >= warmup:
            passes.append(time.perf_counter() - start)
    infer_rate = len(everything) / statistics.median(passes)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "train_docs_per_s": train_rate,
        "infer_docs_per_s": infer_rate,
        "peak_over_baseline_mb": peak - baseline,
        "train_docs": len(train_docs),
        "infer_docs": len(everything),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=3000, help="first N reviews of yelp_10k")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="runs of every configuration; figures are medians")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child), args.docs, args.epochs, args.threads)))
        return
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    print(
        f"machine: {platform.processor() or platform.machine()}, {args.threads} torch threads; "
        f"data: first {args.docs} reviews of {DATA.name}, {args.epochs} epoch(s); "
        f"median of {args.rounds} round(s)"
    )
    runs: dict[str, list[dict]] = {config["name"]: [] for config in CONFIGS}
    for _ in range(args.rounds):  # every configuration once per round: the machine's slow spells hit all rows
        for config in CONFIGS:
            runs[config["name"]].append(run_child(config, args))
    header = (
        f"{'configuration':40} {'train docs/s':>12} {'x':>5} {'infer docs/s':>12} {'x':>5} {'peak MB':>8} "
        f"{'train spread':>13}"
    )
    print(header + "\n" + "-" * len(header))
    first = None
    for name, results in runs.items():
        median = {key: statistics.median(r[key] for r in results) for key in results[0]}
        first = first or median
        trains = [r["train_docs_per_s"] / median["train_docs_per_s"] for r in results]
        print(
            f"{name:40} {median['train_docs_per_s']:12.0f} "
            f"{median['train_docs_per_s'] / first['train_docs_per_s']:5.2f} {median['infer_docs_per_s']:12.0f} "
            f"{median['infer_docs_per_s'] / first['infer_docs_per_s']:5.2f} {median['peak_over_baseline_mb']:8.0f} "
            f"{min(trains):6.2f}-{max(trains):.2f}"
        )


def run_child(config: dict, args: argparse.Namespace) -> dict:
    """One configuration in a fresh process: its result dictionary."""
    command = [sys.executable, __file__, "--child", json.dumps(config), "--docs", str(args.docs)]
    command += ["--epochs", str(args.epochs), "--threads", str(args.threads)]
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
