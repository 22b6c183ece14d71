"""Pulse-packet figures: fig3 (rasters and PSTHs), fig3_packets, fig4, figA5, and the packet table they share."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style as plots
from .context import Context, Run, ensure_runs, finish_figure
from ..analysis.readout import baseline_rates as baseline_rates_before_packet
from ..analysis.readout import window_rates


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
    from ..analysis import pulse_packet

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


