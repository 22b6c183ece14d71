"""Run files into the formats other tools read: Neo objects (Elephant, the Neo IOs) and CSV.

::

    lamina export results/quickstart/quickstart_seed4321.h5 --to neo    # → ..._seed4321.neo.pkl
    lamina export results/quickstart/quickstart_seed4321.h5 --to csv -o spikes.csv

    block = lamina.open_run(path).to_neo()          # one Segment, one SpikeTrain per neuron
    block = lamina.open_run(path).to_neo(by="layer")  # one SpikeTrain per layer (neuron ids per spike)

Neo and quantities are optional (``pip install 'lamina[export]'``). NWB: not written directly
(see the README); neo's ``NWBIO`` writes a Block from :func:`to_neo` where pynwb is installed.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, InputError

if TYPE_CHECKING:
    from .run import RunData

#: what ``lamina export --to`` accepts, and the default file suffix of each
FORMATS = {"neo": ".neo.pkl", "csv": ".csv"}


def _neo():
    try:
        import neo
        import quantities as pq
    except ImportError:
        raise ConfigError("--to", "neo", "needs the optional packages neo and quantities "
                          "(pip install 'lamina[export]')") from None
    return neo, pq


def to_neo(run: "RunData", by: str = "neuron") -> Any:
    """The spikes of a run as a ``neo.Block`` with one ``Segment``.

    Parameters
    ----------
    run : RunData
        A run read by :func:`lamina.store.run.open_run`.
    by : {"neuron", "layer"}
        ``"neuron"``: one ``SpikeTrain`` per neuron of every layer (silent neurons included, so
        ``len`` equals the network size), grouped per layer in ``block.groups``; ``"layer"``: one
        ``SpikeTrain`` per layer holding all its spikes, with the neuron of each spike in the
        array annotation ``neuron``.

    Returns
    -------
    neo.Block
        Times in ms, ``t_start`` 0 and ``t_stop`` the run's duration. Every SpikeTrain is annotated
        with ``layer``, ``cell``, ``layer_index``, ``seed``, ``lamina_version`` and (per neuron)
        ``neuron`` (index within the layer); the Block with the run's ``name``, ``seed``,
        ``structure_key``, ``backend``, ``lamina_version`` and ``file``.

    Raises
    ------
    ConfigError
        ``by`` is not one of the two, or neo / quantities are not installed.
    """
    if by not in ("neuron", "layer"):
        raise ConfigError("by", by, "neuron or layer")
    neo, pq = _neo()
    a = run.attrs
    t_stop = float(a.get("duration_ms", 0.0))
    common = {"seed": int(a.get("seed", 0)), "lamina_version": str(a.get("lamina_version", ""))}
    block = neo.Block(name=str(a.get("name", run.path.stem)), file_origin=str(run.path),
                      structure_key=str(a.get("structure_key", "")), backend=str(a.get("backend", "")),
                      file=str(run.path), **common)
    seg = neo.Segment(name="run", **common)
    block.segments.append(seg)
    for z, layer in enumerate(run.layers):
        name = layer["name"]
        t, ids = run.spikes.get(name, (np.zeros(0), np.zeros(0, np.uint64)))
        t = np.asarray(t, np.float64)
        ids = np.asarray(ids, np.int64)
        meta = {"layer": name, "cell": str(layer.get("cell", "")), "layer_index": z, **common}
        if by == "layer":
            st = neo.SpikeTrain(t * pq.ms, t_start=0 * pq.ms, t_stop=t_stop * pq.ms, name=name,
                                array_annotations={"neuron": ids}, n_neurons=int(layer["size"]), **meta)
            seg.spiketrains.append(st)
            block.groups.append(neo.Group([st], name=name, **meta))
            continue
        # stable sort by neuron keeps each train in time order (the file is sorted by time)
        order = np.argsort(ids, kind="stable")
        cuts = np.searchsorted(ids[order], np.arange(int(layer["size"]) + 1))
        trains = []
        for k in range(int(layer["size"])):
            tk = t[order[cuts[k]:cuts[k + 1]]]
            trains.append(neo.SpikeTrain(tk * pq.ms, t_start=0 * pq.ms, t_stop=t_stop * pq.ms,
                                         name=f"{name}[{k}]", neuron=k, **meta))
        seg.spiketrains.extend(trains)
        block.groups.append(neo.Group(trains, name=name, **meta))
    return block


def spike_rows(run: "RunData"):
    """(layer, neuron, t_ms) for every spike: layers in network order, each by time.

    Parameters
    ----------
    run : RunData
        The run.

    Yields
    ------
    tuple of (str, int, float)
    """
    for layer in run.layers:
        t, ids = run.spikes.get(layer["name"], (np.zeros(0), np.zeros(0, np.uint64)))
        for tk, ik in zip(np.asarray(t, np.float64).tolist(), np.asarray(ids, np.int64).tolist()):
            yield layer["name"], ik, tk


def _publish(tmp: Path, ino: int, out: Path) -> None:
    from .run import check_tmp_unchanged

    check_tmp_unchanged(tmp, ino)
    os.link(tmp, out, follow_symlinks=False)  # fails rather than replace what is there


def export_run(path: str | Path, to: str, out: str | Path | None = None, by: str = "neuron") -> Path:
    """Write a run file's spikes as ``to`` (``neo``: a pickled ``neo.Block``; ``csv``).

    Parameters
    ----------
    path : str or Path
        A lamina run file.
    to : {"neo", "csv"}
        The format.
    out : str or Path, optional
        The file to write (default: next to the run file, with suffix ``.neo.pkl`` / ``.csv``);
        never overwritten.
    by : {"neuron", "layer"}
        For neo: one SpikeTrain per neuron or per layer (:func:`to_neo`).

    Returns
    -------
    Path
        The file written (atomically: a hidden temporary file, then linked into place).

    Raises
    ------
    ConfigError, InputError
        Unknown format, not a run file, an existing or unwritable output (one line; nothing written).
    """
    from .run import open_run, private_tmp

    if to not in FORMATS:
        hint = " (NWB: see the README — neo's NWBIO writes the Block of lamina.open_run(path).to_neo())" \
            if str(to).lower() == "nwb" else ""
        raise ConfigError("--to", to, f"one of {', '.join(FORMATS)}{hint}")
    path = Path(path)
    if not path.is_file():
        raise InputError("run", path, "an existing lamina run file (no such file)")
    try:
        run = open_run(path)
    except (OSError, ValueError, KeyError) as e:
        raise InputError("run", path, f"a readable lamina run file ({' '.join(str(e).split())[:160]})") from None
    if to == "neo":
        block = to_neo(run, by)  # before anything is written: neo missing → one line
    target = Path(out) if out else path.with_name(path.name[:-3] + FORMATS[to] if path.name.endswith(".h5")
                                                   else path.name + FORMATS[to])
    if target.exists() or target.is_symlink():
        raise InputError("-o/--output", target, "a file that does not exist yet (lamina export never overwrites)")
    if not target.parent.is_dir():
        raise InputError("-o/--output", target, "a path in an existing directory")
    try:
        tmp, ino = private_tmp(target.parent, target.name, suffix=".export.tmp")
    except OSError as e:
        raise InputError("-o/--output", target, f"a writable location ({e.strerror})") from None
    try:
        if to == "csv":
            with open(tmp, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["layer", "neuron", "t_ms"])
                w.writerows((l, n, repr(t)) for l, n, t in spike_rows(run))
        else:
            import pickle

            with open(tmp, "wb") as f:
                # the format of neo.io.PickleIO: read back with neo.io.PickleIO(path).read_block()
                pickle.dump(block, f)
        _publish(tmp, ino, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
