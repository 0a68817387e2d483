"""The ``fusionbench`` command: a thin layer over the library.

Each sub-command lives in its own module of :mod:`fusionbench.commands` with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(arguments) -> int``; they are discovered automatically.
A command module imports only the standard library at its top; what its options need is imported
in ``add_arguments``, which runs only when that command is on the command line (``train``'s
choices come from modules that import torch), and what it does in ``run``. So ``fusionbench
--help`` and a short command start at once.
User errors (:class:`FusionBenchError`) print ``error: ...`` and exit with status 2, never a
traceback; Ctrl-C exits with status 130 after whatever finished was saved.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Any, Sequence

from . import __version__, commands
from .errors import FusionBenchError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def command_modules() -> list:
    """Every sub-command module in :mod:`fusionbench.commands`, sorted by command name."""
    modules = [importlib.import_module(f"{commands.__name__}.{info.name}")
               for info in pkgutil.iter_modules(commands.__path__) if not info.name.startswith("_")]
    return sorted((module for module in modules if hasattr(module, "NAME")), key=lambda module: module.NAME)


class CommandParser(argparse.ArgumentParser):
    """A sub-command's parser that adds its options on first use (parsing or help).

    Building every command's options would import what all of them need, torch included, for any
    command line; argparse parses only the chosen command's arguments, so only its options are built.
    """

    def __init__(self, *args: Any, command_module: Any = None, **keywords: Any):
        super().__init__(*args, **keywords)
        self._command_module = command_module

    def add_command_options(self) -> None:
        """The common options, then the command's own (in that order, as ``--help`` shows them)."""
        module, self._command_module = self._command_module, None
        if module is not None:
            add_common_options(self)
            module.add_arguments(self)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self.add_command_options()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self.add_command_options()
        return super().format_usage()

    def format_help(self) -> str:
        self.add_command_options()
        return super().format_help()


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options every sub-command accepts."""
    from .datasets.fetching import DATA_ENVIRONMENT_VARIABLE

    parser.add_argument("--data-dir", metavar="DIR", action="append",
                        help=f"local mirror of datasets/checkpoints (repeatable; default: ${DATA_ENVIRONMENT_VARIABLE}, "
                             "then the download cache)")
    parser.add_argument("--plugin", metavar="MODULE", action="append", default=[],
                        help="import MODULE before running, so that its algorithms/metrics register (repeatable)")
    parser.add_argument("--max-pixels", type=int, metavar="N",
                        help="largest image decoded, in pixels, checked from the file's header before decoding "
                             "(default 100000000; a larger declared size is refused as a likely decompression bomb)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fusionbench",
        description="Benchmark image fusion algorithms with metrics verified against the reference code.",
        epilog="Run 'fusionbench COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"fusionbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for module in command_modules():
        subparser = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP,
                                          formatter_class=argparse.RawDescriptionHelpFormatter,
                                          command_module=module)
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
    from .allocator import apply_unless_disabled

    apply_unless_disabled()  # every command re-allocates large image arrays (see fusionbench.allocator)
    try:
        if arguments.max_pixels is not None:
            from .image_io import set_max_pixels

            if arguments.max_pixels < 1:
                raise FusionBenchError(f"--max-pixels {arguments.max_pixels}: must be a positive number of pixels")
            set_max_pixels(arguments.max_pixels)
        if arguments.data_dir:
            from .datasets.fetching import set_data_directories

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
