"""Training and inference cost of every variant against HN-ATT, on the same batches of real reviews.

    python bench/variants.py [--docs 1500] [--threads 1] [--rounds 3] [--only NAME ...]

Models: HN-ATT; the paper's other two, HN-AVE and HN-MAX; multi-head attention with 4 heads at both
levels (mean, and concatenated + penalty); CAHAN left-to-right (sum), bidirectional (sum, the shipped
one) and bidirectional gated (mean). All get the same bucketed batches of 32 documents (the first
`--docs` yelp_10k reviews, vocabulary from them, random 50-d embeddings). The models take turns
within each round, so machine noise hits all alike; the table gives the median over rounds of training
docs/s (forward, backward, Adam step) and inference docs/s, and each as a share of HN-ATT's.
Goal (issue 12): each successor at most 2x HN-ATT's training cost (ratio >= 0.5). Issue 35's designs (an encoder
other than the GRU at both levels, the flat structure) follow: their goal is the other way, >= 2x HN-ATT's
training docs/s. `--only` keeps the models whose name contains one of the words given (HN-ATT always runs).
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from han.data.dataset import bucket_batches, collate, read_dataset
from han.data.prepare import prepare
from han.nn.model import HAN, ModelConfig

DATA = Path(os.environ.get("HAN_DATA", ROOT.parent / "shared" / "data")) / "yelp" / "yelp_10k.csv.gz"
MODELS: dict[str, dict[str, Any]] = {
    "HN-ATT": {},
    "HN-AVE": {"variant": "ave"},
    "HN-MAX": {"variant": "max"},
    "4 heads, mean": {"heads": 4},
    "4 heads, concat (+ penalty)": {"heads": 4, "head_combine": "concat"},
    "CAHAN left, sum": {"variant": "cahan"},
    "CAHAN bi, sum": {"variant": "cahan", "context_direction": "bi"},  # the shipped assets/yelp/cahan
    "CAHAN bi, mean, gated": {
        "variant": "cahan",
        "context_direction": "bi",
        "context_aggregate": "mean",
        "context_gate": True,
    },
    "Transformer (1 layer, 4 heads)": {"encoder": "transformer"},
    "Transformer, flat": {"encoder": "transformer", "structure": "flat"},
    "conv": {"encoder": "conv"},
    "conv, flat": {"encoder": "conv", "structure": "flat"},
    "no encoder": {"encoder": "none"},
    "no encoder, flat": {"encoder": "none", "structure": "flat"},
    "GRU, flat": {"structure": "flat"},
}


def timed_epoch(model: HAN, batches: list, train: bool) -> float:
    """Documents per second over `batches`, training (with an Adam step) or inferring."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train(train)
    start, docs = time.perf_counter(), 0
    for batch, labels in batches:
        if train:
            out = model(batch)
            loss = torch.nn.functional.cross_entropy(out.logits, labels)
            if out.penalty is not None:
                loss = loss + 0.1 * out.penalty
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        else:
            with torch.inference_mode():
                model(batch)
        docs += len(labels)
    return docs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1500, help="yelp_10k reviews used (default: 1500)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of every model (default: 3)")
    parser.add_argument("--only", nargs="+", help="models whose name contains one of these (default: every model)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = prepare(read_dataset([DATA], max_docs=args.docs), min_count=2)
    docs = data.docs["train"]
    targets = data.targets["train"]
    order = bucket_batches([len(d) for d in docs], 32, shuffle=True, seed=0)
    batches = [(collate([docs[i] for i in b]), torch.tensor([targets[i] for i in b])) for b in order]
    models = {}
    for name, settings in MODELS.items():
        if args.only and name != "HN-ATT" and not any(word in name for word in args.only):
            continue
        torch.manual_seed(0)
        config = ModelConfig(vocab_size=len(data.vocab), n_classes=len(data.labels), embed_dim=50, **settings)
        models[name] = HAN(config)
    speeds: dict[str, dict[str, list[float]]] = {name: {"train": [], "infer": []} for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            speeds[name]["train"].append(timed_epoch(model, batches, train=True))
            speeds[name]["infer"].append(timed_epoch(model, batches, train=False))
    n_docs = sum(len(labels) for _, labels in batches)
    print(f"machine: {platform.machine()}, torch {torch.__version__}, {args.threads} thread(s)")
    print(f"{n_docs} training documents in {len(batches)} batches of up to 32; median of {args.rounds} rounds")
    if os.getloadavg()[0] > args.threads + 0.8:
        print(f"note: another process used the other core during this run (load average {os.getloadavg()[0]:.1f})")
    print(f"{'model':<30} {'train docs/s':>12} {'vs HN-ATT':>9} {'infer docs/s':>13} {'vs HN-ATT':>9}")
    base = {kind: statistics.median(speeds["HN-ATT"][kind]) for kind in ("train", "infer")}
    for name in models:
        train, infer = (statistics.median(speeds[name][kind]) for kind in ("train", "infer"))
        print(f"{name:<30} {train:>12.0f} {train / base['train']:>9.2f} {infer:>13.0f} {infer / base['infer']:>9.2f}")


if __name__ == "__main__":
    main()
