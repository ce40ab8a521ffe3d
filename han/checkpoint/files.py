"""Checkpoint folders without torch: their JSON files, what is missing, which checkpoints a folder holds.

The app's first page draws model cards from these alone, before torch is imported (han/checkpoint/io.py
loads the weights).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from han.data.splits import SPLIT_FILE
from han.data.vocab import Vocab
from han.errors import HanError
from han.nn.variants import VARIANTS, model_key

FILES = ("config.json", "vocab.txt", "model.safetensors", "metrics.json", SPLIT_FILE)  # what training writes
REQUIRED = ("config.json", "vocab.txt", "model.safetensors")  # the others are records: a model loads without them
RECORDS = ("word_stats.npz", "faithfulness.json")  # figures computed from the weights: stale once they change
FORMAT = "han-checkpoint/1"


def weights_digest(directory: Path) -> str:
    """sha256 of the checkpoint's model.safetensors: what `RECORDS` carry to say which weights they describe."""
    digest = hashlib.sha256()
    with (directory / "model.safetensors").open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normal_permissions(path: Path) -> None:
    """rw for the owner, r for others as the umask allows: safetensors writes its files owner-only (0600)."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict:
    """Parse a JSON object, naming the file in any error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise HanError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise HanError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}); the file may be truncated") from None
    if not isinstance(data, dict):
        raise HanError(f"{path}: expected a JSON object")
    return data


def read_metrics(path: Path) -> dict:
    """metrics.json, or {} with a warning on stderr when it is missing or unreadable: the weights still work."""
    if not path.is_file():
        print(f"warning: {path} is missing; the model loads, but its training record (accuracy, history) is "
              "not available", file=sys.stderr)  # fmt: skip
        return {}
    try:
        return read_json(path)
    except HanError as e:
        print(f"warning: {e}; the model loads without its training record", file=sys.stderr)
        return {}


def auto_reason(record: dict) -> str:
    """Why `--embeddings auto` chose as it did, from its record in config.json ("embeddings" -> "auto"):
    "75,000 documents of in-domain text >= 20,000". The training log and the app's model card both say it."""
    side = ">=" if record["chose"] == "word2vec" else "<"
    return f"{record['in_domain_documents']:,} documents of in-domain text {side} {record['word2vec_from_documents']:,}"


def check_directory(directory: Path) -> None:
    if not directory.is_dir():
        raise HanError(f"{directory}: no such checkpoint folder")
    missing = [name for name in REQUIRED if not (directory / name).is_file()]
    if missing:
        raise HanError(
            f"{directory}: checkpoint is missing {', '.join(missing)}; copy the whole checkpoint folder again "
            "(or retrain it)"
        )


def check_weights_file(path: Path) -> None:
    """The safetensors header is readable and matches the file's size (without torch; the weights are not read)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as weights:
            weights.keys()
    except (SafetensorError, OSError, ValueError) as e:
        raise HanError(f"{path}: truncated or corrupt safetensors file ({e})") from None


VOCAB_DIGEST = "vocab_sha256"  # safetensors metadata key: `Vocab.digest()` of the vocabulary saved with the weights


NOT_ONE_CHECKPOINT = "the two files are not of one checkpoint; copy the whole checkpoint folder again"


def read_vocab(directory: Path, vocab_size: int) -> Vocab:
    """vocab.txt, checked against config.json's vocab_size and against the digest model.safetensors' metadata keeps
    (when that file is readable): same words, same order. Of the same size, another list (re-sorted,
    edited, another model's) would load and give wrong predictions that look right. Checkpoints saved before
    the digest was kept carry none; only their size is checked. Needs no torch: the app's cards use it too."""
    from safetensors import SafetensorError, safe_open

    path = directory / "vocab.txt"
    try:
        vocab = Vocab.load(path)
    except (ValueError, UnicodeDecodeError) as e:
        raise HanError(f"{path}: {e}") from None
    if len(vocab) != vocab_size:
        raise HanError(
            f"{path}: has {len(vocab)} words but config.json says vocab_size {vocab_size}: {NOT_ONE_CHECKPOINT}"
        )
    try:
        with safe_open(str(directory / "model.safetensors"), framework="numpy") as weights:
            recorded = (weights.metadata() or {}).get(VOCAB_DIGEST)
    except (SafetensorError, OSError, ValueError):  # a damaged weights file: its own check names the damage
        recorded = None
    if recorded is not None and recorded != vocab.digest():
        raise HanError(
            f"{path}: not the vocabulary model.safetensors was saved with (its words or their order differ), so "
            "every word would get another word's vector; restore the checkpoint's own vocab.txt"
        )
    return vocab


def discover(folder: str | Path, problems: list[str] | None = None) -> dict[str, Path]:
    """The checkpoints of a set: {key: folder} (key: `model_key`, e.g. "att", "att-4h-c0.1"), for a checkpoint
    or a folder of them. Two checkpoints of the same setting are both kept, the second keyed by its folder too.

    A set is a folder whose sub-folders are checkpoints (e.g. assets/yelp/{att,ave,max});
    a single checkpoint folder is a set of one. Variants are read from each config.json.
    With `problems`, a checkpoint whose config.json is unreadable is left out and why appended there (the
    app shows the rest of the set); without, it is refused.
    """
    folder = Path(folder)
    if folder.is_file():  # e.g. the path of its config.json or model.safetensors
        raise HanError(f"{folder} is a file: give the checkpoint folder that holds it ({folder.parent})")
    if not folder.is_dir():
        raise HanError(f"{folder}: no such folder")
    candidates = (
        [folder]
        if (folder / "config.json").is_file()
        else sorted(p for p in folder.iterdir() if (p / "config.json").is_file())
    )
    found: dict[str, Path] = {}
    variant_of: dict[str, str] = {}
    unknown: list[str] = []  # config.json of a model this version does not build (newer han, another tool)
    for path in candidates:
        try:
            config = read_json(path / "config.json")
            model = config.get("model", {})
            if not isinstance(model, dict):  # hand-edited: every reader of the checkpoint would trip on it
                raise HanError(f"{path / 'config.json'}: 'model' must be an object of settings, not {model!r}")
        except HanError as e:
            if problems is None or len(candidates) == 1:
                raise
            problems.append(str(e))
            continue
        if model.get("variant") in VARIANTS:
            key = model_key(config)
            key = key if key not in found else f"{key} ({path.name})"  # e.g. two seeds: both shown, by folder
            found[key], variant_of[key] = path, model["variant"]
        else:
            unknown.append(f"{path / 'config.json'} names model variant {model.get('variant')!r}")
    if not found and unknown:
        raise HanError(
            f"{folder}: holds no checkpoint this version of han reads ({'; '.join(unknown)}; known: "
            f"{', '.join(VARIANTS)}); a checkpoint of a newer han needs that version"
        )
    if not found:
        sets = sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*/config.json")))  # a level up
        raise HanError(
            f"{folder}: holds no HAN checkpoint (a folder with config.json, vocab.txt, "
            "model.safetensors and metrics.json)"
            + (f"; its sub-folders {', '.join(sets)} hold checkpoints: give one of them" if sets else "")
        )
    order = list(VARIANTS)  # Table 2's order, then more heads after fewer
    return dict(sorted(found.items(), key=lambda item: (order.index(variant_of[item[0]]), len(item[0]), item[0])))
