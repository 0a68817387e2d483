"""The ``fusionbench`` command: a thin layer over the library.

Each sub-command lives in its own module of :mod:`fusionbench.commands` with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(arguments) -> int``; they are discovered automatically.
User errors (:class:`FusionBenchError`) print ``error: ...`` and exit with status 2, never a
traceback; Ctrl-C exits with status 130 after whatever finished was saved.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Sequence

from . import __version__, commands
from .allocator import apply_unless_disabled
from .datasets.fetching import DATA_ENVIRONMENT_VARIABLE, set_data_directories
from .errors import FusionBenchError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def command_modules() -> list:
    """Every sub-command module in :mod:`fusionbench.commands`, sorted by command name."""
    modules = [importlib.import_module(f"{commands.__name__}.{info.name}")
               for info in pkgutil.iter_modules(commands.__path__) if not info.name.startswith("_")]
    return sorted((module for module in modules if hasattr(module, "NAME")), key=lambda module: module.NAME)


def common_options() -> argparse.ArgumentParser:
    """Options every sub-command accepts."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data-dir", metavar="DIR", action="append",
                        help=f"local mirror of datasets/checkpoints (repeatable; default: ${DATA_ENVIRONMENT_VARIABLE}, "
                             "then the download cache)")
    parser.add_argument("--plugin", metavar="MODULE", action="append", default=[],
                        help="import MODULE before running, so that its algorithms/metrics register (repeatable)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fusionbench",
        description="Benchmark image fusion algorithms with metrics verified against the reference code.",
        epilog="Run 'fusionbench COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"fusionbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    parent = common_options()
    for module in command_modules():
        subparser = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP,
                                          parents=[parent], formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(subparser)
        subparser.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parser.parse_args(argv)
    arguments.argv = argv  # the command line as given, recorded in run.json
    if not getattr(arguments, "handler", None):
        parser.print_help()
        return EXIT_USER_ERROR
    apply_unless_disabled()  # every command re-allocates large image arrays (see fusionbench.allocator)
    try:
        if arguments.data_dir:
            set_data_directories(arguments.data_dir)
        if arguments.plugin:
            from .registry import load_plugin

            for module in arguments.plugin:
                load_plugin(module)
        return int(arguments.handler(arguments) or 0)
    except FusionBenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted; finished work is saved — rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
