"""``lamina search``: the command-line entry (wired into :mod:`lamina.cli` by ``add_parser``).

::

    lamina search sims/profile_search.toml [--trials N] [--workers N | --scheduler tcp://...]
                  [--backend B] [--batch N] [--scale small] [-o OUT] [--set search.seeds=4] [-q]
    lamina search sims/profile_search.toml      # again: resumes where it stopped
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError

__all__ = ["add_parser", "cmd_search"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``search`` subcommand to ``subparsers`` (an ``argparse`` subparsers action).

    Parameters
    ----------
    subparsers
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser (its ``func`` default is :func:`cmd_search`).
    """
    p = subparsers.add_parser("search", help="search layer profiles (beta_w per layer) for the most information "
                              "about a packet's strength (an Optuna study; resumable)")
    p.add_argument("spec", help="a search spec: an experiment spec plus a [search] table (sims/profile_search.toml)")
    p.add_argument("--trials", type=int, default=None,
                   help="completed trials to reach (default: search.trials); finished trials count")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes for a trial's runs (default 1: in this process, in batches)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--backend", choices=["cpp", "runtime", "cuda", "auto"], help="run every run on this backend")
    p.add_argument("--batch", type=int, default=None,
                   help="runs simulated together in one program (default: all runs of a trial on runtime, "
                        "cuda ~1.6 million neurons per batch, cpp 1)")
    p.add_argument("--scale", default=None, help="a scale of the spec ([scales.<name>], e.g. small)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a spec value (dotted path, search.* included), repeatable")
    p.add_argument("-o", "--output", help="study directory (default results/<name>[_<scale>])")
    p.add_argument("--no-reevaluate", action="store_true",
                   help="skip the fresh-seed re-evaluation of the best profiles at the end")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_search)
    return p


def cmd_search(args: argparse.Namespace) -> int:
    """Run ``lamina search``: 0 when the study reached its trials (and was re-evaluated), 1 when
    trials failed so that fewer completed.

    Raises
    ------
    ConfigError
        An invalid spec, ``[search]`` value or option (the CLI prints one line, exit 2).
    """
    from ..config import parse_set
    from ..store.run import ensure_writable_dir
    from . import default_output, load_search
    from .study import run_study

    for name in ("trials", "workers", "batch"):
        v = getattr(args, name, None)
        if v is not None and v < 1:
            raise ConfigError(f"--{name}", v, f"a positive number of {name}")
    if getattr(args, "workers", None) is not None and getattr(args, "scheduler", None):
        raise ConfigError("--workers", args.workers, "not together with --scheduler (the scheduler's workers run the runs)")
    overrides = dict(parse_set(s) for s in getattr(args, "set", []) or [])
    scale = getattr(args, "scale", None)
    spec = load_search(args.spec, overrides, scale)
    if getattr(args, "backend", None):
        from ..config import experiment_from_dict

        probe = {**spec.base, "simulation": {**spec.base.get("simulation", {}), "backend": args.backend}}
        experiment_from_dict(probe)
    out = Path(args.output) if getattr(args, "output", None) else default_output(spec, scale)
    ensure_writable_dir(out)
    quiet = bool(getattr(args, "quiet", False))

    def say(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr, flush=True)

    text = Path(args.spec).read_text(encoding="utf-8")
    report = run_study(spec, out, trials=getattr(args, "trials", None), workers=getattr(args, "workers", None),
                       scheduler=getattr(args, "scheduler", None), backend=getattr(args, "backend", None),
                       batch=getattr(args, "batch", None), reevaluate_top=not getattr(args, "no_reevaluate", False),
                       spec_text=text, log=say)
    print(f"{spec.name}: {report.n_complete} trials complete ({report.n_new} new, {report.n_failed} failed) → {out}")
    if report.reevaluated:
        print(f"On {spec.fresh_seeds} fresh seeds (never used by the search): MI(strength; last-layer packet "
              f"{spec.response}), bits, 95 % CI (jackknife over seeds)")
        for r in report.reevaluated:
            half = f"± {r['half']:.2f}" if r.get("half") is not None else "(no CI)"
            beta = " ".join(f"{b:.1f}" for b in r["beta_w"])
            extra = f" (search value {r['search_value']:.2f}, trial {r['trials'][0]})" if r["kind"] == "searched" else ""
            print(f"  {r['label']:<9} {r['mi']:.3f} {half}{extra}   beta_w [{beta}] mV")
    target = getattr(args, "trials", None) or spec.trials
    return 0 if report.n_complete >= target else 1
