"""The Triton path beyond the oracle tests: it compiles for an H100 without spilling,
and its launch geometry follows the documented rule.

The oracle, determinism and divergence tests run the kernel too (test_engine*.py;
interpreted on the CPU when there is no GPU). Compiling needs no GPU: Triton's
bundled ptxas builds the cubin for sm_90 and its cuobjdump reads the registers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, needs_triton

pytestmark = needs_triton

COMPILE = """
import json, sys
sys.path.insert(0, "benchmarks")
from triton_resources import resources
for activation in ("sigmoid", "tanh", "relu"):
    for loss in ("squared_error", "cross_entropy"):
        for online, warps in ((True, 4), (False, 8)):
            row = resources((16, 32, 26), "float32", online, warps, activation, loss)
            print(json.dumps(row | {"activation": activation, "loss": loss}))
"""


def test_kernel_compiles_for_an_h100_in_every_variant_without_spilling(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", COMPILE], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 12  # 3 activations x 2 losses x on-line/batch, letter's shape
    for row in rows:
        assert row["arch"] == "sm_90" and row["shared_bytes"] > 0
        assert 0 < row["registers"] <= 255 and row["spill_bytes"] == 0, row


@pytest.mark.parametrize(
    ("shape", "itemsize", "online", "warps"),
    [
        ((16, 32, 26), 4, True, 4),  # 1,536 padded weights x 4 bytes / 64 = 96 threads
        ((16, 32, 26), 4, False, 8),  # batch sums double it
        ((16, 32, 26), 8, True, 8),
        ((4, 8, 3), 4, True, 1),
        ((57, 114, 2), 8, False, 16),  # capped at 16 warps
    ],
)
def test_num_warps_holds_at_most_64_bytes_of_state_per_thread(shape, itemsize, online, warps):
    from batch_inefficiency.engine.triton_path import STATE_BYTES_PER_THREAD, num_warps

    assert STATE_BYTES_PER_THREAD == 64
    assert num_warps(shape, itemsize, online) == warps


def test_models_fit_a_program_up_to_max_tile():
    from batch_inefficiency.engine.triton_path import fits

    assert fits(16, 32, 26) and fits(64, 128, 10)  # 16 x 32 + 32 x 32; 64 x 128 + 128 x 16
    assert not fits(287, 128, 3)  # splice one-hot: 512 x 128 padded
    assert not fits(4, 600, 3)  # 16 x 1024 + 1024 x 16
