"""Numbers for docs/results.md that the figure captions do not already give.

    python analysis/claims.py noise-floor      # packet readout applied to no-stimulus runs (fig3, small)
    python analysis/claims.py fig3-paper-size  # fig3 at the published N = 1000: Het and Diff-only, 2 seeds
    python analysis/claims.py fig3-table       # per-seed packet tables of fig3 (small) as JSON lines
    python analysis/claims.py integration      # fig3 (small) again with dt 0.005 ms and with Euler
    python analysis/claims.py fig3-extra [DIR] # sims/fig3_extra.toml at 7 × 1000 (10 seeds): survival, size, SD

Runs are reused from ./results when present (same rule as `lamina figures`), else simulated.
Run from the repository root with the project's venv; set LAMINA_CACHE=.lamina-cache to share
compiled programs with `make`.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from lamina.analysis.stats import format_mean_ci
from lamina.analysis.readout import rebaseline_packet
from lamina.figures.context import Context, ensure_runs
from lamina.figures.packets import packet_rows, rows_to_frame

HET = ["prescott.input", "prescott.int", "prescott.diff", "prescott.int", "prescott.diff", "prescott.int",
       "prescott.diff"]
DIFF = ["prescott.input"] + ["prescott.diff"] * 6


def noise_floor(ctx: Context) -> None:
    """What the readout reports when there is no packet: apply it to the no-stimulus runs (with
    the same baseline subtraction) — the size a pure-background layer appears to have."""
    runs = ensure_runs(ctx, "claims", "fig3")
    print("Readout on no-stimulus runs (fig3, small scale): apparent packet size (fraction of layer), SD (ms)")
    for net in dict.fromkeys(r.network for r in runs):
        base = [r for r in runs if r.network == net and r.input_param("alpha") == 0]
        sizes, sds = {}, {}
        for r in base:
            for z, l in enumerate(r.chain):
                t = r.data.spikes[l["name"]][0]
                n = int(l["size"])
                rate = np.count_nonzero(t >= 20) / n / ((r.duration_ms - 20) / 1e3)
                # the packet lamina analyze stored, with this run's own 20 ms … end rate subtracted
                pk = rebaseline_packet(r.data.analysis[l["name"]], n, rate, float(r.data.analysis["packet_window_ms"]))
                sizes.setdefault(z, []).append(pk["packet_size"] / n)
                sds.setdefault(z, []).append(pk["packet_sd_ms"])
        def sd(z):
            v = [x for x in sds[z] if np.isfinite(x)]
            return f"{np.mean(v):.1f}" if v else "–"

        print(f"  {net}: " + "; ".join(f"L{z} {format_mean_ci(sizes[z], 3)} SD {sd(z)}" for z in sorted(sizes)))


def fig3_paper_size(ctx: Context) -> None:
    """fig3's Het and Diff-only networks at the published size (7 × 1000), 2 seeds, to tell
    finite-size effects of the small scale from model behaviour."""
    paper = Context(scale="paper", results=ctx.results, quiet=ctx.quiet)
    runs = ensure_runs(paper, "claims", "fig3", overrides={'sweep."network.layers"': [HET, DIFF], "sweep.seeds": 2})
    df = rows_to_frame(packet_rows(runs))
    print("fig3 at N = 1000 (2 seeds): per seed, packet size (fraction) by layer | SD (ms) by layer")
    for (net, s, a), d in df.groupby(["network", "input_sigma_ms", "input_alpha"], sort=False):
        print(f"  {net} sigma {s:g} alpha {a:g}")
        for seed, ds in d.groupby("seed"):
            ds = ds.sort_values("layer")
            print(f"    seed {seed}: " + " ".join(f"{v:.2f}" for v in ds.packet_size_frac) + " | "
                  + " ".join(f"{v:.1f}" if a else "–" for v, a in zip(ds.packet_sd_ms, ds.alive)))
    base = [r for r in runs if r.input_param("alpha") == 0]
    for net in dict.fromkeys(r.network for r in base):
        rates = {}
        for r in base:
            if r.network != net:
                continue
            for z, l in enumerate(r.chain):
                t = r.data.spikes[l["name"]][0]
                rates.setdefault(z, []).append(np.count_nonzero(t >= 20) / int(l["size"]) / ((r.duration_ms - 20) / 1e3))
        print(f"  {net} spontaneous rates (Hz): " + ", ".join(f"L{z} {np.mean(v):.2f}" for z, v in sorted(rates.items())))


def fig3_table(ctx: Context) -> None:
    import json

    runs = ensure_runs(ctx, "claims", "fig3")
    for row in packet_rows(runs):
        print(json.dumps(row))


def integration(ctx: Context) -> None:
    """Are the fig3 results a property of the model or of the integrator? The published setting
    (Heun, dt 0.01 ms) against half the step and against Euler–Maruyama, same seeds: spontaneous
    rates per layer and last-layer packet size / SD per network and input."""
    settings = [("heun", "0.01 ms"), ("heun", "0.005 ms"), ("euler", "0.01 ms")]
    table = {}
    for method, dt in settings:
        runs = ensure_runs(ctx, "claims", "fig3", overrides={"simulation.method": method, "simulation.dt": dt})
        df = rows_to_frame(packet_rows(runs))
        last = df[df.layer == df.layer.max()]
        for (net, s, a), d in last.groupby(["network", "input_sigma_ms", "input_alpha"], sort=False):
            table.setdefault((net, s, a), {})[(method, dt)] = (
                format_mean_ci(d.packet_size_frac, 2), format_mean_ci(d.packet_sd_ms[d.alive], 2, "ms"), f"{int(d.alive.sum())}/{len(d)}")
        for r in runs:
            if r.input_param("alpha") == 0:
                for z, l in enumerate(r.chain):
                    t = r.data.spikes[l["name"]][0]
                    rate = np.count_nonzero(t >= 20) / int(l["size"]) / ((r.duration_ms - 20) / 1e3)
                    table.setdefault((r.network, "spont", z), {}).setdefault((method, dt), []).append(rate)
    head = " | ".join(f"{m} {dt}" for m, dt in settings)
    print(f"fig3 (small scale, 3 seeds), last layer: size (fraction), SD, alive seeds — {head}")
    for key, cols in table.items():
        if key[1] == "spont":
            continue
        net, s, a = key
        print(f"  {net:9s} sigma {s:g} alpha {a:g}: " + " | ".join(
            "size {} SD {} alive {}".format(*cols[st]) for st in settings))
    print("Spontaneous rate per layer (Hz), mean over seeds:")
    for net in dict.fromkeys(k[0] for k in table if k[1] == "spont"):
        zs = sorted(k[2] for k in table if k[0] == net and k[1] == "spont")
        for st in settings:
            print(f"  {net:9s} {st[0]} {st[1]}: " + " ".join(f"{np.mean(table[(net, 'spont', z)][st]):.1f}" for z in zs))


def fig3_extra(ctx: Context) -> None:
    """The authors' three extra fig3 runs (sims/fig3_extra.toml, published size: 7 × 1000, input-layer
    p = 40/N, 10 common seeds): per condition and layer, the paper readout's size (fraction of the
    layer, mean and 95 % percentile-bootstrap CI over seeds), the alive seeds (size − no-stimulus
    readout ≥ 0.10, as for claim 4) with the 95 % Wilson interval, the windowed SD of alive packets
    (mean ± 95 % t-CI) and, because the ±4 ms window's SD saturates at 2.31 ms, the window-free
    moments' SD and size (median over seeds) with the spontaneous and evoked rates."""
    from lamina.analysis.stats import WINDOW_SD_CEILING_MS, mean_ci, wilson_interval

    paper = Context(scale="paper", results=ctx.results, quiet=ctx.quiet)
    runs = ensure_runs(paper, "claims", "fig3_extra")
    df = rows_to_frame(packet_rows(runs))
    n_seeds = df.seed.nunique()
    print(f"fig3_extra at 7 x 1000 ({n_seeds} seeds, 180 ms, input-layer p = 40/N, 9/N elsewhere); "
          f"windowed SD ceiling {WINDOW_SD_CEILING_MS:.2f} ms")
    for (net, s, a), d in df.groupby(["network", "input_sigma_ms", "input_alpha"], sort=False):
        print(f"  {net} sigma {s:g} ms alpha {a:g}")
        for z, dz in d.groupby("layer"):
            m, lo, hi, n = mean_ci(dz.packet_size_frac, method="bootstrap")
            k = int(dz.alive.sum())
            wlo, whi = wilson_interval(k, n)
            sd, slo, shi, ns = mean_ci(dz.packet_sd_ms[dz.alive])
            sd_txt = (f"{sd:.2f} ± {(shi - slo) / 2:.2f} (n = {ns})" if np.isfinite(slo)
                      else f"{sd:.2f} (n = {ns}, no CI)" if ns else "–")
            print(f"    L{z}: size {m:.2f} [{lo:.2f}, {hi:.2f}]  alive {k}/{n} [{wlo:.2f}, {whi:.2f}]  "
                  f"floor {dz.packet_floor_frac.mean():.2f}  SD {sd_txt} ms  latency {dz.packet_latency_ms.mean():.1f} ms"
                  f" | window-free: size {dz.packet_size_free.median():.2f} spikes/neuron, SD {dz.packet_sd_free_ms.median():.1f} ms"
                  f" | rate {dz.rate_hz.mean():.1f} Hz (no stimulus {dz.baseline_rate_hz.mean():.1f})")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "noise-floor"
    ctx = Context(scale="small", results=Path(sys.argv[2] if len(sys.argv) > 2 else "results"), quiet=True)
    {"noise-floor": noise_floor, "fig3-paper-size": fig3_paper_size, "fig3-table": fig3_table,
     "integration": integration, "fig3-extra": fig3_extra}[what](ctx)
