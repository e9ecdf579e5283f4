"""``cir.compile``: a framework model -> a ``model.circ/`` package.

A package is a directory::

    unet.circ/
      manifest.json          format version, circ version, source model, SoC, precision,
                             inputs/outputs (names, shapes, dtypes, formats), kernels (sha256),
                             memory plan, graph files, weights (sha256), compile times
      model.mlir             the lowered CIR (with source locations; weights by name)
      model.onnx             standard ONNX + npu-domain fused nodes (for ATC --framework=5);
                             its initializers are external data inside weights.safetensors
      graph/model.ge.pb      GE's ModelDef (weights by reference)
      graph/launch.json      the kernel-launch graph circ's runtime executes
      kernels/*.cpp          one AscendC kernel per file, and CMakeLists.txt for the NPU build
      weights.safetensors    every weight and compile-time table the kernels read
      signature.json         Ed25519 signature of manifest.json by the compiling user's key
                             (see runtime/trust.py: the runtime runs only trusted packages)

It is written into a temporary directory beside the destination and renamed into place, so
a failed or interrupted compile leaves no half package and never damages an existing one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType

from cir import __version__
from cir.app.frontend import detect_framework, import_model
from cir.app.pipeline import apply_pipeline
from cir.errors import CircError, HostFallbackWarning
from cir.gears import describe, dynamic_shape
from cir.io import to_text
from cir.lowering.cmake import cmakelists
from cir.lowering.cpp import kernel_sources
from cir.lowering.graph import to_ge, to_launch_graph, to_onnx
from cir.lowering.lower_to_ascendc import describe_host_ops, host_ops
from cir.outputs import check_destination, make_parents
from cir.package_format import FORMAT_VERSION, INPUT_FORMATS, MANIFEST, sha256_file
from cir.passes.fusion.aigc_fusion import resolve
from cir.passes.precision import Mode, modes, resolve_mode
from cir.passes.select_outputs import parse_nodes
from cir.runtime.trust import sign
from cir.signature import entry_function, input_names, output_names
from cir.soc import soc as lookup_soc
from cir.types import dtype_of, format_of
from cir.weights import save_safetensors_aligned, weights_of

PRECISIONS = ("fp32", "fp16")  # and every ATC precision mode (passes/tables/precision.toml)


@dataclass(frozen=True)
class Precision:
    """How a package computes: an ATC precision mode, and its mixed-precision lists."""

    mode: str = "fp32"  # fp32, fp16, or an ATC --precision_mode / --precision_mode_v2 value
    keep_dtype: str | None = None  # --keep_dtype file
    mixlist: str | None = None  # --modify_mixlist file

    def reduced_to(self) -> str:
        """The float type f32 ops may be reduced to ("" when none)."""
        return self._mode().reduce_to

    def _mode(self) -> Mode:
        name = {"fp32": "must_keep_origin_dtype", "fp16": "force_fp16"}.get(self.mode, self.mode)
        try:
            return resolve_mode(name)
        except CircError:
            raise CircError(f"precision must be fp32, fp16 or an ATC precision mode "
                            f"({', '.join(_mode_names())}), got '{self.mode}'") from None

    def pass_text(self) -> str | None:
        """The convert-precision pass this precision needs (None: none)."""
        mode = self._mode()
        if mode.reduce_to == "bf16":
            raise CircError(f"precision '{self.mode}': circ's kernels have no bf16 forms yet; "
                            "use mixed_float16 (allow_mix_precision)")
        for what, path in (("--keep_dtype", self.keep_dtype), ("--modify_mixlist", self.mixlist)):
            if path is not None and not Path(path).is_file():
                raise CircError(f"{what} {path}: no such file")
            if path is not None and '"' in str(path):
                raise CircError(f"{what} {path}: a path with a double quote is not supported")
        if self.mixlist and mode.policy != "mixlist":
            raise CircError(f"--modify_mixlist applies to the mixed precision modes, not to '{self.mode}'")
        if not mode.reduce_to:
            if self.keep_dtype or self.mixlist:
                raise CircError(f"--keep_dtype / --modify_mixlist have no effect with precision '{self.mode}'")
            return None
        opts = [f"mode={mode.name}"]
        if self.keep_dtype:
            opts.append(f'keep="{Path(self.keep_dtype).resolve()}"')
        if self.mixlist:
            opts.append(f'mixlist="{Path(self.mixlist).resolve()}"')
        return f"convert-precision{{{' '.join(opts)}}}"


def _mode_names() -> list[str]:
    return modes()


def pipeline_for(soc: str, fusion: str, precision: str | Precision, host_fallback: bool = True) -> str:
    """The pass pipeline `compile` runs after import (layout is left out: the kernels read ND
    tensors; see the README)."""
    p = precision if isinstance(precision, Precision) else Precision(precision)
    convert = p.pass_text()
    passes = ["canonicalize"]
    if fusion != "none":
        passes += [f"aigc-fusion{{preset={fusion}}}", "canonicalize"]
    if convert:
        passes += [convert, "canonicalize"]  # casts of weights fold into reduced weights
    lower = f"soc={soc}" + ("" if host_fallback else " host_fallback=false")
    passes += [f"lower-to-ascendc{{{lower}}}", "plan-memory"]
    return ",".join(passes)


def _io(module: ModuleOp) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:

    f = entry_function(module)

    def info(name: str, t: Any) -> dict[str, Any]:
        assert isinstance(t, TensorType)
        return {"name": name, "shape": list(t.get_shape()), "dtype": dtype_of(t).name,
                "format": format_of(t)}

    ins = [info(n, a.type) for n, a in zip(input_names(f), f.body.block.args)]
    outs = [info(n, t) for n, t in zip(output_names(f), f.function_type.outputs.data)]
    return ins, outs


def _weights_to_save(module: ModuleOp) -> dict[str, np.ndarray]:
    """Every weight the graph or a kernel reads, in the dtype the IR gives it."""

    store = weights_of(module)
    out: dict[str, np.ndarray] = {}
    for op in entry_function(module).walk():
        if op.name == "cir.weight":
            name = op.sym_name.data  # type: ignore[attr-defined]
            if name not in store:
                raise CircError(f"weight '{name}' is not available")
            out[name] = np.ascontiguousarray(np.asarray(store[name]).astype(dtype_of(op.results[0].type).np,
                                                                             copy=False))
        for ln in (op.attributes.get("cir.launches") or []):  # type: ignore[union-attr]
            for a in ln.data["args"].data:
                kind, _, name = a.data.partition(":")
                if kind == "weight":
                    out[name] = np.ascontiguousarray(store[name])
    return out


def write_package(module: ModuleOp | Sequence[ModuleOp], output: str | os.PathLike[str], *,
                  source: Mapping[str, Any], options: Mapping[str, Any], times: Mapping[str, float]) -> Path:
    """Write a lowered, memory-planned module as a package at `output` (atomically).

    Several modules are the gears of one model (the same model compiled at other input shapes,
    ``cir.gears``): they share the kernels (named by content) and the weights that are equal;
    each gear has its own launch graph (``graph/launch.json`` the first, ``graph/launch.gK.json``
    the others) and the manifest lists them under ``gears``. The ONNX / GE graphs, model.mlir
    and the report are the first gear's."""
    modules = [module] if isinstance(module, ModuleOp) else list(module)
    first = modules[0]
    out = _check_output(output)
    make_parents(out, "output")
    recover_interrupted(out)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    except OSError as e:
        raise CircError(f"output {out}: cannot write in {out.parent} ({e.strerror})") from None
    try:
        t0 = time.perf_counter()
        (tmp / "graph").mkdir()
        soc = options["soc"]
        kernels = _write_kernels(tmp / "kernels", modules, soc)
        weights = _weights_to_save(first)
        launches = []
        for k, m in enumerate(modules):
            m.attributes["cir.weights"] = StringAttr("weights.safetensors")
            launch = to_launch_graph(m)
            if k:
                _share_weights(launch, _weights_to_save(m), weights, f".gear{k}")
            launches.append(launch)
        weights_sha = save_safetensors_aligned(weights, tmp / "weights.safetensors")  # mapped as is
        on_host = host_ops(first)
        graph_files = ["graph/launch.json"] + [f"graph/launch.g{k}.json" for k in range(1, len(modules))]
        for rel, launch in zip(graph_files, launches, strict=True):
            (tmp / rel).write_text(json.dumps(launch, indent=1))
        import onnx

        # beside weights.safetensors: its initializers point into that file (no second copy)
        onnx.save_model(to_onnx(first, tmp / "weights.safetensors"), str(tmp / "model.onnx"))
        (tmp / "graph" / "model.ge.pb").write_bytes(to_ge(first, weights="reference"))
        (tmp / "model.mlir").write_text(to_text(first, debuginfo=True))
        files = [{"file": rel, "sha256": sha256_file(tmp / rel)}
                 for rel in ("model.mlir", "model.onnx", *graph_files, "graph/model.ge.pb",
                             "kernels/CMakeLists.txt")]
        ins, outs, gears = _signature(modules, graph_files, launches, options.get("input_format"))
        manifest = {
            "format_version": FORMAT_VERSION,
            "circ_version": __version__,
            "source": dict(source),
            "soc": soc,
            "precision": options["precision"],
            "reduced_to": options.get("reduced_to", ""),
            "fusion": options["fusion"],
            "pipeline": options["pipeline"],
            **{k: options[k] for k in ("op_select_implmode", "optypelist_for_implmode") if options.get(k)},
            "inputs": ins,
            "outputs": outs,
            **({"gears": gears} if gears else {}),
            "kernels": kernels,
            "host_ops": on_host,
            "memory": {"arena_bytes": max(int(ln["arena_bytes"]) for ln in launches),
                       "plan": "graph/launch.json"},
            "graphs": {"onnx": "model.onnx", "ge": "graph/model.ge.pb", "launch": "graph/launch.json"},
            "weights": {"file": "weights.safetensors", "sha256": weights_sha,
                        "count": len(weights)},
            "files": files,
            "compile_seconds": {**times, "write": round(time.perf_counter() - t0, 3)},
        }
        data = json.dumps(manifest, indent=1).encode()
        (tmp / MANIFEST).write_bytes(data)
        sign(tmp, data)
        _replace_dir(tmp, out)
    except OSError as e:  # disk full, permissions changed underneath: nothing is left behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise CircError(f"output {out}: cannot write the package ({e.strerror}"
                        + (f": {e.filename}" if e.filename else "") + ")") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_kernels(folder: Path, modules: Sequence[ModuleOp], soc: str) -> list[dict[str, str]]:
    """Every gear's kernels as ``folder/<name>.cpp`` (+ CMakeLists.txt); their manifest entries.
    Kernels are named by their C++, so a name is one source in every gear."""
    folder.mkdir()
    sources: dict[str, str] = {}
    for m in modules:
        sources |= kernel_sources(m)
    kernels = []
    for name, text in sorted(sources.items()):
        path = folder / f"{name}.cpp"
        path.write_text(text)
        kernels.append({"name": name, "file": f"kernels/{name}.cpp", "sha256": sha256_file(path)})
    (folder / "CMakeLists.txt").write_text(cmakelists(sorted(sources), soc))
    return kernels


def _signature(modules: Sequence[ModuleOp], graph_files: Sequence[str], launches: Sequence[dict[str, Any]],
               input_format: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The manifest's inputs and outputs (-1 where gears differ) and its gears (None: one)."""
    ios = [_io(m) for m in modules]
    ins, outs = ios[0]
    gears = None
    if len(modules) > 1:
        gears = [{"inputs": {t["name"]: t["shape"] for t in gi},
                  "outputs": {t["name"]: t["shape"] for t in go},
                  "launch": rel, "arena_bytes": launch["arena_bytes"]}
                 for (gi, go), rel, launch in zip(ios, graph_files, launches, strict=True)]
        ins, outs = ([{**t, "shape": dynamic_shape([io[side][j]["shape"] for io in ios])}
                      for j, t in enumerate(tensors)] for side, tensors in enumerate(ios[0]))
    if input_format:
        for t in ins:
            if INPUT_FORMATS[input_format] in (None, len(t["shape"])):
                t["format"] = input_format
    return ins, outs, gears


def _share_weights(launch: dict[str, Any], mine: Mapping[str, np.ndarray], store: dict[str, np.ndarray],
                   suffix: str) -> None:
    """Add a further gear's weights to `store`: a weight equal to the stored one of its name is
    shared; another (a compile-time table of other shapes) is stored as NAME+suffix, and the
    gear's launch graph is renamed to match."""
    rename = {}
    for name, arr in mine.items():
        have = store.get(name)
        if have is not None and have.dtype == arr.dtype and have.shape == arr.shape and \
                (have is arr or np.array_equal(have, arr)):
            continue
        rename[name] = name + suffix
        store[name + suffix] = arr
    if not rename:
        return
    for w in launch["weights"]:
        w["name"] = rename.get(w["name"], w["name"])
    for node in launch["nodes"]:
        for a in node["args"]:
            if a["kind"] == "weight":
                a["name"] = rename.get(a["name"], a["name"])
    for o in launch["outputs"]:
        if o["kind"] == "weight":
            o["source"] = rename.get(o["source"], o["source"])


def _check_output(output: str | os.PathLike[str]) -> Path:
    out = check_destination(output, "output", directory=True)
    if out.exists() and not (out / MANIFEST).is_file():
        raise CircError(f"{out} exists and is not a circ package: not replacing it")
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_interrupted(dest: Path) -> None:
    """Clean up after a compile of `dest` that was killed (kill -9, power loss): its temporary
    package is removed, and a previous package it had moved aside is put back if `dest` is
    missing. Folders of compiles still running (their pid alive) are left alone."""
    for kind in ("old", "tmp"):
        for p in sorted(dest.parent.glob(f".{dest.name}.{kind}-*-*")):
            pid = p.name.removeprefix(f".{dest.name}.{kind}-").split("-", 1)[0]
            if not pid.isdigit() or _pid_alive(int(pid)):
                continue
            if kind == "old" and not dest.exists() and (p / MANIFEST).is_file():
                os.replace(p, dest)
            else:
                shutil.rmtree(p, ignore_errors=True)


def _replace_dir(new: Path, dest: Path) -> None:
    """Move `new` to `dest`; an existing `dest` is swapped out first and removed after."""
    old = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-{os.getpid()}-", dir=dest.parent))
        old.rmdir()
        os.replace(dest, old)
    try:
        os.replace(new, dest)
    except BaseException:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _source_info(model: Any, framework: str) -> dict[str, Any]:
    info: dict[str, Any] = {"framework": framework}
    if isinstance(model, str | os.PathLike):
        p = Path(model)
        info["model"] = str(p)
        if p.is_file():
            info["sha256"] = sha256_file(p)
    else:
        info["model"] = f"{type(model).__module__}.{type(model).__qualname__}"
    return info


def compile(
    model: Any,
    output: str | os.PathLike[str] = "model.circ",
    *,
    example_inputs: Any = None,
    soc: str = "Ascend310P3",
    fusion: str = "sd_optimized",
    precision: str = "fp32",
    keep_dtype: str | os.PathLike[str] | None = None,
    mixlist: str | os.PathLike[str] | None = None,
    out_nodes: str | None = None,
    input_format: str | None = None,
    implmode: tuple[str | None, str | None] = (None, None),
    host_fallback: bool = True,
    gears: Sequence[Any] | None = None,
    framework: str | None = None,
    custom_ops: Any = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Import `model` (a framework model object or a model file), optimise, lower to AscendC
    kernels and write the package `output`; returns its path.

    `precision`: "fp32", "fp16" or an ATC precision mode ("mixed_float16",
    "allow_mix_precision", "force_fp16", ...); `keep_dtype` and `mixlist` are ATC's
    --keep_dtype and --modify_mixlist files. ATC's options: `out_nodes` ("NODE:0;NODE:1", the
    outputs become these nodes' outputs), `input_format` (NCHW, NHWC, ND, ...: recorded as the
    inputs' format), `implmode` (--op_select_implmode and its op list: recorded).
    `host_fallback`: ops without an AscendC kernel yet run on the host CPU (listed in the
    manifest's ``host_ops`` and by a ``HostFallbackWarning``); False makes them an error.
    `gears`: dynamic shapes as ATC's gears: a list of `example_inputs` values (one per input
    shape the package must serve, e.g. batch 1 and 2); each is compiled, and the package runs
    any of them (``cir.gears``; `example_inputs` is then not given).

    >>> cir.compile(unet, "unet.circ", example_inputs=(sample, t, ctx), soc="Ascend310P3")
    """

    lookup_soc(soc)  # a bad SoC or destination fails before the (slow) import
    _check_output(output)
    prec = Precision(precision, None if keep_dtype is None else os.fspath(keep_dtype),
                     None if mixlist is None else os.fspath(mixlist))
    pipeline = pipeline_for(soc, fusion, prec, host_fallback)
    if out_nodes:
        if '"' in out_nodes:
            raise CircError(f"--out_nodes: a node name with a double quote is not supported: {out_nodes}")
        parse_nodes(out_nodes)  # bad text fails before the import
        pipeline = f'select-outputs{{nodes="{out_nodes}"}},' + pipeline
    _check_input_format(input_format)
    if fusion != "none":
        resolve(fusion)
    note = progress or (lambda phase: None)
    fw = framework or detect_framework(model)
    times: dict[str, float] = {}
    t = time.perf_counter()
    note("import")
    if gears is not None:
        if example_inputs is not None:
            raise CircError("give the input shapes either as example_inputs or as gears, not both")
        if isinstance(gears, str | bytes) or not isinstance(gears, Sequence) or not gears:
            raise CircError("gears must be a non-empty list (one example_inputs value per gear)")
    modules = []
    for gear in gears if gears is not None else [example_inputs]:
        modules.append(import_model(model, gear, framework=fw, custom_ops=custom_ops))
    times["import"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    note("optimise and lower")
    for module in modules:
        apply_pipeline(module, pipeline)
    times["passes"] = round(time.perf_counter() - t, 3)
    if len(modules) > 1:
        _check_gears(modules)
    note("write package")
    module = modules[0]
    out = write_package(modules, output, source=_source_info(model, fw),
                         options={"soc": soc, "fusion": fusion, "precision": precision,
                                  "reduced_to": prec.reduced_to(), "pipeline": pipeline,
                                  "input_format": input_format,
                                  "op_select_implmode": implmode[0], "optypelist_for_implmode": implmode[1]},
                         times=times)
    on_host = host_ops(module)
    if on_host:
        warnings.warn(describe_host_ops(on_host), HostFallbackWarning, stacklevel=2)
    return out


def _check_gears(modules: Sequence[ModuleOp]) -> None:
    """Gears are one model at other shapes: the same inputs and outputs (names, ranks, dtypes),
    and no two gears with the same input shapes."""
    ios = [_io(m) for m in modules]
    sig0 = [[(t["name"], len(t["shape"]), t["dtype"]) for t in side] for side in ios[0]]
    seen: dict[str, int] = {}
    for k, io in enumerate(ios):
        sig = [[(t["name"], len(t["shape"]), t["dtype"]) for t in side] for side in io]
        if sig != sig0:
            raise CircError(f"gear {k} imports with other inputs or outputs than gear 0 "
                            f"({sig[0]} -> {sig[1]} vs {sig0[0]} -> {sig0[1]}): gears must be one model")
        key = describe([{t["name"]: t["shape"] for t in io[0]}])
        if key in seen:
            raise CircError(f"gears {seen[key]} and {k} have the same input shapes ({key})")
        seen[key] = k


def _check_input_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in INPUT_FORMATS:
        raise CircError(f"input format must be one of {', '.join(INPUT_FORMATS)}, got '{fmt}'")
