"""``aigc-fusion{preset=...}``: apply a preset of fusion rules from the strategy database.

    circ-opt unet.cir.mlir -p 'aigc-fusion{preset=sd_optimized}' --fusion-report

Options: ``preset`` (a name in ``strategies.toml`` or the ``strategies`` file), ``rules`` (extra
rule files, comma-separated), ``strategies`` (an extra strategy database), ``report`` (print
what fired to stderr). From Python, ``fuse(module, resolve(preset))`` returns the
``FusionReport``: how often each rule fired.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cir.passes.fusion.rules import Rule, RulePattern, load_rule_files
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import GreedyRewritePatternApplier, PatternRewriteWalker, RewritePattern

from cir.errors import CircError

HERE = Path(__file__).parent
RULE_FILES = tuple(sorted((HERE / "rules").glob("*.rules")))
STRATEGIES = HERE / "strategies.toml"

FusionReport = dict[str, int]
"""Rule name -> how often it fired, in the preset's order."""


@cache
def builtin_rules() -> dict[str, Rule]:
    return load_rule_files(list(RULE_FILES))


def load_strategies(path: Path) -> dict[str, dict]:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as e:
        raise CircError(f"{path}: cannot read the strategy database ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise CircError(f"{path}: not valid TOML: {e}") from None
    presets = data.get("presets", {})
    for name, p in presets.items():
        if not isinstance(p.get("rules"), list):
            raise CircError(f"{path}: preset '{name}' needs a list of rules")
    return presets


def resolve(preset: str, rules: str = "", strategies: str = "") -> list[Rule]:
    """The ordered rules of `preset` (built-in database plus any user files)."""
    known = dict(builtin_rules())
    if rules:
        for name, r in load_rule_files([Path(p) for p in rules.split(",") if p]).items():
            known[name] = r  # user rules may refine built-in ones
    presets = load_strategies(STRATEGIES)
    if strategies:
        presets.update(load_strategies(Path(strategies)))
    if preset not in presets:
        raise CircError(f"unknown fusion preset '{preset}' (known: {', '.join(sorted(presets))})")
    missing = [r for r in presets[preset]["rules"] if r not in known]
    if missing:
        raise CircError(f"preset '{preset}' names unknown rule(s): {', '.join(missing)}")
    return [known[r] for r in presets[preset]["rules"]]


def fuse(module: ModuleOp, rules: list[Rule]) -> FusionReport:
    """Apply `rules` to `module` in place; how often each fired."""
    counts: dict[str, int] = {}
    if rules:
        patterns: list[RewritePattern] = [RulePattern(r, counts) for r in rules]
        # from the end backwards: a chain's last op is seen first, so the longest rule wins
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns), walk_reverse=True).rewrite_module(module)
    return {r.name: counts.get(r.name, 0) for r in rules}


def format_report(counts: FusionReport) -> str:
    width = max((len(k) for k in counts), default=4)
    lines = ["fusion report:"] + [f"  {k:<{width}}  {v}" for k, v in counts.items()]
    lines.append(f"  {'total':<{width}}  {sum(counts.values())}")
    return "\n".join(lines)


@dataclass(frozen=True)
class AIGCFusionPass(ModulePass):
    """Fuse SD / transformer patterns into CANN-style fused ops, as a preset says."""

    name = "aigc-fusion"

    preset: str = "sd_optimized"
    rules: str = ""
    strategies: str = ""
    report: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        counts = fuse(op, resolve(self.preset, self.rules, self.strategies))
        if self.report:
            print(format_report(counts), file=sys.stderr)
