"""Host-side launchers: a C entry per kernel that the runtime calls through ctypes.

    extern "C" int circ_launch_silu_0(uint8_t** args, uint32_t block_dim)

runs ``ICPU_RUN_KF(silu_0, block_dim, args...)`` with the kernel's GM arguments (tensors, then
workspace and tiling) and returns non-zero if the CPU layer stopped the kernel (its message is
on stderr) instead of exiting the host process: the CPU runtime's calling convention. The same
kernel source builds for the NPU with the CANN toolchain; this file is only for circ's CPU layer.
"""

from __future__ import annotations


def launcher_text(name: str, n: int, kernel_file: str) -> str:
    """The launcher of kernel `name` with `n` GM arguments, including `kernel_file`."""
    params = ", ".join("GM_ADDR" for _ in range(n))
    args = ", ".join(f"args[{i}]" for i in range(n))
    return (
        f'#include "tikicpulib.h"\n'
        f'#include "{kernel_file}"\n\n'
        f'extern "C" int circ_launch_{name}(uint8_t** args, uint32_t block_dim)\n{{\n'
        f"    circ_ascendc_cpu_set_exit_on_error(0);  // a library: report, do not exit\n"
        f"    return ICPU_RUN_KF({name}, block_dim, {args});\n}}\n"
        f"// kernel signature: void {name}({params})\n"
    )
