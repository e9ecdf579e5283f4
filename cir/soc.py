"""The Ascend SoC table (``socs.toml``) as Python objects: one place for every SoC number."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from cir.errors import CircError

TABLE = Path(__file__).parent / "socs.toml"


@dataclass(frozen=True)
class Soc:
    name: str
    arch: int
    ai_cores: int
    vector_cores: int
    ub_bytes: int
    l1_bytes: int
    l0a_bytes: int
    l0b_bytes: int
    l0c_bytes: int
    hbm_gbps: float
    cube_fp16_tflops: float
    vector_fp32_tflops: float


@cache
def socs() -> dict[str, Soc]:
    data = tomllib.loads(TABLE.read_text())
    return {name: Soc(name=name, **fields) for name, fields in data.items()}


# The cores a package's kernels are tiled for when they run on circ's AscendC CPU layer (each
# simulated core a worker thread): the kernels are the SoC's, their tiling the one the SoC's
# tiling functions give for this many cores (see lower_to_ascendc). Few cores mean few, large
# tiles: one Matmul per core over many output pixels instead of 24 small ones.
CPU_LAYER_CORES = 4


def for_cpu_layer(chip: Soc, cores: int = CPU_LAYER_CORES) -> Soc:
    """`chip` as circ's CPU layer runs it: the same memories and units, `cores` cores."""
    return replace(chip, ai_cores=cores, vector_cores=cores)


def soc(name: str) -> Soc:
    table = socs()
    if name not in table:
        raise CircError(f"unknown SoC '{name}' (known: {', '.join(sorted(table))})")
    return table[name]
