"""Registers and spills of the Triton kernel, compiled for a GPU without needing one.

The measurement behind ``engine.triton_path.STATE_BYTES_PER_THREAD`` and ``MAX_TILE``:
Triton compiles ``_epoch_kernel`` for the target (default sm_90, an H100) with
its bundled ptxas, and its bundled cuobjdump reads the cubin's resource usage.
Prints one JSON object per line: ``shape``, ``dtype``, ``online``, ``num_warps``
(the engine's choice unless ``--warps`` is given), ``registers`` (per thread),
``spill_bytes`` (local-memory stack per thread; 0 = all in registers),
``shared_bytes``. Run without TRITON_INTERPRET set:
``python benchmarks/triton_resources.py [--shape 16 32 26] [--warps 1 2 4 8]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from batch_inefficiency.engine.contract import ACTIVATION_CODES, LOSS_CODES
from batch_inefficiency.engine.triton_path import _block, _epoch_kernel, num_warps

# (inputs, hidden, classes): letter and UCI-like shapes up to MAX_TILE
SHAPES = ((16, 32, 26), (9, 18, 2), (4, 8, 3), (34, 68, 2), (36, 72, 6), (57, 114, 2))
POINTERS = ("w1_ptr", "b1_ptr", "w2_ptr", "b2_ptr", "x_ptr", "y_ptr", "order_ptr")
SIZES = ("n", "d", "h", "k", "batch")
CUOBJDUMP = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"


def resources(
    shape: tuple[int, int, int],
    dtype: str,
    online: bool,
    warps: int,
    activation: str = "sigmoid",
    loss: str = "squared_error",
    arch: int = 90,
) -> dict:
    """Compile one variant of the kernel for ``sm_<arch>`` and read its resource usage."""
    if os.environ.get("TRITON_INTERPRET") == "1":
        raise SystemExit("unset TRITON_INTERPRET: the interpreter compiles nothing")
    element = {"float32": "fp32", "float64": "fp64"}[dtype]
    signature = {name: f"*{element}" for name in POINTERS}
    signature |= {"y_ptr": "*i64", "order_ptr": "*i64", "trial_ptr": "*i64"}
    signature |= {"full_ptr": f"*{element}", "last_ptr": f"*{element}"}
    signature |= dict.fromkeys(SIZES, "i32")
    d, h, k = shape
    constants = {"D": _block(d), "H": _block(h), "K": _block(k)}
    constants |= {"ACT": ACTIVATION_CODES[activation], "LOSS": LOSS_CODES[loss], "ONLINE": online}
    signature |= dict.fromkeys(constants, "constexpr")
    position = list(signature)
    source = ASTSource(
        fn=_epoch_kernel,
        signature=signature,
        constexprs={(position.index(name),): value for name, value in constants.items()},
    )
    options = {"num_warps": warps, "enable_fp_fusion": True}
    kernel = triton.compile(source, target=GPUTarget("cuda", arch, 32), options=options)
    with tempfile.TemporaryDirectory() as tmp:
        cubin = Path(tmp) / "kernel.cubin"
        cubin.write_bytes(kernel.asm["cubin"])
        usage = subprocess.run(
            [str(CUOBJDUMP), "--dump-resource-usage", str(cubin)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    found = re.search(r"REG:(\d+) STACK:(\d+) SHARED:(\d+)", usage)
    if found is None:
        raise RuntimeError(f"no resource usage in cuobjdump's output:\n{usage}")
    registers, stack, shared = (int(value) for value in found.groups())
    return {
        "shape": "-".join(map(str, shape)),
        "dtype": dtype,
        "online": online,
        "num_warps": warps,
        "registers": registers,
        "spill_bytes": stack,
        "shared_bytes": shared,
        "arch": f"sm_{arch}",
        "triton": triton.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, help="inputs hidden classes")
    parser.add_argument("--dtype", choices=("float32", "float64"), nargs="+")
    parser.add_argument("--warps", type=int, nargs="+", help="default: the engine's choice")
    parser.add_argument("--arch", type=int, default=90, help="compute capability x 10")
    args = parser.parse_args()
    shapes = [tuple(args.shape)] if args.shape else SHAPES
    for shape in shapes:
        for dtype in args.dtype or ("float32", "float64"):
            itemsize = 4 if dtype == "float32" else 8
            for online in (True, False):
                for warps in args.warps or [num_warps(shape, itemsize, online)]:
                    row = resources(shape, dtype, online, warps, arch=args.arch)
                    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
