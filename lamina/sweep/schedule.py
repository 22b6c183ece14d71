"""Parameter sweeps: compile once per structure, run many points in parallel, resumable.

::

    lamina sweep sims/figA2_small.toml --workers 2              # local worker processes
    lamina sweep sims/figA2_small.toml --scheduler tcp://host:8786   # a running Dask scheduler
    lamina sweep sims/figA2_small.toml                          # again: runs only what is missing

    import lamina.sweep as ls
    summary = ls.run_sweep(lamina.load_experiment("sims/figA2_small.toml"), workers=2)
    df = ls.open_sweep(summary.out).to_dataframe()

One code path for both executors: a Dask ``distributed`` client, either on a ``LocalCluster`` of
single-threaded worker processes (default) or on the scheduler given. Each run is one task;
tasks are ordered by structure key, so every worker process runs the points of one structure
consecutively and keeps that compiled program loaded (lamina.backends: compiled once per
structure into $LAMINA_CACHE, copied privately per process, never recompiled per point).

Outputs in the sweep directory (default ``results/<name>``):

* ``runs/<run_id>.h5`` — one run file per point × repeat, written atomically by the worker;
* ``sweep.h5`` — the index (:mod:`lamina.store.sweep_index`), rewritten atomically as runs finish.

A run is done iff its file exists, is readable, has the expected seed and was made by the same
compiled model (structure key); a new invocation runs only the others (failed runs included), so
an interrupted sweep (Ctrl-C, SIGKILL, a lost node) is completed by running the same command again.
See docs/sweeps.md.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import Experiment, dumps_toml
from ..errors import InputError
from ..store.run import is_disk_full, read_run_status, short_os_error
from ..store.sweep_index import RUNS_DIR, Sweep, iter_stale_tmp, open_sweep, write_index
from .expand import SweepPoint, derive_seed, expand_sweep, run_id, swept_paths

__all__ = ["expand_sweep", "run_sweep", "open_sweep", "Sweep", "SweepPoint", "SweepSummary",
           "derive_seed", "run_id", "default_workers", "run_task", "start_client", "shutdown_client",
           "directory_lock"]

INDEX_INTERVAL_S = 2.0  # rewrite sweep.h5 at most this often while runs finish (and at the end)
_ERROR_MAX = 2000


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did."""

    out: Path
    n_runs: int
    n_skipped: int  # already done before this invocation
    n_ok: int  # ok in total (skipped included)
    n_failed: int
    failures: list[dict] = field(default_factory=list)  # {point_id, values, repeat, seed, error}
    wall_s: float = 0.0
    records: list[dict] = field(default_factory=list)  # what the workers returned (this invocation)
    #: why scheduling stopped early ("" if it did not): a run file could not be written (full disk)
    stopped: str = ""
    n_pending: int = 0  # runs not done (never started, or cancelled when scheduling stopped)

    @property
    def ok(self) -> bool:
        return self.n_failed == 0 and self.n_ok == self.n_runs

    def open(self) -> Sweep:
        return open_sweep(self.out)


# ---------------------------------------------------------------------------------------------
# Worker side

_PROCESS_LOCK = threading.Lock()  # one simulation at a time per process (Brian2's device is global)


def run_task(task: dict) -> list[dict]:
    """Run one batch of points (``task["points"]``, of one structure) in this (worker) process and
    write one run file per point. Never raises for a failed simulation: a failed batch is re-run
    point by point, so one bad point fails alone, and each error is returned in its record."""
    t0 = time.perf_counter()
    points = task["points"]
    with _PROCESS_LOCK:
        wait = time.perf_counter() - t0
        try:
            recs = _simulate_and_write(points, task.get("pad", 0))
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            if len(points) == 1 or is_disk_full(e):  # a full disk fails every point alike: no retries
                recs = [_failed(p, e, t0) for p in points]
            else:  # failure isolation: each point alone
                recs = []
                for p in points:
                    try:
                        recs += _simulate_and_write([p], 0)
                    except BaseException as e1:  # noqa: BLE001
                        if isinstance(e1, (KeyboardInterrupt, SystemExit)):
                            raise
                        recs.append(_failed(p, e1, t0))
    for rec in recs:
        rec.update(task_wait_s=wait, task_s=time.perf_counter() - t0, host=_host(), pid=os.getpid())
    return recs


def _failed(point: dict, e: BaseException, t0: float) -> dict:
    full = is_disk_full(e)
    # h5py's disk-full messages span lines and quote buffer addresses: one short line instead
    msg = f"{type(e).__name__}: writing the run file failed ({short_os_error(e)})" if full else f"{type(e).__name__}: {e}".strip()
    return {"point_id": point["run_id"], "status": "failed", "error": msg[:_ERROR_MAX], "file": "",
            "wall_time_s": time.perf_counter() - t0, "compiled": None, "disk_full": full}


def _host() -> str:
    import socket

    return socket.gethostname()


def _simulate_and_write(points: list[dict], pad: int) -> list[dict]:
    from ..config import experiment_from_dict
    from ..store.results import simulate_and_write_batch

    t0 = time.perf_counter()
    exps = [experiment_from_dict(p["spec"]) for p in points]
    names = [p.get("filename") or f"{p['run_id']}.h5" for p in points]
    extra = [{"sweep_name": p["sweep"], "sweep_point_id": p["run_id"], "sweep_point": p["point"],
              "sweep_repeat": p["repeat"], "sweep_host": _host(), "sweep_pid": os.getpid(),
              # which GPU a worker process holds (brian2cuda programs use the first visible one)
              "sweep_cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", "")} for p in points]
    written = simulate_and_write_batch(exps, points[0]["runs_dir"], names, points=[p["values"] for p in points],
                                       attrs=extra, pad=pad)
    recs = []
    for p, (path, a) in zip(points, written):
        recs.append({"point_id": p["run_id"], "status": "ok", "error": "", "file": f"{RUNS_DIR}/{path.name}",
                     "wall_time_s": float(a["wall_time_s"]), "compiled": bool(a["compiled"]),
                     "build_time_s": float(a["build_time_s"]), "run_time_s": float(a["run_time_s"]),
                     "loop_s": float(a["loop_time_s"]), "binary_s": float(a["binary_time_s"]),
                     "write_s": float(a["write_s"]), "point_s": time.perf_counter() - t0,
                     "structure_key": a["structure_key"], "batch_size": int(a["batch_size"])})
    return recs


# ---------------------------------------------------------------------------------------------
# Client side


def default_workers() -> int:
    """Worker processes by default: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover — not Linux
        return max(1, os.cpu_count() or 1)


def directory_lock(out: Path, command: str = "sweep"):
    """Hold ``out/.<command>.lock`` (a sweep's or a search's output directory) or raise
    :class:`InputError` at once if another ``lamina <command>`` holds it."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(out / f".{command}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise InputError("-o/--output", out, f"a {command} directory that no other `lamina {command}` "
                          "is running in right now (it is locked)") from None
    return lock


def _lock(out: Path):
    return directory_lock(out, "sweep")


def _structure_keys(points: list[SweepPoint]) -> dict[str, str]:
    """run_id -> structure key. Computed once per group of points whose specs differ only in
    values that lamina sets at run time (seed, cell parameters, input values other than kind and
    target layers), which makes large sweeps cheap to plan."""
    from ..backends import structure_key

    memo: dict[str, str] = {}
    out = {}
    for p in points:
        spec = dict(p.spec)
        spec.pop("cells", None)
        spec["simulation"] = {k: v for k, v in spec["simulation"].items() if k != "seed"}
        spec["input"] = {k: v for k, v in spec.get("input", {}).items() if k in ("kind", "layers")}
        net = dict(spec["network"])
        net["layers"] = [{k: v for k, v in l.items() if k != "params"} if isinstance(l, dict) else l
                         for l in net.get("layers", [])]
        if isinstance(net.get("inhibition"), dict):
            net["inhibition"] = {k: v for k, v in net["inhibition"].items() if k != "params"}
        spec["network"] = net
        fp = json.dumps(spec, sort_keys=True, default=str)
        if fp not in memo:
            memo[fp] = structure_key(p.experiment)
        out[p.run_id] = memo[fp]
    return out


def start_client(workers: int | None, scheduler: str | None, quiet: bool):
    """(client, cluster or None): a Dask client on ``workers`` local processes (one thread each)
    or on the running ``scheduler``. Shared by sweeps and searches; end it with :func:`shutdown_client`."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise InputError("--scheduler", scheduler, f"the address of a running Dask scheduler ({e})") from None
        return client, None
    n = workers or default_workers()
    # A point that kills its worker process is retried once on another worker, then recorded.
    # silence_logs=CRITICAL (workers and this process): a worker whose heartbeat finds the
    # scheduler already gone while the cluster shuts down logs a 30-line traceback at ERROR level
    # ("Failed to communicate with scheduler during heartbeat") after a perfectly good sweep.
    # What matters reaches us anyway: a failed or killed point is recorded and reported per point.
    # dashboard_address ":0": the scheduler's HTTP server on a free port (None still tries 8787
    # and warns when another sweep holds it)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.CRITICAL, host="127.0.0.1",
                           scheduler_kwargs={"allowed_failures": 1})
    client = Client(cluster)
    client.run(_own_process_group)
    return client, cluster


def _own_process_group() -> None:
    """Local workers leave the terminal's process group: Ctrl-C reaches only the sweep process,
    which saves the index and stops the workers (instead of every worker printing a traceback).
    SIGKILL of the sweep process still ends them: Dask workers exit when their parent dies.
    A worker that stops takes its running simulation program with it, and its loggers are quiet."""
    with contextlib.suppress(OSError):
        os.setpgrp()
    # A worker stopped while it simulates (Ctrl-C of the sweep: the cluster closes its workers)
    # takes the running simulation program with it instead of leaving it orphaned, running on
    # for the rest of its simulation: on exit and on SIGTERM.
    import atexit
    import multiprocessing.util

    atexit.register(_kill_children)
    # a worker is a multiprocessing child: it ends through os._exit, after these finalizers only
    multiprocessing.util.Finalize(None, _kill_children, exitpriority=100)

    def on_term(signum, frame):
        _kill_children()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    with contextlib.suppress(ValueError, OSError):  # ValueError: not called in the main thread
        signal.signal(signal.SIGTERM, on_term)
    import logging

    # the workers' own shutdown noise (heartbeats to a closed scheduler, streams closed mid-task)
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _kill_children() -> None:
    """SIGKILL this process's child processes (in a worker: the simulation programs it runs)."""
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:  # pragma: no cover — not Linux
        return
    for tid in tids:
        try:
            kids = Path(f"/proc/self/task/{tid}/children").read_text().split()
        except OSError:
            continue
        for k in kids:
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(k), signal.SIGKILL)


def _check_workers(client, log: Callable[[str], None]) -> None:
    try:
        workers = client.scheduler_info().get("workers", {})
    except Exception:  # noqa: BLE001 — informational only
        return
    threaded = [w for w in workers.values() if int(w.get("nthreads", 1)) > 1]
    if threaded:
        log(f"lamina: note: {len(threaded)} Dask worker(s) have more than one thread; lamina runs one "
            "simulation at a time per worker process (start workers with --nthreads 1 and more processes)")
    if not workers:
        log("lamina: the scheduler has no workers yet; runs start when workers join")


def run_sweep(exp: Experiment, out: str | Path | None = None, *, workers: int | None = None,
              scheduler: str | None = None, client=None, progress: bool = True,
              on_result: Callable[[dict], None] | None = None, spec_path: str | None = None,
              overrides: dict | None = None, log: Callable[[str], None] | None = None,
              index_interval: float = INDEX_INTERVAL_S, scale: str | None = None, batch: int | None = None,
              resources: dict[str, float] | None = None) -> SweepSummary:
    """Run every point × repeat of ``exp``'s [sweep] table that is not done yet.

    Executor: ``client`` (a ``distributed.Client`` you made), else ``scheduler`` (address of a
    running Dask scheduler), else a local cluster of ``workers`` single-threaded processes
    (default: the number of cores). Results go to ``out`` (default ``results/<name>``).
    ``on_result(record)`` is called in this process for every run that finishes.
    ``spec_path``, ``overrides`` and ``scale`` are only recorded (for `Sweep.rerun_command`).
    ``batch``: runs of one structure simulated together in one program (default: ``[sweep] batch``,
    else :func:`batch_sizes`). ``resources``: Dask worker resources each batch needs, e.g.
    ``{"GPU": 1}`` for workers started with ``--resources GPU=1`` (one GPU per worker process).
    """
    with _interruptible():
        return _run_sweep(exp, out, workers, scheduler, client, progress, on_result, spec_path, overrides,
                          log, index_interval, scale, batch, resources)


@contextlib.contextmanager
def _interruptible():
    """SIGINT and SIGTERM (Ctrl-C, scancel, a batch system's time limit) → KeyboardInterrupt in
    this process, whatever handler Brian2 installed, so the index is saved and workers stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _run_sweep(exp, out, workers, scheduler, client, progress, on_result, spec_path, overrides, log,
               index_interval, scale, batch=None, resources=None) -> SweepSummary:
    t_start = time.perf_counter()
    if log is None:
        log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    points = expand_sweep(exp)
    paths = swept_paths(exp)
    out = Path(out) if out is not None else Path("results") / exp.name
    runs_dir = out / RUNS_DIR
    runs_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(out)
    try:
        for stale in iter_stale_tmp([out, runs_dir], older_than_s=120.0):
            stale.unlink(missing_ok=True)
        meta = {"name": exp.name, "spec_toml": dumps_toml(exp.spec),
                "spec_path": str(Path(spec_path).resolve()) if spec_path else "",
                "overrides": overrides or {}, "scale": scale or "", "base_seed": exp.seed,
                "seeds": int(exp.sweep.get("seeds", 1)), "seed_mode": exp.sweep.get("seed_mode", "independent")}
        from .._version import __version__

        meta["lamina_version"] = __version__
        keys = _structure_keys(points)
        rows: dict[str, dict] = {}
        filenames: dict[str, str] = {}  # run id -> file name for runs still to do
        pending: list[SweepPoint] = []
        for p in points:
            row = {"point_id": p.run_id, "point": p.index, "repeat": p.repeat, "values": p.values,
                   "seed": p.seed, "status": "pending", "error": "", "wall_time_s": None, "file": "",
                   "structure_key": keys[p.run_id], "overrides": json.dumps(p.values)}
            # runs/<id>.h5, or runs/<id>_<structure key>.h5 when <id>.h5 holds the result of an
            # older program (changed cell card, lamina or Brian2 version): kept, never replaced.
            names = [p.filename, f"{p.run_id}_{keys[p.run_id]}.h5"]
            filenames[p.run_id] = names[0]
            for name in names:
                path = runs_dir / name
                if not path.exists():
                    continue
                status, wall = read_run_status(path, p.seed, keys[p.run_id])
                if status == "ok":
                    row.update(status="ok", wall_time_s=wall, file=f"{RUNS_DIR}/{name}")
                    break
                if status == "bad":  # not a readable run file (not written by lamina): move it aside
                    path.rename(path.with_name(f"{name}.invalid-{uuid.uuid4().hex[:6]}"))
                elif name == names[0]:
                    filenames[p.run_id] = names[1]
            if row["status"] != "ok":
                pending.append(p)
            rows[p.run_id] = row
        n_skipped = len(points) - len(pending)
        log(f"lamina: {len(points)} runs in {len(set(keys.values()))} structure(s), {n_skipped} already done")

        def save() -> None:
            write_index(out, meta, list(rows.values()), paths)

        save()
        records: list[dict] = []
        stopped: list[str] = []
        if pending:
            sizes = batch_sizes(points, keys, batch or exp.sweep.get("batch"))
            if max(sizes.values()) > 1:
                log(f"lamina: batches of {'/'.join(str(n) for n in dict.fromkeys(sizes.values()))} runs per "
                    "compiled program")
            _execute(exp, pending, keys, filenames, rows, records, runs_dir, save, workers, scheduler, client,
                     progress, on_result, log, n_skipped, len(points), index_interval, sizes, resources, stopped)
        save()
    finally:
        lock.release()
    failed = [r for r in rows.values() if r["status"] == "failed"]
    return SweepSummary(out=out, n_runs=len(points), n_skipped=n_skipped,
                        n_ok=sum(r["status"] == "ok" for r in rows.values()), n_failed=len(failed),
                        failures=[{k: r[k] for k in ("point_id", "point", "repeat", "values", "seed", "error")}
                                  for r in failed],
                        wall_s=time.perf_counter() - t_start, records=records, stopped=stopped[0] if stopped else "",
                        n_pending=sum(r["status"] == "pending" for r in rows.values()))


def _batches(pending: list[SweepPoint], keys: dict[str, str],
             sizes: dict[str, int]) -> list[tuple[list[SweepPoint], int]]:
    """Consecutive points of one structure in chunks of its batch size; a last, shorter chunk is
    padded (the count is returned) so every chunk of a structure runs in the same compiled program."""
    out: list[tuple[list[SweepPoint], int]] = []
    run: list[SweepPoint] = []
    for p in pending + [None]:
        size = sizes[keys[run[0].run_id]] if run else 0
        if run and (p is None or keys[p.run_id] != keys[run[0].run_id] or len(run) == size):
            out.append((run, size - len(run) if size > 1 else 0))
            run = []
        if p is not None:
            run.append(p)
    return out


def default_batch(exp: Experiment) -> int:
    """Replicas per batch when neither ``--batch`` nor ``[sweep] batch`` says, measured per backend
    (docs/benchmarks.md): cpp 1 (batches of 4–32 ran 4–6 % slower per core than single runs);
    cuda as many as make ~1.6 million neurons (a batch of 126 × 13 000 neurons filled an H200's
    loop at 6–11 × 10^9 neuron-steps/s; fewer neurons leave it launch-bound)."""
    from ..backends import resolve

    neurons = sum(l.size for l in exp.layers)
    per_batch = BATCH_NEURONS.get(resolve(exp, 1))
    return max(1, per_batch // neurons) if per_batch else 1


def even_batch(n: int, per: int) -> int:
    """The batch size for ``n`` runs of one structure in equal batches of about ``per`` (the
    backend's size, :func:`default_batch`; at most ~1.5 × ``per``). Chunks of ``per`` itself would
    pad the last batch with replicas that are simulated and thrown away: a 15-run sweep of
    7 × 1000 neurons on cuda (``per`` 228) simulated 228 replicas, 15 times the work."""
    if per <= 1 or n <= 1:
        return 1
    return -(-n // max(1, round(n / per)))


def batch_sizes(points: list[SweepPoint], keys: dict[str, str], batch: int | None = None) -> dict[str, int]:
    """Runs per compiled program for each structure key of a sweep: ``batch`` where given (``--batch``,
    ``[sweep] batch``), else :func:`even_batch` of the structure's number of runs — counted over all
    points, not only those still to run, so a resumed sweep runs the same programs."""
    counts: dict[str, int] = {}
    first: dict[str, SweepPoint] = {}
    for p in points:
        k = keys[p.run_id]
        counts[k] = counts.get(k, 0) + 1
        first.setdefault(k, p)
    if batch:
        return {k: int(batch) for k in counts}
    return {k: even_batch(n, default_batch(first[k].experiment)) for k, n in counts.items()}


#: neurons per batch by backend when the batch size is not given (docs/benchmarks.md: why)
BATCH_NEURONS = {"cuda": 1_600_000}


def _execute(exp, pending, keys, filenames, rows, records, runs_dir, save, workers, scheduler, client,
             progress, on_result, log, n_skipped, n_total, index_interval, sizes: dict[str, int],
             resources=None, stopped: list[str] | None = None) -> None:
    from distributed import as_completed

    from tqdm.auto import tqdm

    # Structures in order of first appearance; points of one structure consecutively.
    order: dict[str, int] = {}
    for p in pending:
        order.setdefault(keys[p.run_id], len(order))
    pending = sorted(pending, key=lambda p: (order[keys[p.run_id]], p.index, p.repeat))
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = start_client(workers, scheduler, quiet=not progress)
    n_failed = 0
    bar = tqdm(total=n_total, initial=n_skipped, unit="run", desc=exp.name, disable=not progress,
               file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
    bar.set_postfix(failed=0)
    futures = {}
    try:
        if scheduler or not own_client:
            _check_workers(client, log)
        token = uuid.uuid4().hex[:8]
        runs_abs = str(runs_dir.resolve())
        for chunk, pad in _batches(pending, keys, sizes):
            pts = [{"spec": p.experiment.spec, "values": p.values, "run_id": p.run_id, "point": p.index,
                    "repeat": p.repeat, "seed": p.seed, "runs_dir": runs_abs, "sweep": exp.name,
                    "filename": filenames[p.run_id]} for p in chunk]
            fut = client.submit(run_task, {"points": pts, "pad": pad}, key=f"lamina-{chunk[0].run_id}-{token}",
                                pure=False, priority=-order[keys[chunk[0].run_id]], retries=0,
                                resources=resources)
            futures[fut] = chunk
        last_save = time.monotonic()
        for fut in as_completed(list(futures)):
            chunk = futures[fut]
            try:
                recs = fut.result()
            except Exception as e:  # noqa: BLE001 — worker died (KilledWorker), lost, cancelled
                name = type(e).__name__
                why = "the worker process died while running this point" if name == "KilledWorker" else ""
                recs = [{"point_id": p.run_id, "status": "failed", "file": "", "wall_time_s": None,
                         "error": (f"{name}: {why} ({e})" if why else f"{name}: {e}")[:_ERROR_MAX]} for p in chunk]
            fut.release()
            by_id = {r["point_id"]: r for r in recs}
            for p in chunk:
                rec = by_id.get(p.run_id) or {"point_id": p.run_id, "status": "failed", "file": "",
                                              "wall_time_s": None, "error": "no result returned for this point"}
                row = rows[p.run_id]
                row.update(status=rec["status"], error=rec.get("error", ""), file=rec.get("file", ""),
                           wall_time_s=rec.get("wall_time_s"))
                rec.update(point=p.index, repeat=p.repeat, values=p.values, seed=p.seed)
                records.append(rec)
                if rec["status"] != "ok":
                    n_failed += 1
                    bar.set_postfix(failed=n_failed, refresh=False)
                bar.update(1)
                if on_result is not None:
                    on_result(rec)
                if rec.get("disk_full") and stopped is not None and not stopped:
                    stopped.append(f"{p.run_id}: {rec.get('error', '').splitlines()[0][:300]}")
            if stopped:
                # Stop scheduling: cancel what has not finished (those runs stay pending in the
                # index, the next invocation runs them once there is room).
                left = [f for f in futures if not f.done()]
                with contextlib.suppress(Exception):
                    client.cancel(left)
                log(f"lamina: the sweep directory's disk is full: stopped scheduling ({len(left)} batch(es) "
                    "not run)")
                save()
                break
            if time.monotonic() - last_save >= index_interval:
                save()
                last_save = time.monotonic()
    except KeyboardInterrupt:
        for fut in futures:
            fut.cancel()
        save()
        raise
    finally:
        bar.close()
        if own_client:
            shutdown_client(client, cluster)


def shutdown_client(client, cluster) -> None:
    """Close what :func:`start_client` opened, without Dask's shutdown noise."""
    import logging

    # Quiet the "stream closed" noise of workers stopping in the middle of a task.
    for name in ("distributed", "distributed.nanny", "distributed.worker", "distributed.scheduler",
                 "distributed.core", "distributed.comm", "distributed.client", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # The client first (it would otherwise try to reconnect to the stopped scheduler), then the
    # cluster, which stops its workers before its scheduler.
    with contextlib.suppress(Exception):
        client.close(timeout=10)
    if cluster is not None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=10)
