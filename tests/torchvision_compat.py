"""torchvision beside the CPU torch, for the model zoo's torchvision architectures.

`make setup` installs torchvision into its own folder (``.venv/torchvision``), not into the
venv's site-packages: transformers and diffusers import torchvision whenever they can find it,
and PyPI's torchvision does not import beside the CPU torch (see ``import_torchvision``), so a
venv-wide install would break every script that imports them. The tests and bench_zoo put that
folder on ``sys.path`` here, after making torchvision importable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent.parent / ".venv" / "torchvision"  # make setup's --target

_OPS: Any = None


def import_torchvision() -> Any:
    """`import torchvision` (from make setup's folder), or None when it is not installed. PyPI's torchvision wheels are
    built against the CUDA torch; beside the CPU torch their C extension (the detection ops:
    nms, roi_align, ...) does not load and the import stops on `torchvision::nms does not
    exist` -- and so does every transformers / diffusers import that looks for torchvision.
    The classification models are plain PyTorch modules that never call those ops: declaring
    the two schemas torchvision's import registers fake kernels for lets it import (calling
    them would still fail: they have no kernel)."""
    import importlib.util

    global _OPS
    if importlib.util.find_spec("torchvision") is None and FOLDER.is_dir():
        sys.path.append(str(FOLDER))
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
