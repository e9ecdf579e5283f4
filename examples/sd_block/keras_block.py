"""The Stable-Diffusion-style block of ``torch_block.py``, written the Keras 3 way.

Same structure and sizes: ResBlock (GroupNorm + SiLU, time embedding), a transformer block
(self- and cross-attention, GEGLU feed-forward), down- and up-sampling. Keras is channels-last,
so the block takes and returns NCHW (as the PyTorch one does) and works in NHWC inside, with
Keras' own layers: ``GroupNormalization``, ``Conv2D``, ``Dense``, ``LayerNormalization``,
``UpSampling2D``. ``from_torch`` builds it with the weights of a PyTorch ``SDBlock``: one set
of weights for all three frameworks (conv kernels OIHW -> HWIO, dense kernels (out, in) ->
(in, out)).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CHANNELS, GROUPS, TIME_DIM, CONTEXT_DIM, HEADS, SIZE, TOKENS = 32, 8, 32, 24, 4, 16, 8


def _layers() -> Any:
    import keras

    return keras.layers


def res_block(x: Any, temb: Any, name: str) -> Any:
    L = _layers()
    h = L.GroupNormalization(GROUPS, epsilon=1e-6, name=f"{name}.norm1")(x)
    h = L.Activation("silu")(h)
    h = L.Conv2D(CHANNELS, 3, padding="same", name=f"{name}.conv1")(h)
    e = L.Dense(CHANNELS, name=f"{name}.time_emb")(L.Activation("silu")(temb))
    h = h + e[:, None, None, :]
    h = L.GroupNormalization(GROUPS, epsilon=1e-6, name=f"{name}.norm2")(h)
    h = L.Activation("silu")(h)
    h = L.Conv2D(CHANNELS, 3, padding="same", name=f"{name}.conv2")(h)
    return x + h


def attention(x: Any, context: Any, name: str) -> Any:
    import keras
    from keras import ops

    L = _layers()
    d = CHANNELS
    q = L.Dense(d, use_bias=False, name=f"{name}.to_q")(x)
    k = L.Dense(d, use_bias=False, name=f"{name}.to_k")(context)
    v = L.Dense(d, use_bias=False, name=f"{name}.to_v")(context)

    def heads(t: Any) -> Any:
        return ops.transpose(ops.reshape(t, (1, -1, HEADS, d // HEADS)), (0, 2, 1, 3))

    q, k, v = heads(q), heads(k), heads(v)
    scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * (1 / math.sqrt(d // HEADS))
    o = ops.matmul(keras.activations.softmax(scores, axis=-1), v)
    o = ops.reshape(ops.transpose(o, (0, 2, 1, 3)), (1, -1, d))
    return L.Dense(d, name=f"{name}.to_out")(o)


def transformer_block(x: Any, context: Any, name: str) -> Any:
    import keras
    from keras import ops

    L = _layers()
    t = L.GroupNormalization(GROUPS, epsilon=1e-6, name=f"{name}.norm_in")(x)
    t = L.Conv2D(CHANNELS, 1, name=f"{name}.proj_in")(t)
    t = L.Reshape((SIZE * SIZE, CHANNELS))(t)
    n = L.LayerNormalization(epsilon=1e-5, name=f"{name}.norm1")(t)
    t = t + attention(n, n, f"{name}.attn1")
    n = L.LayerNormalization(epsilon=1e-5, name=f"{name}.norm2")(t)
    t = t + attention(n, context, f"{name}.attn2")
    n = L.LayerNormalization(epsilon=1e-5, name=f"{name}.norm3")(t)
    h, gate = ops.split(L.Dense(4 * CHANNELS, name=f"{name}.ff.proj")(n), 2, axis=-1)
    t = t + L.Dense(CHANNELS, name=f"{name}.ff_out")(h * keras.activations.gelu(gate, approximate=False))
    t = L.Reshape((SIZE, SIZE, CHANNELS))(t)
    return x + L.Conv2D(CHANNELS, 1, name=f"{name}.proj_out")(t)


def make_model() -> Any:
    """sample (1, 32, 16, 16), temb (1, 32), context (1, 8, 24) -> (1, 32, 16, 16), NCHW."""
    import keras

    L = _layers()
    sample = keras.Input((CHANNELS, SIZE, SIZE), batch_size=1, name="sample")
    temb = keras.Input((TIME_DIM,), batch_size=1, name="temb")
    context = keras.Input((TOKENS, CONTEXT_DIM), batch_size=1, name="context")
    x = L.Permute((2, 3, 1))(sample)  # NCHW -> NHWC
    h = transformer_block(res_block(x, temb, "res"), context, "attn")
    h = L.ZeroPadding2D(1)(h)  # PyTorch's symmetric padding=1 (SAME would pad 0 / 1)
    h = L.Conv2D(CHANNELS, 3, strides=2, name="down")(h)
    h = L.UpSampling2D(2)(h)
    h = L.Conv2D(CHANNELS, 3, padding="same", name="up")(h)
    out = L.Permute((3, 1, 2))(h)  # back to NCHW
    return keras.Model([sample, temb, context], out, name="sd_block")


def load_torch_weights(model: Any, state_dict: Mapping[str, Any]) -> Any:
    """Give `model` the weights of a PyTorch SDBlock state dict (layers are named after its
    keys): conv kernels OIHW -> HWIO, dense kernels (out, in) -> (in, out)."""
    def arr(key: str) -> np.ndarray:
        v = state_dict[key]
        return v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)

    for layer in model.layers:
        if not layer.weights:
            continue
        key = layer.name
        kind = type(layer).__name__
        if kind == "Conv2D":
            values = [arr(f"{key}.weight").transpose(2, 3, 1, 0), arr(f"{key}.bias")]
        elif kind == "Dense":
            values = [arr(f"{key}.weight").T]
            if layer.use_bias:
                values.append(arr(f"{key}.bias"))
        elif kind in ("GroupNormalization", "LayerNormalization"):
            values = [arr(f"{key}.weight"), arr(f"{key}.bias")]
        else:
            raise ValueError(f"no torch weights for layer {layer.name} ({kind})")
        layer.set_weights([np.ascontiguousarray(v, dtype=np.float32) for v in values])
    return model


def from_torch(torch_model: Any) -> Any:
    """The Keras block with the weights of a PyTorch SDBlock."""
    return load_torch_weights(make_model(), torch_model.state_dict())
