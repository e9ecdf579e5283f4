"""``circ serve``: compiled packages behind the TensorFlow Serving REST and gRPC APIs.

- ``config``: which packages to serve (``--model name=path``, a TOML file or TF Serving's
  ``model_config_list`` text format) and the server limits.
- ``core``: the model registry, request decoding/validation shared by REST and gRPC, the
  bounded per-model queue and the batcher.
- ``tensors``: numpy <-> ``tensorflow.TensorProto`` without importing TensorFlow.
- ``rest``: the aiohttp application (``/v1/models/...``) and its runner, which answers every
  error in JSON, also those of aiohttp's HTTP parser, within explicit limits.
- ``grpc_server``: ``PredictionService`` and ``ModelService`` on grpc.aio.
- ``server``: starts both on one asyncio loop and stops them on SIGINT/SIGTERM.
"""
