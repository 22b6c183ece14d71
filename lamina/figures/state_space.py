"""(α, σ) state-space figures: figA2 (without) and figA3 (with feedforward inhibition)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style as plots
from .context import Context, ensure_runs, finish_figure
from .packets import packet_rows, rows_to_frame, ALIVE_FRAC
from ..analysis.stats import ALIVE_THRESHOLDS, WINDOW_SD_CEILING_MS


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
    sigmas = sorted(df.input_sigma_ms.unique())
    alphas = sorted(df.input_alpha.unique())
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
                d = df[(df.network == net) & (df.input_alpha == a) & (df.input_sigma_ms == sg)]
                if d.empty:
                    continue
                size[a_i, s_i] = d.packet_size_frac.mean()
                alive_map[a_i, s_i] = d.alive.mean() >= 0.5
                sd[a_i, s_i] = d.packet_sd_ms[d.alive].mean() if d.alive.any() else np.nan
        n_alive = int(alive_map.sum())
        dn = df[df.network == net]
        by_threshold = []
        for c in ALIVE_THRESHOLDS:
            alive_c = (dn.packet_size_frac - dn.packet_floor_frac >= c).groupby(
                [dn.input_alpha, dn.input_sigma_ms]).mean() >= 0.5
            by_threshold.append(f"{c:.2f}: {int(alive_c.sum())}")
        fl = df[df.network == net].packet_floor_frac.mean()
        lines.append(f"  {net}: alive in {n_alive}/{size.size} grid points (no-stimulus readout of the last layer "
                     f"{fl:.2f}); alive grid points by alive threshold above that readout: "
                     + ", ".join(by_threshold) + "; size map:")
        lines += ["    " + " ".join(f"{v:5.2f}" for v in row) for row in size]
        lines.append(f"    SD map (ms; the ±4 ms window cannot read more than 8/√12 = {WINDOW_SD_CEILING_MS:.2f} ms, "
                     "cyan line on the colour bar):")
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
            cb = fig.colorbar(im, ax=ax, label=lab, fraction=0.05)
            if j == 1:  # the ±4 ms window's SD ceiling on the SD colour scale
                cb.ax.axhline(WINDOW_SD_CEILING_MS, color="c", lw=1.0)
        _trajectories(axes[i, 2], full[full.network == net], alphas, sigmas)
    lines.append("  Right: state-space trajectories, one per input: (SD, size) of the packet in layers 0 … "
                 f"{last} (means over seeds; a trajectory stops at the first layer where the packet is not alive "
                 "in at least half the seeds, marked ×; ● = last layer reached alive); dotted: the ±4 ms window's "
                 f"SD ceiling {WINDOW_SD_CEILING_MS:.2f} ms.")
    return finish_figure(ctx, fig, fig_id, f"{fig_id} — {title}", lines,
                         f"Spec: {spec_path(spec)} ({ctx.scale} scale, {len({r.seed for r in runs})} seed(s)).")


def _trajectories(ax, df, alphas: list[float], sigmas: list[float]) -> None:
    """(SD, size) per layer from every (alpha, sigma) input, coloured by input alpha."""
    plt = plots.plt()
    colors = plt.cm.plasma(np.linspace(0, 0.85, len(alphas)))
    for a_i, a in enumerate(alphas):
        for sg in sigmas:
            d = df[(df.input_alpha == a) & (df.input_sigma_ms == sg)]
            if d.empty:
                continue
            xs, ys = [], []
            for z in sorted(d.layer.unique()):
                dz = d[d.layer == z]
                if dz.alive.mean() < 0.5:
                    if xs:
                        ax.plot(xs[-1], ys[-1], "x", color=colors[a_i], ms=3)
                    break
                xs.append(dz.packet_sd_ms[dz.alive].mean())
                ys.append(dz.packet_size_frac.mean())
            else:
                if xs:
                    ax.plot(xs[-1], ys[-1], "o", color=colors[a_i], ms=2.5)
            ax.plot(xs, ys, "-", color=colors[a_i], lw=0.6, alpha=0.8)
    ax.axvline(WINDOW_SD_CEILING_MS, color="0.45", ls=":", lw=0.8, zorder=0)
    ax.text(WINDOW_SD_CEILING_MS, 1.02, " window ceiling", fontsize=5.5, color="0.35", va="top")
    ax.set_xlabel("packet SD (ms)")
    ax.set_ylabel("packet size (fraction)")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(0, max(ax.get_xlim()[1], 1.2 * WINDOW_SD_CEILING_MS))


def spec_path(name: str) -> str:
    return f"sims/{name}.toml"


def figA2(ctx: Context) -> list[Path]:
    return _state_space(ctx, "figA2", "figA2", "(α, σ) state space of the last layer (9-layer FFNs)")


def figA3(ctx: Context) -> list[Path]:
    return _state_space(ctx, "figA3", "figA3", "(α, σ) state space with feedforward inhibition")


