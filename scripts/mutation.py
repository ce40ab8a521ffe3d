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

Per module it prints: mutants, killed (timeouts included and shown apart: the tests did not pass), survived (with
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


# tests/test_faithfulness.py's tests on a model trained until a planted word decides (its CLI tests and those on
# the session's tiny checkpoints train five more models per run: left out)
PLANTED = tuple(
    f"tests/test_faithfulness.py::test_{name}"
    for name in (
        "attributions_rank_the_planted_word_first",
        "leave_one_out_equals_a_slow_loop_of_single_forwards",
        "random_order_is_less_comprehensive_than_leave_one_out",
        "scores_cover_real_words_only_and_padding_changes_nothing",
        "one_word_and_one_sentence_documents",
        "no_documents_and_zero_limit_are_refused",
        "counterfactual_hooks_leave_the_model_as_it_was",
    )
)

# tests/test_data.py's tests of the split and the vocabulary (its readers' tests read whole corpora: left out)
DATA_TESTS = {
    module: tuple(f"tests/test_data.py::test_{name}" for name in names)
    for module, names in {
        "splits": (
            "aclimdb_dev_is_carved_from_train_stratified",
            "tang_ss_files_keep_their_sentences_and_splits",
            "stratified_80_10_10_split_is_seeded_and_recorded",
            "tiny_sets_fall_back_to_an_unstratified_split",
            "split_sizes_are_the_sizes_assign_splits_makes",
            "train_fraction_shrinks_only_the_train_split_and_picks_the_same_documents",
        ),
        "vocab": ("vocabulary_keeps_words_seen_more_than_five_times", "vocabulary_round_trips_through_vocab_txt"),
    }.items()
}

# tests/test_class_attention.py's tests that train nothing (its checkpoint tests train two models per session)
CLASS_ATTENTION = tuple(
    f"tests/test_class_attention.py::test_{name}"
    for name in (
        "the_model_computes_what_the_docstring_writes",
        "each_class_logit_reads_only_its_own_attention",
        "padding_never_changes_a_logit_or_a_weight",
        "gradients_reach_every_class_attention_and_no_padding",
        "weights_shown_are_the_predicted_class_s",
        "sentence_dropout_acts_on_sentence_vectors_never_on_evidence",
        "the_class_pooling_keeps_each_class_s_vector_and_says_its_size",
    )
)

TARGETS: dict[str, Target] = {
    "pooling": Target(
        ("han/nn/pooling.py",),
        ("tests/test_pooling.py", "tests/test_model.py", "tests/test_pooling_contract.py", *CLASS_ATTENTION),
    ),
    "model": Target(
        ("han/nn/model.py",),
        (
            "tests/test_model.py",
            "tests/test_pooling.py",
            "tests/test_model_entries.py",
            "tests/test_model_settings.py",
            *CLASS_ATTENTION,
        ),
    ),
    "gru": Target(("han/nn/gru.py",), ("tests/test_gru.py", "tests/test_gru_setup.py")),
    "attribution": Target(("han/interpret/attribution.py",), ("tests/test_attribution_checks.py", *PLANTED)),
    "faithfulness": Target(("han/interpret/faithfulness.py",), ("tests/test_erasure_figures.py", *PLANTED)),
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
        (*DATA_TESTS["splits"], "tests/test_splits.py"),
        (
            "han.data.splits.*",
            "han.data.dataset.xǁDatasetǁfingerprint__mutmut_*",
            "han.data.dataset.x__add_to_digest__mutmut_*",
        ),
    ),
    "vocab": Target(("han/data/vocab.py",), (*DATA_TESTS["vocab"], "tests/test_vocab.py")),
}

sys.path.insert(0, str(Path(__file__).resolve().parent))  # mutation_equivalent beside this script
from mutation_equivalent import EQUIVALENT  # survivors that cannot change behaviour, with the reason

# mutmut's exit codes of a mutant's test run (mutmut/stats.py), grouped as this script counts them
KILLED_CODES = {1, 3}  # tests failed, pytest internal error
TIMEOUT_CODES = {36, -24, 24, 152, 255}  # the tests ran past mutmut's time limit (a mutant that hangs them)
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


def run(work: Path, mutants: tuple[str, ...], log: Path) -> int:
    """mutmut on one core at low priority (on the mutants named, or all when none), its output in `log`; its exit
    code."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HAN_DATA": str(DATA)}
    command = ["nice", "-n", "10", "mutmut", "run", "--max-children", "1", *mutants]
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
    timeouts = sorted(k for k, c in codes.items() if c in TIMEOUT_CODES)
    survivors = sorted(k for k, c in codes.items() if c in SURVIVED_CODES)
    unknown = sorted(k for k, c in codes.items() if c not in KILLED_CODES | TIMEOUT_CODES | SURVIVED_CODES)
    listed = [k for k in survivors if k in equivalent]
    left = [k for k in survivors if k not in equivalent]
    counted = len(codes) - len(listed)
    return {
        "mutants": len(codes),
        "killed": len(killed) + len(timeouts),
        "timeout": len(timeouts),
        "survived": len(left),
        "equivalent": len(listed),
        "other": len(unknown),
        "score": (len(killed) + len(timeouts)) / counted if counted else 1.0,
        "survivors": left,
        "unknown": unknown,
        "stale": sorted(set(equivalent) - set(survivors)),  # listed as equivalent but killed or gone
    }


def report(name: str, figures: dict) -> str:
    """One module's line of figures, then its unexplained survivors and mutants without a verdict."""
    lines = [
        f"{name:<14} mutants {figures['mutants']:>4}  killed {figures['killed']:>4}  survived {figures['survived']:>3}"
        f"  equivalent {figures['equivalent']:>3}  timeout {figures['timeout']:>2}  other {figures['other']:>2}"
        f"  score {figures['score']:.1%}"
    ]
    lines += [f"    survived: {k}" for k in figures["survivors"]]
    lines += [f"    no verdict: {k}" for k in figures["unknown"]]
    lines += [f"    listed as equivalent but not a survivor: {k}" for k in figures["stale"]]
    return "\n".join(lines)


def equivalent_list(names: list[str]) -> str:
    """EQUIVALENT of `names` as markdown: per module, the mutants of each reason (docs/testing.md)."""
    lines = []
    for name in names:
        reasons: dict[str, list[str]] = {}
        for mutant, reason in EQUIVALENT.get(name, {}).items():
            reasons.setdefault(reason, []).append(mutant)
        lines.append(f"\n**{name}** ({len(EQUIVALENT.get(name, {}))})\n")
        lines += [f"- {', '.join(f'`{m}`' for m in sorted(ms))}: {reason}" for reason, ms in reasons.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(TARGETS)}")
    parser.add_argument("--work", type=Path, default=Path("/tmp/han-mutation"), help="scratch copies go here")
    parser.add_argument("--list", action="store_true", help="show the modules and their tests, run nothing")
    parser.add_argument("--report", action="store_true", help="figures of the last runs in --work, run nothing")
    parser.add_argument("--equivalent", action="store_true", help="list the equivalent mutants (markdown), run nothing")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="re-run only the last run's survivors (equivalent ones left out) against the tests as they are now",
    )
    parser.add_argument(
        "--tests", nargs="+", metavar="ARG", help="pytest arguments instead of the module's own tests (one module)"
    )
    args = parser.parse_args(argv)
    names = args.modules or list(TARGETS)
    if unknown := [name for name in names if name not in TARGETS]:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    if args.tests and len(names) != 1:
        parser.error("--tests needs exactly one module")
    if args.equivalent:
        print(equivalent_list(names))
        return 0
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
        only: tuple[str, ...] = ()
        if args.survivors and not args.report:
            only = tuple(tally(exit_codes(work, target), EQUIVALENT.get(name, {}))["survivors"])
            if not only:
                print(f"{name}: no survivors to re-run in {work}")
                continue
            skip = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / "tests", work / "tests", dirs_exist_ok=True, ignore=skip)  # the tests as now
            (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)  # which test reaches what: anew
        if not args.report:
            if not only:
                prepare(work, target)
            code = run(work, only or target.functions, args.work / f"{name}.log")
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
