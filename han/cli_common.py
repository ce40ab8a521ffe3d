"""What every `han` command's parser shares: help that always says what happens without the option."""

from __future__ import annotations

import argparse


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to an option's help, "(default: off)" to a flag's.

    Options whose default is None say in their own help what happens without them ("default: all").
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default:" in text or action.default is None or action.default == argparse.SUPPRESS:
            return text
        if action.default is False and action.nargs == 0:  # a store_true flag
            return f"{text} (default: off)"
        return f"{text} (default: %(default)s)"


def add_command(commands: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    """A sub-command whose --help shows every option's default."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help, formatter_class=DefaultsHelpFormatter)
    return parser
