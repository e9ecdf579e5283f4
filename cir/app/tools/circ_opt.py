"""``circ-opt``: parse CIR, run a pass pipeline, print the result.

    circ-opt model.mlir -p 'canonicalize,cse' --print-ir-after-all -o out.mlir

An ``xDSLOptMain`` with circ's dialects and passes. Differences from stock xdsl-opt: every op
parsed from text carries its file:line:col, the module is verified before and after every pass
with errors that name the op and its location, errors print as one ``error:`` line (exit 1) and
never as a traceback, ``-o`` is written only when everything succeeded, and ``-t`` offers only
the targets that take CIR (mlir, ascendc-cpp, onnx-text, ge-text, launch-json).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from io import StringIO
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.exceptions import DiagnosticException
from xdsl.xdsl_opt_main import xDSLOptMain

from cir import __version__
from cir.app.pipeline import parse_pipeline
from cir.app.tools.common import run_tool
from cir.errors import CircError
from cir.io import decode_source, diagnostic_line, parse_unverified, read_source, to_text, verify
from cir.registry import get_all_passes, make_context


class CircOptMain(xDSLOptMain):
    version_format = f"circ-opt {__version__} (xdsl {{xdsl_version}})"

    def register_all_dialects(self) -> None:
        self.ctx = make_context()  # knows the framework import dialects' ops too

    def register_all_passes(self) -> None:
        for name, factory in get_all_passes().items():
            self.register_pass(name, factory)

    def register_all_targets(self) -> None:
        # xDSL's other targets (llvm, riscv-asm, wgsl, ...) take dialects CIR never contains
        super().register_all_targets()
        self.available_targets = {"mlir": self.available_targets["mlir"]}

        def ascendc_cpp(module: ModuleOp, out) -> None:  # every kernel's C++, one after another
            from cir.lowering.ascendc import KernelOp
            from cir.lowering.cpp import print_kernel

            for op in module.ops:
                if isinstance(op, KernelOp):
                    out.write(f"// ----- kernel {op.sym_name.data} -----\n{print_kernel(op)}\n")

        self.available_targets["ascendc-cpp"] = ascendc_cpp

        def graph_target(fn_name: str):  # the graphs for ACL/GE (lowering/graph.py)
            def emit(module: ModuleOp, out) -> None:
                from cir.lowering import graph

                out.write(getattr(graph, fn_name)(module).rstrip("\n") + "\n")

            return emit

        self.available_targets["onnx-text"] = graph_target("onnx_text")
        self.available_targets["ge-text"] = graph_target("ge_text")
        self.available_targets["launch-json"] = graph_target("launch_json")

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        for action in arg_parser._actions:  # a target by name only: a usage error otherwise
            if action.dest == "target":
                action.choices = list(self.available_targets)
        arg_parser.add_argument(
            "--fusion-report",
            action="store_true",
            help="print how often each fusion rule fired (aigc-fusion) to stderr",
        )
        arg_parser.add_argument(
            "--print-ir-after-all",
            action="store_true",
            help="print the IR after every pass to stderr, MLIR style",
        )

    def setup_pipeline(self) -> None:
        def between(prev: ModulePass | None, module: ModuleOp, nxt: ModulePass | None) -> None:
            if prev is not None and not self.args.disable_verify:
                try:
                    verify(module)
                except CircError as e:
                    raise _Diagnostic(f"verification failed after pass '{prev.name}': {e}") from None
            if prev is not None and self.args.print_ir_after_all:
                sys.stderr.write(f"// -----// IR Dump After {prev.name} //----- //\n")
                sys.stderr.write(to_text(module))
            elif prev is not None and nxt is not None and self.args.print_between_passes:
                print(f"IR after {prev.name}:\n{to_text(module)}\n")

        self.pipeline = parse_pipeline(self.args.passes, between)
        if self.args.fusion_report:  # each aigc-fusion prints what fired, right after it runs
            from cir.passes.fusion.aigc_fusion import AIGCFusionPass

            self.pipeline = PassPipeline(
                tuple(replace(p, report=True) if isinstance(p, AIGCFusionPass) else p
                      for p in self.pipeline.passes),
                self.pipeline.callback,
            )

    def run(self) -> None:
        text = self._read_input()
        chunks = text.split("// -----") if self.args.split_input_file else [text]
        out = StringIO()
        line_offset = 0
        for i, chunk in enumerate(chunks):
            if i > 0:
                out.write("// -----\n")
            try:
                module = self._parse(chunk, line_offset)
                if not self.args.disable_verify:
                    verify(module)
                self.pipeline.apply(self.ctx, module)
                self._save_new_weights(module)
                out.write(self.output_resulting_program(module))
            except (CircError, _Diagnostic) as e:
                if not self.args.verify_diagnostics:
                    raise CircError(str(e)) from None
                out.write(f"{e}\n")
            except DiagnosticException as e:
                if not self.args.verify_diagnostics:
                    raise CircError(diagnostic_line(e)) from None
                out.write(diagnostic_line(e) + "\n")
            line_offset += chunk.count("\n")
        self._write_output(out.getvalue())

    def _read_input(self) -> str:
        if self.args.input_file is None:
            return decode_source(sys.stdin.buffer.read(), self.get_input_name())
        return read_source(self.args.input_file)

    def _parse(self, chunk: str, line_offset: int) -> ModuleOp:
        module = parse_unverified("\n" * line_offset + chunk, self.get_input_name(), self.ctx,
                                  implicit_module=not self.args.no_implicit_module)
        if self.args.input_file is not None:
            from cir.weights import set_base_dir

            set_base_dir(module, Path(self.args.input_file).parent)
        return module

    def _save_new_weights(self, module: ModuleOp) -> None:
        """Passes may fold weights into new ones: keep them beside the output IR."""
        from cir.passes.canonicalize import folded_weight_names

        if not folded_weight_names(module):
            return
        if self.args.output_file is None:
            sys.stderr.write("circ-opt: warning: folded weights exist only in memory; "
                             "use -o FILE.mlir to save them beside the IR\n")
            return
        from cir.app.frontend import save_weights

        path = Path(self.args.output_file).with_suffix(".safetensors")
        try:
            save_weights(module, path)
        except OSError as e:
            raise CircError(f"{path}: cannot write ({e.strerror or e})") from None

    def _write_output(self, text: str) -> None:
        path = self.args.output_file
        if path is None:
            sys.stdout.write(text)
            return
        tmp = Path(f"{path}.tmp{os.getpid()}")
        try:
            tmp.write_text(text)
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise CircError(f"{path}: cannot write ({e.strerror or e})") from None


class _Diagnostic(DiagnosticException):
    """A clean, already formatted diagnostic."""


def main(argv: Sequence[str] | None = None) -> int:
    def body() -> None:
        CircOptMain(description="circ-opt: the CIR optimizer driver", args=argv).run()

    return run_tool("circ-opt", body)


if __name__ == "__main__":
    sys.exit(main())
