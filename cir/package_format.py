"""The package format (``model.circ/``): the names and versions both its writer
(``cir.app.package``) and its readers (``cir.runtime``) agree on.

A package is a folder: ``manifest.json`` (format version, SoC, inputs and outputs, every file
with its sha256), ``ir/`` (the lowered CIR), ``graph/`` (launch graph, ONNX, GE), ``kernels/``
(AscendC C++), ``weights.safetensors`` and, when signed, ``signature.json``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

FORMAT_VERSION = 3  # 2: every file listed with its sha256 in 'files'; signature.json
# 3: launch-graph nodes may run on the host fallback ("engine": "host"); manifest "host_ops"
READABLE_VERSIONS = (2, 3)
MANIFEST = "manifest.json"
# the layouts an input may declare (--input_format) -> the rank each needs (None: any)
INPUT_FORMATS = {"NCHW": 4, "NHWC": 4, "NCDHW": 5, "NDHWC": 5, "ND": None}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
