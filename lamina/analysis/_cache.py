"""Keep numba's on-disk cache of this package consistent as a whole.

Numba invalidates a cached kernel only when the file that *defines* it changes, but the kernels
here inline helpers from other modules of the package (``_kdtree``, ``_special``): after an edit,
or a ``git pull`` of an editable install, that touches only a helper, the callers' cache entries
would go on running the old helper code, silently. So the cache directory is stamped with a
digest of every source file of the package, and numba's files in it are deleted when the stamp
differs (numba then recompiles once).

Limitation: a process that imported the package *before* a source change (a notebook kernel, a
dask worker) and compiles a kernel *after* a newer process purged the cache saves code built
from the old helpers under the new stamp. Restart long-lived processes after updating lamina.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

STAMP = "lamina-analysis-sources.sha256"
# The package's numba cache directory, once check_cache has found it.
cache_dir: Path | None = None


def sources_digest(package_dir: Path) -> str:
    """SHA-256 over the names and contents of the package's ``*.py`` files."""
    h = hashlib.sha256()
    for f in sorted(Path(package_dir).glob("*.py")):
        if f.name.startswith(".") or not f.is_file():  # editor lock files such as .#ksg.py
            continue
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def purge_if_stale(cache_dir: Path, digest: str) -> bool:
    """Delete numba's cache files (``*.nbi``, ``*.nbc``) in cache_dir unless it is stamped with
    digest, then stamp it (atomically). Returns whether files were purged. A cache directory
    that cannot be written is left alone (numba then compiles in memory)."""
    cache_dir = Path(cache_dir)
    stamp = cache_dir / STAMP
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        for f in cache_dir.glob("*.nb[ic]"):
            f.unlink(missing_ok=True)  # numba treats an entry deleted under it as a miss
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".{STAMP}.{os.getpid()}.tmp"
        tmp.write_text(digest)
        tmp.replace(stamp)
    except OSError:
        return False
    return True


def check_cache(dispatcher) -> bool:
    """purge_if_stale for the cache directory numba uses for this package (the package's
    ``__pycache__``, or a folder under NUMBA_CACHE_DIR), found from one cached kernel."""
    global cache_dir
    cache = getattr(dispatcher, "_cache", None)
    path = getattr(cache, "_cache_path", None)
    if path is None:  # caching disabled, or numba changed its internals: nothing to keep in step
        return False
    cache_dir = Path(path)
    try:
        digest = sources_digest(Path(__file__).parent)
    except OSError:  # a source file vanished while being read: leave the cache alone
        return False
    return purge_if_stale(cache_dir, digest)


def is_cold() -> bool:
    """True when no kernel of the package is cached yet: the first analysis compiles them all."""
    return cache_dir is not None and not any(cache_dir.glob("*.nbi"))
