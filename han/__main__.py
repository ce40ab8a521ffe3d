"""Command line: han (python -m han) {train, evaluate, explain, stats, focus, faithfulness, predict, info, analyse} ...

Errors in the user's data, text or checkpoint print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from han import __version__
from han.cli.analyse import add_analyse_parser, run_analyse
from han.cli.faithfulness import add_faithfulness_parser, run_faithfulness
from han.cli.inspect import add_inspect_parsers, run_evaluate, run_explain, run_focus, run_stats
from han.cli.predict import add_predict_parsers, run_info, run_predict
from han.cli.train import add_train_parser, run_train
from han.errors import HanError
from han.training.train import Interrupted


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="han", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"han {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    add_train_parser(commands)
    add_inspect_parsers(commands)
    add_faithfulness_parser(commands)
    add_predict_parsers(commands)
    add_analyse_parser(commands)
    return parser


COMMANDS = {
    "train": run_train,
    "evaluate": run_evaluate,
    "explain": run_explain,
    "stats": run_stats,
    "focus": run_focus,
    "faithfulness": run_faithfulness,
    "predict": run_predict,
    "info": run_info,
    "analyse": run_analyse,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = COMMANDS[args.command](args)
    except Interrupted as e:  # Ctrl-C during training: what is saved and how to go on, one line
        print(e, file=sys.stderr)
        return 130
    except HanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if result is not None and os.environ.get("RANK", "0") == "0":  # under torchrun only the first process reports
        try:
            print(json.dumps(result, indent=2, ensure_ascii=False))
        except BrokenPipeError:  # `han ... | head`: the reader has gone, which is no error of ours
            sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
