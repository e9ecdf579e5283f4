"""Run REST and gRPC on one asyncio loop until SIGINT/SIGTERM, then stop cleanly: stop
accepting, let requests in flight finish (up to a grace period), fail what is still queued
with 503 / UNAVAILABLE, close the sessions."""

from __future__ import annotations

import asyncio
import errno
import signal
import sys

from cir.app.serve.config import ServerConfig
from cir.errors import CircError

GRACE_SECONDS = 5.0


def _say(msg: str) -> None:
    print(f"circ serve: {msg}", flush=True)


def serve(cfg: ServerConfig) -> None:
    """Serve until interrupted (blocking)."""
    asyncio.run(_main(cfg))


async def _main(cfg: ServerConfig) -> None:
    from aiohttp import web

    from cir.app.serve.core import Registry
    from cir.app.serve.rest import RestRunner

    grpc_available = True
    if cfg.grpc_port >= 0:
        try:
            from cir.app.serve.protos import pb

            pb()
        except CircError as e:
            grpc_available = False
            print(f"circ serve: warning: gRPC disabled: {e}", file=sys.stderr, flush=True)

    registry = await asyncio.to_thread(Registry.load, cfg)
    for m in registry.models.values():
        _say(m.describe())
    registry.start()
    runner = RestRunner(registry, cfg, shutdown_timeout=GRACE_SECONDS)
    grpc_server = None
    try:
        await runner.setup()
        site = web.TCPSite(runner, cfg.host, cfg.port, reuse_address=True)
        try:
            await site.start()
        except OSError as e:
            why = "the address is in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
            raise CircError(f"REST: cannot listen on {cfg.host}:{cfg.port} ({why})") from None
        rest_port = site._server.sockets[0].getsockname()[1] if site._server else cfg.port  # type: ignore[union-attr]
        host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
        _say(f"REST on http://{host}:{rest_port}/v1/models/"
             f"{{{','.join(registry.models)}}}")
        if cfg.grpc_port >= 0 and grpc_available:
            from cir.app.serve.grpc_server import start_grpc

            grpc_server, grpc_port = await start_grpc(registry, cfg)
            _say(f"gRPC on {host}:{grpc_port}")
        _say(f"ready (max queue {cfg.max_queue}, max batch {cfg.max_batch}, "
             f"max request {cfg.max_request_bytes} bytes); Ctrl-C to stop")

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        _say("stopping")
    finally:
        if grpc_server is not None:
            await grpc_server.stop(GRACE_SECONDS)
        await runner.cleanup()
        await registry.stop()
    _say("stopped")
