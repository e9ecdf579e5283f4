"""What every fuzz harness shares: the rule for a clean failure, a time limit, byte mutation.

The rule (issue 14): whatever the input, circ either succeeds or raises one ``CircError``
whose message is a single non-empty line; never another exception (an internal error), never
a hang, never a crash. ``expect_clean`` enforces it for the Python API; ``expect_clean_cli``
for the command-line tools (exit status 0, 1 or 2 and one ``prog: error: ...`` line).

Budgets: the ``ci`` Hypothesis profile (the default, used by ``make test``) runs a bounded,
derandomised number of cases per harness; ``make fuzz`` selects the ``fuzz`` profile (many
more cases, random seeds). See ``conftest.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from cir.errors import CircError

VENV_BIN = Path(sys.executable).parent


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    """Raise Hang if the body runs longer than `seconds` (main thread only; pure-Python loops)."""
    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def expect_clean(fn: Callable[..., Any], *args: Any, timeout: float = 20.0, **kw: Any) -> Any:
    """Call ``fn``: it must return, or raise a CircError with a one-line message, in time.

    Returns fn's result, or the CircError it raised."""
    try:
        with time_limit(timeout):
            return fn(*args, **kw)
    except CircError as e:
        msg = str(e)
        assert msg.strip(), f"empty CircError message from {fn.__name__}"
        assert "\n" not in msg.strip() or _excerpt_ok(msg), f"multi-line CircError: {msg!r}"
        assert "Traceback" not in msg, f"a traceback inside the message: {msg!r}"
        return e
    except Hang as e:
        raise AssertionError(f"hang: {fn.__name__} gave {e}") from None
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        tb = "".join(traceback.format_exception(e))
        raise AssertionError(f"escape: {type(e).__name__} from {fn.__name__}:\n{tb}") from None


def _excerpt_ok(msg: str) -> bool:
    """A parse error may add the source excerpt (the offending line and a caret) below its one
    message line, as compilers do."""
    lines = msg.rstrip("\n").split("\n")
    return len(lines) <= 4 and ":" in lines[0]


def expect_clean_cli(args: list[str], *, timeout: float = 120.0, cwd: str | os.PathLike[str] | None = None,
                     env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``circ``/``circ-opt`` ``args``: exit 0, 1 or 2, and on failure one error line, no
    traceback, no "internal error"."""
    prog = args[0]
    cmd = [str(VENV_BIN / prog), *args[1:]]
    try:
        p = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                           env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"hang: {' '.join(args)} ran past {timeout} s") from None
    assert p.returncode in (0, 1, 2), f"exit {p.returncode} from {' '.join(args)}:\n{p.stderr[-3000:]}"
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    assert "internal error" not in p.stderr, p.stderr[-3000:]
    if p.returncode:
        errors = [ln for ln in p.stderr.splitlines() if ln.startswith(f"{prog}: error: ")]
        assert len(errors) == 1, f"expected one '{prog}: error:' line:\n{p.stderr[-3000:]}"
    return p


@st.composite
def mutated(draw: st.DrawFn, seed: bytes, max_edits: int = 8) -> bytes:
    """`seed` with a few random edits: byte flips, overwrites with interesting values,
    insertions, deletions, truncation, duplicated chunks."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, max_edits))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "dup"]))
        n = len(data)
        if n == 0:
            data += draw(st.binary(min_size=1, max_size=16))
            continue
        at = draw(st.integers(0, n - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x01, 0x22, 0x5C, 0x0A]))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[at:]
        else:
            end = min(n, at + draw(st.integers(1, 64)))
            data[at:at] = data[at:end]
    return bytes(data)
