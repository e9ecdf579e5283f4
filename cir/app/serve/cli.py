"""``circ serve``'s arguments and entry (``cir.app.tools.circ`` delegates here)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cir.app.serve.config import (
    ModelConfig,
    ServerConfig,
    check_unique,
    default_name,
    load_config_file,
    parse_model_flag,
)
from cir.errors import CircError, UsageError


def add_arguments(sub: argparse.ArgumentParser) -> None:
    d = ServerConfig()
    sub.add_argument("packages", nargs="*", metavar="MODEL.circ",
                     help="packages to serve, each named after its file stem")
    sub.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                     help="a package to serve under NAME (repeatable)")
    sub.add_argument("--model-config", metavar="FILE",
                     help="models from a TOML file or TF Serving's model_config_list text format")
    sub.add_argument("--host", default=d.host, help=f"address to bind (default {d.host})")
    sub.add_argument("--port", type=int, default=d.port, help=f"REST port (default {d.port}; 0: any)")
    sub.add_argument("--grpc-port", type=int, default=d.grpc_port,
                     help=f"gRPC port (default {d.grpc_port}; 0: any; -1: no gRPC)")
    sub.add_argument("--max-queue", type=int, default=d.max_queue,
                     help=f"requests waiting per model before 503 (default {d.max_queue})")
    sub.add_argument("--max-batch", type=int, default=d.max_batch,
                     help="queued requests a worker gathers into one batch (default 1: none)")
    sub.add_argument("--batch-timeout-ms", type=float, default=d.batch_timeout_ms,
                     help=f"how long a batch waits to fill (default {d.batch_timeout_ms})")
    sub.add_argument("--max-request-bytes", type=int, default=d.max_request_bytes,
                     help=f"largest request body / gRPC message (default {d.max_request_bytes})")
    sub.add_argument("--body-timeout-ms", type=float, default=d.body_timeout_ms,
                     help=f"REST: time for a request body to arrive, else 408 (default "
                          f"{d.body_timeout_ms:g})")
    sub.add_argument("--workers", type=int, default=d.workers,
                     help=f"runs in flight per model (default {d.workers})")
    sub.add_argument("--device", default="cpu", help="cpu or npu:N for models from the command line")


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    models: list[ModelConfig] = []
    for p in args.packages:
        models.append(ModelConfig(default_name(p), Path(p), device=args.device))
    for flag in args.model:
        m = parse_model_flag(flag)
        models.append(ModelConfig(m.name, m.path, device=args.device))
    if args.model_config:
        models += load_config_file(args.model_config)
    if not models:
        raise UsageError("nothing to serve: give a package (circ serve MODEL.circ), --model "
                         "NAME=PATH or --model-config FILE")
    check_unique(models)
    for m in models:
        if not (m.path / "manifest.json").is_file():
            what = "no such package" if not m.path.exists() else "not a circ package (no manifest.json)"
            raise CircError(f"model '{m.name}': {m.path}: {what}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    if args.grpc_port > 65535 or args.grpc_port < -1:
        raise UsageError(f"--grpc-port must be 0..65535 or -1 (no gRPC), got {args.grpc_port}")
    if args.grpc_port > 0 and args.grpc_port == args.port:
        raise UsageError(f"--port and --grpc-port are both {args.port}")
    for flag, v, low in (("--max-queue", args.max_queue, 1), ("--max-batch", args.max_batch, 1),
                         ("--max-request-bytes", args.max_request_bytes, 1),
                         ("--workers", args.workers, 1)):
        if v < low:
            raise UsageError(f"{flag} must be >= {low}, got {v}")
    if args.batch_timeout_ms < 0:
        raise UsageError(f"--batch-timeout-ms must be >= 0, got {args.batch_timeout_ms}")
    if not args.body_timeout_ms > 0:
        raise UsageError(f"--body-timeout-ms must be > 0, got {args.body_timeout_ms}")
    return ServerConfig(models=models, host=args.host, port=args.port, grpc_port=args.grpc_port,
                        max_queue=args.max_queue, max_batch=args.max_batch,
                        batch_timeout_ms=args.batch_timeout_ms,
                        max_request_bytes=args.max_request_bytes, workers=args.workers,
                        body_timeout_ms=args.body_timeout_ms)


def main(args: argparse.Namespace) -> None:
    cfg = config_from_args(args)
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise CircError("circ serve needs aiohttp (pip install aiohttp)") from None
    from cir.app.serve.server import serve

    serve(cfg)
