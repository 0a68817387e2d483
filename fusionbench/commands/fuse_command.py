"""``fusionbench fuse ALGORITHM INPUT [INPUT ...] -o OUTPUT.png``: fuse one set of images with any algorithm.

Works the same for every registered algorithm (built-in or plugin): the sources are decoded with
:func:`fusionbench.image_io.read_image`, the algorithm is created with the ``--option KEY=VALUE``
pairs (plus ``--preprocessing`` / ``--device`` where the algorithm has such a setting), fused with
the dataset family given by ``--family`` or inferred, and written as lossless PNG atomically.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import sys
import time
from pathlib import Path
from typing import Any

NAME = "fuse"
HELP = "fuse a set of source images with one algorithm and write the result as PNG"

EPILOG = """examples:
  fusionbench fuse gff lytro-01-A.jpg lytro-01-B.jpg -o fused.png
  fusionbench fuse lpsr visible.png infrared.png -o fused.png --family infrared-visual
  fusionbench fuse gff a.png b.png -o fused.png --option r1=20 --option eps1=0.1
  fusionbench fuse ifcnn-max a.png b.png -o fused.png --device cpu --preprocessing released-demo

Without --family, grey sources count as infrared-visual and colour sources as multi-focus (an
algorithm made for a single family uses that one). Multi-input algorithms fuse the sources in the
order given."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..families import FAMILIES

    parser.epilog = EPILOG
    parser.add_argument("algorithm", metavar="ALGORITHM", help="registered algorithm name (see 'fusionbench list algorithms')")
    parser.add_argument("inputs", metavar="INPUT", nargs="+", help="source images (two or more), in fusion order")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT.png", help="where to write the fused PNG")
    parser.add_argument("--force", action="store_true",
                        help="overwrite OUTPUT.png if it exists (never one of the inputs)")
    parser.add_argument("--family", choices=FAMILIES, help="dataset family of the sources (default: inferred)")
    parser.add_argument("--preprocessing", metavar="NAME",
                        help="pre/post-processing variant, for algorithms that have one (IFCNN: paper | released-demo)")
    parser.add_argument("--device", metavar="DEVICE", help="compute device, for algorithms that have one (auto | cpu | cuda)")
    parser.add_argument("--option", metavar="KEY=VALUE", action="append", default=[],
                        help="algorithm option (repeatable); VALUE is read as a Python literal when it is one "
                             "(3, 0.5, True, None), else as text")


def run(arguments: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..image_io import check_sources, match_channels, read_image, write_png
    from ..registry import get_algorithm

    spec = get_algorithm(arguments.algorithm)
    output = Path(arguments.output)
    check_output(output, [Path(path) for path in arguments.inputs], arguments.force)
    options = parse_options(arguments.option)
    for flag in ("preprocessing", "device"):
        value = getattr(arguments, flag)
        if value is not None:
            if flag in options:
                raise ConfigError(f"--{flag} and --option {flag}=... both given; use one")
            options[flag] = value
    check_options(spec, options)
    labels = [str(path) for path in arguments.inputs]
    images = match_channels([read_image(path) for path in arguments.inputs])
    check_sources(images, labels, minimum=max(2, spec.min_inputs))
    family = choose_family(spec, images, arguments.family)
    algorithm = spec.create(**options)
    started = time.perf_counter()
    fused = algorithm.fuse(images, family=family)
    elapsed = time.perf_counter() - started
    write_png(output, fused)
    print(f"{output}: {spec.name} fused {len(images)} {family} sources "
          f"({fused.shape[1]}x{fused.shape[0]}, {elapsed:.2f} s)", file=sys.stderr)
    return 0


def check_output(output: Path, inputs: list[Path], force: bool) -> None:
    """Refuse an output that is a folder, one of the inputs, or (without --force) an existing file."""
    from ..errors import ConfigError

    if output.is_dir():
        raise ConfigError(f"-o {output} is a directory; give the fused image's file name, e.g. {output / 'fused.png'}")
    if output.suffix.lower() != ".png":
        raise ConfigError(f"output {output} must be a .png file (fused images are written as lossless PNG)")
    resolved = output.resolve()
    for source in inputs:
        if source.resolve() == resolved or (output.exists() and source.exists() and output.samefile(source)):
            raise ConfigError(f"-o {output} is one of the inputs; refusing to overwrite a source image")
    if output.exists() and not force:
        raise ConfigError(f"-o {output} exists; pass --force to overwrite it")


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["r1=20", "mode=fast"]`` -> ``{"r1": 20, "mode": "fast"}`` (literals parsed, else text)."""
    from ..errors import ConfigError

    options: dict[str, Any] = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        key = key.strip()
        if not separator or not key.isidentifier():
            raise ConfigError(f"--option {pair!r} is not KEY=VALUE with KEY a name, e.g. --option r1=20")
        if key in options:
            raise ConfigError(f"--option {key} is given twice")
        options[key] = parse_value(text.strip())
    return options


def parse_value(text: str) -> Any:
    """A Python literal (number, True/False/None, quoted text, list) when the text is one, else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def accepted_options(spec) -> set[str] | None:
    """Option names the algorithm takes: its registered defaults plus its keyword parameters.

    None means anything goes (the factory takes ``**options``).
    """
    names = set(spec.defaults)
    factory = spec.factory
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        parameters = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return None
    for parameter in parameters[1:]:  # skip ``self`` (class) or the images argument (function)
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            names.add(parameter.name)
    names.discard("family")  # given by --family, not as an option
    return names


def check_options(spec, options: dict[str, Any]) -> None:
    """Refuse options the algorithm does not have, naming the ones it does."""
    from ..errors import ConfigError

    accepted = accepted_options(spec)
    if accepted is None:
        return
    for key in options:
        if key not in accepted:
            known = ", ".join(sorted(accepted)) or "none"
            flag = f"--{key}" if key in ("preprocessing", "device") else f"--option {key}"
            raise ConfigError(f"algorithm {spec.name!r} has no setting {key!r} ({flag}); its options: {known}")


def choose_family(spec, images, requested: str | None) -> str:
    """``--family`` if given (and handled by the algorithm), else inferred from the sources."""
    from ..errors import ConfigError
    from ..families import INFRARED_VISUAL, MULTI_FOCUS

    if requested is not None:
        if requested not in spec.families:
            raise ConfigError(f"algorithm {spec.name!r} is not made for --family {requested} "
                              f"(it handles: {', '.join(spec.families)})")
        return requested
    if len(spec.families) == 1:
        return spec.families[0]
    return INFRARED_VISUAL if images[0].ndim == 2 else MULTI_FOCUS
