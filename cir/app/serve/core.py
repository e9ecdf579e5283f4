"""The model registry, request decoding and validation shared by REST and gRPC, and the
per-model bounded queue with its batcher.

Batching. CIR packages have static shapes. A model is *row-batchable* when every input and
every output has rank >= 1 and the same leading dimension B (its compiled batch size) and
its config does not say ``row_batching = false``. For such a model a request may carry any
number n >= 1 of rows (dim 0); the batcher concatenates the rows of the requests it gathered,
cuts them into runs of exactly B rows (the last one padded with zeros), runs them and hands
every request back its own rows. With ``max_batch > 1`` a worker that takes a request also
takes up to ``max_batch - 1`` more that are already queued, and waits up to
``batch_timeout_ms`` for more while the last run is not full. A model that is not
row-batchable (B = 1 counts as batchable: n rows are n runs) takes exact shapes only; its
gathered requests run back to back. A package compiled with batch gears (``cir.gears``: the
gears differ in dim 0 only) has several B: each run takes the smallest gear that holds the rows
left (the largest while more remain), so a lone request is not padded to the largest batch. A
package with other gears takes any of its gears' exact shapes. Either way dim 0 must be a batch dimension whose rows do
not interact (true of inference graphs; a model where it is not should set
``row_batching = false``).

Bounds. Each model has a queue of at most ``max_queue`` waiting requests (more: 503 /
RESOURCE_EXHAUSTED at once, never a crash) and ``workers`` runs in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ml_dtypes
import numpy as np

from cir.app.serve.config import ModelConfig, ServerConfig
from cir.app.serve.tensors import MAX_RANK, dt_name
from cir.errors import CircError, name_mismatch
from cir.gears import describe as describe_gears
from cir.gears import pick as pick_gear

SIGNATURE = "serving_default"
VERSION = 1

# error kinds: (HTTP status, gRPC status name)
INVALID_ARGUMENT = (400, "INVALID_ARGUMENT")
NOT_FOUND = (404, "NOT_FOUND")
TOO_LARGE = (413, "RESOURCE_EXHAUSTED")
RESOURCE_EXHAUSTED = (503, "RESOURCE_EXHAUSTED")
UNAVAILABLE = (503, "UNAVAILABLE")
REQUEST_TIMEOUT = (408, "DEADLINE_EXCEEDED")
INTERNAL = (500, "INTERNAL")


MAX_MESSAGE_CHARS = 2000


def clip(message: str) -> str:
    """Error messages quote the request (names, paths, values): at most MAX_MESSAGE_CHARS."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[:MAX_MESSAGE_CHARS] + f"... ({len(message)} characters)"


class ServeError(Exception):
    """A request that cannot be served; ``kind`` gives the HTTP status and the gRPC code."""

    def __init__(self, kind: tuple[int, str], message: str):
        message = clip(message)
        super().__init__(message)
        self.kind = kind
        self.message = message

    @property
    def http_status(self) -> int:
        return self.kind[0]

    @property
    def grpc_code(self) -> str:
        return self.kind[1]


def _shape_text(shape: tuple[Any, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


@dataclass
class _Request:
    feeds: dict[str, np.ndarray]
    rows: int
    future: asyncio.Future[dict[str, np.ndarray]]


class ServedModel:
    """One package: its session, signature, queue and workers."""

    def __init__(self, cfg: ModelConfig, server: ServerConfig):
        from cir.runtime.session import load

        self.name = cfg.name
        self.path = cfg.path
        self.session = load(cfg.path, device=cfg.device, max_in_flight=server.workers)
        self.inputs = list(self.session.inputs)
        self.outputs = list(self.session.outputs)
        self.batch = self._batch_size() if cfg.row_batching else None
        self.max_batch = max(1, cfg.max_batch if cfg.max_batch is not None else server.max_batch)
        timeout = cfg.batch_timeout_ms if cfg.batch_timeout_ms is not None else server.batch_timeout_ms
        self.batch_timeout = max(0.0, float(timeout)) / 1000
        self.max_queue = max(1, server.max_queue)
        self.workers = max(1, server.workers)
        self._queue: asyncio.Queue[_Request] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self.metadata = self._metadata()

    def _batch_size(self) -> int | None:
        """B (the largest batch gear); self.batches: every B, ascending."""
        self.batches = self._batch_gears()
        if self.batches:
            return self.batches[-1]
        if self.session.gears:  # gears in other dimensions: their exact shapes
            return None
        heads = {t.shape[0] if t.shape else None for t in self.inputs + self.outputs}
        if len(heads) == 1 and None not in heads and self.inputs:
            b = heads.pop()
            self.batches = [b] if b and b > 0 else []
            return b if b and b > 0 else None
        return None

    def _batch_gears(self) -> list[int]:
        """The batch sizes of a package whose gears differ in dim 0 only (of every input and
        output, all equal within a gear); [] for other packages."""
        gears = self.session.gears
        if not gears or any(not t.shape or t.shape[0] != -1 or -1 in t.shape[1:] for t in self.inputs + self.outputs):
            return []
        sizes = []
        for g in gears:
            heads = {s[0] for s in g.values()}
            if len(heads) != 1:
                return []
            sizes.append(heads.pop())
        return sorted(sizes)

    def describe(self) -> str:
        ins = ", ".join(f"{t.name}{_shape_text(t.shape)}:{t.dtype}" for t in self.inputs)
        outs = ", ".join(f"{t.name}{_shape_text(t.shape)}:{t.dtype}" for t in self.outputs)
        how = (f"any number of rows, run in batches of {'/'.join(map(str, self.batches))}" if self.batch
               else "exact shapes" if not self.session.gears else f"the shapes {describe_gears(self.session.gears)}")
        return f"model '{self.name}' ({self.path}): ({ins}) -> ({outs}); {how}"

    # --- signature -----------------------------------------------------------------------

    def _tensor_info(self, t: Any) -> dict[str, Any]:
        dims = list(t.shape)
        if self.batch:
            dims[0] = -1
        return {"dtype": dt_name(t.np_dtype),
                "tensor_shape": {"dim": [{"size": str(d), "name": ""} for d in dims],
                                 "unknown_rank": False},
                "name": f"{t.name}:0"}

    def _metadata(self) -> dict[str, Any]:
        """TF Serving's GetModelMetadata response as its REST API prints it."""
        sig = {"inputs": {t.name: self._tensor_info(t) for t in self.inputs},
               "outputs": {t.name: self._tensor_info(t) for t in self.outputs},
               "method_name": "tensorflow/serving/predict", "defaults": {}}
        return {"model_spec": {"name": self.name, "signature_name": "", "version": str(VERSION)},
                "metadata": {"signature_def": {"signature_def": {SIGNATURE: sig}}}}

    # --- requests ------------------------------------------------------------------------

    def check_signature(self, name: str) -> None:
        if name not in ("", SIGNATURE):
            raise ServeError(INVALID_ARGUMENT, f"Serving signature name: \"{name}\" not found in "
                             f"signature def (model '{self.name}' has '{SIGNATURE}')")

    def prepare(self, feeds: Mapping[str, np.ndarray], *,
                exact: bool) -> tuple[dict[str, np.ndarray], int]:
        """Check names, shapes and dtypes; returns arrays in the model's dtypes and the rows.
        `exact`: see ``conform`` (True for TensorProtos, False for JSON numbers)."""
        names = [t.name for t in self.inputs]
        problem = name_mismatch(feeds, names)
        if problem:
            raise ServeError(INVALID_ARGUMENT, f"{problem} (model '{self.name}' takes {', '.join(names)})")
        out: dict[str, np.ndarray] = {}
        rows: int | None = None
        for t in self.inputs:
            a = np.asarray(feeds[t.name])
            if self.batch:
                want = ("n",) + t.shape[1:]
                if a.ndim != len(t.shape) or tuple(a.shape[1:]) != t.shape[1:] or a.shape[0] < 1:
                    raise ServeError(INVALID_ARGUMENT, f"input '{t.name}' has shape "
                                     f"{_shape_text(a.shape)}, expected {_shape_text(want)} with "
                                     f"n >= 1 rows")
                if rows is not None and a.shape[0] != rows:
                    raise ServeError(INVALID_ARGUMENT, f"inputs have different numbers of rows "
                                     f"({rows} and {a.shape[0]} for '{t.name}')")
                rows = a.shape[0]
            elif self.session.gears is None and tuple(a.shape) != t.shape:  # gears: checked below
                raise ServeError(INVALID_ARGUMENT, f"input '{t.name}' has shape "
                                 f"{_shape_text(a.shape)}, expected {_shape_text(t.shape)}")
            out[t.name] = conform(a, t, exact=exact)
        if self.session.gears is not None and not self.batch:
            try:
                pick_gear(self.session.gears, {n: a.shape for n, a in out.items()})
            except CircError as e:
                raise ServeError(INVALID_ARGUMENT, f"model '{self.name}': {e}") from None
        return out, rows or 1

    async def predict(self, feeds: Mapping[str, np.ndarray], *,
                      exact: bool) -> dict[str, np.ndarray]:
        """Queue a request (see ``prepare``) and wait for its outputs."""
        arrays, rows = self.prepare(feeds, exact=exact)
        if self._queue is None or self._closing:
            raise ServeError(UNAVAILABLE, f"model '{self.name}' is shutting down")
        fut: asyncio.Future[dict[str, np.ndarray]] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Request(arrays, rows, fut))
        except asyncio.QueueFull:
            raise ServeError(RESOURCE_EXHAUSTED, f"model '{self.name}' is overloaded: "
                             f"{self.max_queue} requests are already queued; retry later") from None
        return await fut

    # --- workers -------------------------------------------------------------------------

    def start(self) -> None:
        self._queue = asyncio.Queue(maxsize=self.max_queue)
        self._tasks = [asyncio.create_task(self._worker(), name=f"circ-serve-{self.name}-{i}")
                       for i in range(self.workers)]

    async def stop(self) -> None:
        self._closing = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._queue is not None:
            while not self._queue.empty():
                r = self._queue.get_nowait()
                if not r.future.done():
                    r.future.set_exception(ServeError(UNAVAILABLE, "the server is shutting down"))
        await asyncio.to_thread(self.session.close)

    async def _gather(self) -> list[_Request]:
        assert self._queue is not None
        group = [await self._queue.get()]
        while len(group) < self.max_batch and not self._queue.empty():
            group.append(self._queue.get_nowait())
        if self.batch and self.max_batch > 1 and self.batch_timeout > 0:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.batch_timeout
            while len(group) < self.max_batch and sum(r.rows for r in group) % self.batch:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    group.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
        return group

    async def _worker(self) -> None:
        while True:
            group = await self._gather()
            live = [r for r in group if not r.future.done()]  # a client that left is skipped
            if not live:
                continue
            try:
                if self.batch:
                    await self._run_rows(live)
                else:
                    for r in live:
                        res = await self._run(r.feeds)
                        if not r.future.done():
                            r.future.set_result(res)
            except asyncio.CancelledError:
                for r in live:
                    if not r.future.done():
                        r.future.set_exception(ServeError(UNAVAILABLE, "the server is shutting down"))
                raise
            except Exception as e:  # noqa: BLE001 - one failed run must not stop the worker
                err = e if isinstance(e, ServeError) else (
                    ServeError(INVALID_ARGUMENT, str(e)) if isinstance(e, CircError)
                    else ServeError(INTERNAL, f"the model failed: {type(e).__name__}: {e}"))
                if err.kind == INTERNAL:
                    print(f"circ serve: model '{self.name}': {err.message}", file=sys.stderr)
                for r in live:
                    if not r.future.done():
                        r.future.set_exception(err)

    async def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return await asyncio.wrap_future(self.session.run_async(feeds))

    async def _run_rows(self, reqs: list[_Request]) -> None:
        b = self.batch
        assert b
        if len(reqs) == 1:
            cat = reqs[0].feeds
        else:
            cat = {t.name: np.concatenate([r.feeds[t.name] for r in reqs]) for t in self.inputs}
        total = sum(r.rows for r in reqs)
        pieces: list[dict[str, np.ndarray]] = []
        for start in range(0, total, b):
            chunk = {n: a[start:start + b] for n, a in cat.items()}
            k = min(b, total - start)
            fit = next(g for g in self.batches if g >= k)  # the smallest batch gear that holds them
            if k < fit:
                chunk = {n: np.concatenate([a, np.zeros((fit - k,) + a.shape[1:], a.dtype)])
                         for n, a in chunk.items()}
            res = await self._run(chunk)
            pieces.append({n: v[:k] for n, v in res.items()})
        outs = pieces[0] if len(pieces) == 1 else {
            n: np.concatenate([p[n] for p in pieces]) for n in pieces[0]}
        offset = 0
        for r in reqs:
            if not r.future.done():
                r.future.set_result({n: v[offset:offset + r.rows] for n, v in outs.items()})
            offset += r.rows


_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
_HOLDS = {"bool": "true/false values", "int": "integers", "float": "floats"}


def _category(dtype: np.dtype) -> str | None:
    """"bool", "int", "float" or None (strings, objects: not numbers)."""
    if dtype.kind == "b":
        return "bool"
    if dtype.kind in "iu":
        return "int"
    if dtype.kind == "f" or dtype == _BFLOAT16:
        return "float"
    return None


def conform(a: np.ndarray, t: Any, *, exact: bool) -> np.ndarray:
    """`a`, a decoded request tensor, in input `t`'s dtype; or a ServeError.

    Values convert between widths and from integers to floats, never between booleans and
    numbers nor from floats to integers, and must lie in the range of the input's type.
    JSON numbers (``exact=False``) are decimal text, so rounding to the nearest float is their
    conversion. A TensorProto (``exact=True``) converts only when every value is represented
    exactly (a DT_DOUBLE tensor feeds an f32 input only if all its values are f32 values).
    """
    want = t.np_dtype
    if a.dtype == want:
        return a
    src, dst = _category(a.dtype), _category(want)
    expected = f"expected {t.dtype} ({dt_name(want)})"
    if src is None:
        raise ServeError(INVALID_ARGUMENT, f"input '{t.name}': expected numbers ({t.dtype}), got "
                         "strings, nulls, objects or integers beyond 64 bits")
    if src != dst and (src, dst) != ("int", "float"):
        raise ServeError(INVALID_ARGUMENT, f"input '{t.name}' holds {_HOLDS[src]}, {expected}")
    if dst == "int" and a.size and (a.min() < np.iinfo(want).min or a.max() > np.iinfo(want).max):
        raise ServeError(INVALID_ARGUMENT, f"input '{t.name}': values out of the range of {t.dtype}")
    with np.errstate(all="ignore"):
        out = a.astype(want)
        if dst == "float" and bool(np.any(np.isinf(out) & np.isfinite(a))):
            raise ServeError(INVALID_ARGUMENT, f"input '{t.name}': values out of the range of "
                             f"{t.dtype}")
        if exact and not np.array_equal(out.astype(a.dtype), a, equal_nan=src == "float"):
            raise ServeError(INVALID_ARGUMENT, f"input '{t.name}' has dtype {dt_name(a.dtype)} "
                             f"with values {t.dtype} cannot represent exactly; {expected}")
    return out


class Registry:
    """The served models by name."""

    def __init__(self, models: dict[str, ServedModel]):
        self.models = models

    @classmethod
    def load(cls, cfg: ServerConfig) -> Registry:
        models: dict[str, ServedModel] = {}
        try:
            for m in cfg.models:
                models[m.name] = ServedModel(m, cfg)
        except BaseException:
            for sm in models.values():
                sm.session.close()
            raise
        return cls(models)

    def get(self, name: str, version: str | int | None = None, label: str | None = None) -> ServedModel:
        m = self.models.get(name)
        if m is None:
            served = ", ".join(sorted(self.models))
            raise ServeError(NOT_FOUND, f"Servable not found for request: Latest({name}) "
                             f"(served models: {served})")
        if version not in (None, "", VERSION, str(VERSION)):
            raise ServeError(NOT_FOUND, f"Servable not found for request: Specific({name}, {version}) "
                             f"(circ serves each package as version {VERSION})")
        if label not in (None, ""):
            raise ServeError(NOT_FOUND, f"Unrecognized servable version label: {label} "
                             "(circ serves each package as version 1, without labels)")
        return m

    def start(self) -> None:
        for m in self.models.values():
            m.start()

    async def stop(self) -> None:
        await asyncio.gather(*(m.stop() for m in self.models.values()))


# --- REST bodies ----------------------------------------------------------------------------


def status_json() -> dict[str, Any]:
    return {"model_version_status": [{"version": str(VERSION), "state": "AVAILABLE",
                                      "status": {"error_code": "OK", "error_message": ""}}]}


def decode_predict_json(body: bytes, model: ServedModel) -> tuple[dict[str, np.ndarray], str]:
    """A ``:predict`` body -> (arrays by input name, "row" or "columnar")."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise ServeError(INVALID_ARGUMENT, f"JSON Parse error: {e}") from None
    except RecursionError:
        raise ServeError(INVALID_ARGUMENT, "JSON Parse error: nested too deeply") from None
    if not isinstance(doc, dict):
        raise ServeError(INVALID_ARGUMENT, "the request body must be a JSON object with "
                         "'instances' (row format) or 'inputs' (columnar format)")
    sig = doc.get("signature_name", "")
    if not isinstance(sig, str):
        raise ServeError(INVALID_ARGUMENT, "'signature_name' must be a string")
    model.check_signature(sig)
    if ("instances" in doc) == ("inputs" in doc):
        raise ServeError(INVALID_ARGUMENT, "Missing 'inputs' or 'instances' key"
                         if "instances" not in doc else
                         "use either 'instances' (row format) or 'inputs' (columnar format), not both")
    names = [t.name for t in model.inputs]
    values: dict[str, Any]
    if "instances" in doc:
        inst = doc["instances"]
        if not isinstance(inst, list) or not inst:
            raise ServeError(INVALID_ARGUMENT, "'instances' must be a non-empty list (one item per row)")
        objs = [isinstance(x, dict) for x in inst]
        if all(objs):
            keys = set(inst[0])
            for i, x in enumerate(inst):
                if set(x) != keys:
                    raise ServeError(INVALID_ARGUMENT, f"instance {i} has inputs {sorted(x)}, "
                                     f"instance 0 has {sorted(keys)}")
            values = {k: [x[k] for x in inst] for k in inst[0]}
        elif any(objs):
            raise ServeError(INVALID_ARGUMENT, "'instances' mixes objects and plain values")
        elif len(names) != 1:
            raise ServeError(INVALID_ARGUMENT, f"model '{model.name}' has {len(names)} inputs "
                             f"({', '.join(names)}): each instance must be an object "
                             "{\"input name\": value, ...}")
        else:
            values = {names[0]: inst}
        fmt = "row"
    else:
        v = doc["inputs"]
        if isinstance(v, dict):
            values = v
        elif len(names) != 1:
            raise ServeError(INVALID_ARGUMENT, f"model '{model.name}' has {len(names)} inputs "
                             f"({', '.join(names)}): 'inputs' must be an object "
                             "{\"input name\": value, ...}")
        else:
            values = {names[0]: v}
        fmt = "columnar"
    return {k: _json_array(k, v) for k, v in values.items()}, fmt


_LEAVES = {str: "strings", type(None): "null", dict: "objects ({\"b64\": ...} binary values are "
           "not supported)"}


def _json_array(name: str, value: Any) -> np.ndarray:
    """A JSON input value (a number or nested lists of numbers) -> a bool, int64, uint64 or
    float64 array. Leaves are checked before any conversion, so strings are never made into a
    numpy string array (whose size is the longest string times the count of values)."""
    try:
        obj = np.array(value, dtype=object)
    except (ValueError, RuntimeError):
        obj = None
    if obj is None or obj.ndim > MAX_RANK:
        raise ServeError(INVALID_ARGUMENT, f"input '{name}': nested more than {MAX_RANK} levels "
                         "deep")
    kinds = set(map(type, obj.flat))
    if list in kinds:
        raise ServeError(INVALID_ARGUMENT, f"input '{name}': not a rectangular array of numbers "
                         "(rows of different lengths?)")
    odd = sorted(_LEAVES[k] for k in kinds - {bool, int, float})
    if odd:
        raise ServeError(INVALID_ARGUMENT, f"input '{name}': expected numbers, got "
                         f"{', '.join(odd)}")
    if bool in kinds and kinds != {bool}:
        raise ServeError(INVALID_ARGUMENT, f"input '{name}' mixes true/false values and numbers")
    for dtype in _json_dtypes(kinds):
        try:
            return obj.astype(dtype)
        except OverflowError:
            continue
    raise ServeError(INVALID_ARGUMENT, f"input '{name}': a number is beyond the range of float64")


def _json_dtypes(kinds: set[type]) -> tuple[type, ...]:
    """The dtypes to try, in order, for JSON leaves of these Python types (integers too
    large for 64 bits are numbers still: float64, as JSON parsers take them)."""
    if kinds == {bool}:
        return (np.bool_,)
    if kinds == {int}:
        return (np.int64, np.uint64, np.float64)
    return (np.float64,)


def _plain(a: np.ndarray) -> Any:
    if a.dtype.kind == "f" or str(a.dtype) == "bfloat16":
        a = a.astype(np.float64) if a.dtype == np.float64 else a.astype(np.float32)
    return a.tolist()


def encode_predict_json(outputs: dict[str, np.ndarray], fmt: str) -> dict[str, Any]:
    names = list(outputs)
    if fmt == "columnar":
        if len(names) == 1:
            return {"outputs": _plain(outputs[names[0]])}
        return {"outputs": {n: _plain(a) for n, a in outputs.items()}}
    if len(names) == 1:
        return {"predictions": _plain(outputs[names[0]])}
    heads = {a.shape[0] for a in outputs.values() if a.ndim}
    if len(heads) != 1 or any(a.ndim == 0 for a in outputs.values()):
        raise ServeError(INVALID_ARGUMENT, "the model's outputs do not share a batch dimension; "
                         "use the columnar format ('inputs')")
    lists = {n: _plain(a) for n, a in outputs.items()}
    return {"predictions": [{n: lists[n][i] for n in names} for i in range(heads.pop())]}
