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
    /analysis/_numbers_json     the same per-layer scalars as one JSON text {layer: {name: value}},
                                read instead of the scalar datasets when present (since 0.3.0)

This module is the one owner of that layout: everything that reads or writes a run file goes
through it (the sweep index has its own file, :mod:`lamina.store.sweep_index`).
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable, Iterator

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


def _host_tag() -> str:
    """This host's name as it appears in temporary file names (letters, digits, ``_`` and ``-``)."""
    import socket

    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40] or "host"


def _writer_tag() -> str:
    """``<host>-<pid>``: who writes a temporary file (read back by :func:`dead_writer_tmp`)."""
    return f"{_host_tag()}-{os.getpid()}"


#: ``.<name>.h5.<host>-<pid>.<random>.tmp`` (and ``.analyze.tmp``), as :func:`private_tmp` names them.
_TMP_WRITER = re.compile(r"\.h5\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.[^.]+\.(?:analyze\.)?tmp$")


def dead_writer_tmp(name: str) -> bool:
    """Whether a temporary file was left by a writer that died.

    Parameters
    ----------
    name : str
        A file name, ``.<name>.h5.<host>-<pid>.<random>.tmp`` as :func:`private_tmp` makes them.

    Returns
    -------
    bool
        True if the host is this one and no process ``pid`` runs here; False for any other name,
        another host's file (a shared file system: that writer may be alive) or a live process.
    """
    m = _TMP_WRITER.search(name)
    if m is None or m["host"] != _host_tag():
        return False  # another host's writer (a shared file system) may be alive: leave it to age
    pid = int(m["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, someone else's
        return False
    return False


def private_tmp(directory: Path, name: str, suffix: str = ".tmp", mode: int | None = None) -> tuple[Path, int]:
    """Create an empty temporary file for ``name`` in ``directory``, safely.

    Parameters
    ----------
    directory : Path
        Where the file will be published (the temporary file must be on the same file system).
    name : str
        The final file name; the temporary file is hidden, ``.<name>.<host>-<pid>.<random><suffix>``.
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
    # host and pid in the name: the next writer on this host removes it at once if this
    # process dies (kill -9) before publishing (see remove_stale_tmp); the random part keeps it
    # unpredictable.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.{_writer_tag()}.", suffix=suffix)
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


@contextlib.contextmanager
def h5_image_to(tmp: Path, ino: int, **kwargs: Any) -> Iterator[h5py.File]:
    """An HDF5 file built in memory and written to ``tmp`` (from :func:`private_tmp`) on success.

    Parameters
    ----------
    tmp : Path
        The temporary file to fill.
    ino : int
        Its inode number (:func:`check_tmp_unchanged` before writing: never a swapped-in link).
    **kwargs
        More arguments of ``h5py.File``.

    Yields
    ------
    h5py.File
        An in-memory file (``driver="core"``, no backing store), named ``tmp``.

    Notes
    -----
    HDF5 that hits a full disk (ENOSPC) half-way leaves objects it can neither flush nor free:
    their deallocation prints tracebacks and the interpreter segfaults at exit (seen: exit 139).
    Built in memory, the file meets the disk in one plain ``write``, whose failure is an ordinary
    ``OSError`` (the cost: the file's size in memory while it is written).
    """
    f = h5py.File(str(tmp), "w", driver="core", backing_store=False, **kwargs)
    try:
        yield f
        f.flush()
        image = f.id.get_file_image()
    finally:
        f.close()
    check_tmp_unchanged(tmp, ino)
    fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0))
    try:
        if os.fstat(fd).st_ino != ino:
            raise OSError(f"{tmp} was replaced while lamina wrote it (not publishing it)")
        view = memoryview(image)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def remove_stale_tmp(directory: str | Path, older_than_s: float = STALE_TMP_S) -> list[Path]:
    """Remove the hidden temporary files that killed lamina writers left in ``directory``.

    Parameters
    ----------
    directory : str or Path
        A results directory.
    older_than_s : float
        Files (or links) not modified for this long are removed: a live writer keeps its
        temporary file fresh, so a concurrent run's write is never touched. Younger ones are
        removed when their name says a process of this host wrote them that no longer runs
        (``.<name>.h5.<host>-<pid>.<random>.tmp``, left by a kill -9 during the write).

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
            if st.st_uid != os.getuid() or (now - st.st_mtime <= older_than_s and not dead_writer_tmp(p.name)):
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
        with h5_image_to(tmp, ino) as f:  # in memory first: a full disk is a clean OSError
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


#: Spike rate (Hz per neuron) assumed by :func:`estimate_run_bytes`: generous (the shipped cards
#: fire tens of Hz; the Prescott refractory period caps a neuron near 300 Hz).
SIZE_RATE_BOUND_HZ = 200.0
_SIZE_OVERHEAD = 1 << 20  # metadata, the resolved spec, HDF5 structure


def estimate_run_bytes(exp) -> int:
    """An upper estimate of the size of ``exp``'s run file, before simulating it.

    Parameters
    ----------
    exp : Experiment
        The validated experiment.

    Returns
    -------
    int
        Bytes: spikes (16 per spike, every neuron at :data:`SIZE_RATE_BOUND_HZ` for the whole run,
        if spikes are recorded), population rates (float32 per bin per layer), traces (float64 per
        step per recorded neuron and variable, before compression), the stimulus, plus 1 MiB.
    """
    dur, dt = float(exp.duration), float(exp.dt)
    n = sum(l.size for l in exp.layers)
    total = _SIZE_OVERHEAD
    if exp.record.spikes:
        total += int(n * dur * SIZE_RATE_BOUND_HZ * 16)
    total += len(exp.layers) * (int(dur / float(exp.record.rate_bin)) + 1) * 4
    total += len(exp.layers) * exp.record.trace_neurons * len(exp.record.trace_vars) * (exp.n_steps + 1) * 8
    if exp.input.kind == "pulse_packet":
        total += len(exp.input.layers) * int(exp.input.params.get("alpha", 0)) * 16
    elif exp.input.kind != "none":
        total += (exp.n_steps + 1) * 8
    return int(total)


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def check_disk_space(directory: str | Path, need_bytes: int, field: str = "-o/--output") -> None:
    """Refuse before simulating when the result will not fit in ``directory``.

    Parameters
    ----------
    directory : str or Path
        The output directory (or, if it does not exist yet, the directory it will be made in).
    need_bytes : int
        What the result needs (:func:`estimate_run_bytes`, summed over runs).
    field : str
        The option named in the error.

    Raises
    ------
    InputError
        ``shutil.disk_usage`` says fewer bytes are free than needed (one line: needed and free).
    """
    import shutil

    probe = Path(directory).absolute()
    while not probe.exists() and probe != probe.parent:  # not created yet: its file system is its parent's
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return  # cannot tell: the write itself will say
    if free < need_bytes:
        raise InputError(field, directory, f"a directory with room for the result: about {_human(need_bytes)} "
                         f"needed (spikes at up to {SIZE_RATE_BOUND_HZ:g} Hz per neuron), {_human(free)} free "
                         "on its file system (free space, or choose another -o)")


def is_disk_full(e: BaseException) -> bool:
    """True if ``e`` (an OSError from h5py or the OS) says the disk or the quota is full."""
    codes = (errno.ENOSPC, getattr(errno, "EDQUOT", -1))
    if isinstance(e, OSError) and e.errno in codes:
        return True
    text = str(e)
    return any(s in text for s in ("No space left on device", "Disk quota exceeded", "errno = 28"))


def short_os_error(e: BaseException) -> str:
    """One short line for an OSError (h5py's messages span lines and quote buffers).

    Parameters
    ----------
    e : BaseException
        The error.

    Returns
    -------
    str
        "No space left on device" / "Disk quota exceeded" for a full disk, else the strerror or
        the message's first 160 characters on one line.
    """
    if is_disk_full(e):
        return "No space left on device" if "quota" not in str(e).lower() else "Disk quota exceeded"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return " ".join(str(e).split())[:160]


def save_raw(result: RunResult, directory: str | Path) -> Path:
    """Keep a simulated run as plain numpy arrays when its run file cannot be written.

    Parameters
    ----------
    result : RunResult
        The run.
    directory : str or Path
        Where to put ``lamina-rescued-<name>_seed<seed>-<random>.npz``.

    Returns
    -------
    Path
        The ``.npz`` (``np.savez``; :func:`load_raw` makes a RunResult of it again, for
        :func:`write_run`). Arrays: ``spikes/<layer>/timestamps`` (ms) and ``node_ids``,
        ``rates/<layer>``, ``traces/<layer>/<var>``, ``stimulus/...``; ``meta``: JSON of the rest.
    """
    arrays: dict[str, np.ndarray] = {}
    for layer, (t, i) in result.spikes.items():
        arrays[f"spikes/{layer}/timestamps"] = np.asarray(t, np.float64)
        arrays[f"spikes/{layer}/node_ids"] = np.asarray(i, np.uint64)
    for layer, r in result.rates.items():
        arrays[f"rates/{layer}"] = np.asarray(r)
    for layer, tr in result.traces.items():
        for var, a in tr.items():
            arrays[f"traces/{layer}/{var}"] = np.asarray(a)
    s = result.stimulus
    for layer in s.packet_ids:
        arrays[f"stimulus/packet/{layer}/node_ids"] = np.asarray(s.packet_ids[layer])
        arrays[f"stimulus/packet/{layer}/times"] = np.asarray(s.packet_times_ms[layer])
        if layer in s.kick_step:
            arrays[f"stimulus/packet/{layer}/kick_step"] = np.asarray(s.kick_step[layer])
    if s.current is not None:
        arrays["stimulus/current"] = np.asarray(s.current)
    meta = {"name": result.name, "config_toml": result.config_toml, "layers": result.layers,
            "rate_dt_ms": result.rate_dt_ms, "duration_ms": result.duration_ms, "trace_dt_ms": result.trace_dt_ms,
            "attrs": result.attrs, "point": result.point,
            "stimulus": {"kind": s.kind, "current_dt_ms": s.current_dt_ms, "attrs": s.attrs}}
    arrays["meta"] = np.array(json.dumps(meta, default=_json_default))
    fd, path = tempfile.mkstemp(dir=directory, prefix=f"lamina-rescued-{default_filename(result)[:-3]}-",
                                suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise
    return Path(path)


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def load_raw(path: str | Path) -> RunResult:
    """The RunResult kept by :func:`save_raw` (write it with :func:`write_run` once there is room).

    Parameters
    ----------
    path : str or Path
        The ``.npz``.

    Returns
    -------
    RunResult
        The run as it was simulated.
    """
    from ..stimulus import Stimulus

    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        keys = set(z.files)
        layers = [l["name"] for l in meta["layers"]]
        spikes = {l: (z[f"spikes/{l}/timestamps"], z[f"spikes/{l}/node_ids"]) for l in layers
                  if f"spikes/{l}/timestamps" in keys}
        rates = {l: z[f"rates/{l}"] for l in layers if f"rates/{l}" in keys}
        traces: dict[str, dict[str, np.ndarray]] = {}
        for k in keys:
            if k.startswith("traces/"):
                _, layer, var = k.split("/", 2)
                traces.setdefault(layer, {})[var] = z[k]
        st = meta["stimulus"]
        stim = Stimulus(st["kind"], current=z["stimulus/current"] if "stimulus/current" in keys else None,
                        current_dt_ms=st["current_dt_ms"], attrs=st["attrs"])
        for k in keys:
            if k.startswith("stimulus/packet/") and k.endswith("/node_ids"):
                layer = k[len("stimulus/packet/"):-len("/node_ids")]
                stim.packet_ids[layer] = z[k]
                stim.packet_times_ms[layer] = z[f"stimulus/packet/{layer}/times"]
                if f"stimulus/packet/{layer}/kick_step" in keys:
                    stim.kick_step[layer] = z[f"stimulus/packet/{layer}/kick_step"]
    return RunResult(name=meta["name"], config_toml=meta["config_toml"], layers=meta["layers"], spikes=spikes,
                     rates=rates, rate_dt_ms=meta["rate_dt_ms"], duration_ms=meta["duration_ms"], stimulus=stim,
                     traces=traces, trace_dt_ms=meta["trace_dt_ms"], attrs=meta["attrs"], point=meta["point"])


def rescue_dirs() -> list[Path]:
    """Where :func:`write_run_or_keep` keeps raw arrays when no fallback directory is given, in
    order: the temporary directory, ``/dev/shm`` (memory: survives until reboot), the home directory."""
    out = [Path(tempfile.gettempdir()), Path("/dev/shm"), Path.home()]
    return [d for i, d in enumerate(out) if d.is_dir() and d not in out[:i]]


def write_run_or_keep(result: RunResult, out: str | Path, filename: str | None = None,
                      fallback_dir: str | Path | None = None) -> Path:
    """:func:`write_run`, and if that fails (a full disk …), keep the simulated data elsewhere.

    Parameters
    ----------
    result : RunResult
        The simulated run.
    out : str or Path
        The output directory.
    filename : str, optional
        As for :func:`write_run`.
    fallback_dir : str or Path, optional
        Where to write the run file instead; default ``$LAMINA_FALLBACK_DIR``. Without either (or
        when that fails too), the arrays are saved by :func:`save_raw` in the first of
        :func:`rescue_dirs` that takes them.

    Returns
    -------
    Path
        The run file in ``out`` (the normal case).

    Raises
    ------
    WriteFailed
        ``out`` could not take the file; ``kept`` is where the data went (a run file in the
        fallback directory, a ``.npz``, or None if nothing could hold them). One line.
    """
    from ..errors import WriteFailed

    try:
        return write_run(result, out, filename)
    except OSError as e:
        why = short_os_error(e)
        first = f"writing the run file into {out} failed ({why})"
    fallback = fallback_dir or os.environ.get("LAMINA_FALLBACK_DIR") or None
    tried = []
    if fallback:
        try:
            Path(fallback).mkdir(parents=True, exist_ok=True)
            kept = write_run(result, fallback, filename)
            raise WriteFailed(f"{first}; the run was written to {kept} instead", kept)
        except OSError as e2:
            tried.append(f"{fallback}: {short_os_error(e2)}")
    for d in rescue_dirs():
        try:
            kept = save_raw(result, d)
        except OSError as e3:
            tried.append(f"{d}: {short_os_error(e3)}")
            continue
        hint = "" if fallback else "; --fallback-dir DIR or $LAMINA_FALLBACK_DIR writes the run file elsewhere"
        raise WriteFailed(f"{first}; the simulated data are kept in {kept} (lamina.store.run.load_raw reads "
                          f"them back, write_run writes the run file){hint}"
                          + (f" [also failed: {'; '.join(tried)}]" if tried else ""), kept)
    raise WriteFailed(f"{first}; the simulated data could not be kept anywhere ({'; '.join(tried)})", None)


class _LazyGroup(Mapping):
    """One per-layer group of a run file (``/spikes`` or ``/rates``) as a read-only mapping read
    from the file on first use, all layers at once: figures that read only ``/analysis`` never
    touch the arrays (reading them was most of what remained of :func:`open_run`'s cost once
    ``/analysis`` came from its JSON text). The file is replaced only atomically and with the
    same arrays (``lamina analyze``), so a later read gives what an eager one would have."""

    def __init__(self, path: Path, group: str, names: list[str], read: Callable[[Any], Any]):
        self._path, self._group, self._names, self._read = path, group, tuple(names), read
        self._data: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            try:
                f = h5py.File(self._path, "r", locking=False)
            except OSError:  # open elsewhere in this process with HDF5's default locking (a notebook)
                f = h5py.File(self._path, "r")
            with f:
                g = f[self._group]
                self._data = {k: self._read(g[k]) for k in self._names}
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __repr__(self) -> str:
        return f"<{self._group} of {self._path.name}: {', '.join(self._names)}{'' if self._data else ' (not read yet)'}>"


def _spike_pair(g: h5py.Group) -> tuple[np.ndarray, np.ndarray]:
    return g["timestamps"][()], g["node_ids"][()]


def _array(d: h5py.Dataset) -> np.ndarray:
    return d[()]


@dataclass
class RunData:
    """A run read back from HDF5: numpy arrays, times in ms (``spikes`` and ``rates`` are read-only
    mappings that read the file's arrays on first use)."""

    path: Path
    attrs: dict
    layers: list[dict]
    spikes: Mapping[str, tuple[np.ndarray, np.ndarray]]
    rates: Mapping[str, np.ndarray]
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

    def to_neo(self, by: str = "neuron"):
        """The spikes as a ``neo.Block`` (one Segment; a SpikeTrain per neuron or per layer, ms,
        annotated with layer, neuron, seed, lamina_version): :func:`lamina.store.export.to_neo`.
        Needs the optional ``export`` extra (neo, quantities)."""
        from .export import to_neo

        return to_neo(self, by)

    def experiment(self):
        """The validated Experiment that produced this run (to re-run it)."""
        from ..config import experiment_from_dict

        return experiment_from_dict(recorded_spec(self.config, self.attrs.get("lamina_version")))


def noise_before_0_3(lamina_version: Any) -> bool:
    """True for a file written by lamina < 0.3, whose runs drew their noise from Brian2's ``xi``
    (the only generator then, so its resolved spec does not name one)."""
    try:
        major, minor = (int(x) for x in str(lamina_version).split(".")[:2])
    except ValueError:
        return False
    return (major, minor) < (0, 3)


def recorded_spec(config: dict, lamina_version: Any) -> dict:
    """A run file's resolved spec as it ran: ``simulation.noise = "brian2"`` where a file of lamina
    < 0.3 does not name the generator (the default changed in 0.3)."""
    if "noise" in config.get("simulation", {}) or not noise_before_0_3(lamina_version):
        return config
    return {**config, "simulation": {**config["simulation"], "noise": "brian2"}}


def _read_group(g: h5py.Group) -> dict:
    out: dict[str, Any] = dict(g.attrs)
    for k, v in g.items():
        out[k] = _read_group(v) if isinstance(v, h5py.Group) else v[()]
    return out


#: ``/analysis`` dataset holding every per-layer scalar as one JSON text. HDF5 opens each object
#: separately: the ~400 scalar datasets of a 17-layer run took ~70 ms to read, so a figure over
#: 1 080 runs spent ~2 minutes in h5py (docs/benchmarks.md, run 8); one text reads in ~0.1 ms.
#: The scalar datasets stay (units and method attributes, readable by any HDF5 tool).
NUMBERS_JSON = "_numbers_json"


def _numbers_from_json(g: h5py.Group) -> dict[str, dict[str, float]] | None:
    """The per-layer scalars of an ``/analysis`` group from its JSON copy (None if it has none)."""
    if NUMBERS_JSON not in g:
        return None
    return json.loads(g[NUMBERS_JSON].asstr()[()])


def _read_analysis(g: h5py.Group) -> dict:
    """An ``/analysis`` group as :func:`_read_group` reads it (attributes, one dict per layer of
    float64 scalars, ``filter`` arrays), from the JSON copy of the scalars where there is one."""
    numbers = _numbers_from_json(g)
    if numbers is None:
        return _read_group(g)
    out: dict[str, Any] = dict(g.attrs)
    for layer, d in numbers.items():
        out[layer] = {k: np.float64(v) for k, v in d.items()}
        if f"{layer}/filter" in g:
            out[layer]["filter"] = _read_group(g[layer]["filter"])
    return out


def open_run(path: str | Path) -> RunData:
    """Read a run file written by :func:`write_run` (into memory; the spike and rate arrays when
    first used).

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
        sorting = {k: sorting_name(g.attrs.get("sorting", "none")) for k, g in f["spikes"].items()}
        spikes = _LazyGroup(path, "spikes", list(sorting), _spike_pair)
        rate_names = list(f["rates"])
        rates = _LazyGroup(path, "rates", rate_names, _array)
        rate_dt = float(f["rates"][rate_names[0]].attrs["dt_ms"]) if rate_names else 0.0
        traces = {k: {v: d[()] for v, d in g.items()} for k, g in f["traces"].items()} if "traces" in f else {}
        stimulus = _read_group(f["stimulus"])
        if "current" in f["stimulus"]:
            stimulus["current_dt_ms"] = float(f["stimulus/current"].attrs["dt_ms"])
            stimulus["current_units"] = str(f["stimulus/current"].attrs["units"])
        return RunData(path, attrs, layers, spikes, rates, rate_dt, stimulus,
                       f["config"].attrs["toml"], json.loads(f["config"].attrs["point"]), traces,
                       _read_analysis(f["analysis"]) if "analysis" in f and _current_analysis(f["analysis"]) else {},
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
ANALYSIS_VERSION = 4  # 3: window-free packet measures and per-layer transfer entropy (issue 13); 4: 512-ms Welch segments


def _current_analysis(g: h5py.Group) -> bool:
    return int(g.attrs.get("analysis_version", 1)) == ANALYSIS_VERSION


def write_analysis(path: str | Path, per_layer: dict[str, dict[str, float]], params: dict[str, Any],
                   filters: dict[str, dict[str, np.ndarray]] | None = None,
                   meta: dict[str, tuple[str, str]] | None = None) -> None:
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
    meta : dict, optional
        name -> (units, method) of scalars that :data:`ANALYSIS_META` does not list (the analysis
        modules that compute them own their names: ``readout.FREE_META``, ``transfer.TRANSFER_META``).

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
        with h5py.File(path, "r", locking=False) as src, h5_image_to(tmp, ino, track_order=True) as f:
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
                    units, method = (meta or {}).get(name) or ANALYSIS_META.get(name, ("", ""))
                    d.attrs.update(units=units, method=method)
                for name, arr in (filters or {}).get(layer, {}).items():
                    lg.create_dataset(f"filter/{name}", data=arr)
            g.create_dataset(NUMBERS_JSON, data=json.dumps(
                {str(layer): {name: float(v) for name, v in numbers.items()} for layer, numbers in per_layer.items()}))
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
            numbers = _numbers_from_json(f["analysis"])
            if numbers is not None:
                return {f"{layer}.{name}": v for layer, d in numbers.items() for name, v in d.items()}
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
