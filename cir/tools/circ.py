"""``circ``: the compiler driver.

    circ run model.mlir --input x=x.npy --output-dir out/   # reference interpreter
    circ demo                                                # the bundled example, end to end
    circ --version

Each sub-command is one function taking the parsed arguments; `COMMANDS` is the table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from cir import __version__
from cir.errors import CircError, UsageError
from cir.tools.common import run_tool


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so errors print one clean line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


# --- circ run ----------------------------------------------------------------------------


def _parse_input_flag(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise UsageError(f"--input expects NAME=FILE.npy, got '{text}'")
    return name, Path(path)


def load_npy(path: Path, what: str) -> np.ndarray:
    """Load a .npy file without ever unpickling."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CircError(f"{what}: {path}: no such file") from None
    except ValueError as e:
        raise CircError(f"{what}: {path}: not a plain .npy array ({e})") from None
    except (OSError, EOFError) as e:
        raise CircError(f"{what}: {path}: cannot read ({e})") from None


def write_outputs(outputs: dict[str, np.ndarray], out_dir: Path) -> list[Path]:
    """Write `<name>.npy` files all or nothing: into a temporary folder, then moved in."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".circ-out-", dir=out_dir))
    try:
        for name, arr in outputs.items():
            np.save(staging / f"{name}.npy", arr)
        written = []
        for name in outputs:
            dst = out_dir / f"{name}.npy"
            os.replace(staging / f"{name}.npy", dst)
            written.append(dst)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def cmd_run(args: argparse.Namespace) -> None:
    from cir.interpreter import interpret
    from cir.io import parse_file
    from cir.weights import WeightStore, weights_of

    inputs: dict[str, np.ndarray] = {}
    for flag in args.input:
        name, path = _parse_input_flag(flag)
        if name in inputs:
            raise UsageError(f"input '{name}' is given twice")
        inputs[name] = load_npy(path, f"input '{name}'")
    module = parse_file(args.model)
    weights = (
        WeightStore.open(args.weights)
        if args.weights
        else weights_of(module, base_dir=Path(args.model).parent)
    )
    outputs = interpret(module, inputs, weights=weights)
    for path in write_outputs(outputs, Path(args.output_dir)):
        arr = outputs[path.stem]
        print(f"wrote {path} {arr.dtype}{list(arr.shape)}")


# --- circ import / circ ops ---------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> None:
    from cir.frontend import import_model, save_module

    if not Path(args.model).exists():
        raise CircError(f"{args.model}: no such file")
    module = import_model(args.model, stage=args.stage, framework=args.framework,
                          custom_ops=args.custom_ops, signature=args.signature)
    ir, weights = save_module(module, args.output)
    n_ops = sum(1 for op in module.walk() if op.name not in ("builtin.module", "func.func"))
    print(f"wrote {ir} ({n_ops} ops) and {weights}")


def cmd_ops(args: argparse.Namespace) -> None:
    from cir.passes.normalize import MappingTable
    from cir.passes.normalize_ms import ms_table
    from cir.passes.normalize_onnx import onnx_table
    from cir.passes.normalize_tf import tf_table
    from cir.passes.normalize_torch import torch_table

    tables: dict[str, Callable[[], MappingTable]] = {"pytorch": torch_table,
                                                     "tensorflow": tf_table, "mindspore": ms_table,
                                                     "onnx": onnx_table}
    if args.framework not in tables:
        raise UsageError(f"--framework must be one of {', '.join(tables)}, got '{args.framework}'")
    table = tables[args.framework]()
    if args.custom_ops:
        from cir.custom_ops import CustomOps

        table = CustomOps.load(args.custom_ops).extend(table)
    rows = []
    for source in sorted(table.variants):
        for v in table.variants[source]:
            cond = f"  when {v.when}" if v.when else ""
            note = f"  ({v.note})" if v.note else ""
            rows.append((source, v.summary + cond + note))
    width = max(len(r[0]) for r in rows)
    print(f"{'operator':<{width}}  CIR")
    for source, target in rows:
        print(f"{source:<{width}}  {target}")
    print(f"\n{len(table.variants)} {args.framework} operators mapped")


# --- circ demo ---------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> None:
    from cir.demo import run_demo

    run_demo(Path(args.output_dir))


# --- the table ---------------------------------------------------------------------------


def _add_run(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("model", help="a CIR .mlir file")
    sub.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                     help="an input array, once per input")
    sub.add_argument("--output-dir", required=True, help="where <output>.npy files are written")
    sub.add_argument("--weights", help="weights file (default: the module's cir.weights)")


def _add_import(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("model", help="a model file (.pt2 from torch.export.save)")
    sub.add_argument("-o", "--output", required=True, help="the .mlir file to write "
                     "(its weights go beside it as .safetensors)")
    sub.add_argument("--stage", choices=["import", "cir"], default="import",
                     help="import: the framework's import dialect; cir: normalised CIR")
    sub.add_argument("--framework", choices=["pytorch", "tensorflow", "mindspore", "onnx"],
                     help="default: from the file")
    sub.add_argument("--signature", default="serving_default",
                     help="the signature of a TensorFlow SavedModel to import")
    sub.add_argument("--custom-ops", metavar="MAP.toml", help="extra op / module mappings")


def _add_ops(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--framework", default="pytorch", help="whose mapping table to list")
    sub.add_argument("--custom-ops", metavar="MAP.toml", help="include these mappings")


def _add_demo(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--output-dir", default="out/demo", help="where the demo writes its files")


def _add_ascendc_cpu(sub: argparse.ArgumentParser) -> None:
    from cir.runtime.ascendc_cpu import add_cli_arguments

    add_cli_arguments(sub)


def cmd_ascendc_cpu(args: argparse.Namespace) -> None:
    from cir.runtime.ascendc_cpu import cli_main

    cli_main(args)


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None],
                          Callable[[argparse.Namespace], None]]] = {
    "import": ("import a framework model into its import dialect or CIR", _add_import, cmd_import),
    "ops": ("list the operator mapping table of a framework", _add_ops, cmd_ops),
    "run": ("run a model with the reference interpreter", _add_run, cmd_run),
    "demo": ("compile and run the bundled example, compared with PyTorch", _add_demo, cmd_demo),
    "ascendc-cpu": ("print the g++ flags of circ's AscendC CPU layer", _add_ascendc_cpu,
                    cmd_ascendc_cpu),
}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="circ", description="circ: a compiler for Ascend NPUs")
    parser.add_argument("--version", action="version", version=f"circ {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (help_text, add, _) in COMMANDS.items():
        add(subs.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    def body() -> None:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            raise UsageError("a command is required")
        COMMANDS[args.command][2](args)

    return run_tool("circ", body)


if __name__ == "__main__":
    sys.exit(main())
