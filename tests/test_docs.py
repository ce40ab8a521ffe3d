"""The README's examples run as written, and every option's --help says its default: docs cannot drift."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from han.__main__ import build_parser
from han.cli.common import DefaultsHelpFormatter

from .conftest import DATA, ROOT

# Added to a README command so that it runs in seconds; the command as written must still parse and run.
FASTER = {
    "train": "--max-docs 600 --epochs 1",
    "faithfulness --checkpoint assets/yelp/att --data": "--limit 4",
    "focus": "--limit 20",
}


def readme_blocks(language: str) -> list[str]:
    """The README's fenced blocks of one language, in order."""
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def readme_commands() -> list[str]:
    """Every `python -m han ...` command of the README, continuation lines joined, comments dropped."""
    commands = []
    for block in readme_blocks("bash"):
        joined = re.sub(r"\\\n\s*", "", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("python -m han "):
                commands.append(line)
    return commands


def test_the_readme_has_the_examples_this_test_runs():
    verbs = [command.split()[3] for command in readme_commands()]
    assert {"train", "evaluate", "explain", "stats", "focus", "predict", "info", "faithfulness"} <= set(verbs)


@pytest.fixture(scope="module")
def readme_place(tmp_path_factory) -> Path:
    """A folder laid out like a clone: the README's relative paths (assets/, ../shared/data) resolve,
    and whatever the examples write (runs/, out.html, assets/yelp/att/faithfulness.json) stays in tmp."""
    base = tmp_path_factory.mktemp("readme")
    repo = base / "repo"
    shutil.copytree(ROOT / "assets", repo / "assets", ignore=shutil.ignore_patterns("imdb"))
    (base / "shared").mkdir()
    (base / "shared" / "data").symlink_to(DATA)
    return repo


def test_readme_commands_run_as_written(readme_place):
    for command in readme_commands():
        verb = command.split()[3]
        extra = next((more for start, more in FASTER.items() if command.startswith(f"python -m han {start}")), "")
        run = f"{sys.executable} -m han {command.removeprefix('python -m han ')} {extra}"
        done = subprocess.run(["bash", "-c", run], cwd=readme_place, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
        if verb in ("evaluate", "explain", "info"):
            assert done.stdout.lstrip().startswith("{"), command  # JSON on stdout
    for written in ("out.html", "faith.html", "predictions.csv", "runs/yelp-att/word_stats.npz"):
        assert (readme_place / written).stat().st_size > 0, written
    assert (readme_place / "runs" / "yelp-att-paper" / "config.json").exists()


def test_readme_python_example_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    for block in readme_blocks("python"):
        exec(compile(block, "README.md", "exec"), {})


def printed_help(command: argparse.ArgumentParser) -> dict[str, str]:
    """Each option's entry in the command's --help as printed (its first option string -> the entry, lines joined)."""
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in command.format_help().splitlines():
        start = re.match(r"^  (-{1,2}[\w-]+)", line)
        if start:
            current = entries.setdefault(start.group(1), [])
            current.append(line)
        elif current is not None and line.startswith("   "):
            current.append(line)
        else:
            current = None
    return {option: " ".join(" ".join(lines).split()) for option, lines in entries.items()}


def said_default(value: object) -> list[str]:
    """How --help may say an option's default `value`: as the value itself; a flag as off/on."""
    if isinstance(value, bool):
        return [f"(default: {'on' if value else 'off'})", f"(default: {value})"]
    return [f"(default: {value})", f"(default: {value};"]


def test_every_option_says_its_default_in_help(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # --help unwrapped: one entry's text is never cut across lines
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    silent = []
    for name, command in commands.choices.items():
        assert command.formatter_class is DefaultsHelpFormatter, name
        chosen_in_group = {
            id(action)
            for group in command._mutually_exclusive_groups
            if group.required
            for action in group._group_actions
        }
        formatter = DefaultsHelpFormatter(name)
        for action in command._actions:
            if not action.option_strings or action.required or id(action) in chosen_in_group:
                continue
            if isinstance(action, argparse._HelpAction):
                continue
            if "default" not in formatter._get_help_string(action):
                silent.append(f"{name} {action.option_strings[0]}")
    assert not silent, f"options whose --help does not say what happens without them: {silent}"
    # What --help prints, against each option's real default (read from argparse, not from the formatter):
    # an option with a default names that value; one without (None) says in words what happens.
    wrong, checked = [], 0
    for name, command in commands.choices.items():
        printed = printed_help(command)
        for action in command._actions:
            if not action.option_strings or action.required or isinstance(action, argparse._HelpAction):
                continue
            entry = printed[action.option_strings[0]]
            if action.default is None:
                ok = "default:" in entry or id(action) in {
                    id(a) for g in command._mutually_exclusive_groups if g.required for a in g._group_actions
                }
            else:
                ok = any(said in entry for said in said_default(action.default))
                checked += 1
            if not ok:
                wrong.append(f"{name} {action.option_strings[0]} (default {action.default!r}): {entry}")
    assert not wrong, "options whose --help does not say their real default:\n" + "\n".join(wrong)
    assert checked >= 35  # every option with a default of its own (35 when this test was written) was checked
