"""``circ``: the compiler driver.

    circ compile unet.onnx --soc-version Ascend310P3 -o unet.circ   # model -> package
    circ run unet.circ --input sample=x.npy --output-dir out/      # run a package (CPU / NPU)
    circ run model.mlir --input x=x.npy --output-dir out/          # CIR, reference interpreter
    circ demo                                                      # the bundled example
    circ --version

Each sub-command is one function taking the parsed arguments; `COMMANDS` is the table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from cir import __version__
from cir.app.tools.common import run_tool
from cir.errors import CircError, HostFallbackWarning, UsageError
from cir.frameworks import by_atc_number, frameworks
from cir.frameworks import framework as framework_named
from cir.outputs import check_destination


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
    """Load a plain numeric .npy array; never unpickles, and checks the header (dtype, shape,
    size against the file) before numpy allocates anything."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
            data_bytes = size - f.tell()
    except FileNotFoundError:
        raise CircError(f"{what}: {path}: no such file") from None
    except IsADirectoryError:
        raise CircError(f"{what}: {path}: is a directory, not a .npy file") from None
    except OSError as e:
        raise CircError(f"{what}: {path}: cannot read ({e.strerror})") from None
    except ValueError as e:
        raise CircError(f"{what}: {path}: not a .npy file ({' '.join(str(e).split())})") from None
    except Exception:  # noqa: BLE001 - the header is Python literal text: its parser raises anything
        raise CircError(f"{what}: {path}: not a .npy file (malformed header)") from None
    if any(d < 0 for d in shape):
        raise CircError(f"{what}: {path}: the header gives a negative dimension {list(shape)}")
    if dtype.fields is not None or dtype.kind not in "biuf":
        raise CircError(f"{what}: {path}: holds {dtype} values; circ takes plain numeric arrays")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need != data_bytes:
        raise CircError(f"{what}: {path}: the header says {list(shape)} {dtype} ({need} bytes) "
                        f"but the file holds {data_bytes} bytes of data")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise CircError(f"{what}: {path}: cannot read ({e})") from None


def load_input_flags(flags: Sequence[str]) -> dict[str, np.ndarray]:
    """``--input NAME=FILE.npy`` flags -> named arrays (each name once)."""
    inputs: dict[str, np.ndarray] = {}
    for flag in flags:
        name, path = _parse_input_flag(flag)
        if name in inputs:
            raise UsageError(f"input '{name}' is given twice")
        inputs[name] = load_npy(path, f"input '{name}'")
    return inputs


def write_outputs(outputs: dict[str, np.ndarray], out_dir: Path) -> list[Path]:
    """Write `<name>.npy` files all or nothing: into a temporary folder, then moved in."""
    check_destination(out_dir, "--output-dir", directory=True)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".circ-out-", dir=out_dir))
    except OSError as e:
        raise CircError(f"--output-dir {out_dir}: cannot write there ({e.strerror})") from None
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
    check_destination(args.output_dir, "--output-dir", directory=True)
    if args.profile:
        check_destination(args.profile, "--profile")
    inputs = load_input_flags(args.input)
    if Path(args.model).is_dir():
        return _run_package(args, inputs)
    if args.profile or args.device != "cpu":
        raise UsageError("--profile and --device apply to compiled packages (model.circ), "
                         f"not to '{args.model}'")
    from cir.interpreter import interpret
    from cir.io import parse_file
    from cir.weights import WeightStore, weights_of

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


def _run_package(args: argparse.Namespace, inputs: dict[str, np.ndarray]) -> None:
    from cir.runtime.session import load

    if args.weights:
        raise UsageError("--weights applies to CIR .mlir files; a package has its own weights")
    sess = load(args.model, device=args.device, fallback=not args.no_fallback)
    events: list[tuple[int, int, int]] | None = [] if args.profile else None
    outputs = sess.run(inputs, profile=events)
    for path in write_outputs(outputs, Path(args.output_dir)):
        arr = outputs[path.stem]
        print(f"wrote {path} {arr.dtype}{list(arr.shape)}")
    if args.profile:
        from cir.runtime.profile import write_trace

        trace, summary = write_trace(sess.graph, events or [], Path(args.profile), Path(args.model).name)
        total = sum(e - s for _, s, e in events or []) / 1e6
        print(f"wrote {trace} and {summary} ({len(events or [])} kernel launches, {total:.2f} ms in kernels)")


# --- circ compile ------------------------------------------------------------------------

ATC_UNSUPPORTED = {"0": "Caffe"}  # ATC --framework numbers circ does not import


def input_gears(args: argparse.Namespace) -> tuple[dict[str, tuple[int, ...]] | None,
                                                 list[dict[str, tuple[int, ...]]] | None]:
    """--input_shape and the gear flags -> (static shapes, None) or (None, gears)."""
    from cir.gears import expand, parse_shapes

    flags = {"batch": ("--dynamic_batch_size", args.dynamic_batch_size),
             "image": ("--dynamic_image_size", args.dynamic_image_size),
             "dims": ("--dynamic_dims", args.dynamic_dims)}
    if not args.input_shape:
        given = [flag for flag, v in flags.values() if v is not None]
        if given:
            raise UsageError(f"{given[0]} needs --input_shape with -1 for the dimensions that vary")
        return None, None
    gears = expand(parse_shapes(args.input_shape), **{k: v for k, (_, v) in flags.items()},
                   input_format=args.input_format)
    return (gears[0], None) if len(gears) == 1 else (None, gears)


class _Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    PHASES = ("import", "optimise and lower", "write package")

    def __init__(self) -> None:
        import time

        self.t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()

    def __call__(self, phase: str) -> None:
        import time

        i = self.PHASES.index(phase) if phase in self.PHASES else 0
        bar = "#" * (i + 1) * 8 + "." * (len(self.PHASES) - i - 1) * 8
        line = f"[{bar}] {phase} ({time.perf_counter() - self.t0:.1f}s)"
        sys.stderr.write(("\r" + line.ljust(60)) if self.tty else line + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def cmd_compile(args: argparse.Namespace) -> None:
    from cir.app.package import compile as compile_model
    from cir.app.tools.atc import precision_of, show_package

    if args.mode == "1":
        print(f"wrote {show_package(args.om, args.json)}")
        return
    model = args.model or args.model_flag
    output = args.output
    if not model:
        raise UsageError("a model is required (circ compile MODEL -o OUT.circ, or --model=MODEL)")
    if args.model and args.model_flag and args.model != args.model_flag:
        raise UsageError("the model is given twice (positional and --model)")
    if not output:
        raise UsageError("an output is required: -o OUT.circ (or --output=OUT.circ)")
    if not Path(model).exists():
        raise CircError(f"{model}: no such file or directory")
    framework = args.framework
    atc = by_atc_number()
    if framework in ATC_UNSUPPORTED:
        raise CircError(f"{ATC_UNSUPPORTED[framework]} models (--framework={framework}) are not "
                        "supported; export to ONNX")
    if framework in atc:
        framework = atc[framework].name
    if framework is not None and framework not in frameworks():
        raise UsageError(f"--framework must be {', '.join(frameworks())} or an ATC number "
                         f"({', '.join(atc)}), got '{args.framework}'")
    shapes, gears = input_gears(args)
    quiet = args.log in ("error", "null")
    progress = _Progress() if not quiet else None
    with warnings.catch_warnings():  # listed below from the manifest, as a note
        warnings.simplefilter("ignore", HostFallbackWarning)
        out = compile_model(model, output, example_inputs=shapes, soc=args.soc_version, fusion=args.fusion,
                            precision=precision_of(args), keep_dtype=args.keep_dtype,
                            mixlist=args.modify_mixlist, out_nodes=args.out_nodes,
                            input_format=args.input_format,
                            implmode=(args.op_select_implmode, args.optypelist_for_implmode),
                            host_fallback=args.host_fallback, gears=gears,
                            framework=framework, custom_ops=args.custom_ops, progress=progress)
    if progress is not None:
        progress.done()
    if quiet:
        return
    import json

    m = json.loads((out / "manifest.json").read_text())
    times = ", ".join(f"{k} {v:.2f}s" for k, v in m["compile_seconds"].items())
    print(f"wrote {out}: {len(m['kernels'])} kernels for {m['soc']}, arena "
          f"{m['memory']['arena_bytes'] / 2**20:.1f} MiB ({times})")
    if m.get("gears"):
        from cir.gears import describe

        print(f"serves {len(m['gears'])} input shapes (gears): {describe([g['inputs'] for g in m['gears']])}")
    if m.get("host_ops"):
        from cir.lowering.lower_to_ascendc import describe_host_ops

        print(f"note: {describe_host_ops(m['host_ops'])}")


# --- circ import / circ ops ---------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> None:
    from cir.app.frontend import import_model, save_module

    if not Path(args.model).exists():
        raise CircError(f"{args.model}: no such file")
    check_destination(args.output, "-o")
    module = import_model(args.model, stage=args.stage, framework=args.framework,
                          custom_ops=args.custom_ops, signature=args.signature)
    ir, weights = save_module(module, args.output)
    n_ops = sum(1 for op in module.walk() if op.name not in ("builtin.module", "func.func"))
    print(f"wrote {ir} ({n_ops} ops) and {weights}")


def cmd_ops(args: argparse.Namespace) -> None:
    table = framework_named(args.framework).load("table")()
    if args.custom_ops:
        from cir.app.custom_ops import CustomOps

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
    from cir.app.demo import FRAMEWORKS, run_demo

    run_demo(Path(args.output_dir), args.framework or FRAMEWORKS, report=not args.no_report)


# --- circ report -------------------------------------------------------------------------


def _add_report(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("package", help="a compiled package (model.circ)")
    sub.add_argument("--reference", required=True, metavar="MODEL",
                     help="the framework model it was compiled from (.pt2, .onnx, .keras, SavedModel, .mindir)")
    sub.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                     help="an input array, once per input (default: seeded random inputs)")
    sub.add_argument("--framework", choices=list(frameworks()),
                     help="the reference's framework (default: from the file)")
    sub.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    sub.add_argument("-o", "--output", default="report.html", help="the HTML page (report.csv goes beside it)")


def cmd_report(args: argparse.Namespace) -> None:
    from cir.app.report import report

    inputs = load_input_flags(args.input)
    if not Path(args.reference).exists():
        raise CircError(f"{args.reference}: no such file or directory")
    c = report(args.package, args.reference, inputs=inputs or None, output=args.output,
               framework=args.framework, seed=args.seed)
    out = Path(args.output)
    print(f"wrote {out} and {out.with_suffix('.csv')}: {sum(r.status == 'compared' for r in c.rows)} ops "
          f"compared with {c.framework}; " + ", ".join(f"{o.name} PSNR {o.psnr:.1f} dB" for o in c.outputs))
    print(f"verdict: {c.verdict}")


# --- the table ---------------------------------------------------------------------------


def _add_run(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("model", help="a compiled package (model.circ) or a CIR .mlir file")
    sub.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                     help="an input array, once per input")
    sub.add_argument("--output-dir", required=True, help="where <output>.npy files are written")
    sub.add_argument("--weights", help="weights file of a .mlir model (default: its cir.weights)")
    sub.add_argument("--device", default="cpu", help="cpu or npu:N (a package only)")
    sub.add_argument("--no-fallback", action="store_true",
                     help="fail instead of running on the CPU when the NPU is not available")
    sub.add_argument("--profile", metavar="TRACE.json",
                     help="write a Chrome/Perfetto trace and op_summary.csv beside it")


def _add_compile(sub: argparse.ArgumentParser) -> None:
    from cir.soc import socs

    sub.add_argument("model", nargs="?", help="the model: .onnx, .pt2, .mindir, a SavedModel "
                     "directory or a Keras file")
    sub.add_argument("-o", "--output", help="the package to write (OUT.circ)")
    sub.add_argument("--model", dest="model_flag", help=argparse.SUPPRESS)  # ATC spelling
    sub.add_argument("--framework", help=f"{', '.join(frameworks())} (or ATC's "
                     f"{', '.join(by_atc_number())}); default: from the file")
    sub.add_argument("--input-shape", "--input_shape", dest="input_shape",
                     metavar='"NAME:1,4,64,64;..."', help="input shapes (for dynamic dimensions)")
    sub.add_argument("--soc-version", "--soc_version", dest="soc_version", default="Ascend310P3",
                     choices=sorted(socs()), help="the Ascend SoC to compile for")
    sub.add_argument("--precision", metavar="fp32|fp16|MODE",
                     help="fp32 (default), fp16, or an ATC precision mode (mixed_float16, ...)")
    sub.add_argument("--fusion", default="sd_optimized",
                     help="fusion preset (strategies.toml: sd_optimized, transformer, norms_only, none)")
    sub.add_argument("--custom-ops", metavar="MAP.toml", help="extra op / module mappings")
    sub.add_argument("--no-host-fallback", dest="host_fallback", action="store_false",
                     help="ops without an AscendC kernel are an error (default: they run on the "
                     "host CPU and are listed)")
    from cir.app.tools.atc import add_arguments

    add_arguments(sub)


def _add_import(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("model", help="a model file (.pt2 from torch.export.save)")
    sub.add_argument("-o", "--output", required=True, help="the .mlir file to write "
                     "(its weights go beside it as .safetensors)")
    sub.add_argument("--stage", choices=["import", "cir"], default="import",
                     help="import: the framework's import dialect; cir: normalised CIR")
    sub.add_argument("--framework", choices=list(frameworks()),
                     help="default: from the file")
    sub.add_argument("--signature", default="serving_default",
                     help="the signature of a TensorFlow SavedModel to import")
    sub.add_argument("--custom-ops", metavar="MAP.toml", help="extra op / module mappings")


def _add_ops(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--framework", default="pytorch", choices=list(frameworks()),
                     help="whose mapping table to list")
    sub.add_argument("--custom-ops", metavar="MAP.toml", help="include these mappings")


def _add_demo(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--output-dir", default="out/demo", help="where the demo writes its files")
    sub.add_argument("--framework", action="append", choices=["pytorch", "tensorflow", "mindspore"],
                     help="only this framework's block (repeatable; default: all three)")
    sub.add_argument("--no-report", action="store_true", help="skip the validation report")


def _add_serve(sub: argparse.ArgumentParser) -> None:
    from cir.app.serve.cli import add_arguments

    add_arguments(sub)


def cmd_serve(args: argparse.Namespace) -> None:
    from cir.app.serve.cli import main as serve_main

    serve_main(args)


def _add_ascendc_cpu(sub: argparse.ArgumentParser) -> None:
    from cir.runtime.ascendc_cpu import add_cli_arguments

    add_cli_arguments(sub)


def cmd_ascendc_cpu(args: argparse.Namespace) -> None:
    from cir.runtime.ascendc_cpu import cli_main

    cli_main(args)


def _add_trust(sub: argparse.ArgumentParser) -> None:
    from cir.runtime.trust import add_cli_arguments

    add_cli_arguments(sub)


def cmd_trust(args: argparse.Namespace) -> None:
    from cir.runtime.trust import cli_main

    cli_main(args)


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None],
                          Callable[[argparse.Namespace], None]]] = {
    "import": ("import a framework model into its import dialect or CIR", _add_import, cmd_import),
    "ops": ("list the operator mapping table of a framework", _add_ops, cmd_ops),
    "compile": ("compile a model into a package for an Ascend SoC", _add_compile, cmd_compile),
    "run": ("run a compiled package, or a CIR file with the reference interpreter", _add_run, cmd_run),
    "report": ("compare a package with its framework model op by op (HTML + CSV)", _add_report, cmd_report),
    "demo": ("compile and run the bundled SD block from PyTorch, TensorFlow and MindSpore", _add_demo,
             cmd_demo),
    "ascendc-cpu": ("print the g++ flags of circ's AscendC CPU layer", _add_ascendc_cpu,
                    cmd_ascendc_cpu),
    "serve": ("serve packages behind the TensorFlow Serving REST and gRPC APIs", _add_serve,
              cmd_serve),
    "trust": ("trust a reviewed package or a signer's key (packages run only when trusted)",
              _add_trust, cmd_trust),
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
        raw = list(sys.argv[1:] if argv is None else argv)
        if raw[:1] == ["compile"]:
            from cir.app.tools.atc import normalize_argv

            raw = ["compile", *normalize_argv(raw[1:])]
        args = parser.parse_args(raw)
        if args.command is None:
            parser.print_help()
            raise UsageError("a command is required")
        COMMANDS[args.command][2](args)

    return run_tool("circ", body)


if __name__ == "__main__":
    sys.exit(main())
