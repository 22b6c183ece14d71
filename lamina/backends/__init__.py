"""Devices that simulate an experiment: ``runtime`` (numpy, tiny tests), ``cpp`` (C++ standalone),
``cuda`` (brian2cuda) and ``auto`` (cuda where a GPU is present and the network is large enough
to win there, else cpp).

Each backend is a :class:`~lamina.backends.base.Backend`; :func:`get_backend` keeps one instance
per process so a compiled structure stays loaded between runs.
"""
from __future__ import annotations

from ..config import Experiment
from .base import Backend, RawRun, default_cache_dir, split_seed

__all__ = ["Backend", "RawRun", "get_backend", "default_cache_dir", "split_seed", "BACKENDS"]


def _registry() -> dict[str, type[Backend]]:
    from .cuda import CudaBackend
    from .runtime import RuntimeBackend
    from .standalone import CppBackend

    return {"cpp": CppBackend, "runtime": RuntimeBackend, "cuda": CudaBackend}


BACKENDS = ("cpp", "runtime", "cuda", "auto")
_INSTANCES: dict[str, Backend] = {}


def structure_key(exp: Experiment) -> str:
    """The structure key of ``exp`` on its own backend: the identity of the compiled *model*
    (a run made in a batch has the same structure key as an unbatched run of the same model)."""
    return get_backend(resolve(exp)).key(exp)


#: ``auto`` picks cuda from this many neurons per batch upward. Measured on an H200 host
#: (docs/benchmarks.md): at 13 000 neurons the GPU loop was 16× one CPU core (1.6 s vs 18.4 s of
#: wall time for 180 ms), so any network of this size wins once its program is compiled.
AUTO_CUDA_MIN_NEURONS = 10_000


def resolve(exp: Experiment, batch: int = 1) -> str:
    """The backend ``exp`` runs on: its own, or for ``auto`` cuda when a GPU and brian2cuda are
    present and the batch has at least :data:`AUTO_CUDA_MIN_NEURONS` neurons, else cpp."""
    if exp.backend != "auto":
        return exp.backend
    n = batch * sum(l.size for l in exp.layers)
    if n >= AUTO_CUDA_MIN_NEURONS:
        from .cuda import gpu_present

        try:
            import brian2cuda  # noqa: F401
        except ImportError:
            return "cpp"
        if gpu_present():
            return "cuda"
    return "cpp"


def get_backend(name: str, **options) -> Backend:
    """The process's instance of backend ``name`` (one per process: the compiled structure stays
    loaded). ``options`` (e.g. ``build_only=True`` for cuda) apply when it is first made."""
    if name not in _INSTANCES:
        _INSTANCES[name] = _registry()[name](**options)
    return _INSTANCES[name]
