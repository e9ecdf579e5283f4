"""Pass pipelines from Python, with the same registry and syntax as ``circ-opt -p``."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException

from cir.errors import CircError
from cir.io import verify
from cir.registry import get_all_passes, make_context


def parse_pipeline(
    spec: str, callback: Callable[[ModulePass | None, ModuleOp, ModulePass | None], None] | None = None
) -> PassPipeline:
    """Parse ``'a,b{opt=1 flag=true}'``; a bad spec raises CircError naming the problem."""
    available = get_all_passes()
    try:
        return PassPipeline.parse_spec(available, spec, callback)
    except ArgSpecParseError as e:  # a BaseException in xDSL
        raise CircError(f"bad pass pipeline '{spec}': {_clean(e)}") from None
    except (ValueError, TypeError, DiagnosticException) as e:
        msg = _clean(e)
        if msg.startswith("Unrecognized passes"):
            msg += f" (available: {', '.join(sorted(available))})"
        raise CircError(f"bad pass pipeline '{spec}': {msg}") from None


def _clean(e: BaseException) -> str:
    return " ".join(str(e).split()).replace("Error parsing pass pipeline specification: ", "")


def apply_pipeline(module: ModuleOp, spec: str) -> ModuleOp:
    """Run passes on `module` in place, verifying after every pass, and return it.

    >>> module = cir.apply_pipeline(module, "canonicalize,cse")
    """
    def check(prev: ModulePass | None, m: ModuleOp, nxt: ModulePass | None) -> None:
        try:
            verify(m)
        except CircError as e:
            where = f"after pass '{prev.name}'" if prev else "before the pipeline"
            raise CircError(f"verification failed {where}: {e}") from None

    pipeline = parse_pipeline(spec, check)
    try:
        pipeline.apply(make_context(), module)
    except DiagnosticException as e:
        raise CircError(f"pass failed: {_clean(e).splitlines()[0] if str(e) else e!r}") from None
    return module
