"""Paper figures: ``lamina figures [ids...] [--all] [--scale small|paper] [-o figures] [--results results]``.

Each figure id has a recipe that

1. reads its experiment specs from ``sims/`` (``lamina.config.load_experiment`` with the named
   scale), expands their ``[sweep]`` tables into runs (``lamina.sweep_expand.expand_sweep``);
2. reuses every run already present under ``--results`` whose resolved spec matches (any file
   written by ``lamina figures``, ``lamina sweep`` or ``lamina run``: the match is the digest of
   the resolved spec, seed included, so a changed spec never reuses an old result), and simulates
   the others (``lamina.simulate.simulate`` → ``lamina.store.write_run`` into
   ``<results>/<name>[_<scale>]/runs/<run id>.h5``, the layout of ``lamina sweep``);
3. analyses the runs and writes ``<out>/<id>.png``, ``.pdf`` and a caption ``<id>.txt`` with the
   measured numbers and the command that regenerates it.

Figure ids: fig1 (single neurons: traces, f–I across beta_w, threshold vs dV/dt), fig2 (fly pathway
PSTHs), fig3 (rasters + per-layer PSTHs of Het / Diff-only / Int-only), fig3_packets (packet size,
SD and latency vs layer), fig4 (13 layers, graded alpha), figA2 / figA3 ((alpha, sigma) maps of the
last layer, without / with feedforward inhibition), figA5 (controls) and ou_ffn (a common OU input:
MI and information rate per layer). fig2 / fig3 / fig3_packets / figA5 are minutes at small scale;
fig4, figA2, figA3 and ou_ffn are sweeps of tens of runs, run on one worker process per core
(``--workers``).
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import plots
from .config import Experiment, load_experiment
from .errors import ConfigError
from .report import baseline_rates as baseline_rates_before_packet
from .report import window_rates

SIMS_DIR = Path(__file__).resolve().parent.parent / "sims"

# ---------------------------------------------------------------------------------------------
# Runs: expand, reuse, simulate


@dataclass
class Point:
    """One run of a figure: the sweep values it stands for and its validated experiment."""

    values: dict
    seed: int
    run_id: str
    experiment: Experiment
    structure_key: str = ""


@dataclass
class Run:
    """A finished run, with what the recipes need about it."""

    point: Point
    data: Any  # lamina.store.RunData
    network: str = ""

    @property
    def values(self) -> dict:
        return self.point.values

    @property
    def seed(self) -> int:
        return self.point.seed

    @property
    def exp(self) -> Experiment:
        return self.point.experiment

    @property
    def duration_ms(self) -> float:
        return float(self.exp.duration) * 1e3

    @property
    def pair_key(self) -> tuple[str, int, str]:
        """Network, seed and every non-input sweep value (e.g. a g_syn condition): a stimulated
        run and its no-stimulus baseline share this key, runs of other conditions do not."""
        rest = {k: v for k, v in self.values.items() if not k.startswith("input.") and k != "network.layers"}
        return self.network, self.seed, json.dumps(rest, sort_keys=True, default=str)

    def input_param(self, key: str, unit: float = 1e-3) -> float:
        """An input parameter as a plain number (times in ms by default; alpha as is)."""
        v = self.exp.input.params[key]
        return float(v) if key == "alpha" else float(v) / unit

    @property
    def chain(self) -> list[dict]:
        """The excitatory chain's layers (feedforward-inhibition groups left out)."""
        return [l for l in self.data.layers if l.get("role", "exc") == "exc"]


@dataclass
class Context:
    scale: str = "small"
    results: Path = Path("results")
    out: Path = Path("figures")
    quiet: bool = False
    workers: int | None = None
    sims: Path = SIMS_DIR
    _index: dict[str, Path] | None = field(default=None, repr=False)
    simulated: int = 0
    reused: int = 0

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=sys.stderr, flush=True)

    def spec(self, name: str) -> Path:
        return self.sims / f"{name}.toml"

    def results_dir(self, exp: Experiment) -> Path:
        return self.results / (exp.name if self.scale == "paper" else f"{exp.name}_{self.scale}")

    def command(self, fig_id: str) -> str:
        return f"lamina figures {fig_id} --scale {self.scale}"


def spec_key(spec: dict) -> str:
    """The reuse key of a resolved spec: ``lamina.sweep_expand.run_id`` of it without a [sweep]
    table (a plain ``lamina run`` of a spec keeps its sweep table; the runs of a sweep do not)."""
    from .sweep_expand import run_id

    spec = {k: v for k, v in spec.items() if k != "sweep"}
    return run_id(spec)


def expand(exp: Experiment) -> list[Point]:
    """The runs of an experiment: its sweep's points × seeds, or the experiment itself."""
    if exp.sweep is None:
        return [Point({}, exp.seed, spec_key(exp.spec), exp)]
    from .sweep_expand import expand_sweep

    return [Point(p.values, p.seed, spec_key(p.spec), p.experiment) for p in expand_sweep(exp)]


def _scan(results: Path) -> dict[tuple[str, str], Path]:
    """Every lamina run file under ``results``, keyed by (digest of its resolved spec, structure
    key of the program that ran it): a result is reused only if the compiled model is unchanged
    too (cell-card equations, lamina and Brian2 versions, backend)."""
    import tomllib

    import h5py

    index: dict[tuple[str, str], Path] = {}
    if not results.is_dir():
        return index
    for path in sorted(results.rglob("*.h5")):
        if path.name.startswith(".") or path.name == "sweep.h5":
            continue
        try:
            with h5py.File(path, "r", locking=False) as f:
                if int(f.attrs.get("magic", 0)) != 0x0A7A or "spikes" not in f or "config" not in f:
                    continue
                spec = tomllib.loads(f["config"].attrs["toml"])
                skey = str(f.attrs.get("structure_key", ""))
        except (OSError, KeyError, ValueError, TypeError, tomllib.TOMLDecodeError):
            continue
        index.setdefault((spec_key(spec), skey), path)
    return index


def _short(values: dict) -> str:
    out = []
    for k, v in values.items():
        if k == "network.layers":
            continue
        out.append(f"{k.rsplit('.', 1)[-1]}={v}")
    return " ".join(out)


def ensure_runs(ctx: Context, fig_id: str, spec_name: str, overrides: dict | None = None,
                network_label: Callable[[list[str]], str] | None = None) -> list[Run]:
    """Load (or simulate) every run of ``sims/<spec_name>.toml`` at ``ctx.scale``; one progress
    line per run."""
    from .store import open_run

    exp = load_experiment(ctx.spec(spec_name), overrides or {}, scale=None if ctx.scale == "paper" else ctx.scale)
    points = expand(exp)
    if ctx._index is None:
        ctx._index = _scan(ctx.results)
    from .network import structure_key

    runs_dir = ctx.results_dir(exp) / "runs"
    skeys = {}  # structure keys: one per structure, cheap to compute but not free
    for p in points:
        e = p.experiment
        # Everything structure_key depends on (it also hashes the equations, which follow from the
        # layers' cell cards, and the versions, which are fixed in a process).
        sig = json.dumps([e.backend, e.spec["network"], e.spec["record"], float(e.duration), float(e.dt),
                          e.method, e.input.kind, list(e.input.layers)], sort_keys=True, default=str)
        if sig not in skeys:
            skeys[sig] = structure_key(e, e.backend)
        p.structure_key = skeys[sig]
    missing = [p for p in points if (p.run_id, p.structure_key) not in ctx._index]
    if missing and ctx.workers and ctx.workers > 1 and exp.sweep is not None and not overrides:
        _run_with_sweep(ctx, exp, len(missing))
    runs = []
    label = network_label or deep_network_label
    for k, p in enumerate(points, 1):
        cells = [l.cell.ref for l in p.experiment.layers if l.role == "exc"]
        net = label(cells) if p.experiment.projections else "single neurons"
        desc = f"{fig_id} [{k}/{len(points)}] {spec_name}: {net} {_short(p.values)} seed {p.seed}".rstrip()
        path = ctx._index.get((p.run_id, p.structure_key))
        if path is None:
            path = _simulate(ctx, p, runs_dir, desc)
        else:
            ctx.reused += 1
            ctx.log(f"lamina: {desc}: reused {path}")
        runs.append(Run(p, open_run(path), net))
    return runs


def _simulate(ctx: Context, p: Point, runs_dir: Path, desc: str) -> Path:
    from .simulate import simulate
    from .store import write_run

    t0 = time.perf_counter()
    result = simulate(p.experiment, point=p.values)
    a = result.attrs
    name = f"{p.run_id}.h5"
    if (runs_dir / name).exists():  # a result of an older program: keep it, next to the new one
        name = f"{p.run_id}_{a['structure_key']}.h5"
    path = write_run(result, runs_dir, name)
    ctx._index[(p.run_id, a["structure_key"])] = path
    ctx.simulated += 1
    how = "compiled + simulated" if a.get("compiled") else "simulated"
    ctx.log(f"lamina: {desc}: {how} in {time.perf_counter() - t0:.1f} s → {path}")
    return path


def _run_with_sweep(ctx: Context, exp: Experiment, n_missing: int) -> None:
    """Missing points of a sweep in ``ctx.workers`` processes (lamina.sweep), then re-index."""
    from .sweep import run_sweep

    ctx.log(f"lamina: {exp.name}: {n_missing} runs to simulate with {ctx.workers} worker processes")
    summary = run_sweep(exp, ctx.results_dir(exp), workers=ctx.workers, progress=not ctx.quiet,
                        spec_path=str(ctx.spec(exp.name)), scale=None if ctx.scale == "paper" else ctx.scale)
    if summary.n_failed:
        ctx.log(f"lamina: {exp.name}: {summary.n_failed} runs failed; they are simulated here instead")
    ctx._index = _scan(ctx.results)


def finish_figure(ctx: Context, fig, fig_id: str, title: str, lines: list[str], specs: str, *,
                  notes: tuple[str, ...] = (), tight: bool = True) -> list[Path]:
    """Title (and tight layout), then the caption: ``lines``, a blank line, ``notes``, the
    ``specs`` line and the command that regenerates the figure; writes png, pdf and caption."""
    fig.suptitle(title, fontsize=9)
    if tight:
        fig.tight_layout()
    caption = "\n".join([*lines, "", *notes, specs, f"Regenerate: {ctx.command(fig_id)}"])
    return plots.save(fig, ctx.out, fig_id, caption)


# ---------------------------------------------------------------------------------------------
# Labels


def deep_network_label(cells: list[str]) -> str:
    """'Het', 'Diff-only', 'Int-only', 'Reversed Het', 'β_w −10 mV' … from a chain's cell refs."""
    vs = [plots.variant(c) for c in cells]
    body = [v for v in vs[1:] if v != "inh"] if vs and vs[0] == "input" else vs
    if not body:
        return "-".join(vs)
    if len(set(body)) == 1:
        v = body[0]
        named = {"diff": "Diff-only", "int": "Int-only", "int0": "Int-only"}
        if v in named:
            return named[v]
        if v.startswith("mid"):
            return f"β_w −{v[3:]} mV"
        return f"{v}-only"
    if set(body) == {"int", "diff"}:
        alternating = all(a != b for a, b in zip(body, body[1:]))
        if alternating:
            return "Het" if body[0] == "int" else "Reversed Het"
    return "-".join(vs)


def fly_label(cells: list[str]) -> str:
    """Fly-pathway configurations of fig2 / figA4 (ORN → PN → LHN)."""
    vs = tuple(plots.variant(c) for c in cells[1:])
    return {("int", "diff"): "Het", ("diff", "diff"): "All-Diff", ("int", "int"): "All-Int",
            ("diff", "int"): "Reversed", ("mid10", "mid10"): "β_w −10 mV"}.get(vs, "/".join(vs))


# ---------------------------------------------------------------------------------------------
# Pulse-packet readout


def layer_rates(run: Run, t_start: float = 20.0, t_stop: float | None = None) -> dict[str, float]:
    """Mean rate per neuron (Hz) of each layer over [t_start, t_stop) ms (default: to the end)."""
    return window_rates(run.data.layers, run.data.spikes, t_start, run.duration_ms if t_stop is None else t_stop)


def baseline_rates(runs: list[Run]) -> dict[tuple[str, int, str], dict[str, float]]:
    """Spontaneous rate per layer from the no-stimulus runs (alpha = 0), keyed by ``Run.pair_key``."""
    out = {}
    for r in runs:
        if r.exp.input.kind == "pulse_packet" and r.input_param("alpha") == 0:
            out[r.pair_key] = layer_rates(r)
    return out


def packet_rows(runs: list[Run]) -> list[dict]:
    """Pulse-packet readout (paper-spec §4) of every layer of every stimulated run.

    Baseline: the layer's spontaneous rate from the no-stimulus run of the same network and seed
    (same connectivity and noise seeds), else from the run itself before the packet
    (20 ms … t0 − 4 sigma − 5 ms, if at least 20 ms long), else none. The expected background
    count in the ±4 ms window is subtracted from the packet size."""
    from .analysis import pulse_packet

    base = baseline_rates(runs)
    # The readout applied to the no-stimulus run itself (same baseline subtraction): the apparent
    # "packet" of pure background, e.g. spontaneous population bursts of deep Int-only layers.
    floor: dict[tuple[str, int, str], dict[str, float]] = {}
    for r in runs:
        if r.exp.input.kind == "pulse_packet" and r.input_param("alpha") == 0:
            rates = base[r.pair_key]
            floor[r.pair_key] = {
                l["name"]: pulse_packet(r.data.spikes.get(l["name"], (np.empty(0), None))[0], 0.0, r.duration_ms,
                                        baseline_rate=rates[l["name"]], n_neurons=int(l["size"])).alpha / int(l["size"])
                for l in r.chain}
    rows = []
    for r in runs:
        if r.exp.input.kind != "pulse_packet" or r.input_param("alpha") == 0:
            continue
        t0, sigma_in, alpha_in = r.input_param("t0"), r.input_param("sigma"), r.input_param("alpha")
        rates = base.get(r.pair_key)
        source = "no-stimulus run"
        if rates is None:
            rates = baseline_rates_before_packet(r.data.layers, r.data.spikes, r.duration_ms, r.data.stimulus)
            source = "pre-stimulus window" if rates is not None else "none"
        for z, l in enumerate(r.chain):
            name, size = l["name"], int(l["size"])
            t = r.data.spikes.get(name, (np.empty(0), None))[0]
            b = None if rates is None else rates[name]
            pp = pulse_packet(t, 0.0, r.duration_ms, baseline_rate=b, n_neurons=size if b is not None else None)
            fl = floor.get(r.pair_key, {}).get(name, 0.0)
            rows.append({
                "network": r.network, "seed": r.seed, "alpha_in": alpha_in, "sigma_in": sigma_in,
                "alpha_in_frac": alpha_in / int(r.chain[0]["size"]), "layer": z, "name": name,
                "cell": plots.variant(l["cell"]), "size": size, "alpha": float(pp.alpha),
                "alpha_frac": float(pp.alpha) / size, "sigma": float(pp.sigma),
                "latency": float(pp.latency) - t0, "n_window": int(pp.n_window),
                "baseline_hz": float("nan") if b is None else float(b), "baseline_source": source,
                "rate_hz": len(t) / size / (r.duration_ms / 1e3), "floor_frac": fl,
                "alive": bool(float(pp.alpha) / size - fl >= ALIVE_FRAC), "context": r.pair_key[2],
            })
    return rows


def rows_to_frame(rows: list[dict]):
    import pandas as pd

    return pd.DataFrame(rows)


# A packet "propagates" into a layer when its baseline-corrected size is at least this fraction
# of the layer. Below it the window is background: the readout applied to no-stimulus runs of
# 200-neuron Het / Int-only layers gives 0.02–0.10 (the peak bin of a noisy background is biased
# upwards; `python analysis/claims.py noise-floor`), and a uniform background has SD 4/√3 = 2.3 ms.
ALIVE_FRAC = 0.10
# ... and, where a no-stimulus run of the same network and seed exists, at least this much larger
# than what the same readout finds in that run ("floor_frac"): deep Int-only layers have
# spontaneous population bursts that the peak-bin readout takes for a packet.


# ---------------------------------------------------------------------------------------------
# fig1: single neurons


def fig1(ctx: Context) -> list[Path]:
    plt = plots.plt()
    steps = ensure_runs(ctx, "fig1", "fig1")
    fi = ensure_runs(ctx, "fig1", "fig1_fi")[0]
    ramps = ensure_runs(ctx, "fig1", "fig1_ramp")
    fig = plt.figure(figsize=(7.5, 9.0))
    gs = fig.add_gridspec(4, 2, height_ratios=[1, 1, 1.2, 1.2], hspace=0.55, wspace=0.4)
    lines = ["fig1 — single Prescott neurons (no synapses).", ""]

    # A: step responses, without (neuron 0) and with (neuron 1) OU noise sigma 12.5 uA/cm².
    for col, (lname, run) in enumerate((("Int", _stim_run(steps, "Int")), ("Diff", _stim_run(steps, "Diff")))):
        amp = round(float(run.exp.input.params["amplitude"]) / float(run.exp.layer(lname).cell.card.current_unit), 6)
        onset = run.input_param("onset")
        dt = float(run.data.attrs["dt_ms"])
        v = run.data.traces[lname]["v"] * 1e3
        t = np.arange(v.shape[1]) * dt
        spk_t, spk_i = run.data.spikes[lname]
        beta = float(run.exp.layer(lname).cell.params["beta_w"]) * 1e3
        for row, (nrn, noise) in enumerate(((0, "no noise"), (1, "noise σ 12.5"))):
            ax = fig.add_subplot(gs[row, col])
            ax.plot(t, v[nrn], color=plots.CELL_COLORS[lname.lower()], lw=0.7)
            ax.axvspan(onset, t[-1], color="0.93", zorder=-1)
            ax.set_ylim(-85, 40)
            ax.set_ylabel("V (mV)")
            if row == 1:
                ax.set_xlabel("time (ms)")
            n_after = int(np.count_nonzero((spk_i == nrn) & (spk_t >= onset)))
            ax.set_title(f"{lname} (β_w {beta:g} mV), {amp:g} µA/cm², {noise}: {n_after} spikes",
                         fontsize=7)
            isi = np.diff(np.sort(spk_t[(spk_i == nrn) & (spk_t >= onset + 50)]))
            cv = float(isi.std() / isi.mean()) if isi.size > 2 else float("nan")
            lines.append(f"  {lname}, step {amp:g} uA/cm², {noise}: {n_after} spikes after the step"
                         + (f", rate {n_after / ((t[-1] - onset) / 1e3):.1f} Hz, ISI CV (after 50 ms) {cv:.2f}"
                            if n_after > 2 else ""))

    # B: f–I across beta_w.
    ax_r, ax_n = fig.add_subplot(gs[2, 0]), fig.add_subplot(gs[2, 1])
    cu = float(fi.exp.layers[0].cell.card.current_unit)
    lines += ["", "  f–I (constant current from rest, no noise, 300 ms; repetitive = rate over 100–300 ms):"]
    for l in fi.exp.layers:
        from .quantities import param_values

        currents = param_values(l.cell.params["I_bias"], l.size, np.random.default_rng(0), "I_bias") / cu
        t, i = fi.data.spikes[l.name]
        counts = np.bincount(i.astype(int), minlength=l.size)
        late = np.bincount(i[t >= 100].astype(int), minlength=l.size) / 0.2
        beta = float(l.cell.params["beta_w"]) * 1e3
        c = plots.cell_color(l.cell.ref)
        lab = f"β_w = {beta:+g} mV"
        ax_r.plot(currents, late, "-", color=c, lw=1, label=lab)
        ax_n.plot(currents, np.maximum(counts, 0.5), ".-", color=c, lw=0.6, ms=2, label=lab)
        first_any = currents[np.argmax(counts > 0)] if counts.any() else float("nan")
        rep = late >= 5
        first_rep = currents[np.argmax(rep)] if rep.any() else float("nan")
        one = currents[counts == 1]
        lines.append(f"    beta_w {beta:+5g} mV: first spike at {first_any:g}, repetitive (≥ 5 Hz sustained) from "
                     f"{first_rep:g} uA/cm²" + (f", exactly one spike for {one.min():g}–{one.max():g}" if one.size else "")
                     + (f"; {late[np.argmin(np.abs(currents - 40))]:.0f} Hz at 40" if beta >= 0 else ""))
    ax_r.set_xlabel("constant current (µA/cm²)")
    ax_r.set_ylabel("sustained rate, 100–300 ms (Hz)")
    ax_r.legend(frameon=False, fontsize=6)
    ax_n.set_yscale("log")
    ax_n.set_xlabel("constant current (µA/cm²)")
    ax_n.set_ylabel("spikes in 300 ms (0 drawn at 0.5)")
    ax_n.axhline(1, color="0.7", lw=0.5, ls=":")
    ax_n.set_title("1 spike = onset only (class 3)", fontsize=7)

    # C: current threshold vs rise time (rising currents to a plateau).
    ax_v, ax_t = fig.add_subplot(gs[3, 0]), fig.add_subplot(gs[3, 1])
    taus = sorted({r.input_param("tau_rise") for r in ramps})
    amps = sorted({round(float(r.exp.input.params["amplitude"]) / cu, 6) for r in ramps})
    fired = {}
    cmap = plt.cm.viridis
    for r in ramps:
        amp = round(float(r.exp.input.params["amplitude"]) / cu, 6)
        tau = r.input_param("tau_rise")
        for lname in ("Int", "Diff"):
            fired[(lname, tau, amp)] = r.data.spikes[lname][0].size
        if amp == 60 and tau in taus:
            v = r.data.traces["Diff"]["v"][0] * 1e3
            dt = float(r.data.attrs["dt_ms"])
            ax_v.plot(np.arange(v.size) * dt, v, color=cmap(taus.index(tau) / max(1, len(taus) - 1)),
                      lw=0.7, label=f"τ_rise {tau:g} ms")
    step = amps[1] - amps[0] if len(amps) > 1 else 0
    lines += ["", f"  Current rising to a plateau (rise time tau_rise, plateau {amps[0]:g}–{amps[-1]:g} uA/cm² "
              f"in steps of {step:g}): smallest plateau that evokes a spike (none: no spike up to {amps[-1]:g}):"]
    for lname, marker in (("Int", "o"), ("Diff", "s")):
        thr = [next((a for a in amps if fired[(lname, tau, a)] > 0), np.nan) for tau in taus]
        ax_t.plot(taus, thr, marker + "-", color=plots.CELL_COLORS[lname.lower()], ms=4, lw=1,
                  label=f"{lname} (β_w {'0' if lname == 'Int' else '−19'} mV)")
        lines.append(f"    {lname:4s}: " + ", ".join(f"tau_rise {tau:g} ms → {t:g}" for tau, t in zip(taus, thr)))
    ax_v.set_xlim(0, 120)
    ax_v.set_xlabel("time (ms)")
    ax_v.set_ylabel("V (mV)")
    ax_v.set_title("Diff, current rising to 60 µA/cm²", fontsize=7)
    ax_v.legend(frameon=False, fontsize=5, ncol=2)
    ax_t.set_xscale("log")
    ax_t.set_xlabel("current rise time τ_rise (ms)")
    ax_t.set_ylabel("smallest plateau for a spike (µA/cm²)")
    ax_t.set_ylim(amps[0] - step, amps[-1] + step)
    ax_t.legend(frameon=False, fontsize=6)
    ax_t.set_title(f"dynamic threshold (points missing: no spike ≤ {amps[-1]:g})", fontsize=7)
    return finish_figure(
        ctx, fig, "fig1", "Fig. 1 — Int (integrator) vs Diff (differentiator) single neurons", lines,
        "Specs: sims/fig1.toml, sims/fig1_fi.toml, sims/fig1_ramp.toml (runtime backend, Heun).", tight=False,
        notes=("Panels: top, V(t) for a current step at 50 ms (shaded), without and with OU noise (tau 1 ms); "
               "middle, sustained rate and spike count vs constant current for beta_w +5 … −23 mV; bottom, "
               "Diff traces for currents rising to 60 µA/cm² with different rise times, and the smallest plateau "
               "current that evokes a spike vs the rise time (Int: static threshold; Diff: dV/dt-dependent).",))


def _stim_run(runs: list[Run], layer: str) -> Run:
    return next(r for r in runs if list(r.exp.input.layers) == [layer])


# ---------------------------------------------------------------------------------------------
# fig2: fly pathway


def fig2(ctx: Context) -> list[Path]:
    plt = plots.plt()
    runs = ensure_runs(ctx, "fig2", "fig2", network_label=fly_label)
    nets = list(dict.fromkeys(r.network for r in runs))
    layers = [l["name"] for l in runs[0].chain]
    onset = runs[0].input_param("onset")
    T = runs[0].duration_ms
    bin_ms = 5.0
    fig, axes = plt.subplots(len(nets) + 1, len(layers), figsize=(7.5, 1.35 * (len(nets) + 1)), sharex=True,
                             gridspec_kw={"height_ratios": [0.6] + [1] * len(nets)})
    stim = next(r for r in runs if float(r.exp.input.params["amplitude"]) > 0).data.stimulus
    cur = np.asarray(stim["current"], dtype=float)
    tc = np.arange(cur.size) * float(runs[0].exp.dt) * 1e3
    for j in range(len(layers)):
        ax = axes[0, j]
        ax.plot(tc, cur, color="k", lw=0.8) if j == 0 else ax.axis("off")
        if j == 0:
            ax.set_ylabel("ORN input\n(µA/cm²)")
    lines = ["fig2 — fly pathway ORN → PN → LHN; current pulse (rise 15 ms, decay 50 ms, peak 45 uA/cm²) "
             f"to all ORNs at {onset:g} ms. PSTH in {bin_ms:g} ms bins, mean over seeds "
             "(black: stimulus, grey: no stimulus).",
             "  Per configuration and layer: spontaneous rate (no-stimulus run, 20–400 ms), evoked peak "
             f"rate (stimulus run, {onset:g}–{T:g} ms), response = extra spikes per neuron in "
             f"{onset:g}–{onset + 150:g} ms over the no-stimulus run; mean ± 95 % CI over seeds:"]
    for i, net in enumerate(nets):
        for j, lname in enumerate(layers):
            ax = axes[i + 1, j]
            ys = {}
            summary = {"spont": [], "peak": [], "extra": []}
            for stim_on in (True, False):
                rs = [r for r in runs if r.network == net and (float(r.exp.input.params["amplitude"]) > 0) == stim_on]
                curves = []
                for r in rs:
                    size = int(next(l["size"] for l in r.chain if l["name"] == lname))
                    tt, rate = plots.psth(r.data.spikes[lname][0], size, T, bin_ms)
                    curves.append(rate)
                ys[stim_on] = (tt, np.mean(curves, axis=0), rs)
                ax.plot(tt, ys[stim_on][1], color="k" if stim_on else "0.6", lw=0.8,
                        label="stimulus" if stim_on else "no stimulus")
            by_seed_off = {r.seed: r for r in ys[False][2]}
            for r in ys[True][2]:
                size = int(next(l["size"] for l in r.chain if l["name"] == lname))
                t_on = r.data.spikes[lname][0]
                tt, rate = plots.psth(t_on, size, T, bin_ms)
                summary["peak"].append(rate[tt >= onset].max())
                off = by_seed_off.get(r.seed)
                if off is not None:
                    t_off = off.data.spikes[lname][0]
                    summary["spont"].append(np.count_nonzero(t_off >= 20) / size / ((T - 20) / 1e3))
                    w = (onset, onset + 150)
                    summary["extra"].append((np.count_nonzero((t_on >= w[0]) & (t_on < w[1]))
                                             - np.count_nonzero((t_off >= w[0]) & (t_off < w[1]))) / size)
            lines.append(f"    {net:11s} {lname:3s}: spont {plots.fmt_ci(summary['spont'], 2, 'Hz')}; "
                         f"peak {plots.fmt_ci(summary['peak'], 1, 'Hz')}; "
                         f"response {plots.fmt_ci(summary['extra'], 2, 'spikes/neuron')}")
            ax.axvline(onset, color="0.8", lw=0.5, ls=":")
            if j == 0:
                ax.set_ylabel(f"{net}\nrate (Hz)")
            if i == 0:
                ax.set_title(lname + {"ORN": " (Input)", "PN": "", "LHN": ""}.get(lname, ""))
            cells = {l["name"]: plots.variant(l["cell"]) for l in ys[True][2][0].chain}
            g = ys[True][2][0].exp.layer(lname).cell.params["g_syn"]
            g_uS = float(g) * 100  # S/m² → µS/cm²
            ax.text(0.02, 0.85, cells[lname].capitalize() + (f", g {g_uS:.0f} µS/cm²" if lname != "ORN" else ""),
                    transform=ax.transAxes, fontsize=6, color=plots.cell_color(cells[lname]))
            ax.set_ylim(bottom=0)
    for ax in axes[-1]:
        ax.set_xlabel("time (ms)")
    axes[1, -1].legend(frameon=False, fontsize=6, loc="upper right")
    return finish_figure(ctx, fig, "fig2", "Fig. 2 — fly pathway PSTHs per configuration", lines,
                         f"Spec: sims/fig2.toml ({ctx.scale} scale; seeds per point: {len({r.seed for r in runs})}).")


# ---------------------------------------------------------------------------------------------
# fig3: deep Het / Diff-only / Int-only, rasters and PSTHs; fig3_packets: readout vs layer


def _inputs(runs: list[Run]) -> list[tuple[float, float]]:
    """Distinct stimulated (sigma ms, alpha) pairs in sweep order."""
    return list(dict.fromkeys((r.input_param("sigma"), r.input_param("alpha")) for r in runs
                              if r.input_param("alpha") > 0))


def fig3(ctx: Context) -> list[Path]:
    plt = plots.plt()
    runs = ensure_runs(ctx, "fig3", "fig3")
    nets = list(dict.fromkeys(r.network for r in runs))
    inputs = _inputs(runs)
    seed0 = min(r.seed for r in runs)
    T = runs[0].duration_ms
    t_range = (40.0, T)
    fig = plt.figure(figsize=(7.5, 2.6 * len(nets)))
    gs = fig.add_gridspec(2 * len(nets), len(inputs), height_ratios=[2.2, 1] * len(nets), hspace=0.35, wspace=0.25)
    rows = packet_rows(runs)
    base = baseline_rates(runs)
    lines = ["fig3 — deep FFNs (Input + 6 layers), pulse packet at 100 ms. Rasters: first "
             f"{min(100, int(runs[0].chain[0]['size']))} neurons per layer, seed {seed0}; PSTH: 1 ms bins, mean "
             "over seeds, one line per layer (light → dark = shallow → deep).", ""]
    for i, net in enumerate(nets):
        for j, (sig, alpha) in enumerate(inputs):
            rs = [r for r in runs if r.network == net and r.input_param("sigma") == sig and r.input_param("alpha") == alpha]
            r0 = next((r for r in rs if r.seed == seed0), rs[0])
            ax = fig.add_subplot(gs[2 * i, j])
            plots.raster(ax, r0.data, r0.chain, max_neurons=100, t_range=t_range, size=0.5)
            ax.set_xticklabels([])
            frac = alpha / int(r0.chain[0]["size"])
            if i == 0:
                ax.set_title(f"σ {sig:g} ms, α {alpha:g} ({frac:.0%})", fontsize=7)
            if j == 0:
                ax.set_ylabel(net, fontsize=8, fontweight="bold")
            else:
                ax.set_yticklabels([])
            axp = fig.add_subplot(gs[2 * i + 1, j])
            colors = plt.cm.viridis_r(np.linspace(0.1, 0.95, len(r0.chain)))
            for z, l in enumerate(r0.chain):
                curves = [plots.psth(r.data.spikes[l["name"]][0], int(l["size"]), T, 1.0)[1] for r in rs]
                tt = plots.psth(np.empty(0), 1, T, 1.0)[0]
                axp.plot(tt, np.mean(curves, axis=0), color=colors[z], lw=0.7)
            axp.set_xlim(*t_range)
            axp.set_ylim(bottom=0)
            if j == 0:
                axp.set_ylabel("rate (Hz)")
            if i == len(nets) - 1:
                axp.set_xlabel("time (ms)")
    # Caption numbers: packet size (fraction of the layer) and SD in the last layer, per input.
    df = rows_to_frame(rows)
    last = df["layer"].max()
    for net in nets:
        lines.append(f"  {net}: spontaneous rate per layer (no-stimulus runs, Hz): "
                     + ", ".join(f"{n.split('_', 1)[-1]} {plots.fmt_ci([b[n] for (nn, _, _), b in base.items() if nn == net], 1)}"
                                 for n in [l['name'] for l in next(r for r in runs if r.network == net).chain]))
        for sig, alpha in inputs:
            d = df[(df.network == net) & (df.sigma_in == sig) & (df.alpha_in == alpha) & (df.layer == last)]
            lines.append(f"    input σ {sig:g} ms, α {alpha:g}: last layer packet size {plots.fmt_ci(d.alpha_frac, 2)} "
                         f"of the layer, SD {plots.fmt_ci(d.sigma, 2, 'ms')}, latency {plots.fmt_ci(d.latency, 1, 'ms')}")
    return finish_figure(ctx, fig, "fig3", "Fig. 3 — pulse-packet propagation in Het, Diff-only and Int-only FFNs",
                         lines, f"Spec: sims/fig3.toml ({ctx.scale} scale).", tight=False,
                         notes=("Packet readout: 200 bins over the run, ±4 ms around the peak bin, baseline (same "
                                "network and seed without stimulus) subtracted from the size.",))


def _packet_figure(ctx: Context, fig_id: str, runs: list[Run], title: str, spec: str,
                   group: str = "input") -> list[Path]:
    """Rows = networks; columns = packet size (fraction of the layer), SD, latency vs layer;
    one line per input (mean ± 95 % CI over seeds)."""
    plt = plots.plt()
    df = rows_to_frame(packet_rows(runs))
    nets = list(dict.fromkeys(r.network for r in runs))
    inputs = list(dict.fromkeys(zip(df.sigma_in, df.alpha_in)))
    fig, axes = plt.subplots(len(nets), 3, figsize=(7.5, 1.9 * len(nets) + 0.4), sharex=True, squeeze=False)
    colors = plt.cm.plasma(np.linspace(0, 0.85, len(inputs)))
    lines = [f"{fig_id} — {title}", "  Lines: median over seeds; dots: single seeds. SD and latency only where the "
             f"packet is alive: baseline-subtracted size ≥ {ALIVE_FRAC:.0%} of the layer above what the same readout "
             "finds in the no-stimulus run of that network and seed (a smaller window is background, or a "
             "spontaneous burst, and its SD meaningless).",
             "  Per network, input (sigma ms, alpha) and layer 0 … L: mean over seeds of the packet size as a fraction "
             "of the layer (baseline-subtracted) | SD (ms) | latency after t0 (ms); '–' where the mean size is below "
             "the alive threshold (in at least half the seeds). 95 % CIs of the last layer below each input."]
    for i, net in enumerate(nets):
        lines.append(f"  {net}:")
        for k, (sig, alpha) in enumerate(inputs):
            d = df[(df.network == net) & (df.sigma_in == sig) & (df.alpha_in == alpha)]
            if d.empty:
                continue
            layers = sorted(d.layer.unique())
            stats = {}
            for col, key in enumerate(("alpha_frac", "sigma", "latency")):
                ms, meds = [], []
                ax = axes[i, col]
                for z in layers:
                    dz = d[d.layer == z]
                    vals = dz[key] if key == "alpha_frac" else dz[key][dz.alive]
                    ms.append(plots.mean_ci(vals)[0])
                    meds.append(float(np.median(vals)) if len(vals) else np.nan)
                    jitter = (k - (len(inputs) - 1) / 2) * 0.06
                    ax.plot(np.full(len(vals), z + jitter), vals, ".", color=colors[k], ms=2, alpha=0.45)
                stats[key] = (np.array(ms), None)
                frac = d.alpha_in_frac.iloc[0]
                ax.plot(layers, meds, "-", color=colors[k], lw=1.1, label=f"σ {sig:g} ms, α {alpha:g} ({frac:.0%})")
            alive = np.array([d[d.layer == z].alive.mean() >= 0.5 for z in layers])
            dl = d[d.layer == layers[-1]]
            last = (f"      last layer: size {plots.fmt_ci(dl.alpha_frac, 2)} (no-stimulus readout "
                    f"{dl.floor_frac.mean():.2f}), SD {plots.fmt_ci(dl.sigma[dl.alive], 2, 'ms')}, "
                    f"latency {plots.fmt_ci(dl.latency[dl.alive], 1, 'ms')}, alive in {int(dl.alive.sum())}/{len(dl)} seeds")
            lines.append(f"    σ {sig:g}, α {alpha:g}: size " + " ".join(f"{m:.2f}" for m in stats["alpha_frac"][0])
                         + " | SD " + " ".join(f"{m:.1f}" if a else "–" for m, a in zip(stats["sigma"][0], alive))
                         + " | latency " + " ".join(f"{m:.0f}" if a else "–" for m, a in zip(stats["latency"][0], alive)))
            lines.append(last)
        lat_meds = [np.nanmedian(d2.latency[d2.alive]) for _, d2 in df[df.network == net].groupby(["sigma_in", "alpha_in", "layer"])
                    if d2.alive.any()]
        if lat_meds:  # latency outliers (a background bin picked as the peak) are clipped
            axes[i, 2].set_ylim(min(-15.0, np.nanmin(lat_meds) - 5), np.nanmax(lat_meds) + 15)
        axes[i, 0].set_ylabel(f"{net}\npacket size (fraction)")
        axes[i, 1].set_ylabel("packet SD (ms)")
        axes[i, 2].set_ylabel("latency after t0 (ms)")
        axes[i, 0].set_ylim(bottom=0)
        axes[i, 1].set_ylim(bottom=0)
    for ax in axes[-1]:
        ax.set_xlabel("layer (0 = input)")
    axes[0, 0].legend(frameon=False, fontsize=5.5)
    return finish_figure(ctx, fig, fig_id, f"{fig_id} — {title}", lines,
                         f"Spec: {spec} ({ctx.scale} scale, {len({r.seed for r in runs})} seeds).")


def fig3_packets(ctx: Context) -> list[Path]:
    runs = ensure_runs(ctx, "fig3_packets", "fig3")
    return _packet_figure(ctx, "fig3_packets", runs, "pulse-packet size, SD and latency vs layer "
                          "(Het / Diff-only / Int-only, fig3 inputs)", "sims/fig3.toml")


def fig4(ctx: Context) -> list[Path]:
    runs = ensure_runs(ctx, "fig4", "fig4")
    return _packet_figure(ctx, "fig4", runs, "graded synchronous input (σ = 1 ms) through 13 layers",
                          "sims/fig4.toml")


def figA5(ctx: Context) -> list[Path]:
    runs = ensure_runs(ctx, "figA5", "figA5")
    return _packet_figure(ctx, "figA5", runs, "intermediate homogeneous and reversed-order controls vs Het",
                          "sims/figA5.toml")


def _state_space(ctx: Context, fig_id: str, spec: str, title: str) -> list[Path]:
    """(alpha, sigma) maps of the last layer's packet: rows = networks, columns = size (fraction of
    the layer, baseline-subtracted), SD (ms, where alive), both means over seeds, and the
    state-space trajectories (sigma_z, alpha_z) over layers z from every input."""
    plt = plots.plt()
    runs = ensure_runs(ctx, fig_id, spec)
    full = rows_to_frame(packet_rows(runs))
    last = full.layer.max()
    df = full[full.layer == last]
    nets = list(dict.fromkeys(r.network for r in runs))
    sigmas = sorted(df.sigma_in.unique())
    alphas = sorted(df.alpha_in.unique())
    fig, axes = plt.subplots(len(nets), 3, figsize=(7.5, 2.3 * len(nets) + 0.3), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1.1]})
    lines = [f"{fig_id} — {title}",
             f"  Last layer ({last}) packet after an input packet of (alpha, sigma); size = baseline-subtracted "
             f"fraction of the layer, SD where alive (size ≥ {ALIVE_FRAC:.0%} above the no-stimulus readout); mean "
             "over seeds. Rows: alpha "
             f"({', '.join(f'{a:g}' for a in alphas)}), columns: sigma ({', '.join(f'{s_:g}' for s_ in sigmas)} ms)."]
    for i, net in enumerate(nets):
        size = np.full((len(alphas), len(sigmas)), np.nan)
        sd = np.full_like(size, np.nan)
        alive_map = np.zeros(size.shape, dtype=bool)
        for a_i, a in enumerate(alphas):
            for s_i, sg in enumerate(sigmas):
                d = df[(df.network == net) & (df.alpha_in == a) & (df.sigma_in == sg)]
                if d.empty:
                    continue
                size[a_i, s_i] = d.alpha_frac.mean()
                alive_map[a_i, s_i] = d.alive.mean() >= 0.5
                sd[a_i, s_i] = d.sigma[d.alive].mean() if d.alive.any() else np.nan
        n_alive = int(alive_map.sum())
        fl = df[df.network == net].floor_frac.mean()
        lines.append(f"  {net}: alive in {n_alive}/{size.size} grid points (no-stimulus readout of the last layer "
                     f"{fl:.2f}); size map:")
        lines += ["    " + " ".join(f"{v:5.2f}" for v in row) for row in size]
        lines.append("    SD map (ms):")
        lines += ["    " + " ".join(f"{v:5.1f}" if np.isfinite(v) else "    –" for v in row) for row in sd]
        frac = [a / int(runs[0].chain[0]["size"]) for a in alphas]
        for j, (m, lab, kw) in enumerate(((size, "packet size (fraction)", {"vmin": 0, "vmax": 1, "cmap": "viridis"}),
                                          (sd, "packet SD (ms)", {"vmin": 0, "vmax": 3, "cmap": "magma"}))):
            ax = axes[i, j]
            im = ax.imshow(m, origin="lower", aspect="auto", **kw)
            for (a_i, s_i), v in np.ndenumerate(m):
                if np.isfinite(v):
                    ax.text(s_i, a_i, f"{v:.2f}" if j == 0 else f"{v:.1f}", ha="center", va="center", fontsize=5,
                            color="w" if (v < 0.5 * kw["vmax"]) else "k")
            ax.set_xticks(range(len(sigmas)))
            ax.set_xticklabels([f"{s_:g}" for s_ in sigmas])
            ax.set_yticks(range(len(alphas)))
            ax.set_yticklabels([f"{f:.0%}" for f in frac])
            ax.set_xlabel("input σ (ms)")
            ax.set_ylabel(f"{net}\ninput α (of layer)" if j == 0 else "input α (of layer)")
            fig.colorbar(im, ax=ax, label=lab, fraction=0.05)
        _trajectories(axes[i, 2], full[full.network == net], alphas, sigmas)
    lines.append("  Right: state-space trajectories, one per input: (SD, size) of the packet in layers 0 … "
                 f"{last} (means over seeds; a trajectory stops at the first layer where the packet is not alive "
                 "in at least half the seeds, marked ×; ● = last layer reached alive).")
    return finish_figure(ctx, fig, fig_id, f"{fig_id} — {title}", lines,
                         f"Spec: {spec_path(spec)} ({ctx.scale} scale, {len({r.seed for r in runs})} seed(s)).")


def _trajectories(ax, df, alphas: list[float], sigmas: list[float]) -> None:
    """(SD, size) per layer from every (alpha, sigma) input, coloured by input alpha."""
    plt = plots.plt()
    colors = plt.cm.plasma(np.linspace(0, 0.85, len(alphas)))
    for a_i, a in enumerate(alphas):
        for sg in sigmas:
            d = df[(df.alpha_in == a) & (df.sigma_in == sg)]
            if d.empty:
                continue
            xs, ys = [], []
            for z in sorted(d.layer.unique()):
                dz = d[d.layer == z]
                if dz.alive.mean() < 0.5:
                    if xs:
                        ax.plot(xs[-1], ys[-1], "x", color=colors[a_i], ms=3)
                    break
                xs.append(dz.sigma[dz.alive].mean())
                ys.append(dz.alpha_frac.mean())
            else:
                if xs:
                    ax.plot(xs[-1], ys[-1], "o", color=colors[a_i], ms=2.5)
            ax.plot(xs, ys, "-", color=colors[a_i], lw=0.6, alpha=0.8)
    ax.set_xlabel("packet SD (ms)")
    ax.set_ylabel("packet size (fraction)")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(left=0)


def spec_path(name: str) -> str:
    return f"sims/{name}.toml"


def figA2(ctx: Context) -> list[Path]:
    return _state_space(ctx, "figA2", "figA2", "(α, σ) state space of the last layer (9-layer FFNs)")


def figA3(ctx: Context) -> list[Path]:
    return _state_space(ctx, "figA3", "figA3", "(α, σ) state space with feedforward inhibition")


# ---------------------------------------------------------------------------------------------
# Command line

_PACKET_FIGURES: dict[str, Callable[[Context], list[Path]]] = {
    "fig1": fig1, "fig2": fig2, "fig3": fig3, "fig3_packets": fig3_packets, "fig4": fig4,
    "figA2": figA2, "figA3": figA3, "figA5": figA5,
}


def figure_recipes() -> dict[str, Callable[[Context], list[Path]]]:
    """Every figure id → its recipe, in ``--all`` order. The information recipes live in
    lamina.paper_info, which builds on this module (so it is imported here, not at the top)."""
    from .paper_info import FIGURES as info_figures

    return {**_PACKET_FIGURES, **info_figures}


def make_figures(ids: list[str], ctx: Context) -> dict[str, list[Path]]:
    recipes = figure_recipes()
    unknown = [i for i in ids if i not in recipes]
    if unknown:
        raise ConfigError("figures", unknown[0], f"a figure id ({', '.join(recipes)})")
    out = {}
    for fig_id in ids:
        t0 = time.perf_counter()
        ctx.log(f"lamina: figure {fig_id} ({ctx.scale} scale)")
        out[fig_id] = recipes[fig_id](ctx)
        ctx.log(f"lamina: figure {fig_id} done in {time.perf_counter() - t0:.1f} s → "
                + ", ".join(str(p) for p in out[fig_id]))
    return out


def cli_figures(args) -> int:
    ids = list(args.ids or [])
    if args.all or not ids:
        ids = list(figure_recipes())
    if args.scale not in ("small", "paper"):
        raise ConfigError("--scale", args.scale, "small or paper")
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers", args.workers, "a positive number of worker processes")
    # One worker process per core unless told otherwise, as `lamina sweep` does.
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    ctx = Context(scale=args.scale, results=Path(args.results), out=Path(args.output), quiet=bool(args.quiet),
                  workers=workers)
    for d, name in ((ctx.out, "-o/--output"), (ctx.results, "--results")):
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(name, str(d), f"a writable directory ({e.strerror})") from None
    t0 = time.perf_counter()
    made = make_figures(ids, ctx)
    ctx.log(f"lamina: {len(made)} figure(s) in {time.perf_counter() - t0:.0f} s "
            f"({ctx.simulated} runs simulated, {ctx.reused} reused) → {ctx.out}")
    if args.quiet:
        for paths in made.values():
            print(" ".join(str(p) for p in paths))
    return 0


def dump_rows(rows: list[dict], path: str | Path) -> None:
    """Write packet rows as JSON lines (for docs/results.md and the analysis notebooks), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    tmp.replace(path)
