"""ATC's command line for ``circ compile``: spellings, the flag table, ``--mode 1``.

Deployment guides give ``atc`` command lines; ``circ compile`` takes them as they are written.
``cir/app/tools/atc_flags.toml`` says which flags circ implements and refuses the others with one
line saying what to do instead.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from cir.errors import CircError, UsageError
from cir.package_format import INPUT_FORMATS

TABLE = Path(__file__).parent / "atc_flags.toml"
LOG_LEVELS = ("debug", "info", "warning", "error", "null")
IMPLMODES = ("high_precision", "high_performance", "high_precision_for_all", "high_performance_for_all")


@cache
def table() -> dict[str, dict[str, str]]:
    return tomllib.loads(TABLE.read_text())


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """ATC's spellings -> argparse's: ``-soc_version=X`` and ``--soc-version=X`` both become
    ``--soc_version=X`` for the flags of the table; unsupported flags are refused here."""
    known = table()
    flags = known["unsupported"].keys() | known["implemented"].keys()
    out = []
    for tok in argv:
        if tok.startswith("-") and not tok.startswith("--"):
            name = tok[1:].partition("=")[0].replace("-", "_")
            if name in flags:  # ATC's single-dash spelling (-o and -oFILE stay circ's)
                tok = "-" + tok
        if tok.startswith("--"):
            name, eq, value = tok[2:].partition("=")
            canonical = name.replace("-", "_")
            if canonical in known["unsupported"]:
                raise UsageError(f"circ compile does not take --{canonical}: {known['unsupported'][canonical]}")
            if canonical in known["implemented"]:
                tok = f"--{canonical}{eq}{value}"
        out.append(tok)
    return out


def add_arguments(sub: Any) -> None:  # argparse.ArgumentParser: the ATC-only flags
    sub.add_argument("--mode", choices=["0", "1"], default="0",
                     help="0: compile; 1: show a package (--om) as JSON (--json)")
    sub.add_argument("--om", help="--mode 1: the package to show")
    sub.add_argument("--json", help="--mode 1: where to write the JSON")
    sub.add_argument("--precision_mode", "--precision-mode", dest="precision_mode",
                     help="ATC's precision mode (force_fp16, allow_mix_precision, ...)")
    sub.add_argument("--precision_mode_v2", "--precision-mode-v2", dest="precision_mode_v2",
                     help="fp16, origin, mixed_float16, mixed_bfloat16")
    sub.add_argument("--keep_dtype", "--keep-dtype", dest="keep_dtype", metavar="FILE",
                     help="op names (or OpType::T) kept in their original type, one a line")
    sub.add_argument("--modify_mixlist", "--modify-mixlist", dest="modify_mixlist", metavar="FILE.json",
                     help="edits of the mixed-precision black/white lists (ATC's JSON)")
    sub.add_argument("--out_nodes", "--out-nodes", dest="out_nodes", metavar='"NODE:0;NODE:1"',
                     help="the outputs: these nodes' outputs instead of the model's")
    sub.add_argument("--input_format", "--input-format", dest="input_format", choices=sorted(INPUT_FORMATS),
                     help="the inputs' data format (recorded in the manifest)")
    sub.add_argument("--dynamic_batch_size", "--dynamic-batch-size", dest="dynamic_batch_size", metavar='"1,2,4"',
                     help="batch gears: every -1 of --input_shape is the batch")
    sub.add_argument("--dynamic_image_size", "--dynamic-image-size", dest="dynamic_image_size",
                     metavar='"64,64;96,96"', help="image-size gears: each input's two -1 dims are H, W")
    sub.add_argument("--dynamic_dims", "--dynamic-dims", dest="dynamic_dims", metavar='"1,64;2,128"',
                     help="gears of all -1 dims in order (with --input_format=ND)")
    sub.add_argument("--log", choices=LOG_LEVELS, default="info", help="how much to print")
    sub.add_argument("--op_select_implmode", "--op-select-implmode", dest="op_select_implmode",
                     choices=IMPLMODES, help="recorded; circ's kernels are high-precision")
    sub.add_argument("--optypelist_for_implmode", "--optypelist-for-implmode",
                     dest="optypelist_for_implmode", help="the op types --op_select_implmode names")


def precision_of(args: Any) -> str:
    """--precision / --precision_mode / --precision_mode_v2 -> one precision (at most one given)."""
    given = [(flag, v) for flag, v in (("--precision", args.precision),
                                       ("--precision_mode", args.precision_mode),
                                       ("--precision_mode_v2", args.precision_mode_v2)) if v]
    if len(given) > 1:
        raise UsageError(f"{given[0][0]} and {given[1][0]} cannot be given together")
    return given[0][1] if given else "fp32"


def show_package(om: str | None, json_out: str | None) -> Path:
    """--mode 1: a package as one JSON document (manifest, inputs/outputs, kernels, launches)."""
    from cir.outputs import check_destination, write_atomic
    from cir.runtime.package_check import open_package

    if not om or not json_out:
        raise UsageError("--mode 1 needs --om PACKAGE and --json OUT.json")
    out = check_destination(json_out, "--json")
    checked, _ = open_package(om, require_signature=False)  # only read, never run
    g = checked.graph
    doc = {
        "package": str(Path(om)),
        "signed_by": _signer(Path(om), checked.manifest_bytes),
        "manifest": checked.manifest,
        "graph": {
            "arena_bytes": g["arena_bytes"],
            "inputs": g["inputs"], "outputs": g["outputs"],
            "launches": [{k: n[k] for k in ("op", "kernel", "block_dim", "workspace", "loc") if k in n}
                         | {"tiling": dict(zip(n.get("tiling_fields", []), n.get("tiling", [])))}
                         for n in g["nodes"]],
        },
    }
    try:
        write_atomic(out, lambda f: f.write(json.dumps(doc, indent=1)))
    except OSError as e:
        raise CircError(f"--json {out}: cannot write ({e.strerror})") from None
    return out


def _signer(package: Path, manifest_bytes: bytes) -> str | None:
    from cir.runtime.trust import check_signature

    try:
        return check_signature(package, manifest_bytes)
    except CircError:
        return None
