"""What every `han` command's parser shares: help that always says what happens without the option."""

from __future__ import annotations

import argparse
from pathlib import Path


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


def add_data_args(parser: argparse.ArgumentParser) -> None:
    """--data and the options of reading it, as every command that reads documents has them."""
    parser.add_argument(
        "--data",
        nargs="+",
        required=True,
        metavar="PATH",
        help="CSV/TSV/JSON-lines (.gz ok), aclImdb archive or folder, Tang .ss files",
    )
    parser.add_argument("--text-col", help="text column of CSV/TSV/JSON (default: auto-detect)")
    parser.add_argument("--label-col", help="label column of CSV/TSV/JSON (default: auto-detect)")
    parser.add_argument(
        "--max-docs",
        type=int,
        help="use at most N labelled documents: the first N of a file (a seeded random N for aclImdb); "
        "with several files N is shared equally between them, no file left out (default: all)",
    )
    parser.add_argument(
        "--encoding", help="text encoding of CSV/TSV/JSON/.ss files (default: utf-8; undecodable bytes are an error)"
    )


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    """--overwrite: without it a command refuses an output file that already exists (nothing is lost by mistake)."""
    parser.add_argument("--overwrite", action="store_true", help="replace output files that already exist")


def inputs_of(args: argparse.Namespace) -> list[str]:
    """What a command reads (its --data, --file and the checkpoint's files): no output may be written over them."""
    from han.checkpoint.files import FILES

    data = args.data if isinstance(getattr(args, "data", None), list) else [getattr(args, "data", None)]
    checkpoint = [str(Path(args.checkpoint) / name) for name in FILES] if getattr(args, "checkpoint", None) else []
    return [path for path in [*data, getattr(args, "file", None), *checkpoint] if path]


def read_document(file: str) -> str:
    """The text of --file (a UTF-8 text file, or '-' for standard input)."""
    import sys

    from han.data.text import decode_text
    from han.errors import HanError

    path = Path(file)
    if file != "-" and path.is_dir():
        raise HanError(f"--file {file} is a folder; give a text file")
    if file != "-" and not path.is_file():
        raise HanError(f"{file}: no such file")
    return decode_text(sys.stdin.buffer.read() if file == "-" else path.read_bytes(), file)
