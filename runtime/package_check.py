"""Opening a package as untrusted input: every path, hash, offset and size checked.

``open_package(path)`` returns a ``CheckedPackage`` or raises one ``CircError`` naming the file
and the field (``graph/launch.json: nodes[3].args[1].offset``). What it guarantees before any
native code runs (see ``runtime/trust.py`` for the trust model):

- every file the manifest names is a relative path that stays inside the package (no ``..``,
  no absolute path, no symlink leading out), is a regular file, and has the sha256 the
  manifest records; the bytes that were hashed are the bytes used (no second read);
- the manifest is signed by a trusted key (unless ``require_signature=False``, which the
  read-only tools use: they never compile the kernels);
- the launch graph is well formed: kernel names are C identifiers the package has, every
  argument lies inside its buffer (arena offsets and sizes within the planned arena, inputs
  within the input buffers, weights and constants within their tensors), block dims within
  the SoC's cores, the arena and workspaces within this machine's memory;
- the weights file's header is well formed and every tensor lies inside the file with the
  size its dtype and shape give.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from cir.runtime.host import HostNode, host_nodes
from cir.runtime.trust import check_signature

from cir.errors import CircError
from cir.gears import MAX_GEARS
from cir.package_format import MANIFEST, READABLE_VERSIONS, sha256_file
from cir.soc import soc as lookup_soc
from cir.types import dtype_named
from cir.weights import safetensors_index

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")
SHA256 = re.compile(r"[0-9a-f]{64}")
ARG_KINDS = ("arena", "input", "weight", "constant")
MAX_DIMS = 16
MAX_TILING_BYTES = 1 << 16
MAX_JSON_BYTES = 256 << 20


@dataclass
class CheckedPackage:
    path: Path
    manifest: dict[str, Any]
    manifest_bytes: bytes
    graph: dict[str, Any]
    kernel_sources: dict[str, str]  # kernel name -> the verified C++
    signer: str | None  # the trusted key id, None when not checked
    host_nodes: dict[int, HostNode]  # launch-graph node index -> its parsed host-fallback op
    graphs: list[dict[str, Any]]  # one launch graph per gear (graphs[0] is `graph`)
    gear_hosts: list[dict[int, HostNode]]  # host_nodes per gear


class Fields:
    """Typed access to a JSON value with errors that name the file and the field path."""

    def __init__(self, file: str, value: Any, where: str = ""):
        self.file, self.value, self.where = file, value, where

    def fail(self, problem: str) -> CircError:
        return CircError(f"{self.file}: {self.where or 'top level'}: {problem}")

    def _at(self, key: str | int) -> str:
        return f"{self.where}[{key}]" if isinstance(key, int) else (f"{self.where}.{key}" if self.where else key)

    def get(self, key: str, default: Any = ...) -> Fields:
        if not isinstance(self.value, dict):
            raise self.fail("expected an object")
        if key not in self.value:
            if default is ...:
                raise self.fail(f"missing '{key}'")
            return Fields(self.file, default, self._at(key))
        return Fields(self.file, self.value[key], self._at(key))

    def items(self) -> list[Fields]:
        if not isinstance(self.value, list):
            raise self.fail("expected a list")
        return [Fields(self.file, v, self._at(i)) for i, v in enumerate(self.value)]

    def int(self, lo: int = 0, hi: int = 1 << 62) -> int:
        v = self.value
        if type(v) is not int:
            raise self.fail(f"expected an integer, got {_show(v)}")
        if not lo <= v <= hi:
            raise self.fail(f"{v} is out of range [{lo}, {hi}]")
        return v

    def str(self, pattern: re.Pattern[str] | None = None, what: str = "a string") -> str:
        v = self.value
        if not isinstance(v, str) or (pattern is not None and not pattern.fullmatch(v)):
            raise self.fail(f"expected {what}, got {_show(v)}")
        return v

    def shape(self, dynamic: bool = False) -> tuple[int, ...]:
        """A static shape; `dynamic`: -1 marks a dimension that differs between gears."""
        dims = self.items()
        if len(dims) > MAX_DIMS:
            raise self.fail(f"{len(dims)} dimensions (at most {MAX_DIMS})")
        return tuple(d.int(-1 if dynamic else 0, 1 << 40) for d in dims)

    def dtype(self) -> np.dtype:
        name = self.str()
        try:
            return np.dtype(dtype_named(name).np)
        except ValueError:
            raise self.fail(f"unknown dtype '{_show(name)[1:-1]}'") from None


def _show(v: Any) -> str:
    text = json.dumps(v) if isinstance(v, str | int | float | bool | type(None)) else type(v).__name__
    return text if len(text) <= 40 else text[:37] + "..."


# --- files --------------------------------------------------------------------------------


def inside(package: Path, rel: Fields) -> Path:
    """The package file that `rel` names; refused unless it stays inside the package."""
    text = rel.str(what="a relative path")
    p = PurePosixPath(text)
    if not text or "\0" in text or "\\" in text or p.is_absolute() or ".." in p.parts:
        raise rel.fail(f"'{_show(text)[1:-1]}' is not a path inside the package")
    full = package / p
    try:
        real = full.resolve(strict=True)
    except (OSError, RuntimeError):
        raise rel.fail(f"{text} is missing from the package") from None
    if not real.is_relative_to(package.resolve()):
        raise rel.fail(f"{text} leads outside the package")
    if not real.is_file():
        raise rel.fail(f"{text} is not a regular file")
    return real


def read_checked(package: Path, rel: Fields, sha: Fields, limit: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of a package file, checked against the manifest's sha256."""
    path = inside(package, rel)
    want = sha.str(SHA256, "a sha256 (64 hex digits)")
    try:
        if path.stat().st_size > limit:
            raise rel.fail(f"{rel.value} is larger than {limit} bytes")
        data = path.read_bytes()
    except OSError as e:
        raise rel.fail(f"cannot read {rel.value} ({e.strerror})") from None
    if hashlib.sha256(data).hexdigest() != want:
        raise rel.fail(f"{rel.value} does not match the manifest's sha256 "
                       "(the package was modified after compilation)")
    return data


def _verified_cache() -> Path:
    base = os.environ.get("CIRC_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "circ") / "verified"


def check_large_file(path: Path, want: str) -> None:
    """sha256 of a (large) file, hashed once per file identity: the result is remembered by
    device, inode, size, mtime and ctime (a write changes ctime, which no user can set back)."""
    st = path.stat()
    ident = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{want}"
    mark = _verified_cache() / hashlib.sha256(ident.encode()).hexdigest()
    if mark.is_file():
        return
    if sha256_file(path) != want:
        raise CircError(f"{path}: does not match the manifest's sha256 "
                        "(the package was modified after compilation)")
    try:
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text(str(path))
    except OSError:
        pass  # only a cache


# --- the manifest -------------------------------------------------------------------------


def _load_json(file: str, data: bytes) -> Fields:
    try:
        return Fields(file, json.loads(data))
    except (ValueError, RecursionError) as e:
        raise CircError(f"{file}: not valid JSON ({e})") from None


def read_manifest(package: Path) -> tuple[dict[str, Any], bytes]:
    """The manifest, checked field by field (what it names is checked by open_package)."""
    if not package.is_dir():
        what = "is a file" if package.exists() else "no such package"
        raise CircError(f"{package}: {what} (a model.circ directory written by `circ compile`)")
    mf = package / MANIFEST
    try:
        if mf.stat().st_size > MAX_JSON_BYTES:
            raise CircError(f"{mf}: larger than {MAX_JSON_BYTES} bytes")
        data = mf.read_bytes()
    except OSError:
        raise CircError(f"{package}: not a circ package (no readable {MANIFEST})") from None
    m = _load_json(MANIFEST, data)
    if not isinstance(m.value, dict):
        raise m.fail("expected an object")
    version = m.value.get("format_version")
    if version not in READABLE_VERSIONS:
        raise CircError(f"{mf}: unsupported package format version {_show(version)} "
                        f"(this circ reads versions {', '.join(map(str, READABLE_VERSIONS))}; "
                        "compile the model again)")
    m.get("soc").str()
    lookup_soc(m.get("soc").value)
    for side in ("inputs", "outputs"):
        names = set()
        for t in m.get(side).items():
            name = t.get("name").str()
            if name in names:
                raise t.fail(f"{side[:-1]} '{name}' appears twice")
            names.add(name)
            t.get("shape").shape(dynamic="gears" in m.value)
            t.get("dtype").dtype()
            t.get("format", "ND").str()
    for k in m.get("kernels").items():
        k.get("name").str(IDENT, "a C identifier")
        k.get("file").str()
        k.get("sha256").str(SHA256, "a sha256")
    m.get("graphs").get("launch").str()
    m.get("weights").get("file").str()
    m.get("weights").get("sha256").str(SHA256, "a sha256")
    for f in m.get("files").items():
        f.get("file").str()
        f.get("sha256").str(SHA256, "a sha256")
    return m.value, data


# --- the launch graph ---------------------------------------------------------------------


def _memory_limit() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # pragma: no cover - every Linux has both
        return 1 << 40


class GraphChecker:
    """Checks a launch graph against the manifest, the weights and the constants."""

    def __init__(self, file: str, graph: Fields, manifest: Mapping[str, Any],
                 weights: Mapping[str, np.ndarray]):
        self.g, self.manifest, self.weights = graph, manifest, weights
        self.file = file
        self.memory = _memory_limit()
        self.max_blocks = max(int(getattr(lookup_soc(manifest["soc"]), "vector_cores", 64)), 64)
        self.inputs = {t["name"]: t for t in manifest["inputs"]}
        self.kernels = {k["name"] for k in manifest["kernels"]}

    def check(self) -> dict[str, Any]:
        g = self.g
        if not isinstance(g.value, dict):
            raise g.fail("expected an object")
        self.arena = g.get("arena_bytes").int(0, self.memory)
        self.constants = self._constants(g.get("constants", []))
        for side in ("inputs", "outputs"):
            want = [t["name"] for t in self.manifest[side]]
            got = [t.get("name").str() for t in g.get(side).items()]
            if got != want:
                raise g.get(side).fail(f"names {got} differ from the manifest's {want}")
        for t in g.get("inputs").items():
            self._same_io(t, self.inputs[t.get("name").value])
        outputs = {t["name"]: t for t in self.manifest["outputs"]}
        for t in g.get("outputs").items():
            self._same_io(t, outputs[t.get("name").value])
            self._binding(t, source="source")
        arities: dict[str, int] = {}
        for node in g.get("nodes").items():
            self._node(node, arities)
        return g.value

    def _constants(self, cs: Fields) -> dict[str, int]:
        out = {}
        for c in cs.items():
            name = c.get("name").str()
            dtype = c.get("dtype").dtype()
            shape = c.get("shape").shape()
            hexdata = c.get("hex").str(re.compile(r"(?:[0-9a-fA-F]{2}){0,1048576}"), "hex bytes")
            if len(hexdata) // 2 != int(np.prod(shape)) * dtype.itemsize:
                raise c.fail(f"{len(hexdata) // 2} bytes of data for shape {list(shape)} {dtype}")
            out[name] = len(hexdata) // 2
        return out

    def _same_io(self, t: Fields, want: Mapping[str, Any]) -> None:
        if list(t.get("shape").shape()) != list(want["shape"]) or t.get("dtype").str() != want["dtype"]:
            raise t.fail("shape or dtype differs from the manifest's")

    def _size_of(self, arg: Fields, kind: str, name_key: str) -> tuple[int, int]:
        """(offset, buffer size) of the buffer an argument names."""
        if kind == "arena":
            return arg.get("offset").int(0, self.arena), self.arena
        name = arg.get(name_key).str()
        if kind == "input":
            if name not in self.inputs:
                raise arg.fail(f"unknown input '{name}'")
            t = self.inputs[name]
            return 0, int(np.prod(t["shape"])) * dtype_named(t["dtype"]).itemsize
        if kind == "weight":
            if name not in self.weights:
                raise arg.fail(f"weight '{name}' is not in the weights file")
            return 0, self.weights[name].nbytes
        if kind == "constant":
            if name not in self.constants:
                raise arg.fail(f"unknown constant '{name}'")
            return 0, self.constants[name]
        raise arg.fail(f"unknown argument kind '{_show(kind)[1:-1]}' (one of {', '.join(ARG_KINDS)})")

    def _binding(self, arg: Fields, source: str = "name") -> None:
        kind = arg.get("kind").str()
        offset, size = self._size_of(arg, kind, source if kind != "arena" else "name")
        nbytes = arg.get("nbytes").int(0, self.memory)
        if offset + nbytes > size:
            raise arg.fail(f"{nbytes} bytes at offset {offset} overrun the {kind} buffer of {size} bytes")
        if "shape" in arg.value:
            shape, dtype = arg.get("shape").shape(), arg.get("dtype").dtype()
            if kind != "arena" and int(np.prod(shape)) * dtype.itemsize > nbytes:
                raise arg.fail(f"shape {list(shape)} of {dtype} needs more than its {nbytes} bytes")
            if kind == "arena" and int(np.prod(shape)) * dtype.itemsize > max(nbytes, 0) and \
                    arg.value.get("format", "ND") == "ND":
                raise arg.fail(f"shape {list(shape)} of {dtype} needs more than its {nbytes} bytes")

    @staticmethod
    def _tiling(node: Fields) -> str:
        hexdata = node.get("tiling_hex").str(re.compile(r"(?:[0-9a-fA-F]{2})*"), "hex bytes")
        if len(hexdata) // 2 > MAX_TILING_BYTES:
            raise node.fail(f"tiling of {len(hexdata) // 2} bytes (at most {MAX_TILING_BYTES})")
        return hexdata

    def _node(self, node: Fields, arities: dict[str, int]) -> None:
        engine = node.get("engine", "aicore").str()
        if engine == "host":  # the op itself is parsed and checked by HostNode
            node.get("ir").str()
            for a in node.get("args").items():
                self._binding(a)
                a.get("shape").shape()
            return
        if engine != "aicore":
            raise node.get("engine").fail(f"unknown engine {_show(engine)} (aicore or host)")
        kernel = node.get("kernel").str(IDENT, "a kernel name")
        if kernel not in self.kernels:
            raise node.fail(f"kernel '{kernel}' is not in the package")
        node.get("block_dim").int(1, self.max_blocks)
        node.get("workspace").int(0, self.memory)
        hexdata = self._tiling(node)
        if "cpu" in node.value:  # the same kernel tiled for the CPU layer: the same struct
            cpu = node.get("cpu")
            cpu.get("block_dim").int(1, self.max_blocks)
            cpu.get("workspace").int(0, self.memory)
            if len(self._tiling(cpu)) != len(hexdata):
                raise cpu.get("tiling_hex").fail(f"a tiling of {len(self._tiling(cpu)) // 2} bytes for a kernel "
                                                 f"whose tiling has {len(hexdata) // 2}")
        args = node.get("args").items()
        if arities.setdefault(kernel, len(args)) != len(args):
            raise node.fail(f"kernel '{kernel}' launched with {len(args)} arguments here and "
                            f"{arities[kernel]} elsewhere")
        for a in args:
            self._binding(a)



# --- the whole package --------------------------------------------------------------------


def map_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read-only arrays over a safetensors file (memory-mapped, no pickles; tensors whose data
    is not 64-byte aligned are copied into aligned memory). The header is checked by
    ``safetensors_index``: every tensor inside the file, its size what dtype and shape say."""
    index = safetensors_index(path)
    data = np.memmap(path, np.uint8, mode="r") if any(e > b for _, _, b, e in index.values()) else None
    out = {}
    for name, (dtype, shape, begin, end) in index.items():
        arr = (data[begin:end] if data is not None else np.zeros(0, np.uint8)).view(dtype).reshape(shape)
        if arr.ctypes.data % ALIGN:
            copy = aligned_empty(arr.nbytes).view(arr.dtype).reshape(arr.shape)
            copy[...] = arr
            arr = copy
        out[name] = arr
    return out


ALIGN = 64


def aligned_empty(nbytes: int, align: int = ALIGN) -> np.ndarray:
    """A uint8 buffer of `nbytes` whose address is a multiple of `align`."""
    raw = np.empty(nbytes + align, np.uint8)
    start = (-raw.ctypes.data) % align
    return raw[start:start + nbytes]


def _listed_sha(m: Fields, rel: str) -> Fields:
    for f in m.get("files", []).items():
        if f.get("file").value == rel:
            return f.get("sha256")
    raise m.get("files").fail(f"{rel} is not listed with its sha256")


def open_package(path: str | os.PathLike[str], *, require_signature: bool = True
                 ) -> tuple[CheckedPackage, dict[str, np.ndarray]]:
    """Check a package (see the module docstring); returns it and its memory-mapped weights."""
    package = Path(path)
    manifest, mbytes = read_manifest(package)
    signer = check_signature(package, mbytes) if require_signature else None
    m = Fields(MANIFEST, manifest)
    inside(package, m.get("graphs").get("launch"))  # the paths first, before reading anything
    weights_rel = m.get("weights").get("file")
    weights_file = inside(package, weights_rel)
    check_large_file(weights_file, m.get("weights").get("sha256").value)
    weights = map_safetensors(weights_file)
    graphs = []
    views = _gear_views(m)
    for launch, view in views:  # one launch graph per gear (one without gears)
        inside(package, launch)
        graph_bytes = read_checked(package, launch, _listed_sha(m, launch.value))
        graphs.append(GraphChecker(launch.value, _load_json(launch.value, graph_bytes), view, weights).check())
    graph = graphs[0]
    sources = {}
    for k in m.get("kernels").items():
        data = read_checked(package, k.get("file"), k.get("sha256"), limit=16 << 20)
        try:
            sources[k.get("name").value] = data.decode("utf-8")
        except UnicodeDecodeError:
            raise k.get("file").fail("not UTF-8 text") from None
    hosts = []
    for (launch, _), g in zip(views, graphs, strict=True):
        hosts.append(host_nodes(g["nodes"], launch.value))
        for i, node in enumerate(Fields(launch.value, g).get("nodes").items()):
            if i in hosts[-1]:
                continue
            name = node.get("kernel").value
            if kernel_arity(sources[name]) != len(node.value["args"]) + 2:
                raise node.fail(f"kernel '{name}' takes {kernel_arity(sources[name])} arguments, "
                                f"the launch passes {len(node.value['args'])} + workspace and tiling")
    return CheckedPackage(package, manifest, mbytes, graph, sources, signer, hosts[0], graphs, hosts), weights


def _gear_views(m: Fields) -> list[tuple[Fields, dict[str, Any]]]:
    """(launch-graph path, the manifest as that graph sees it) per gear: with gears, the inputs
    and outputs get the gear's static shapes, each checked against the manifest's dynamic one."""
    launch = m.get("graphs").get("launch")
    if "gears" not in m.value:
        return [(launch, m.value)]
    gears = m.get("gears").items()
    if not 1 < len(gears) <= MAX_GEARS:
        raise m.get("gears").fail(f"{len(gears)} gears (2 to {MAX_GEARS})")
    if gears[0].get("launch").value != launch.value:
        raise gears[0].get("launch").fail(f"the first gear's launch graph must be {launch.value}")
    out = []
    seen = set()
    for g in gears:
        view = dict(m.value)
        for side in ("inputs", "outputs"):
            shapes = g.get(side)
            if not isinstance(shapes.value, dict) or sorted(shapes.value) != sorted(t["name"] for t in m.value[side]):
                raise shapes.fail(f"must give a shape for each of the manifest's {side}")
            tensors = []
            for t in m.value[side]:
                shape = shapes.get(t["name"]).shape()
                if len(shape) != len(t["shape"]) or any(d != w for d, w in zip(shape, t["shape"], strict=True) if w != -1):
                    raise shapes.get(t["name"]).fail(f"{list(shape)} does not fit the manifest's {t['shape']}")
                tensors.append({**t, "shape": list(shape)})
            view[side] = tensors
        key = json.dumps(g.value["inputs"], sort_keys=True)
        if key in seen:
            raise g.fail("two gears have the same input shapes")
        seen.add(key)
        out.append((g.get("launch"), view))
    return out


_ENTRY = re.compile(r'extern\s+"C"\s+__global__\s+__aicore__\s+void\s+\w+\s*\(([^)]*)\)')


def kernel_arity(source: str) -> int:
    """The number of GM arguments of a kernel source's entry point (-1 when it has none)."""
    m = _ENTRY.search(source)
    if m is None:
        return -1
    return len([p for p in m.group(1).split(",") if p.strip()])
