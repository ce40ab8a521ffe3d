"""Mutation testing (mutmut) of the modules where a silent error would do most harm (issue 33).

    python scripts/mutation.py                 # every module below, one after the other
    python scripts/mutation.py pooling gru     # some of them
    python scripts/mutation.py --list          # the modules, the code each mutates and the tests each runs
    python scripts/mutation.py --report        # the figures of the last runs again, without running

Each module runs in a scratch copy of its own (--work, default /tmp/han-mutation/NAME): han/, tests/, assets/ and a
pyproject.toml whose [tool.mutmut] section mutates that module's file(s) only and runs only its test files, so a
run fits one core in minutes. mutmut copies the scratch copy into mutants/ and runs pytest there; the package is
imported from mutants/ (mutmut puts it first on sys.path and the run gets no PYTHONPATH), never from this worktree
nor from the editable install, and mutmut's own forced-fail check stops the run if the tests never reach the
mutated code. One worker, OMP_NUM_THREADS=1, nice 10: the machine's other core belongs to someone else.

Per module it prints: mutants, killed (timeouts count as killed: the tests did not pass), survived (including
"no tests": mutants no selected test reaches), equivalent (survivors listed in EQUIVALENT below, each with why it
cannot change behaviour) and the score, killed / (mutants - equivalent). Survivors not listed are printed by name:
`cd WORK/NAME && mutmut show NAME` shows the change. Mutant numbers follow mutmut 3.8.1 and the source as it is;
re-check EQUIVALENT after editing a module. Not part of .ci/run (a full run takes tens of minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HAN_DATA", ROOT.parent / "shared" / "data"))


@dataclass(frozen=True)
class Target:
    """One mutation run: the files mutmut mutates, the mutant-name patterns kept (all of the files' mutants when
    empty: mutmut names a mutant `module.x_function__mutmut_N`, a method `module.xǁClassǁmethod__mutmut_N`), and
    the pytest arguments that select the tests run against every mutant."""

    files: tuple[str, ...]
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()


TARGETS: dict[str, Target] = {
    "pooling": Target(("han/nn/pooling.py",), ("tests/test_pooling.py", "tests/test_model.py")),
    "model": Target(("han/nn/model.py",), ("tests/test_model.py", "tests/test_pooling.py")),
    "gru": Target(("han/nn/gru.py",), ("tests/test_gru.py", "tests/test_gru_setup.py")),
    "attribution": Target(
        ("han/interpret/attribution.py",),
        ("tests/test_faithfulness.py", "-k", "not cli and not pooling_are and not without_attention"),
    ),
    "faithfulness": Target(
        ("han/interpret/faithfulness.py",),
        ("tests/test_faithfulness.py", "-k", "not cli and not pooling_are and not without_attention"),
    ),
    "train-choice": Target(
        ("han/training/train.py",),
        (
            "tests/test_train_choice.py",
            "tests/test_recipes.py::test_collapse_guard_flags_a_collapsed_run_and_prefers_healthy_epochs",
            "tests/test_recipes.py::test_collapse_guard_leaves_a_healthy_run_unflagged",
        ),
        (
            "han.training.train.x__better__mutmut_*",
            "han.training.train.x__majority_share__mutmut_*",
            "han.training.train.x_collapse_warning__mutmut_*",
        ),
    ),
    "splits": Target(
        ("han/data/splits.py", "han/data/dataset.py"),
        ("tests/test_data.py", "tests/test_splits.py"),
        (
            "han.data.splits.*",
            "han.data.dataset.xǁDatasetǁfingerprint__mutmut_*",
            "han.data.dataset.x__add_to_digest__mutmut_*",
        ),
    ),
    "vocab": Target(("han/data/vocab.py",), ("tests/test_data.py", "tests/test_vocab.py")),
}

# Survivors that cannot change what the code does, with the reason (docs/testing.md lists them too).
EQUIVALENT: dict[str, dict[str, str]] = {}

# mutmut's exit codes of a mutant's test run (mutmut/stats.py), grouped as this script counts them
KILLED_CODES = {1, 3, 36, -24, 24, 152, 255}  # tests failed, pytest internal error, timeouts
SURVIVED_CODES = {0, 5, 33}  # tests passed, no test reached the mutant


def mutmut_config(target: Target) -> str:
    """The scratch copy's pyproject.toml: mutmut's section for `target` and the project's pytest settings."""
    listed = lambda items: "[" + ", ".join(json.dumps(i) for i in items) + "]"
    return "\n".join(
        [
            "[tool.mutmut]",
            'source_paths = ["han"]',
            f"only_mutate = {listed(target.files)}",
            f"pytest_add_cli_args_test_selection = {listed(target.tests)}",
            'pytest_add_cli_args = ["-p", "no:cacheprovider"]',
            'also_copy = ["assets"]',
            "",
            "[tool.pytest.ini_options]",
            'testpaths = ["tests"]',
            'pythonpath = ["."]',
            'markers = ["browser: end-to-end test in headless Chromium"]',
            "",
        ]
    )


def prepare(work: Path, target: Target) -> None:
    """A fresh scratch copy of the package, the tests and the shipped checkpoints, with `target`'s config."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("han", "tests", "assets"):
        shutil.copytree(ROOT / folder, work / folder, ignore=skip)
    (work / "pyproject.toml").write_text(mutmut_config(target), encoding="utf-8")


def run(work: Path, target: Target, log: Path) -> int:
    """mutmut on one core at low priority, its output in `log`; its exit code."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HAN_DATA": str(DATA)}
    command = ["nice", "-n", "10", "mutmut", "run", "--max-children", "1", *target.functions]
    with log.open("w", encoding="utf-8") as out:
        return subprocess.run(command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, check=False).returncode


def exit_codes(work: Path, target: Target) -> dict[str, int | None]:
    """Each kept mutant's exit code, read from mutmut's .meta files in `work`/mutants."""
    codes: dict[str, int | None] = {}
    for file in target.files:
        meta = work / "mutants" / (file + ".meta")
        if meta.is_file():
            codes |= json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {k: v for k, v in codes.items() if not target.functions or any(fnmatch(k, p) for p in target.functions)}


def tally(codes: dict[str, int | None], equivalent: dict[str, str]) -> dict:
    """Counts and score of one module's mutants; survivors in `equivalent` are counted apart."""
    killed = sorted(k for k, c in codes.items() if c in KILLED_CODES)
    survivors = sorted(k for k, c in codes.items() if c in SURVIVED_CODES)
    unknown = sorted(k for k in codes if k not in killed and k not in survivors)  # not run, or crashed the worker
    listed = [k for k in survivors if k in equivalent]
    left = [k for k in survivors if k not in equivalent]
    counted = len(codes) - len(listed)
    return {
        "mutants": len(codes),
        "killed": len(killed),
        "survived": len(left),
        "equivalent": len(listed),
        "other": len(unknown),
        "score": len(killed) / counted if counted else 1.0,
        "survivors": left,
        "unknown": unknown,
        "stale": sorted(set(equivalent) - set(survivors)),  # listed as equivalent but killed or gone
    }


def report(name: str, figures: dict) -> str:
    """One module's line of figures, then its unexplained survivors and mutants without a verdict."""
    lines = [
        f"{name:<14} mutants {figures['mutants']:>4}  killed {figures['killed']:>4}  survived {figures['survived']:>3}"
        f"  equivalent {figures['equivalent']:>3}  other {figures['other']:>2}  score {figures['score']:.1%}"
    ]
    lines += [f"    survived: {k}" for k in figures["survivors"]]
    lines += [f"    no verdict: {k}" for k in figures["unknown"]]
    lines += [f"    listed as equivalent but not a survivor: {k}" for k in figures["stale"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(TARGETS)}")
    parser.add_argument("--work", type=Path, default=Path("/tmp/han-mutation"), help="scratch copies go here")
    parser.add_argument("--list", action="store_true", help="show the modules and their tests, run nothing")
    parser.add_argument("--report", action="store_true", help="figures of the last runs in --work, run nothing")
    parser.add_argument(
        "--tests", nargs="+", metavar="ARG", help="pytest arguments instead of the module's own tests (one module)"
    )
    args = parser.parse_args(argv)
    names = args.modules or list(TARGETS)
    if unknown := [name for name in names if name not in TARGETS]:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    if args.tests and len(names) != 1:
        parser.error("--tests needs exactly one module")
    if args.list:
        for name in names:
            target = TARGETS[name]
            print(f"{name}: mutates {' '.join(target.files)} {' '.join(target.functions)}")
            print(f"    tests: {' '.join(target.tests)}")
        return 0
    if not args.report and shutil.which("mutmut") is None:
        print("mutmut is not installed: pip install mutmut==3.8.1", file=sys.stderr)
        return 2
    for name in names:
        target, work = TARGETS[name], args.work / name
        if args.tests:
            target = replace(target, tests=tuple(args.tests))
        if not args.report:
            prepare(work, target)
            code = run(work, target, args.work / f"{name}.log")
            if code:
                print(f"{name}: mutmut stopped with exit code {code}; see {args.work / (name + '.log')}")
                continue
        codes = exit_codes(work, target)
        if not codes:
            print(f"{name}: no results in {work}; run it first")
            continue
        print(report(name, tally(codes, EQUIVALENT.get(name, {}))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
