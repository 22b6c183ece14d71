"""The sweep index ``<out>/sweep.h5``: one row per run, rewritten atomically; and its reader.

::

    /          attrs: magic = 0x0A7A, kind = "lamina-sweep", version = [0, 1], name, spec_toml
                      (the sweep spec as run, [sweep] table included), spec_path, overrides (JSON),
                      scale (the --scale used, or ""),
                      base_seed, seeds, seed_mode, paths (JSON: swept paths), units (JSON:
                      path -> unit of its numeric column), n_runs, n_ok, n_failed, n_pending,
                      complete (bool), updated (UTC ISO time), lamina_version
    /index     attrs: columns (JSON list, in order); datasets c0, c1, ... (attr name = column)

Columns: point_id (the run id, runs/<point_id>.h5), point (grid point number), repeat, one column
per swept path (numbers; quantities as numbers in the unit written in the spec, see attrs
units), seed, status (ok | failed | pending), error, wall_time_s, file (relative to the sweep
directory), structure_key, overrides (JSON of the point's values, exactly as `--set` takes them).

The file is only ever replaced whole (a private temporary file + ``os.replace``), so a reader
never sees a partial index, and it is opened without HDF5 file locking, so it can be read during a sweep.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any, Iterable

import h5py
import numpy as np

from .run import MAGIC, check_tmp_unchanged, dead_writer_tmp, h5_image_to, noise_before_0_3, private_tmp, read_analysis_scalars, read_run_status  # noqa: F401

INDEX_NAME = "sweep.h5"
RUNS_DIR = "runs"
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
FIXED_HEAD = ["point_id", "point", "repeat"]
FIXED_TAIL = ["seed", "status", "error", "wall_time_s", "file", "structure_key", "overrides"]
_STR = h5py.string_dtype("utf-8")


def _numeric_column(values: list) -> tuple[np.ndarray, str] | None:
    """Numbers → (array, ""); quantity strings of one dimension → (numbers in the first
    value's unit, unit); anything else → None (stored as text)."""
    if not values:
        return None
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        if all(isinstance(v, int) for v in values):
            return np.asarray(values, dtype=np.int64), ""
        return np.asarray(values, dtype=np.float64), ""
    if not all(isinstance(v, str) for v in values):
        return None
    parts = [_NUMBER.match(v) for v in values]
    if not all(parts) or not parts[0].group(2):
        return None
    unit = parts[0].group(2)
    out = []
    try:
        from ..quantities import parse_quantity, parse_unit

        u = parse_unit(unit, "unit")
        for v, m in zip(values, parts):
            out.append(float(m.group(1)) if m.group(2) == unit else float(parse_quantity(v, "value", u) / u))
    except Exception:
        return None
    return np.asarray(out, dtype=np.float64), unit


def _text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


def write_index(out: Path, meta: dict, rows: list[dict], paths: list[str]) -> Path:
    """Write ``<out>/sweep.h5`` atomically.

    Parameters
    ----------
    out : Path
        The sweep directory (must exist).
    meta : dict
        Root attributes (``name``, ``spec_toml``, ``base_seed``, ...; dicts and lists as JSON).
    rows : list of dict
        One per run: ``point_id``, ``point``, ``repeat``, ``values`` (swept path -> value),
        ``seed``, ``status``, ``error``, ``wall_time_s``, ``file``, ``structure_key``, ``overrides``.
    paths : list of str
        The swept paths, in column order.

    Returns
    -------
    Path
        The index file.

    Notes
    -----
    Written to a hidden temporary file made by :func:`lamina.store.run.private_tmp` in ``out``
    (unpredictable name, ``O_EXCL``: a planted symlink is never followed) and published with
    ``os.replace``, which replaces a ``sweep.h5`` symlink itself rather than its target.
    """
    out = Path(out)
    final = out / INDEX_NAME
    tmp, ino = private_tmp(out, INDEX_NAME)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "failed", "pending")}
    units: dict[str, str] = {}
    try:
        with h5_image_to(tmp, ino, locking=False) as f:  # in memory first: a full disk is a clean OSError
            f.attrs["magic"] = np.uint32(MAGIC)
            f.attrs["kind"] = "lamina-sweep"
            f.attrs["version"] = np.array([0, 1], dtype=np.uint32)
            for k, v in meta.items():
                f.attrs[k] = json.dumps(v) if isinstance(v, (dict, list)) else v
            f.attrs["paths"] = json.dumps(paths)
            f.attrs["n_runs"] = len(rows)
            f.attrs["n_ok"], f.attrs["n_failed"], f.attrs["n_pending"] = counts["ok"], counts["failed"], counts["pending"]
            f.attrs["complete"] = counts["pending"] == 0
            f.attrs["updated"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            g = f.create_group("index")
            columns = FIXED_HEAD + paths + FIXED_TAIL
            g.attrs["columns"] = json.dumps(columns)
            for k, col in enumerate(columns):
                vals = [r["values"][col] for r in rows] if col in paths else [r[col] for r in rows]
                unit = ""
                if col in paths:
                    num = _numeric_column(vals)
                    if num is not None:
                        data, unit = num
                    else:
                        data = np.array([_text(v) for v in vals], dtype=object)
                elif col in ("point", "repeat", "seed"):
                    data = np.asarray(vals, dtype=np.int64)
                elif col == "wall_time_s":
                    data = np.asarray([np.nan if v is None else v for v in vals], dtype=np.float64)
                else:
                    data = np.array([_text(v) if v is not None else "" for v in vals], dtype=object)
                d = g.create_dataset(f"c{k}", data=data, dtype=_STR if data.dtype == object else None)
                d.attrs["name"] = col
                if unit:
                    d.attrs["unit"] = unit
                    units[col] = unit
            f.attrs["units"] = json.dumps(units)
        check_tmp_unchanged(tmp, ino)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _attr(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode()
    return v


class Sweep:
    """A sweep directory (or its ``sweep.h5``), read fresh on every call.

    ``to_dataframe()`` → one row per run; ``run(point_id)`` → its :class:`lamina.store.RunData`.
    Safe to use while the sweep is still running (the index is replaced atomically).
    """

    def __init__(self, path: str | Path):
        p = Path(path)
        if p.is_dir():
            p = p / INDEX_NAME
        self.index_path = p
        self.directory = p.parent
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no sweep index (has `lamina sweep` run here?)")
        self.attrs  # noqa: B018 — fail early if it is not a sweep index

    def _open(self) -> h5py.File:
        f = h5py.File(self.index_path, "r", locking=False)
        if int(f.attrs.get("magic", 0)) != MAGIC or _attr(f.attrs.get("kind")) != "lamina-sweep":
            f.close()
            raise ValueError(f"{self.index_path} is not a lamina sweep index")
        return f

    @property
    def attrs(self) -> dict:
        with self._open() as f:
            out = {k: _attr(v) for k, v in f.attrs.items()}
        for k in ("paths", "units", "overrides"):
            if isinstance(out.get(k), str):
                out[k] = json.loads(out[k])
        return out

    @property
    def name(self) -> str:
        return self.attrs.get("name", "")

    @property
    def paths(self) -> list[str]:
        return self.attrs["paths"]

    def __len__(self) -> int:
        return int(self.attrs["n_runs"])

    def __repr__(self) -> str:
        a = self.attrs
        return (f"<Sweep {a.get('name')!r} at {self.directory}: {a['n_runs']} runs, ok {a['n_ok']}, "
                f"failed {a['n_failed']}, pending {a['n_pending']}>")

    def columns(self) -> dict[str, np.ndarray]:
        """The index columns as numpy arrays (strings decoded)."""
        with self._open() as f:
            g = f["index"]
            names = json.loads(_attr(g.attrs["columns"]))
            cols = {}
            for k, name in enumerate(names):
                d = g[f"c{k}"]
                cols[name] = d.asstr()[()] if h5py.check_string_dtype(d.dtype) else d[()]
        return cols

    def to_dataframe(self, analysis: bool = True):
        """One row per run. With ``analysis`` (default), scalar datasets under /analysis/<layer>/
        of each finished run file (written by `lamina analyze`) join as columns "<layer>.<name>"."""
        import pandas as pd

        cols = self.columns()
        df = pd.DataFrame({k: (v.astype(object) if v.dtype == object else v) for k, v in cols.items()})
        df.attrs["units"] = self.attrs.get("units", {})
        df.attrs["sweep"] = str(self.directory)
        if analysis and len(df):
            extra = [self._analysis(f) if s == "ok" and f else {} for s, f in zip(df["status"], df["file"])]
            keys: list[str] = []
            for e in extra:
                keys += [k for k in e if k not in keys]
            for k in keys:
                col = k if k not in df.columns else f"analysis.{k}"
                df[col] = [e.get(k, np.nan) for e in extra]
        return df

    def _analysis(self, rel: str) -> dict:
        return read_analysis_scalars(self.directory / rel)

    def run_path(self, point_id: str) -> Path:
        cols = self.columns()
        for pid, f in zip(cols["point_id"], cols["file"]):
            if pid == point_id:
                if not f:
                    raise FileNotFoundError(f"run {point_id} has no result file (not run yet, or failed)")
                return self.directory / f
        raise KeyError(point_id)

    def run(self, point_id: str):
        """The :class:`lamina.store.RunData` of one run."""
        from .run import open_run

        return open_run(self.run_path(point_id))

    def rerun_command(self, point_id: str) -> str:
        """The `lamina run` command line that reproduces one run bit for bit."""
        a, cols = self.attrs, self.columns()
        k = list(cols["point_id"]).index(point_id)
        sets = dict(a.get("overrides") or {})
        sets.update(json.loads(cols["overrides"][k]))
        if noise_before_0_3(a.get("lamina_version")) and "simulation.noise" not in sets:
            sets["simulation.noise"] = "brian2"  # the generator of lamina < 0.3 (the default since is "counter")
        parts = ["lamina", "run", a.get("spec_path") or "SPEC"]
        for key, v in sets.items():
            parts += ["--set", f"{key}={_toml_value(v)}"]
        if a.get("scale"):
            parts += ["--scale", a["scale"]]
        parts += ["--seed", str(int(cols["seed"][k])), "--no-sweep"]
        return " ".join(shlex.quote(p) for p in parts)


def _toml_value(v: Any) -> str:
    import tomli_w

    return tomli_w.dumps({"v": v}).split("=", 1)[1].strip()


def open_sweep(path: str | Path) -> Sweep:
    """Open a sweep directory (or its sweep.h5) written by `lamina sweep`."""
    return Sweep(path)


def iter_stale_tmp(dirs: Iterable[Path], older_than_s: float) -> Iterable[Path]:
    """The hidden ``.*.tmp`` entries in ``dirs`` not modified for ``older_than_s`` seconds.

    Parameters
    ----------
    dirs : iterable of Path
        Directories to look in (missing ones are skipped).
    older_than_s : float
        Minimum age (of the entry itself: a symlink is not followed); younger entries whose name
        says a process of this host that no longer runs wrote them are yielded too.

    Yields
    ------
    Path
        Each stale entry, for the caller to unlink.
    """
    import time

    now = time.time()
    for d in dirs:
        if not d.is_dir():
            continue
        for p in d.glob(".*.tmp"):
            try:
                # old, or young but left by a process of this host that no longer runs (kill -9)
                if now - os.lstat(p).st_mtime > older_than_s or dead_writer_tmp(p.name):
                    yield p
            except OSError:
                continue
