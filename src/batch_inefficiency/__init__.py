"""Replication of Wilson & Martinez (2003): the general inefficiency of batch training."""

import os

# Idle OpenMP threads sleep instead of spinning (unless the caller chose otherwise). torch
# and numba's kernels share the 1-2 cores a job is given; spinning workers of one stole
# the cores of the other: with 2 threads on a busy 2-core machine, scoring an on-line epoch
# took 4x as long as training it (docs/design.md §8). Read when OpenMP loads, i.e. when
# torch is first imported: import this package first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
