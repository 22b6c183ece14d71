"""Devices that simulate an experiment: ``runtime`` (numpy, tiny tests) and ``cpp`` (C++ standalone).

Each backend is a :class:`~lamina.backends.base.Backend`; :func:`get_backend` keeps one instance
per process so a compiled structure stays loaded between runs.
"""
from __future__ import annotations

from .base import Backend, RawRun, default_cache_dir, split_seed

__all__ = ["Backend", "RawRun", "get_backend", "default_cache_dir", "split_seed", "BACKENDS"]


def _registry() -> dict[str, type[Backend]]:
    from .runtime import RuntimeBackend
    from .standalone import CppBackend

    return {"cpp": CppBackend, "runtime": RuntimeBackend}


BACKENDS = ("cpp", "runtime")
_INSTANCES: dict[str, Backend] = {}


def get_backend(name: str) -> Backend:
    """The process's instance of backend ``name`` (one per process: the compiled structure stays loaded)."""
    if name not in _INSTANCES:
        _INSTANCES[name] = _registry()[name]()
    return _INSTANCES[name]
