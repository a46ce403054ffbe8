"""The `neuralinv` command. Each subcommand lives in its own module with register(subparsers) and run(args)."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from neuralinv.common.errors import InputError

# Subcommand modules under neuralinv.cli, in the order --help lists them.
COMMANDS = [
    "presets",
    "region",
    "train",
    "evaluate",
    "reproduce",
    "construct",
    "import_weights",
    "analyze",
    "limits",
    "bench",
    "invert",
    "sweep",
]


def build_parser() -> argparse.ArgumentParser:
    """The `neuralinv` parser with every subcommand of COMMANDS registered."""
    parser = argparse.ArgumentParser(
        prog="neuralinv",
        description="Neural approximation of the matrix inverse: reproduce the paper (Ji, Wu, Xi, arXiv 2506.00642), "
        "look inside trained ReLU nets, and compute fast inverses with error bounds.",
    )
    from neuralinv import __version__

    parser.add_argument("--version", action="version", version=f"neuralinv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"neuralinv.cli.{name.replace('-', '_')}")
        module.register(sub)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the command line argv (default sys.argv[1:]); the exit code: 0, 2 for bad input (one line on stderr),
    130 when interrupted, or what the subcommand returns."""
    parser = build_parser()
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # kill is handled like Ctrl-C: state is saved, exit 130
    try:
        return int(args.run(args) or 0)
    except InputError as err:
        print(f"neuralinv {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neuralinv {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
