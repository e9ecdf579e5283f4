"""What ``circ serve`` serves: models from the command line or a config file, and the limits.

A config file is TOML::

    [[model]]
    name = "unet"              # default: the package's file stem
    path = "unet.circ"         # relative to the config file
    device = "cpu"             # or "npu:0" (falls back to the CPU with a warning)
    max_batch = 8              # optional, overrides --max-batch for this model
    batch_timeout_ms = 2       # optional, overrides --batch-timeout-ms
    row_batching = true        # false: dim 0 is not a batch dimension (exact shapes only)

or TensorFlow Serving's ``model_config_list`` text format (``base_path`` is the package)::

    model_config_list {
      config { name: "unet" base_path: "/models/unet.circ" model_platform: "circ" }
    }
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cir.errors import CircError, UsageError


@dataclass(frozen=True)
class ModelConfig:
    name: str
    path: Path
    device: str = "cpu"
    max_batch: int | None = None
    batch_timeout_ms: float | None = None
    row_batching: bool = True


@dataclass
class ServerConfig:
    models: list[ModelConfig] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 8501
    grpc_port: int = 8500  # < 0: no gRPC server
    max_queue: int = 64  # requests waiting per model; more -> 503 / RESOURCE_EXHAUSTED
    max_batch: int = 1  # requests gathered into one batch (1: no batching)
    batch_timeout_ms: float = 2.0
    max_request_bytes: int = 64 << 20
    workers: int = 2  # runs in flight per model
    # REST (aiohttp): the HTTP parser's limits and how long a client may take; beyond them the
    # answer is a JSON error. The two byte limits differ so that a line over one is told
    # apart from a line over the other (414 or 431).
    max_url_bytes: int = 16 << 10  # the request line's URL; longer: 414
    max_header_bytes: int = 8190  # one header, name and value; longer: 431
    max_headers: int = 128  # more: 431
    body_timeout_ms: float = 30_000  # the whole body must arrive within this; else 408
    idle_timeout_s: float = 75.0  # a connection idle (or in unfinished headers) this long closes


def default_name(path: str | Path) -> str:
    p = Path(path)
    return (p.stem if p.suffix == ".circ" else p.name) or str(path)


def parse_model_flag(text: str) -> ModelConfig:
    """``--model name=path`` (or just ``path``: named after its stem)."""
    name, sep, path = text.partition("=")
    if not sep:
        name, path = default_name(text), text
    if not name or not path:
        raise UsageError(f"--model expects NAME=PATH.circ, got '{text}'")
    _check_name(name, "--model")
    return ModelConfig(name, Path(path))


def _check_name(name: str, where: str) -> None:
    if not name or "/" in name or ":" in name or name.strip() != name:
        raise CircError(f"{where}: bad model name '{name}' (no '/', ':' or surrounding spaces)")


def load_config_file(path: str | Path) -> list[ModelConfig]:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise CircError(f"--model-config: {p}: cannot read ({e.strerror or e})") from None
    if p.suffix == ".toml" or ("model_config_list" not in text and "[[model" in text):
        models = _from_toml(p, text)
    elif "model_config_list" in text:
        models = _from_text_proto(p, text)
    else:
        raise CircError(f"--model-config: {p}: expected TOML ([[model]] tables) or TF Serving's "
                        "model_config_list text format")
    if not models:
        raise CircError(f"--model-config: {p}: no models")
    return [replace(m, path=(p.parent / m.path) if not m.path.is_absolute() else m.path) for m in models]


_TOML_KEYS = {"name", "path", "device", "max_batch", "batch_timeout_ms", "row_batching"}


def _from_toml(p: Path, text: str) -> list[ModelConfig]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CircError(f"--model-config: {p}: not valid TOML ({e})") from None
    unknown = set(doc) - {"model", "models"}
    if unknown:
        raise CircError(f"--model-config: {p}: unknown table(s) {', '.join(sorted(unknown))} "
                        "(models are [[model]] tables)")
    entries = doc.get("model", []) + doc.get("models", [])
    if not isinstance(entries, list):
        raise CircError(f"--model-config: {p}: models are [[model]] tables")
    out = []
    for i, e in enumerate(entries):
        where = f"--model-config: {p}: model #{i + 1}"
        if not isinstance(e, dict):
            raise CircError(f"{where}: not a table")
        bad = set(e) - _TOML_KEYS
        if bad:
            raise CircError(f"{where}: unknown key(s) {', '.join(sorted(bad))} "
                            f"(known: {', '.join(sorted(_TOML_KEYS))})")
        if not isinstance(e.get("path"), str):
            raise CircError(f"{where}: 'path' (the .circ package) is required")
        name = e.get("name", default_name(e["path"]))
        _check_name(name, where)
        out.append(ModelConfig(
            name, Path(e["path"]), device=_typed(e, "device", str, "cpu", where),
            max_batch=_typed(e, "max_batch", int, None, where),
            batch_timeout_ms=_typed(e, "batch_timeout_ms", (int, float), None, where),
            row_batching=_typed(e, "row_batching", bool, True, where)))
    return out


def _typed(e: dict[str, Any], key: str, typ: Any, default: Any, where: str) -> Any:
    v = e.get(key, default)
    if v is not default and (not isinstance(v, typ) or (typ is int and isinstance(v, bool))):
        raise CircError(f"{where}: '{key}' has the wrong type ({type(v).__name__})")
    return v


def _from_text_proto(p: Path, text: str) -> list[ModelConfig]:
    from google.protobuf import text_format

    from cir.app.serve.protos import pb

    cfg = pb().model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, cfg)
    except text_format.ParseError as e:
        raise CircError(f"--model-config: {p}: not a valid model_config_list ({e})") from None
    out = []
    for c in cfg.model_config_list.config:
        where = f"--model-config: {p}: model '{c.name}'"
        if not c.base_path:
            raise CircError(f"{where}: base_path (the .circ package) is required")
        if c.model_platform not in ("", "circ", "tensorflow"):
            raise CircError(f"{where}: model_platform '{c.model_platform}' is not served by circ")
        name = c.name or default_name(c.base_path)
        _check_name(name, where)
        out.append(ModelConfig(name, Path(c.base_path)))
    return out


def check_unique(models: list[ModelConfig]) -> None:
    seen: dict[str, Path] = {}
    for m in models:
        if m.name in seen:
            raise UsageError(f"model name '{m.name}' is given twice ({seen[m.name]} and {m.path}); "
                             "name them with --model NAME=PATH")
        seen[m.name] = m.path
