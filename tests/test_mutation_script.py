"""scripts/mutation.py's own logic (the mutation runs themselves are not part of the suite): which mutants it
keeps, how it counts them, the config it writes."""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import ROOT


@pytest.fixture(scope="module")
def mutation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_under_test", ROOT / "scripts" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_counts_and_score_leave_listed_equivalent_survivors_out(mutation):
    codes = {"a": 1, "b": 0, "c": 0, "d": 33, "e": 36, "f": None, "g": 3, "h": 1}
    figures = mutation.tally(codes, {"c": "a log message", "z": "gone since"})
    assert {k: figures[k] for k in ("mutants", "killed", "timeout", "survived", "equivalent", "other")} == {
        "mutants": 8,
        "killed": 4,  # a, g, h, and the timeout e
        "timeout": 1,
        "survived": 2,  # b, and d that no test reached
        "equivalent": 1,
        "other": 1,  # f: never run
    }
    assert figures["score"] == pytest.approx(4 / 7)
    assert figures["survivors"] == ["b", "d"] and figures["unknown"] == ["f"] and figures["stale"] == ["z"]
    line = mutation.report("demo", figures).splitlines()
    assert " ".join(line[0].split()) == "demo mutants 8 killed 4 survived 2 equivalent 1 timeout 1 other 1 score 57.1%"
    assert [row.strip() for row in line[1:]] == [
        "survived: b",
        "survived: d",
        "no verdict: f",
        "listed as equivalent but not a survivor: z",
    ]


def test_only_the_functions_asked_for_are_counted(mutation, tmp_path):
    target = mutation.Target(("han/x.py",), ("tests/test_x.py",), ("han.x.x_kept__mutmut_*",))
    meta = tmp_path / "mutants" / "han" / "x.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {"han.x.x_kept__mutmut_1": 1, "han.x.x_kept__mutmut_2": 0, "han.x.x_other__mutmut_1": 0}
    meta.write_text(json.dumps({"exit_code_by_key": codes}), encoding="utf-8")
    assert mutation.exit_codes(tmp_path, target) == {"han.x.x_kept__mutmut_1": 1, "han.x.x_kept__mutmut_2": 0}
    everything = mutation.Target(("han/x.py", "han/missing.py"), ("tests/test_x.py",))
    assert mutation.exit_codes(tmp_path, everything) == codes  # a file without results adds nothing


def test_the_scratch_config_mutates_one_module_and_runs_its_tests(mutation):
    target = mutation.TARGETS["train-choice"]
    config = tomllib.loads(mutation.mutmut_config(target))
    assert config["tool"]["mutmut"]["only_mutate"] == ["han/training/train.py"]
    assert config["tool"]["mutmut"]["pytest_add_cli_args_test_selection"] == list(target.tests)
    assert config["tool"]["pytest"]["ini_options"]["pythonpath"] == ["."]  # mutants/, where mutmut runs pytest


def test_every_module_names_files_and_tests_that_exist(mutation):
    for name, target in mutation.TARGETS.items():
        assert all((ROOT / f).is_file() for f in target.files), name
        for test in target.tests:
            assert (ROOT / test.split("::")[0]).is_file(), (name, test)
            if "::" in test:  # a test named that no longer exists would make mutmut stop
                assert f"def {test.split('::')[1]}(" in Path(ROOT / test.split("::")[0]).read_text(), test
    assert all(name in mutation.TARGETS for name in mutation.EQUIVALENT)


def test_an_unknown_module_is_refused_with_the_choices(mutation, capsys):
    with pytest.raises(SystemExit) as stopped:
        mutation.main(["sum"])
    assert stopped.value.code == 2
    assert "unknown module sum; choose from pooling, model, gru" in capsys.readouterr().err
