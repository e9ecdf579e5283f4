"""torchvision beside the CPU torch (the zoo's torchvision models; transformers and diffusers
import torchvision whenever it is installed)."""

from __future__ import annotations

import sys
from typing import Any

_OPS: Any = None


def import_torchvision() -> Any:
    """`import torchvision`, or None when it is not installed. PyPI's torchvision wheels are
    built against the CUDA torch; beside the CPU torch their C extension (the detection ops:
    nms, roi_align, ...) does not load and the import stops on `torchvision::nms does not
    exist` -- and so does every transformers / diffusers import that looks for torchvision.
    The classification models are plain PyTorch modules that never call those ops: declaring
    the two schemas torchvision's import registers fake kernels for lets it import (calling
    them would still fail: they have no kernel)."""
    import importlib.util

    global _OPS
    if importlib.util.find_spec("torchvision") is None:
        return None
    import torch

    try:
        import torchvision
    except RuntimeError as e:
        if "torchvision::nms" not in str(e):
            raise
        for mod in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[mod]
        _OPS = torch.library.Library("torchvision", "FRAGMENT")
        _OPS.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _OPS.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import torchvision
    return torchvision
