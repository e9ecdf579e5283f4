"""Weights: named tensors kept out of IR text, in safetensors files.

A module refers to its weights file with the module attribute ``cir.weights = "m.safetensors"``
(relative to the IR file). In memory, a module can carry its weights directly: importers
``attach`` a ``WeightStore`` and every later stage (interpreter, passes, lowering) finds it
with ``weights_of``.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp, StringAttr

from cir.errors import CircError

WEIGHTS_ATTR = "cir.weights"


class WeightStore(Mapping[str, np.ndarray]):
    """Name -> array, either in memory or read lazily from a safetensors file."""

    def __init__(self, arrays: Mapping[str, np.ndarray] | None = None, path: Path | None = None):
        self._arrays: dict[str, np.ndarray] = dict(arrays or {})
        self._path = path
        self._names: set[str] = set(self._arrays)
        if path is not None:
            self._names |= set(_safetensors_keys(path))

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> WeightStore:
        p = Path(path)
        if not p.is_file():
            raise CircError(f"weights file '{p}' does not exist")
        return cls(path=p)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._arrays:
            if self._path is None or name not in self._names:
                raise KeyError(name)
            from safetensors import safe_open

            with safe_open(str(self._path), framework="numpy") as f:
                self._arrays[name] = f.get_tensor(name)
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self._arrays[name] = value
        self._names.add(name)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write every weight to a safetensors file (atomically: temp file + rename)."""
        from safetensors.numpy import save_file

        tmp = Path(f"{path}.tmp")
        save_file({k: np.require(self[k], requirements="C") for k in self}, str(tmp))
        os.replace(tmp, path)


SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64,
                      "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def safetensors_index(path: Path) -> dict[str, tuple[np.dtype, tuple[int, ...], int, int]]:
    """name -> (dtype, shape, begin, end): where each tensor's bytes are in a safetensors file
    (read from its JSON header; no pickles, nothing else loaded). A file from elsewhere is
    untrusted: the header is checked field by field, every tensor must lie inside the file and
    have the size its dtype and shape give."""
    import json

    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise CircError(f"{path}: not a safetensors file (too short)")
            n = int.from_bytes(head, "little")
            if n > min(size - 8, MAX_SAFETENSORS_HEADER):
                raise CircError(f"{path}: not a safetensors file (header of {n} bytes)")
            header = json.loads(f.read(n))
    except OSError as e:
        raise CircError(f"{path}: cannot read ({e.strerror})") from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise CircError(f"{path}: not a safetensors file (bad header)") from None
    if not isinstance(header, dict):
        raise CircError(f"{path}: not a safetensors file (the header is not an object)")
    out = {}
    for name, d in header.items():
        if name == "__metadata__" or name.startswith(PAD_PREFIX):
            continue
        out[name] = _tensor_entry(path, name, d, 8 + n, size)
    return out


def _tensor_entry(path: Path, name: str, d: object, base: int, size: int
                  ) -> tuple[np.dtype, tuple[int, ...], int, int]:
    def bad(problem: str) -> CircError:
        return CircError(f"{path}: tensor '{name}' {problem}")

    if not isinstance(d, dict) or d.get("dtype") not in SAFETENSORS_DTYPES:
        raise bad("has an unsupported dtype")
    shape, offsets = d.get("shape"), d.get("data_offsets")
    if not (isinstance(shape, list) and len(shape) <= 16
            and all(type(x) is int and 0 <= x < 1 << 48 for x in shape)):
        raise bad("has a malformed shape")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(x) is int for x in offsets)):
        raise bad("has malformed data_offsets")
    dtype = np.dtype(SAFETENSORS_DTYPES[d["dtype"]])
    begin, end = base + offsets[0], base + offsets[1]
    if not base <= begin <= end <= size:
        raise bad("lies outside the file (truncated?)")
    if end - begin != int(np.prod(shape, dtype=object)) * dtype.itemsize:
        raise bad(f"has {end - begin} bytes for shape {shape} {dtype}")
    return dtype, tuple(shape), begin, end


MAX_SAFETENSORS_HEADER = 100 << 20  # safetensors' own limit


PAD_PREFIX = "__pad"  # filler tensors that align the next tensor (safetensors allows no holes)
_ST_NAMES = {np.dtype(v): k for k, v in SAFETENSORS_DTYPES.items()}


def save_safetensors_aligned(arrays: Mapping[str, np.ndarray], path: Path, align: int = 64) -> str:
    """Write a safetensors file whose every tensor starts at a multiple of `align` bytes from
    the start of the file, so that a memory map of it gives aligned arrays without copies.
    Gaps are filled by ``__pad<i>`` uint8 tensors and the header is padded with spaces; any
    safetensors reader reads the file. Returns the file's sha256 (computed while writing)."""
    import hashlib
    import json

    entries: dict[str, dict] = {}
    chunks: list[bytes | np.ndarray] = []
    offset = 0
    names = sorted(arrays)
    # the header's size depends on the offsets and the offsets on the header: fix the header's
    # size first (offsets are relative to the data start, which is then aligned)
    for i, name in enumerate(names):
        a = np.ascontiguousarray(arrays[name])
        if a.dtype not in _ST_NAMES:
            raise CircError(f"cannot save weight '{name}' of dtype {a.dtype} as safetensors")
        gap = -offset % align
        if gap:
            entries[f"{PAD_PREFIX}{i}"] = {"dtype": "U8", "shape": [gap], "data_offsets": [offset, offset + gap]}
            chunks.append(bytes(gap))
            offset += gap
        entries[name] = {"dtype": _ST_NAMES[a.dtype], "shape": list(a.shape),
                         "data_offsets": [offset, offset + a.nbytes]}
        chunks.append(a)
        offset += a.nbytes
    header = json.dumps(entries, separators=(",", ":")).encode()
    header += b" " * (-(8 + len(header)) % align)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for c in [len(header).to_bytes(8, "little"), header, *chunks]:
            data = c if isinstance(c, bytes) else memoryview(c.reshape(-1).view(np.uint8))
            digest.update(data)
            f.write(data)
    return digest.hexdigest()


def _safetensors_keys(path: Path) -> list[str]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            return list(f.keys())
    except (SafetensorError, OSError, ValueError) as e:
        raise CircError(f"{path}: not a readable safetensors file ({e})") from None


_ATTACHED: weakref.WeakKeyDictionary[ModuleOp, WeightStore] = weakref.WeakKeyDictionary()
# where a module parsed from a file came from: its `cir.weights` is relative to that folder
_BASE_DIRS: weakref.WeakKeyDictionary[ModuleOp, Path] = weakref.WeakKeyDictionary()


def set_base_dir(module: ModuleOp, folder: str | os.PathLike[str]) -> None:
    _BASE_DIRS[module] = Path(folder)


def attach(module: ModuleOp, store: WeightStore | Mapping[str, np.ndarray]) -> ModuleOp:
    """Make `store` the weights of `module` (in memory)."""
    _ATTACHED[module] = store if isinstance(store, WeightStore) else WeightStore(store)
    return module


def attached(module: ModuleOp) -> WeightStore | None:
    """The weights attached to `module` in memory, if any; never opens a file."""
    return _ATTACHED.get(module)


def weights_of(module: ModuleOp, base_dir: str | os.PathLike[str] | None = None) -> WeightStore:
    """The weights of `module`: attached in memory, else the file named by ``cir.weights``."""
    if module in _ATTACHED:
        return _ATTACHED[module]
    ref = module.attributes.get(WEIGHTS_ATTR)
    if isinstance(ref, StringAttr):
        path = Path(ref.data)
        base = base_dir if base_dir is not None else _BASE_DIRS.get(module)
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        store = WeightStore.open(path)
        _ATTACHED[module] = store
        return store
    return WeightStore()
