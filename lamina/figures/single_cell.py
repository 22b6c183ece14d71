"""Single-neuron and fly-pathway figures: fig1 (traces, f–I, threshold vs dV/dt) and fig2 (PSTHs)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.stats import format_mean_ci
from . import style as plots
from .context import Context, Run, ensure_runs, finish_figure
from .labels import fly_label

ONSET_COLOR = "0.35"  # the stimulus onset line of fig2 (dashed; not a cell-type colour)


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
        from ..quantities import param_values

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
            ax.axvline(onset, color=ONSET_COLOR, lw=0.8, ls="--")
    srun = next(r for r in runs if float(r.exp.input.params["amplitude"]) > 0)
    p_in = srun.exp.input.params
    cu = float(srun.exp.layer(srun.exp.input.layers[0]).cell.card.current_unit)
    shape = (f"rise {float(p_in['tau_rise']) * 1e3:g} ms, decay {float(p_in['tau_decay']) * 1e3:g} ms, "
             + (f"jump {float(p_in['jump']) / cu:g} uA/cm² of the rising variable, peak {float(p_in['amplitude']) / cu:.1f}"
                if "jump" in p_in else f"peak {float(p_in['amplitude']) / cu:g}") + " uA/cm²")
    lines = [f"fig2 — fly pathway ORN → PN → LHN; current pulse ({shape}) "
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
            lines.append(f"    {net:11s} {lname:3s}: spont {format_mean_ci(summary['spont'], 2, 'Hz')}; "
                         f"peak {format_mean_ci(summary['peak'], 1, 'Hz')}; "
                         f"response {format_mean_ci(summary['extra'], 2, 'spikes/neuron')}")
            ax.axvline(onset, color=ONSET_COLOR, lw=0.8, ls="--")  # the stimulus onset, in every panel
            if j == 0:
                ax.set_ylabel(f"{net}\nrate (Hz)")
            if i == 0:
                ax.set_title(lname + {"ORN": " (Input)", "PN": "", "LHN": ""}.get(lname, ""))
            cells = {l["name"]: plots.variant(l["cell"]) for l in ys[True][2][0].chain}
            g = ys[True][2][0].exp.layer(lname).cell.params["g_syn"]
            g_uS = float(g) * 100  # S/m² → µS/cm²
            ax.text(0.02, 0.85, cells[lname].capitalize() + (f", g {g_uS:.0f} µS/cm²" if lname != "ORN" else ""),
                    transform=ax.transAxes, fontsize=8, color=plots.cell_color(cells[lname]))
            ax.set_ylim(bottom=0)
    for ax in axes[-1]:
        ax.set_xlabel("time (ms)")
    # the legend where the input row has no panel, so that it covers no curve
    handles, labels = axes[1, -1].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], color=ONSET_COLOR, lw=0.8, ls="--"))
    axes[0, -1].legend(handles, labels + ["stimulus onset"], frameon=False, fontsize=8, loc="center")
    return finish_figure(ctx, fig, "fig2", "Fig. 2 — fly pathway PSTHs per configuration", lines,
                         f"Spec: sims/fig2.toml ({ctx.scale} scale; seeds per point: {len({r.seed for r in runs})}).")


# ---------------------------------------------------------------------------------------------
# fig3: deep Het / Diff-only / Int-only, rasters and PSTHs; fig3_packets: readout vs layer


