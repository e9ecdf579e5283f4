"""What every circ command-line tool shares: one clean error line, the right exit status."""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Callable

from xdsl.utils.exceptions import ArgSpecParseError

from cir.errors import CircError


def run_tool(prog: str, body: Callable[[], None]) -> int:
    """Run `body`; user mistakes print ``prog: error: message`` and exit 1 (usage: 2)."""
    if not os.environ.get("CIRC_DEBUG"):
        # the frameworks' own deprecation chatter is not the user's business
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    try:
        body()
    except CircError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return e.exit_code
    except ArgSpecParseError as e:  # a BaseException: bad pipeline text
        print(f"{prog}: error: bad pass pipeline: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:  # noqa: BLE001 - a bug in circ, not a user mistake: say so, no traceback
        if os.environ.get("CIRC_DEBUG"):
            traceback.print_exc()
        print(
            f"{prog}: internal error: {type(e).__name__}: {e}\n"
            f"(this is a bug in circ; run with CIRC_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 3
    return 0
