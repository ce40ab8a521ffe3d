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

TARGETS: dict[str, Target] = {
    "pooling": Target(
        ("han/nn/pooling.py",), ("tests/test_pooling.py", "tests/test_model.py", "tests/test_pooling_contract.py")
    ),
    "model": Target(
        ("han/nn/model.py",),
        ("tests/test_model.py", "tests/test_pooling.py", "tests/test_model_entries.py", "tests/test_model_settings.py"),
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

# Survivors that cannot change what the code does here, with the reason (docs/testing.md lists them too).
STRICT = "zip's strict flag: the sequences zipped have equal lengths by construction"
CPU = "a device argument dropped: the same on CPU; only a GPU (none here) could tell"
INF = 'float("-INF") is float("-inf")'
LAST_DIM = "dim +1 of a 2-D tensor is dim -1"
SORTED = "enforce_sorted=None is falsy like False"
CODEC = "the codec name UTF-8 is utf-8"
REPEAT = "repeat_interleave(r) is repeat_interleave(arange(len(r)), r)"
G, P, M, V = "han.nn.gru.x", "han.nn.pooling.x", "han.nn.model.x", "han.data.vocab.xǁVocabǁ"
EQUIVALENT: dict[str, dict[str, str]] = {
    "gru": {
        **{f"{G}_per_step__mutmut_{n}": STRICT for n in (2, 4, 11)},
        f"{G}_previous_rows__mutmut_13": REPEAT,
        f"{G}_reverse_index__mutmut_12": REPEAT,
        f"{G}ǁBiGRUǁforward__mutmut_11": CPU,
        f"{G}ǁBiGRUǁforward__mutmut_56": LAST_DIM,
        f"{G}ǁBiGRUǁforward__mutmut_85": LAST_DIM,
        f"{G}ǁBiGRUǁ_forward_vf__mutmut_31": "squeeze(2) of the (2, 1, 3H) biases is a no-op, and the CPU kernel "
        "broadcasts (1, 3H) biases as (3H,) ones; only cuDNN (no GPU here) might refuse them",
        f"{G}ǁBiGRUǁ_forward_vf__mutmut_52": "the train flag of _VF.gru only matters to cuDNN's reserve space and to "
        "dropout, which is 0: the CPU kernel computes the same",
        f"{G}ǁBiGRUǁ_forward_vf__mutmut_75": "_VF.gru's dropout acts between layers; one layer has none",
    },
    "pooling": {
        **{f"{P}{name}": INF for name in ("_max_tokens__mutmut_33", "_max_weights__mutmut_12")},
        **{f"{P}ǁPoolingǁ{name}": INF for name in ("_attention__mutmut_27", "_max__mutmut_25")},
        **{f"{P}_max_tokens__mutmut_{n}": CPU for n in (76, 78, 81, 83)},
        **{f"{P}_real_mask__mutmut_{n}": CPU for n in (5, 8)},
        **{f"{P}_redundancy__mutmut_{n}": CPU for n in (25, 28)},
        **{
            f"{P}_redundancy__mutmut_{n}": "torch.eye without the heads' dtype is float32; float32 and float64 "
            "heads (the dtypes the model runs in) give the same penalty"
            for n in (24, 27)
        },
        f"{P}_pad__mutmut_15": "size(+1) of the 2-D (tokens, d) data is size(-1)",
        **{
            f"{P}ǁPoolingǁ{name}": "max pooling through the real positions instead of the padded states (or the "
            "other way round): the same maxima, weights and gradients (test_pooling.py's tie test), another route"
            for name in ("forward__mutmut_2", "forward__mutmut_3", "forward_tokens__mutmut_4")
        },
        f"{P}ǁPoolingǁforward_tokens__mutmut_71": "redundancy() does not read its mask argument (padding is 0 already)",
        f"{P}ǁPoolingǁforward_tokens__mutmut_99": "unsqueeze(+1) of the 1-D scale is unsqueeze(-1)",
        **{
            f"{P}ǁPoolingǁforward_tokens__mutmut_{n}": "average pooling through the attention's return: the mean "
            "over its one head is that head (pooled[:, 0]), and heads.mean(-1) is its weights"
            for n in (121, 122)
        },
    },
    "model": {
        **{f"{M}ǁHANǁ{name}": SORTED for name in ("forward__mutmut_19", "_packed_ids__mutmut_6")},
        f"{M}ǁHANǁencode_sentences__mutmut_27": SORTED,
        f"{M}ǁHANǁencode_sentences__mutmut_16": LAST_DIM,
        **{f"{M}ǁHANǁ_self_attention__mutmut_{n}": STRICT for n in (4, 7, 8)},
        **{f"{M}_split_word_weights__mutmut_{n}": STRICT for n in (4, 7, 8)},
        f"{M}_scatter_sentences__mutmut_6": REPEAT,
        **{f"{M}_scatter_sentences__mutmut_{n}": CPU for n in (31, 32)},
        f"{M}ǁHANǁ_word_inputs__mutmut_2": CPU,
        f"{M}ǁHANǁ_word_inputs__mutmut_6": "training without dropout, each token is projected instead of each "
        "distinct word once: the same numbers (test_model.py's test_projecting_each_distinct_word_once_changes_no_"
        "output_or_gradient), only slower",
        f"{M}ǁHANǁencode__mutmut_11": "sentence counts passed with the padded layout: only CAHAN reads them, and "
        "CAHAN refuses that layout first",
        f"{M}ǁHANǁencode_words__mutmut_1": "a default never used: every caller passes `projected`",
    },
    "train-choice": {
        **{
            f"han.training.train.x__better__mutmut_{n}": "returns None instead of False, where both are falsy: the "
            "caller only tests it with `if`"
            for n in (14, 16)
        },
        **{
            f"han.training.train.x__majority_share__mutmut_{n}": "most_common(None) and most_common(2) list the "
            "same most common class first (ties in the same order)"
            for n in (2, 6)
        },
    },
    "splits": {
        "han.data.dataset.x__add_to_digest__mutmut_12": CODEC,
        **{
            f"han.data.splits.x_recorded_split__mutmut_{n}": "allow_pickle=None or left out is False, the default"
            for n in (11, 13)
        },
        "han.data.splits.x_split_indices__mutmut_15": "np.fromiter without count= reads the same items, only "
        "without preallocating",
        **{
            f"han.data.splits.x_split_indices__mutmut_{n}": "np.asarray of int64 arrays (scikit-learn's or "
            "np.array(..., int64)) is int64 already"
            for n in (108, 110)
        },
        "han.data.splits.x_split_indices__mutmut_93": "np.bincount without minlength drops trailing zero counts, "
        "which label_counts leaves out anyway",
        **{
            f"han.data.splits.x_subset_size__mutmut_{n}": "at fraction 1, max(1, round(1 * n)) is n: the shortcut "
            "changes nothing"
            for n in (1, 4)
        },
    },
    "vocab": {
        f"{V}from_counts__mutmut_19": "words[:None] is words: slicing at max_size None keeps them all",
        **{f"{V}{name}": CODEC for name in ("save__mutmut_10", "load__mutmut_5", "digest__mutmut_6")},
        f"{V}load__mutmut_2": "split() instead of split('\\n') differs only for words holding whitespace, which "
        "han's tokenizers never make (vocab.txt has one word a line)",
    },
}

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
