"""One code path computes a number: the per-layer numbers a figure caption prints for a run are the
numbers ``lamina analyze`` stored in that run's /analysis group (issue 10).

Tiny figure runs in a temporary sims dir, of the structure of test_paper_claims / test_paper_info
(Input + 4 layers × 200, cpp), so they need no extra compile in a full test session."""
from __future__ import annotations

import re

import pytest
from test_paper_info import _write_tiny

NUMBER = r"(-?[0-9.]+|–)"


def _caption_lines(caption: str, prefix: str) -> list[str]:
    return [line.strip() for line in caption.splitlines() if line.strip().startswith(prefix)]


@pytest.mark.slow
def test_packet_caption_numbers_are_the_analysis_numbers(tmp_path, cache_dir):
    """fig3_packets with one seed and no no-stimulus run: the packet's background is the run's own
    pre-packet rate, as in `lamina analyze`, so per layer the caption's size (fraction of the
    layer), SD and latency after t0 are the stored packet_size / n_neurons, packet_sd_ms and
    packet_latency_ms, to the printed digits."""
    from lamina.figures import Context, make_figures
    from lamina.figures.context import ensure_runs

    sims = tmp_path / "sims"
    _write_tiny(sims, "fig3", {"sweep": {"input.alpha": [80, 160], "seeds": 1}})
    ctx = Context(scale="paper", results=tmp_path / "results", out=tmp_path / "figures", sims=sims, quiet=True)
    caption = make_figures(["fig3_packets"], ctx)["fig3_packets"][2].read_text()
    runs = ensure_runs(ctx, "test", "fig3")
    assert len(runs) == 2 and all(r.data.analysis for r in runs)
    checked = 0
    for r in runs:
        alpha = r.input_param("alpha")
        (line,) = _caption_lines(caption, f"σ 1, α {alpha:g}:")
        size, sd, lat = (part.split()[1:] for part in line.split(":", 1)[1].split("|"))
        a = r.data.analysis
        assert len(size) == len(sd) == len(lat) == len(r.chain) == 5
        for z, l in enumerate(r.chain):
            n = a[l["name"]]
            assert size[z] == f"{n['packet_size'] / n['n_neurons']:.2f}", (z, line)
            if sd[z] != "–":  # printed where the packet is alive
                assert sd[z] == f"{n['packet_sd_ms']:.1f}", (z, line)
                assert lat[z] == f"{n['packet_latency_ms']:.0f}", (z, line)
                checked += 1
    assert checked >= 6  # the 40 % and 80 % packets stay alive in most layers
    # latency after t0: the input layer fires on the kicks, centred on t0
    assert abs(runs[0].data.analysis["L0_input"]["packet_latency_ms"]) < 1.0


@pytest.mark.slow
def test_ou_caption_numbers_are_the_analysis_numbers(tmp_path, cache_dir):
    """ou_ffn with one 1 s run: per layer, the caption's GCMI, KSG, info rate, lag and rate are
    the run's /analysis numbers (first 50 ms dropped, 1 ms bins, 256-bin Welch segments)."""
    from lamina.figures import Context, make_figures
    from lamina.figures.context import ensure_runs

    sims = tmp_path / "sims"
    _write_tiny(sims, "ou_ffn", {
        "simulation.duration": "1 second",
        "input": {"kind": "ou", "tau": "5 ms", "mean": "25 uA/cm**2", "sigma": "12.5 uA/cm**2", "start": "0 ms"}})
    ctx = Context(scale="paper", results=tmp_path / "results", out=tmp_path / "figures", sims=sims, quiet=True)
    caption = make_figures(["ou_ffn"], ctx)["ou_ffn"][2].read_text()
    (run,) = ensure_runs(ctx, "test", "ou_ffn")
    a = run.data.analysis
    assert a["t_start_ms"] == 50.0 and a["coherence_nperseg"] == 237  # 950 bins // 4 < 256
    pattern = re.compile(rf"layer (\d+): GCMI {NUMBER} bits.*, KSG {NUMBER} bits.*, info rate {NUMBER} bits/s.*, "
                         rf"lag {NUMBER} ms.*, rate {NUMBER} Hz")
    lines = _caption_lines(caption, "layer ")
    assert len(lines) == len(run.chain) == 5
    for line in lines:
        z, gcmi, ksg, info, lag, rate = pattern.match(line).groups()
        n = a[run.chain[int(z)]["name"]]
        assert (gcmi, ksg) == (f"{n['mi_gcmi_bits']:.3f}", f"{n['mi_ksg_bits']:.3f}"), line
        assert (info, lag, rate) == (f"{n['info_rate_bits_s']:.1f}", f"{n['best_lag_ms']:.1f}",
                                     f"{n['rate_hz']:.1f}"), line


@pytest.mark.slow
def test_figure_batches_are_even_and_keep_their_program_on_resume(tmp_path, cache_dir, monkeypatch):
    """The figure path (no worker processes) batches a structure's runs in equal batches near the
    backend's size, padding the last one, and a resumed figure runs the same program: 3 runs at a
    backend size of 2 → batches of 2 (2 + 1 padded); with one run file gone, the missing run is
    simulated at batch size 2 again, not 1."""
    import lamina.sweep.schedule as sch
    from lamina.figures import Context
    from lamina.figures.context import ensure_runs
    from lamina.store import open_run

    monkeypatch.setattr(sch, "default_batch", lambda exp: 2)  # cuda's rule, on cpp
    sims = tmp_path / "sims"
    _write_tiny(sims, "fig3", {"sweep": {"input.alpha": [80, 120, 160], "seeds": 1}})
    ctx = Context(scale="paper", results=tmp_path / "results", out=tmp_path / "figures", sims=sims, quiet=True)
    runs = ensure_runs(ctx, "test", "fig3")
    files = sorted((tmp_path / "results").rglob("*.h5"))
    assert len(runs) == 3 and len(files) == 3  # padding replicas are not written
    assert sorted(int(open_run(f).attrs["batch_size"]) for f in files) == [2, 2, 2]
    gone = runs[2].data.path
    spikes = runs[2].data.spikes["L4_diff"][0].copy()
    gone.unlink()
    ctx2 = Context(scale="paper", results=tmp_path / "results", out=tmp_path / "figures", sims=sims, quiet=True)
    again = ensure_runs(ctx2, "test", "fig3")
    assert ctx2.simulated == 1  # the missing run only
    redo = open_run(again[2].data.path)
    assert int(redo.attrs["batch_size"]) == 2
    assert len(redo.spikes["L4_diff"][0]) > 0 and len(spikes) > 0
