"""Command line: thin layer over the library. Bad input → one line on stderr, exit status 2."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import ConfigError, LaminaError

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


def _err(msg: str) -> None:
    print(f"lamina: error: {msg}", file=sys.stderr)


def _status(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _load(args) -> "object":
    from .config import load_experiment, parse_set

    overrides = dict(parse_set(s) for s in (args.set or []))
    if getattr(args, "backend", None):
        overrides["simulation.backend"] = args.backend
    if getattr(args, "seed", None) is not None:
        overrides["simulation.seed"] = args.seed
    return load_experiment(args.spec, overrides, scale=getattr(args, "scale", None)), overrides


def cmd_validate(args) -> int:
    exp, _ = _load(args)
    n = sum(l.size for l in exp.layers)
    print(f"{args.spec}: OK — {exp.name}: {len(exp.layers)} layers, {n} neurons, "
          f"{len(exp.projections)} projections, {float(exp.duration) * 1e3:g} ms at dt "
          f"{float(exp.dt) * 1e3:g} ms, input {exp.input.kind}, backend {exp.backend}")
    if exp.sweep is not None:
        from .sweep import expand_sweep

        points = expand_sweep(exp)
        print(f"  sweep: {len(points)} runs")
    return 0


def cmd_sweep(args) -> int:
    from .sweep import cli_sweep

    return cli_sweep(args)


def cmd_figures(args) -> int:
    from .paper import cli_figures

    return cli_figures(args)


def cmd_analyze(args) -> int:
    from .analyze import cli_analyze

    return cli_analyze(args)


def cmd_run(args) -> int:
    from .figures import raster_and_rates
    from .report import format_table, layer_rows
    from .simulate import simulate
    from .store import ensure_writable_dir, open_run, write_run

    exp, overrides = _load(args)
    out = ensure_writable_dir(Path(args.output or Path("results") / exp.name))
    _status(f"lamina: {exp.name}: {sum(l.size for l in exp.layers)} neurons, "
            f"{float(exp.duration) * 1e3:g} ms, backend {exp.backend} (compiles once per structure)", args.quiet)
    t0 = time.perf_counter()
    result = simulate(exp, point=overrides, progress=not args.quiet)
    path = write_run(result, out)
    a = result.attrs
    _status(f"lamina: done in {time.perf_counter() - t0:.1f} s (build {a['build_time_s']:.1f} s, "
            f"{'compiled' if a['compiled'] else 'cached program'}; simulation {a['run_time_s']:.1f} s) → {path}",
            args.quiet)
    run = open_run(path)
    print(format_table(layer_rows(run.layers, run.spikes, result.duration_ms, run.stimulus)))
    if args.figure != "none":
        fig = Path(args.figure) if args.figure else path.with_suffix(".png")
        raster_and_rates(run, fig)
        _status(f"lamina: figure → {fig}", args.quiet)
    return 0


def cmd_info(args) -> int:
    from .report import format_table, layer_rows
    from .store import open_run

    try:
        run = open_run(args.result)
    except (OSError, ValueError) as e:
        raise ConfigError("result", args.result, f"a readable lamina result file ({e})") from None
    a = run.attrs
    print(f"{run.path}")
    print(f"  name {a.get('name')}  seed {a.get('seed')}  backend {a.get('backend')}  "
          f"created {a.get('created')}  wall time {a.get('wall_time_s', 0):.1f} s")
    print(f"  lamina {a.get('lamina_version')}  brian2 {a.get('brian2_version')}  "
          f"structure {a.get('structure_key')}  method {a.get('method')}  dt {a.get('dt_ms')} ms")
    if run.point:
        print(f"  overrides {run.point}")
    print(f"  input {run.stimulus.get('kind')}"
          + "".join(f"  {k}={run.stimulus[k]}" for k in ("alpha", "sigma_ms", "t0_ms") if k in run.stimulus))
    print(format_table(layer_rows(run.layers, run.spikes, float(a.get("duration_ms", 0)), run.stimulus)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="lamina", description="Deep spiking FFNs with heterogeneous layers.")
    p.add_argument("--version", action="version", version=f"lamina {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def spec_args(sp):
        sp.add_argument("spec", help="experiment spec (TOML)")
        sp.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a spec value, e.g. --set input.alpha=600 --set input.sigma='5 ms'")
        sp.add_argument("--backend", choices=["cpp", "runtime"], help="override simulation.backend")
        sp.add_argument("--seed", type=int, help="override simulation.seed")
        sp.add_argument("--scale", help="apply the spec's [scales.<name>] overrides, e.g. small (paper = as written)")

    r = sub.add_parser("run", help="simulate one experiment and write its HDF5 result")
    spec_args(r)
    r.add_argument("-o", "--output", help="output directory (default results/<name>)")
    r.add_argument("--figure", default="", help="figure path (default next to the result; 'none' to skip)")
    r.add_argument("-q", "--quiet", action="store_true", help="only print the summary table")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="check a spec without running it")
    spec_args(v)
    v.set_defaults(func=cmd_validate)
    sw = sub.add_parser("sweep", help="run every point of a sweep spec (compile once per structure)")
    spec_args(sw)
    sw.add_argument("-o", "--output", help="sweep directory (default results/<name>)")
    sw.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    sw.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    sw.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sw.add_argument("--log-json", action="store_true", help="one JSON line per finished point on stdout")
    sw.set_defaults(func=cmd_sweep)
    an = sub.add_parser("analyze", help="per-layer analysis of a run file or sweep directory")
    an.add_argument("target", help="result .h5 file or sweep directory")
    an.add_argument("-q", "--quiet", action="store_true", help="no table")
    an.set_defaults(func=cmd_analyze)
    fg = sub.add_parser("figures", help="regenerate paper figures (runs or reuses the needed results)")
    fg.add_argument("ids", nargs="*", help="figure ids (default: --all): fig1 fig2 fig3 fig3_packets fig4 figA2 "
                    "figA3 figA5 info_strength sensitivity ou_ffn figA4 ou_filters")
    fg.add_argument("--all", action="store_true", help="every figure")
    fg.add_argument("--scale", default="small", help="small (2 cores, minutes) or paper (published sizes)")
    fg.add_argument("-o", "--output", default="figures", help="figure directory (default figures/)")
    fg.add_argument("--results", default="results", help="where results are read or written")
    fg.add_argument("--workers", type=int, default=None,
                    help="local worker processes for a figure's missing sweep runs (default: cores; 1: in-process)")
    fg.add_argument("-q", "--quiet", action="store_true")
    fg.set_defaults(func=cmd_figures)
    i = sub.add_parser("info", help="human summary of a result file")
    i.add_argument("result")
    i.set_defaults(func=cmd_info)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        _err(str(e))
        return EXIT_BAD_INPUT
    except LaminaError as e:
        _err(str(e))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:  # `lamina info ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
