"""The HDF5 layout of one run (see docs/design.md), written atomically, and its reader.

::

    /                attrs: lamina_version, brian2_version, backend, seed, created, wall_time_s,
                            structure_key, magic = 0x0A7A, version = [0, 1], layers (JSON), ...
    /config          attrs: toml (resolved spec), point (JSON of swept values)
    /spikes/<layer>/timestamps  float64, attr units = "ms"   (SONATA spike layout, uncompressed:
    /spikes/<layer>/node_ids    uint64                    libsonata reads it; group attrs sorting =
                                SONATA enum {none: 0, by_id: 1, by_time: 2} = by_time, cell, size, role.
                                Files written before 0.1 may hold sorting as the string "by_time".)
    /rates/<layer>              float32 Hz per neuron; attrs dt_ms, t0_ms, units = "Hz"
    /stimulus                   attrs describe the input; packet/<layer>/{node_ids,times} or current
    /traces/<layer>/<var>       (neuron, time) state traces when recorded
    /analysis                   attrs: every estimator setting, lamina_version, analysis_version (``lamina analyze``)
    /analysis/<layer>/<name>    float64 scalars (rate_hz, packet_size, packet_sd_ms, packet_latency_ms, ...;
                                names and units: ANALYSIS_META), attrs units, method
    /analysis/<layer>/filter/{freq_hz, gain, phase_rad}   input → layer linear filter (continuous inputs)

This module is the one owner of that layout: everything that reads or writes a run file goes
through it (the sweep index has its own file, :mod:`lamina.store.sweep_index`).
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import InputError
from ..simulation import RunResult

MAGIC = 0x0A7A  # in the root attrs of every lamina file (run files and sweep indexes)

#: The SONATA ``sorting`` enumeration of a ``/spikes/<population>`` group.
SORTING_VALUES = {"none": 0, "by_id": 1, "by_time": 2}
SORTING_DTYPE = h5py.enum_dtype(SORTING_VALUES, basetype="u1")

#: Age after which a hidden temporary file of a lamina writer counts as left by a killed process.
STALE_TMP_S = 120.0


def sorting_name(value: Any) -> str:
    """The SONATA sorting of a spike group from its ``sorting`` attribute, in either stored form.

    Parameters
    ----------
    value : int, numpy integer, str or bytes
        The attribute as h5py returns it: the SONATA enum (read as an integer, files from lamina
        0.1 on) or a string (older files).

    Returns
    -------
    str
        ``"none"``, ``"by_id"`` or ``"by_time"``; an unknown value gives ``"none"`` (no order assumed).
    """
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return value if value in SORTING_VALUES else "none"
    names = {v: k for k, v in SORTING_VALUES.items()}
    try:
        return names.get(int(value), "none")
    except (TypeError, ValueError):
        return "none"


def _umask() -> int:
    """The process umask, without changing it where /proc says (os.umask alone must set it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def private_tmp(directory: Path, name: str, suffix: str = ".tmp", mode: int | None = None) -> tuple[Path, int]:
    """Create an empty temporary file for ``name`` in ``directory``, safely.

    Parameters
    ----------
    directory : Path
        Where the file will be published (the temporary file must be on the same file system).
    name : str
        The final file name; the temporary file is hidden, ``.<name>.<random><suffix>``.
    suffix : str
        Ends the temporary name (``.tmp`` or ``.analyze.tmp``), so :func:`remove_stale_tmp` finds it.
    mode : int, optional
        Permission bits to give it; default ``0o666`` less the umask (as an ordinary ``open``).

    Returns
    -------
    path : Path
        The new file: created with ``O_CREAT | O_EXCL`` (:func:`tempfile.mkstemp`), so it never
        follows or replaces a planted symlink, and its name is unpredictable.
    ino : int
        Its inode number, for :func:`check_tmp_unchanged` before publishing.
    """
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=suffix)
    try:
        os.fchmod(fd, (0o666 & ~_umask()) if mode is None else mode)
        ino = os.fstat(fd).st_ino
    finally:
        os.close(fd)
    return Path(tmp), ino


def check_tmp_unchanged(tmp: Path, ino: int) -> None:
    """Refuse to publish ``tmp`` unless it is still the regular file :func:`private_tmp` made."""
    st = os.lstat(tmp)
    if not stat.S_ISREG(st.st_mode) or st.st_ino != ino:
        raise OSError(f"{tmp} was replaced while lamina wrote it (not publishing it)")


def remove_stale_tmp(directory: str | Path, older_than_s: float = STALE_TMP_S) -> list[Path]:
    """Remove the hidden temporary files that killed lamina writers left in ``directory``.

    Parameters
    ----------
    directory : str or Path
        A results directory.
    older_than_s : float
        Only files (or links) not modified for this long are removed: a live writer keeps its
        temporary file fresh, so a concurrent run's write is never touched.

    Returns
    -------
    list of Path
        What was removed: the current user's ``.*.h5.*.tmp`` entries (run files, ``lamina analyze``
        and sweep-index temporaries, old and new naming), never followed if they are symlinks.
    """
    removed: list[Path] = []
    d = Path(directory)
    now = time.time()
    try:
        entries = list(d.glob(".*.h5.*tmp"))
    except OSError:
        return removed
    for p in entries:
        if not p.name.endswith(".tmp"):
            continue
        try:
            st = os.lstat(p)
            if st.st_uid != os.getuid() or now - st.st_mtime <= older_than_s:
                continue
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                continue
            p.unlink()
            removed.append(p)
        except OSError:
            continue
    return removed


def _attr(v: Any) -> Any:
    return json.dumps(v) if isinstance(v, (dict, list)) else v


def _write(f: h5py.File, r: RunResult) -> None:
    for k, v in r.attrs.items():
        f.attrs[k] = _attr(v)
    f.attrs["name"] = r.name
    f.attrs["magic"] = np.uint32(MAGIC)
    f.attrs["version"] = np.array([0, 1], dtype=np.uint32)
    f.attrs["layers"] = json.dumps(r.layers)
    f.attrs["duration_ms"] = r.duration_ms
    cfg = f.create_group("config")
    cfg.attrs["toml"] = r.config_toml
    cfg.attrs["point"] = json.dumps(r.point)
    sp = f.create_group("spikes")
    rates = f.create_group("rates")
    for layer in r.layers:
        name = layer["name"]
        if name in r.spikes:
            g = sp.create_group(name)
            # SONATA: an HDF5 enum attribute, and datasets without filters (libsonata has no deflate).
            g.attrs.create("sorting", SORTING_VALUES["by_time"], dtype=SORTING_DTYPE)
            g.attrs.update({k: layer[k] for k in ("cell", "size", "role")})
            t, i = r.spikes[name]
            ts = g.create_dataset("timestamps", data=np.asarray(t, np.float64))
            ts.attrs["units"] = "ms"
            g.create_dataset("node_ids", data=np.asarray(i, np.uint64))
        d = rates.create_dataset(name, data=np.asarray(r.rates[name], np.float32))
        d.attrs.update({"dt_ms": r.rate_dt_ms, "t0_ms": 0.0, "units": "Hz",
                        "cell": layer["cell"], "size": layer["size"], "role": layer["role"]})
    st = f.create_group("stimulus")
    s = r.stimulus
    st.attrs.update({k: _attr(v) for k, v in s.attrs.items()})
    for name, ids in s.packet_ids.items():
        g = st.create_group(f"packet/{name}")
        g.create_dataset("node_ids", data=ids)
        g.create_dataset("times", data=s.packet_times_ms[name]).attrs["units"] = "ms"
    if s.current is not None:
        unit = s.attrs.get("si_per_unit", 1.0)
        d = st.create_dataset("current", data=s.current / unit, compression="gzip")
        d.attrs.update({"dt_ms": s.current_dt_ms, "t0_ms": 0.0, "units": s.attrs.get("current_unit", "")})
    for name, tr in r.traces.items():
        for var, arr in tr.items():
            d = f.create_dataset(f"traces/{name}/{var}", data=arr, compression="gzip")
            d.attrs["dt_ms"] = r.trace_dt_ms
            d.attrs["units"] = "SI"


def ensure_writable_dir(path: str | Path, field: str = "-o/--output") -> Path:
    """Create ``path`` if needed and check that files can be written there, before any work.

    Parameters
    ----------
    path : str or Path
        The output directory.
    field : str
        The option named in the error.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        It cannot be created or written. The probe file is made with :func:`tempfile.mkstemp`
        (no predictable name, no symlink followed).
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".lamina-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(field, path, f"a writable directory ({e.strerror})") from None
    return path


def default_filename(r: RunResult) -> str:
    """``<name>_seed<seed>.h5``, the file name :func:`write_run` uses by default."""
    return f"{r.name}_seed{r.attrs.get('seed', 0)}.h5"


def write_run(result: RunResult, out: str | Path, filename: str | None = None) -> Path:
    """Write ``result`` into directory ``out``, atomically and never overwriting.

    Parameters
    ----------
    result : RunResult
        The simulated run.
    out : str or Path
        The directory (created if needed).
    filename : str, optional
        The file name; default :func:`default_filename`.

    Returns
    -------
    Path
        The file written: ``filename``, or ``<stem>_<n>.h5`` with the first free ``n`` when that
        name is taken (by a file, a directory or a symlink: nothing existing is replaced or followed).

    Notes
    -----
    The file is written to a hidden temporary file made by :func:`private_tmp` (unpredictable
    name, ``O_EXCL``, so a planted symlink is never followed), then hard-linked to the final name.
    A killed run leaves at most a hidden ``.<name>.<random>.tmp``, never a partial ``.h5``; such
    leftovers of this user older than :data:`STALE_TMP_S` are removed here (:func:`remove_stale_tmp`).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(out)
    name = filename or default_filename(result)
    tmp, ino = private_tmp(out, name)
    try:
        with h5py.File(tmp, "w") as f:
            _write(f, result)
        check_tmp_unchanged(tmp, ino)
        stem, suffix = os.path.splitext(name)
        for n in range(10_000):
            final = out / (name if n == 0 else f"{stem}_{n}{suffix}")
            try:
                os.link(tmp, final, follow_symlinks=False)  # atomic, and fails rather than overwrite
                return final
            except FileExistsError:
                continue
        raise FileExistsError(f"no free file name for {name} in {out}")
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class RunData:
    """A run read back from HDF5: plain numpy arrays, times in ms."""

    path: Path
    attrs: dict
    layers: list[dict]
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]
    rates: dict[str, np.ndarray]
    rate_dt_ms: float
    stimulus: dict
    config_toml: str
    point: dict
    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    analysis: dict = field(default_factory=dict)
    #: layer -> SONATA sorting of its spikes ("by_time" for every file lamina writes).
    spike_sorting: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> dict:
        return tomllib.loads(self.config_toml)

    @property
    def layer_names(self) -> list[str]:
        return [l["name"] for l in self.layers]

    def experiment(self):
        """The validated Experiment that produced this run (to re-run it)."""
        from ..config import experiment_from_dict

        return experiment_from_dict(self.config)


def _read_group(g: h5py.Group) -> dict:
    out: dict[str, Any] = dict(g.attrs)
    for k, v in g.items():
        out[k] = _read_group(v) if isinstance(v, h5py.Group) else v[()]
    return out


def open_run(path: str | Path) -> RunData:
    """Read a run file written by :func:`write_run` (whole file into memory).

    Parameters
    ----------
    path : str or Path
        The run file.

    Returns
    -------
    RunData
        Its contents; ``analysis`` is the ``/analysis`` group as nested dicts (root attributes =
        estimator settings, one dict per layer), or {} if the file has none or one written under
        another :data:`ANALYSIS_VERSION`; ``spike_sorting`` reads the ``sorting`` attribute in
        both stored forms (SONATA enum, or the string of files written before 0.1).

    Raises
    ------
    ValueError
        The file lacks lamina's magic attribute (a sweep index included).
    """
    path = Path(path)
    with h5py.File(path, "r", locking=False) as f:
        if int(f.attrs.get("magic", 0)) != MAGIC:
            raise ValueError(f"{path} is not a lamina run file (magic attribute missing)")
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
        layers = json.loads(attrs.pop("layers"))
        spikes = {k: (g["timestamps"][()], g["node_ids"][()]) for k, g in f["spikes"].items()}
        sorting = {k: sorting_name(g.attrs.get("sorting", "none")) for k, g in f["spikes"].items()}
        rates = {k: d[()] for k, d in f["rates"].items()}
        rate_dt = float(next(iter(f["rates"].values())).attrs["dt_ms"]) if len(f["rates"]) else 0.0
        traces = {k: {v: d[()] for v, d in g.items()} for k, g in f["traces"].items()} if "traces" in f else {}
        stimulus = _read_group(f["stimulus"])
        if "current" in f["stimulus"]:
            stimulus["current_dt_ms"] = float(f["stimulus/current"].attrs["dt_ms"])
            stimulus["current_units"] = str(f["stimulus/current"].attrs["units"])
        return RunData(path, attrs, layers, spikes, rates, rate_dt, stimulus,
                       f["config"].attrs["toml"], json.loads(f["config"].attrs["point"]), traces,
                       _read_group(f["analysis"]) if "analysis" in f and _current_analysis(f["analysis"]) else {},
                       sorting)


def _scalar(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    return v.item() if isinstance(v, np.generic) else v


def read_header(path: str | Path) -> dict | None:
    """The root attributes and resolved spec of a complete run file; cheap: reads no datasets.

    Parameters
    ----------
    path : str or Path
        The run file.

    Returns
    -------
    dict or None
        Root attributes (numpy scalars as Python values), ``spec`` (the resolved spec, TOML text)
        and ``sorting`` (layer -> ``"none"``/``"by_id"``/``"by_time"``, from the SONATA enum or the
        older string attribute); None if ``path`` is not a readable lamina run file.
    """
    try:
        with h5py.File(path, "r", locking=False) as f:
            if int(f.attrs.get("magic", 0)) != MAGIC or not all(k in f for k in ("spikes", "rates", "config")):
                return None
            out = {k: _scalar(v) for k, v in f.attrs.items()}
            out["spec"] = str(f["config"].attrs["toml"])
            out["sorting"] = {k: sorting_name(g.attrs.get("sorting", "none")) for k, g in f["spikes"].items()}
            return out
    except (OSError, KeyError, ValueError, TypeError):
        return None


def read_run_status(path: Path, seed: int, structure_key: str | None = None) -> tuple[str, float | None]:
    """("ok", wall_time_s) for a complete run file with this seed (and, if given, made by the
    program with this structure key); ("other", None) for a readable run file of another seed or
    program; ("bad", None) for a file that is not a readable lamina run."""
    h = read_header(path)
    if h is None or "seed" not in h:
        return "bad", None
    if int(h["seed"]) != int(seed) or (structure_key is not None and h.get("structure_key", "") != structure_key):
        return "other", None
    return "ok", float(h.get("wall_time_s", np.nan))


#: name -> (units, method) of the per-layer numbers ``lamina analyze`` stores (the same names as
#: :func:`lamina.analysis.readout.layer_rows` and :func:`lamina.figures.packets.packet_rows`).
ANALYSIS_META = {
    "rate_hz": ("Hz per neuron", "spike count / size / duration of the analysed window"),
    "n_spikes": ("1", "count in the analysed window"), "n_neurons": ("1", "layer size"),
    "packet_size": ("spikes", "pulse_packet: count within ±window of the peak of a 200-bin histogram, "
                              "expected background subtracted (floored at 0)"),
    "packet_sd_ms": ("ms", "pulse_packet: SD of spikes within ±window of the peak"),
    "packet_latency_ms": ("ms", "pulse_packet: mean time of spikes within ±window, after the stimulus onset"),
    "packet_peak_ms": ("ms", "pulse_packet: centre of the peak bin, after the stimulus onset"),
    "packet_n_window": ("spikes", "pulse_packet: raw count in window"),
    "packet_baseline": ("spikes", "expected background count in window (baseline_rate_hz × size × 2 window)"),
    "baseline_rate_hz": ("Hz per neuron", "spontaneous rate before the packet (20 ms … t0 − 4 sigma − 5 ms)"),
    "mi_gcmi_bits": ("bits", "Gaussian-copula MI (Ince et al. 2017) at the best lag"),
    "mi_ksg_bits": ("bits", "KSG algorithm 1 (Kraskov et al. 2004) at the best lag"),
    "best_lag_ms": ("ms", "lag maximising GCMI, stimulus leading"),
    "info_rate_bits_s": ("bits/s", "coherence lower bound -∫log2(1-C(f))df minus its shift-null mean"),
    "info_rate_raw_bits_s": ("bits/s", "coherence lower bound -∫log2(1-C(f))df, not bias-corrected"),
    "info_rate_null_bits_s": ("bits/s", "mean rate of circularly shifted responses (estimator bias)"),
}

#: Version of the ``/analysis`` names and settings. An ``/analysis`` group written under another
#: version is not read back (``RunData.analysis`` is empty), so figures re-analyse the run.
ANALYSIS_VERSION = 2


def _current_analysis(g: h5py.Group) -> bool:
    return int(g.attrs.get("analysis_version", 1)) == ANALYSIS_VERSION


def write_analysis(path: str | Path, per_layer: dict[str, dict[str, float]], params: dict[str, Any],
                   filters: dict[str, dict[str, np.ndarray]] | None = None) -> None:
    """Replace the ``/analysis`` group of run file ``path`` (atomically: copy, modify, rename).

    Parameters
    ----------
    path : str or Path
        The run file (replaced by ``os.replace``, keeping its permission bits).
    per_layer : dict
        layer -> {name: value}: scalars stored as ``/analysis/<layer>/<name>`` (units and method
        from :data:`ANALYSIS_META`).
    params : dict
        The estimator settings, stored as ``/analysis`` attributes.
    filters : dict, optional
        layer -> {name: array}: the linear filter, ``/analysis/<layer>/filter/<name>``.

    Notes
    -----
    Rebuilt rather than edited in place: deleting a group leaves free space behind, and
    rebuilding makes a second ``lamina analyze`` give a byte-identical file. The copy is made in
    a hidden temporary file from :func:`private_tmp` (unpredictable name, no symlink followed).
    """
    from .._version import __version__

    path = Path(path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    tmp, ino = private_tmp(path.parent, path.name, suffix=".analyze.tmp", mode=mode)
    try:
        with h5py.File(path, "r", locking=False) as src, h5py.File(tmp, "w", track_order=True) as f:
            f.attrs.update(dict(src.attrs))
            for key in src:
                if key != "analysis":
                    src.copy(src[key], f, name=key)
            g = f.create_group("analysis")
            g.attrs.update(dict(params))
            g.attrs["lamina_version"] = __version__
            g.attrs["analysis_version"] = ANALYSIS_VERSION
            for layer, numbers in per_layer.items():
                lg = g.create_group(str(layer))
                for name, value in numbers.items():
                    d = lg.create_dataset(name, data=np.float64(value))
                    units, method = ANALYSIS_META.get(name, ("", ""))
                    d.attrs.update(units=units, method=method)
                for name, arr in (filters or {}).get(layer, {}).items():
                    lg.create_dataset(f"filter/{name}", data=arr)
        check_tmp_unchanged(tmp, ino)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_analysis_scalars(path: str | Path) -> dict[str, Any]:
    """The scalar numbers under ``/analysis``.

    Parameters
    ----------
    path : str or Path
        The run file.

    Returns
    -------
    dict
        ``{"<layer>.<name>": value}`` ({} if there is no ``/analysis``), whatever its
        ``analysis_version`` (the attribute says; ``lamina analyze`` rewrites it).
    """
    out: dict[str, Any] = {}
    try:
        with h5py.File(path, "r", locking=False) as f:
            if "analysis" not in f:
                return out
            for layer, g in f["analysis"].items():
                if not isinstance(g, h5py.Group):
                    continue
                for name, d in g.items():
                    if isinstance(d, h5py.Dataset) and d.shape == ():
                        out[f"{layer}.{name}"] = (d.asstr()[()] if h5py.check_string_dtype(d.dtype)
                                                  else _scalar(d[()]))
    except OSError:
        pass
    return out


def has_analysis(path: str | Path) -> bool:
    """True if run file ``path`` holds an ``/analysis`` group of the current
    :data:`ANALYSIS_VERSION` (then :func:`open_run` reads it back and figures need not analyse)."""
    try:
        with h5py.File(path, "r") as f:
            return "analysis" in f and _current_analysis(f["analysis"])
    except OSError:
        return False
