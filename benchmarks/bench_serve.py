"""Load test of ``circ serve`` on loopback: N concurrent clients send a fixed number of
predict requests (REST JSON and gRPC), and the throughput, p50/p99 latency and error count
are printed, with and without request batching.

The model is a small MLP block (Linear 64->256, GELU, Linear 256->64, LayerNorm) compiled for
a batch of 8; each request carries one row, so with ``--max-batch 8`` up to 8 requests share
one run. Without ``--package`` it is compiled into a temporary directory first.

    python benchmarks/bench_serve.py [--clients 16] [--requests 800] [--package m.circ]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def compile_model(out: Path) -> Path:
    import torch

    import cir

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = torch.nn.Linear(64, 256)
            self.fc2 = torch.nn.Linear(256, 64)
            self.ln = torch.nn.LayerNorm(64)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.ln(self.fc2(torch.nn.functional.gelu(self.fc1(x))))

    torch.manual_seed(0)
    return cir.compile(Block().eval(), out, example_inputs=(torch.randn(8, 64),), soc="Ascend910B1")


class Server:
    def __init__(self, package: Path, extra: list[str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cir.app.tools.circ", "serve", str(package), "--port", "0",
             "--grpc-port", "0", *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        text = ""
        while "ready" not in text:
            line = self.proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                raise SystemExit(f"circ serve did not start:\n{text}")
            text += line
        self.port = int(re.search(r"http://127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
        self.grpc_port = int(re.search(r"gRPC on 127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
        self.name = package.stem

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


async def rest_load(srv: Server, rows: np.ndarray, clients: int, requests: int) -> tuple[list[float], int]:
    import aiohttp

    url = f"http://127.0.0.1:{srv.port}/v1/models/{srv.name}:predict"
    bodies = [json.dumps({"instances": [rows[i % len(rows)].tolist()]}) for i in range(requests)]
    lat: list[float] = []
    errors = 0
    next_i = 0

    async def client(s: aiohttp.ClientSession) -> None:
        nonlocal next_i, errors
        while next_i < requests:
            i = next_i
            next_i += 1
            t = time.perf_counter()
            try:
                async with s.post(url, data=bodies[i]) as r:
                    await r.read()
                    ok = r.status == 200
            except aiohttp.ClientError:
                ok = False
            lat.append(time.perf_counter() - t)
            errors += not ok

    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn) as s:
        await asyncio.gather(*(client(s) for _ in range(clients)))
    return lat, errors


async def grpc_load(srv: Server, rows: np.ndarray, clients: int, requests: int) -> tuple[list[float], int]:
    import grpc

    from cir.app.serve.protos import pb
    from cir.app.serve.tensors import from_ndarray

    p = pb()
    reqs = []
    for i in range(requests):
        r = p.predict_pb2.PredictRequest()
        r.model_spec.name = srv.name
        from_ndarray(rows[i % len(rows)][None], r.inputs["x"])
        reqs.append(r)
    lat: list[float] = []
    errors = 0
    next_i = 0
    async with grpc.aio.insecure_channel(f"127.0.0.1:{srv.grpc_port}") as ch:
        stub = p.prediction_service_pb2_grpc.PredictionServiceStub(ch)

        async def client() -> None:
            nonlocal next_i, errors
            while next_i < requests:
                i = next_i
                next_i += 1
                t = time.perf_counter()
                try:
                    await stub.Predict(reqs[i], timeout=60)
                    ok = True
                except grpc.aio.AioRpcError:
                    ok = False
                lat.append(time.perf_counter() - t)
                errors += not ok

        await asyncio.gather(*(client() for _ in range(clients)))
    return lat, errors


def report(label: str, lat: list[float], errors: int, seconds: float) -> None:
    ms = np.array(lat) * 1e3
    print(f"{label:<34} {len(lat) / seconds:8.0f} req/s   p50 {np.percentile(ms, 50):7.2f} ms   "
          f"p99 {np.percentile(ms, 99):7.2f} ms   errors {errors}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=800)
    ap.add_argument("--package", type=Path, help="a package taking one input 'x' (default: compile one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        package = args.package or compile_model(Path(tmp) / "mlp.circ")
        from cir.runtime.session import load

        info = load(package).inputs[0]
        rows = np.random.default_rng(0).standard_normal((64,) + info.shape[1:]).astype(info.np_dtype)
        print(f"circ serve on loopback: {package.name}, input {info.name}{list(info.shape)}, one row per "
              f"request, {args.clients} concurrent clients, {args.requests} requests per line")
        for batch in (1, 8):
            srv = Server(package, ["--max-batch", str(batch), "--batch-timeout-ms", "2",
                                   "--max-queue", str(max(64, args.clients * 2))])
            try:
                for proto, fn in (("REST", rest_load), ("gRPC", grpc_load)):
                    asyncio.run(fn(srv, rows, args.clients, 32))  # warm up
                    t = time.perf_counter()
                    lat, errors = asyncio.run(fn(srv, rows, args.clients, args.requests))
                    report(f"{proto} --max-batch {batch}", lat, errors, time.perf_counter() - t)
            finally:
                srv.stop()


if __name__ == "__main__":
    main()
