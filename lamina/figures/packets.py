"""Pulse-packet figures: fig3 (rasters and PSTHs), fig3_packets, fig4, figA5, and the packet table they share."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style as plots
from .context import Context, Run, ensure_runs, finish_figure
from ..analysis.readout import rebaseline_packet, window_rates
from ..analysis.stats import (ALIVE_THRESHOLDS, WINDOW_SD_CEILING_MS, format_mean_ci, format_survival_table, mean_ci,
                              survival_by_threshold)


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
    """Pulse-packet readout (paper-spec §4) of every layer of every stimulated run, from ``/analysis``.

    The packet of each layer (peak bin, ±4 ms window, raw count, SD, latency) is the one
    ``lamina analyze`` stored (``run.data.analysis``). Only the background it is compared with is
    chosen here: the layer's spontaneous rate in the no-stimulus run of the same network and seed
    (same connectivity and noise seeds; 20 ms … end), subtracted with
    :func:`lamina.analysis.readout.rebaseline_packet`; where no such run exists, the stored
    size, whose background is the run's own rate before the packet (20 ms … t0 − 4 sigma − 5 ms,
    if at least 20 ms long), else none.

    Parameters
    ----------
    runs : list of Run
        Analysed runs (:func:`~lamina.figures.context.ensure_runs`).

    Returns
    -------
    list of dict
        One row per stimulated run and layer: ``network``, ``seed``, ``input_alpha``,
        ``input_sigma_ms``, ``input_alpha_frac``, ``layer`` (index), ``name``, ``cell``,
        ``n_neurons``, the ``/analysis`` packet names (``packet_size``, ``packet_sd_ms``,
        ``packet_latency_ms`` (ms after t0), ``packet_peak_ms``, ``packet_n_window``,
        ``packet_baseline``, ``baseline_rate_hz``), ``baseline_source``, ``rate_hz``,
        ``packet_size_frac`` (of the layer), ``packet_floor_frac`` (the same readout in the
        no-stimulus run, fraction of the layer), ``alive`` and ``context``.
    """
    base = baseline_rates(runs)
    # The readout applied to the no-stimulus run itself (same baseline subtraction): the apparent
    # "packet" of pure background, e.g. spontaneous population bursts of deep Int-only layers.
    floor: dict[tuple[str, int, str], dict[str, float]] = {}
    for r in runs:
        if r.exp.input.kind == "pulse_packet" and r.input_param("alpha") == 0:
            rates, a = base[r.pair_key], r.data.analysis
            floor[r.pair_key] = {
                l["name"]: rebaseline_packet(a[l["name"]], int(l["size"]), rates[l["name"]],
                                             float(a["packet_window_ms"]))["packet_size"] / int(l["size"])
                for l in r.chain}
    rows = []
    for r in runs:
        if r.exp.input.kind != "pulse_packet" or r.input_param("alpha") == 0:
            continue
        sigma_in, alpha_in = r.input_param("sigma"), r.input_param("alpha")
        a = r.data.analysis
        rates = base.get(r.pair_key)
        if rates is not None:
            source = "no-stimulus run"
        else:
            source = "pre-stimulus window" if bool(a.get("packet_baseline_subtracted", False)) else "none"
        for z, l in enumerate(r.chain):
            name, size = l["name"], int(l["size"])
            numbers = a[name]
            pk = (rebaseline_packet(numbers, size, rates[name], float(a["packet_window_ms"])) if rates is not None
                  else {k: float(v) for k, v in numbers.items() if k.startswith("packet_") or k == "baseline_rate_hz"})
            fl = floor.get(r.pair_key, {}).get(name, 0.0)
            rows.append({
                "network": r.network, "seed": r.seed, "input_alpha": alpha_in, "input_sigma_ms": sigma_in,
                "input_alpha_frac": alpha_in / int(r.chain[0]["size"]), "layer": z, "name": name,
                "cell": plots.variant(l["cell"]), "n_neurons": size, **pk,
                "packet_size_frac": pk["packet_size"] / size, "baseline_source": source,
                "rate_hz": float(numbers["rate_hz"]), "packet_floor_frac": fl,
                "alive": bool(pk["packet_size"] / size - fl >= ALIVE_FRAC), "context": r.pair_key[2],
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
# than what the same readout finds in that run ("packet_floor_frac"): deep Int-only layers have
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
                     + ", ".join(f"{n.split('_', 1)[-1]} {format_mean_ci([b[n] for (nn, _, _), b in base.items() if nn == net], 1)}"
                                 for n in [l['name'] for l in next(r for r in runs if r.network == net).chain]))
        for sig, alpha in inputs:
            d = df[(df.network == net) & (df.input_sigma_ms == sig) & (df.input_alpha == alpha) & (df.layer == last)]
            free = (f", window-free SD {format_mean_ci(d.packet_sd_free_ms, 2, 'ms')}"
                    if "packet_sd_free_ms" in d else "")
            lines.append(f"    input σ {sig:g} ms, α {alpha:g}: last layer packet size "
                         f"{format_mean_ci(d.packet_size_frac, 2, method='bootstrap')} "
                         f"of the layer, SD {format_mean_ci(d.packet_sd_ms, 2, 'ms')}{free}, "
                         f"latency {format_mean_ci(d.packet_latency_ms, 1, 'ms')}")
    return finish_figure(ctx, fig, "fig3", "Fig. 3 — pulse-packet propagation in Het, Diff-only and Int-only FFNs",
                         lines, f"Spec: sims/fig3.toml ({ctx.scale} scale).", tight=False,
                         notes=("Packet readout: 200 bins over the run, ±4 ms around the peak bin, baseline (same "
                                "network and seed without stimulus) subtracted from the size. Its SD cannot exceed "
                                f"the window's ceiling 8/√12 = {WINDOW_SD_CEILING_MS:.2f} ms; the window-free SD "
                                "(baseline-subtracted moments of the spike times in centroid ± 3 SD, the run's own "
                                "pre-stimulus rate subtracted) has no ceiling. CIs: t over seeds (SD, latency), "
                                "bootstrap (size: alive/dead seeds make it bimodal); none with fewer than 4 seeds.",))


def _packet_figure(ctx: Context, fig_id: str, runs: list[Run], title: str, spec: str,
                   group: str = "input") -> list[Path]:
    """Rows = networks; columns = packet size (fraction of the layer), SD, latency vs layer;
    one line per input (mean ± 95 % CI over seeds)."""
    plt = plots.plt()
    df = rows_to_frame(packet_rows(runs))
    nets = list(dict.fromkeys(r.network for r in runs))
    inputs = list(dict.fromkeys(zip(df.input_sigma_ms, df.input_alpha)))
    fig, axes = plt.subplots(len(nets), 3, figsize=(7.5, 1.9 * len(nets) + 0.4), sharex=True, squeeze=False)
    colors = plt.cm.plasma(np.linspace(0, 0.85, len(inputs)))
    lines = [f"{fig_id} — {title}", "  Lines: median over seeds; dots: single seeds. SD and latency only where the "
             f"packet is alive: baseline-subtracted size ≥ {ALIVE_FRAC:.0%} of the layer above what the same readout "
             "finds in the no-stimulus run of that network and seed (a smaller window is background, or a "
             "spontaneous burst, and its SD meaningless).",
             "  Per network, input (sigma ms, alpha) and layer 0 … L: mean over seeds of the packet size as a fraction "
             "of the layer (baseline-subtracted) | SD (ms) | latency after t0 (ms); '–' where the mean size is below "
             "the alive threshold (in at least half the seeds). 95 % CIs of the last layer below each input "
             "(size: bootstrap over seeds, SD and latency: t; none with fewer than 4 seeds).",
             f"  SD panels: grey dotted line = the ±4 ms window's ceiling 8/√12 = {WINDOW_SD_CEILING_MS:.2f} ms (a "
             "uniform background's SD in the window: SDs near it are not a measured width); dashed = the window-free "
             "SD (baseline-subtracted moments, median over alive seeds), which has no ceiling.",
             "  Survival: seeds alive in the last layer at alive thresholds "
             + ", ".join(f"{c:.2f}" for c in ALIVE_THRESHOLDS) + " above the no-stimulus readout, k/n, probability "
             "[95 % Wilson CI]."]
    for i, net in enumerate(nets):
        lines.append(f"  {net}:")
        for k, (sig, alpha) in enumerate(inputs):
            d = df[(df.network == net) & (df.input_sigma_ms == sig) & (df.input_alpha == alpha)]
            if d.empty:
                continue
            layers = sorted(d.layer.unique())
            stats = {}
            for col, key in enumerate(("packet_size_frac", "packet_sd_ms", "packet_latency_ms")):
                ms, meds = [], []
                ax = axes[i, col]
                for z in layers:
                    dz = d[d.layer == z]
                    vals = dz[key] if key == "packet_size_frac" else dz[key][dz.alive]
                    ms.append(mean_ci(vals)[0])
                    meds.append(float(np.median(vals)) if len(vals) else np.nan)
                    jitter = (k - (len(inputs) - 1) / 2) * 0.06
                    ax.plot(np.full(len(vals), z + jitter), vals, ".", color=colors[k], ms=2, alpha=0.45)
                stats[key] = (np.array(ms), None)
                frac = d.input_alpha_frac.iloc[0]
                ax.plot(layers, meds, "-", color=colors[k], lw=1.1, label=f"σ {sig:g} ms, α {alpha:g} ({frac:.0%})")
                if key == "packet_sd_ms" and "packet_sd_free_ms" in d:
                    free = []
                    for z in layers:
                        dz = d[d.layer == z]
                        v = dz.packet_sd_free_ms[dz.alive].to_numpy(dtype=float)
                        v = v[np.isfinite(v)]
                        free.append(float(np.median(v)) if v.size else np.nan)
                    ax.plot(layers, free, "--", color=colors[k], lw=0.8)
            alive = np.array([d[d.layer == z].alive.mean() >= 0.5 for z in layers])
            dl = d[d.layer == layers[-1]]
            free_sd = (f", window-free SD {format_mean_ci(dl.packet_sd_free_ms[dl.alive], 2, 'ms')}"
                       if "packet_sd_free_ms" in dl else "")
            last = (f"      last layer: size {format_mean_ci(dl.packet_size_frac, 2, method='bootstrap')} (no-stimulus "
                    f"readout {dl.packet_floor_frac.mean():.2f}), SD {format_mean_ci(dl.packet_sd_ms[dl.alive], 2, 'ms')}"
                    f"{free_sd}, latency {format_mean_ci(dl.packet_latency_ms[dl.alive], 1, 'ms')}, "
                    f"alive in {int(dl.alive.sum())}/{len(dl)} seeds")
            lines.append(f"    σ {sig:g}, α {alpha:g}: size " + " ".join(f"{m:.2f}" for m in stats["packet_size_frac"][0])
                         + " | SD " + " ".join(f"{m:.1f}" if a else "–" for m, a in zip(stats["packet_sd_ms"][0], alive))
                         + " | latency " + " ".join(f"{m:.0f}" if a else "–" for m, a in zip(stats["packet_latency_ms"][0], alive)))
            lines.append(last)
            surv = survival_by_threshold(dl.packet_size_frac.to_numpy(), dl.packet_floor_frac.to_numpy())
            lines += ["      " + t.replace("L0 ", "") for t in format_survival_table(surv)]
        lat_meds = [np.nanmedian(d2.packet_latency_ms[d2.alive]) for _, d2 in df[df.network == net].groupby(["input_sigma_ms", "input_alpha", "layer"])
                    if d2.alive.any()]
        if lat_meds:  # latency outliers (a background bin picked as the peak) are clipped
            axes[i, 2].set_ylim(min(-15.0, np.nanmin(lat_meds) - 5), np.nanmax(lat_meds) + 15)
        axes[i, 0].set_ylabel(f"{net}\npacket size (fraction)")
        axes[i, 1].set_ylabel("packet SD (ms)")
        axes[i, 2].set_ylabel("latency after t0 (ms)")
        axes[i, 0].set_ylim(bottom=0)
        axes[i, 1].set_ylim(bottom=0)
        axes[i, 1].axhline(WINDOW_SD_CEILING_MS, color="0.45", ls=":", lw=0.8, zorder=0)
    axes[0, 1].annotate(f"window ceiling {WINDOW_SD_CEILING_MS:.2f} ms", (0.02, WINDOW_SD_CEILING_MS),
                        xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points",
                        fontsize=6, color="0.35", va="bottom")
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


