"""Thread-count policy for the parallel numba kernels."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba

# Below this many samples in one call the kernels run on one thread. Opening a
# parallel region costs ~0.1 ms normally, but ~30 ms with numba's OpenMP layer
# when another process holds one of the cores (measured on the 2-core dev box,
# e.g. while a simulation runs), which would dominate small estimates.
PARALLEL_MIN_SAMPLES = 50_000


@contextmanager
def threads_for(n_samples: int) -> Iterator[None]:
    """Run the enclosed kernels single-threaded if the job is small.

    Large jobs use numba's configured thread count (``NUMBA_NUM_THREADS`` or
    ``numba.set_num_threads``), so callers keep control of parallelism.
    """
    if n_samples >= PARALLEL_MIN_SAMPLES or numba.get_num_threads() == 1:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
