"""Result files: one HDF5 file per run (:mod:`.run`, the one owner of its layout), the sweep
index (:mod:`.sweep_index`) and the find-or-simulate cache sweeps and figures share (:mod:`.results`)."""
from __future__ import annotations

from .run import MAGIC, RunData, default_filename, ensure_writable_dir, open_run, read_header, write_run
from .sweep_index import Sweep, open_sweep

__all__ = ["MAGIC", "RunData", "Sweep", "default_filename", "ensure_writable_dir", "open_run", "open_sweep",
           "read_header", "write_run"]
