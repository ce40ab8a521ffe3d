"""`han train`'s options for faithful attention (issue 34; han/training/objectives.py, han/nn/tasc.py)."""

from __future__ import annotations

import argparse
from typing import Any

from han.training.objectives import CLASS_ATTENTION, FAITHFUL_LEVELS, FAITHFUL_TARGETS


def add_objective_args(train: argparse.ArgumentParser) -> None:
    """The option group; values are checked by TrainConfig's check (one line, before any data is read)."""
    group = train.add_argument_group(
        "faithful attention (attention trained to carry the decision; --variant att or cahan, any heads)"
    )
    group.add_argument(
        "--faithful-loss",
        type=float,
        default=0.0,
        metavar="LAMBDA",
        help="add LAMBDA * KL(softmax(target / T) || attention) to the loss, the target an attribution of the "
        "model being trained, computed on the fly; 0 is off (default: 0.0)",
    )
    group.add_argument(
        "--faithful-target",
        default="grad-input",
        metavar="{" + ",".join(FAITHFUL_TARGETS) + "}",
        help="the attribution the attention is trained towards: gradient x input of the predicted class "
        "(default: grad-input)",
    )
    group.add_argument(
        "--faithful-level",
        default="both",
        metavar="{" + ",".join(FAITHFUL_LEVELS) + "}",
        help="supervise the word weights, or the word and the sentence weights (default: both)",
    )
    group.add_argument(
        "--faithful-temperature",
        type=float,
        default=0.25,
        metavar="T",
        help="softmax temperature of the target, scaled to [-1, 1] per sentence / document (default: 0.25)",
    )
    group.add_argument(
        "--faithful-after",
        type=int,
        default=1,
        metavar="N",
        help="epochs trained on the task alone before the faithful loss starts: an untrained model's attribution "
        "is noise (default: 1)",
    )
    group.add_argument(
        "--tasc",
        action="store_true",
        help="task-scaled word attention (TaSc, Chrysostomou & Aletras 2021): a learned scalar per word, from its "
        "vector, multiplies its attention weight; the heatmap shows the scaled weights (--variant att)",
    )
    group.add_argument(
        "--class-attention",
        default="none",
        metavar="{" + ",".join(CLASS_ATTENTION) + "}",
        help="an attention per class, the heatmap showing the predicted class's (--variant att, one head): "
        "'evidence' = the attention scores are the class's evidence at both levels, its logit their "
        "attention-weighted sum (han/nn/evidence.py); 'separate' = class c's logit reads what its own attention "
        "pooled through the sentence GRU and a linear readout (default: none)",
    )
    group.add_argument(
        "--word-dropout",
        type=float,
        default=0.0,
        metavar="P",
        help="remove each word of a training document with probability P, as erasure tests do (default: 0.0)",
    )


def objective_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainConfig fields of the parsed options."""
    return {
        "faithful_loss": args.faithful_loss,
        "faithful_target": args.faithful_target,
        "faithful_level": args.faithful_level,
        "faithful_temperature": args.faithful_temperature,
        "faithful_after": args.faithful_after,
        "tasc": args.tasc,
        "class_attention": args.class_attention,
        "word_dropout": args.word_dropout,
    }
