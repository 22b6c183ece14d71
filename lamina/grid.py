"""The grid of a ``[sweep]`` table: axes, values with units, seeds, run ids, points (plain dicts;
validation of each point is passed in). :mod:`lamina.sweep.expand` applies it to an Experiment.

The ``[sweep]`` table of a spec → a validated list of runs (:class:`SweepPoint`).

::

    [sweep]
    "input.alpha" = [200, 400, 600]                          # a list of values
    "input.sigma" = { linspace = ["2 ms", "16 ms"], n = 8 }   # or linspace / geomspace / range
    "cells.int.g_syn" = ["300 uS/cm**2", "345 uS/cm**2"]
    "cells.diff.g_syn" = ["900 uS/cm**2", "975 uS/cm**2"]
    zip = [["cells.int.g_syn", "cells.diff.g_syn"]]          # these vary together (one axis)
    seeds = 4                                                # repeats per point (default 1)
    seed_mode = "independent"                                # or "common" (same seeds at every point)

Axes combine as a grid (first axis slowest); a zip group is one axis. Every run gets its own
seed, derived from the base seed (``simulation.seed``), the point's values and the repeat index
(:func:`derive_seed`), and an id that is a digest of its complete spec (:func:`run_id`), so the
same spec always gives the same runs, and a changed spec gives new ones (never overwriting).

Pure Python (no Brian2 beyond what :mod:`lamina.config` imports): ``lamina validate`` uses it.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from typing import TYPE_CHECKING, Callable

from .errors import ConfigError
from .quantities import MAX_TEXT, NUMBER

if TYPE_CHECKING:
    from .config import Experiment

RESERVED = ("seeds", "zip", "seed_mode", "batch")
SEED_MODES = ("independent", "common")
_RANGE_KINDS = ("linspace", "geomspace", "range")
_SEED_PATH = "simulation.seed"
MAX_RUNS = 100_000  # points x repeats of one sweep


@dataclass(frozen=True, eq=False)
class SweepPoint:
    """One run of a sweep: a grid point × a repeat."""

    index: int  # grid point number, in expansion order (0-based)
    repeat: int  # 0 .. seeds-1
    values: dict  # dotted path -> value as written in the spec (what `--set` takes)
    seed: int  # the run's simulation.seed
    run_id: str  # digest of the complete run spec; the run file is runs/<run_id>.h5
    experiment: "Experiment" = field(repr=False)

    @property
    def filename(self) -> str:
        return f"{self.run_id}.h5"

    @property
    def spec(self) -> dict:
        """The resolved spec of this run (no [sweep] table): `lamina run` on it reproduces it."""
        return self.experiment.spec


# ---------------------------------------------------------------------------------------------
# Axis values


def _split_quantity(v: Any, field_: str) -> tuple[float, str]:
    """'2 ms' → (2.0, 'ms'); 3 → (3.0, '')."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ConfigError(field_, v, "a number or a quantity such as '2 ms'")
    if isinstance(v, str):
        m = NUMBER.match(v) if len(v) <= MAX_TEXT else None
        if not m:
            raise ConfigError(field_, v, "a number or a quantity such as '2 ms'")
        return float(m.group(1)), m.group(2)
    return float(v), ""


def _endpoints(raw: Any, field_: str, n_min: int, n_max: int) -> tuple[list[float], str, bool]:
    """Endpoints of a range table → (numbers in the first endpoint's unit, unit text, all ints)."""
    if not isinstance(raw, list) or not n_min <= len(raw) <= n_max:
        want = "[start, stop]" if n_max == 2 else "[start, stop] or [start, stop, step]"
        raise ConfigError(field_, raw, f"a list {want}")
    nums, unit = [], None
    for k, v in enumerate(raw):
        x, u = _split_quantity(v, f"{field_}[{k}]")
        if unit is None:
            unit = u
        elif u != unit:
            if not u or not unit:
                raise ConfigError(f"{field_}[{k}]", v, f"the same unit as {raw[0]!r}")
            from .quantities import parse_quantity, parse_unit

            q = parse_quantity(v, f"{field_}[{k}]", parse_unit(unit, f"{field_}[0]"))  # checks dimensions
            x = float(q / parse_unit(unit, f"{field_}[0]"))
        nums.append(x)
    all_int = all(isinstance(v, int) and not isinstance(v, bool) for v in raw)
    return nums, unit or "", all_int


def _fmt(x: float, unit: str, as_int: bool) -> Any:
    if unit:
        return f"{float(f'{x:.12g}'):.12g} {unit}"
    if as_int and abs(x - round(x)) < 1e-9:
        return int(round(x))
    return float(f"{x:.12g}")


def axis_values(path: str, raw: Any) -> list:
    """A sweep table entry → the list of values it stands for."""
    where = f'sweep."{path}"'
    if isinstance(raw, list):
        if not raw:
            raise ConfigError(where, raw, "a non-empty list of values")
        return list(raw)
    if not isinstance(raw, dict):
        raise ConfigError(where, raw, "a list of values, or a table such as "
                          "{ linspace = [\"2 ms\", \"16 ms\"], n = 8 } or { range = [200, 1000, 200] }")
    kinds = [k for k in raw if k in _RANGE_KINDS]
    if len(kinds) != 1:
        hint = ""
        if not kinds and raw and all(isinstance(v, (dict, list)) for v in raw.values()):
            hint = (f" (dotted keys must be quoted: write \"{path}.{next(iter(raw))}\" = [...], "
                    f"not {path}.{next(iter(raw))} = [...])")
        raise ConfigError(where, raw, "a list of values or one of { linspace = [a, b], n = N }, "
                          "{ geomspace = [a, b], n = N }, { range = [start, stop, step] }" + hint)
    kind = kinds[0]
    allowed = {kind, "n"} if kind != "range" else {"range"}
    for k in raw:
        if k not in allowed:
            raise ConfigError(f"{where}.{k}", raw[k], f"unknown key (allowed: {', '.join(sorted(allowed))})")
    if kind == "range":
        nums, unit, as_int = _endpoints(raw["range"], f"{where}.range", 2, 3)
        start, stop = nums[0], nums[1]
        step = nums[2] if len(nums) == 3 else 1.0
        if not all(math.isfinite(x) for x in (start, stop, step)):
            raise ConfigError(f"{where}.range", raw["range"], "finite numbers")
        if step == 0:
            raise ConfigError(f"{where}.range", raw["range"], "a non-zero step")
        count = math.floor((stop - start) / step - 1e-9) + 1 if (stop - start) / step > 0 else 0
        if count <= 0:
            raise ConfigError(f"{where}.range", raw["range"], "a non-empty range (stop is excluded, as in Python)")
        if count > 1_000_000:
            raise ConfigError(f"{where}.range", raw["range"], "at most 1,000,000 values")
        return [_fmt(start + k * step, unit, as_int) for k in range(count)]
    n = raw.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1_000_000:
        raise ConfigError(f"{where}.n", n, "a positive number of values")
    (a, b), unit, as_int = _endpoints(raw[kind], f"{where}.{kind}", 2, 2)
    if kind == "linspace":
        xs = [a + (b - a) * k / (n - 1) for k in range(n)] if n > 1 else [a]
    else:
        if a == 0 or b == 0 or (a < 0) != (b < 0):
            raise ConfigError(f"{where}.geomspace", raw[kind], "non-zero endpoints of the same sign")
        xs = [a * (b / a) ** (k / (n - 1)) for k in range(n)] if n > 1 else [a]
    if not all(math.isfinite(x) for x in xs):
        raise ConfigError(f"{where}.{kind}", raw[kind], "finite endpoints")
    return [_fmt(x, unit, as_int) for x in xs]


# ---------------------------------------------------------------------------------------------
# Seeds and ids


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def derive_seed(base: int, values: dict, repeat: int, salt: int = 0) -> int:
    """The seed of one run: a hash of the base seed, the point's values and the repeat index,
    in [0, 2**32). Deterministic across machines and Python versions."""
    payload = {"base": int(base), "values": values, "repeat": int(repeat)}
    if salt:
        payload["salt"] = salt
    digest = hashlib.sha256(_canonical(payload).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def run_id(spec: dict) -> str:
    """12 hex digits of the SHA-256 of a run's complete resolved spec (seed included)."""
    return hashlib.sha256(_canonical(spec).encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# Expansion


def sweep_axes(sweep: dict) -> tuple[list[list[str]], list[list]]:
    """The axes of a sweep table: ([paths of axis 0, ...], [values per axis as tuples...])."""
    if not isinstance(sweep, dict):
        raise ConfigError("sweep", sweep, "a table")
    paths = [k for k in sweep if k not in RESERVED]
    for p in paths:
        if not isinstance(p, str) or "." not in p:
            raise ConfigError(f"sweep.{p}", sweep[p], "a quoted dotted parameter path such as "
                              f"\"input.alpha\", or one of {', '.join(RESERVED)}")
        if p.split(".", 1)[0].strip('"') in ("sweep", "name"):
            raise ConfigError(f'sweep."{p}"', sweep[p], "a parameter of the experiment (not name or sweep)")
    values = {p: axis_values(p, sweep[p]) for p in paths}
    zips = sweep.get("zip", [])
    if not paths:
        raise ConfigError("sweep", sweep, "at least one swept parameter path, e.g. \"input.alpha\" = [200, 400]")
    if not isinstance(zips, list) or not all(isinstance(g, list) and g for g in zips):
        raise ConfigError("sweep.zip", zips, 'a list of groups of paths, e.g. [["cells.int.g_syn", "cells.diff.g_syn"]]')
    group_of: dict[str, int] = {}
    for gi, group in enumerate(zips):
        for p in group:
            if not isinstance(p, str) or p not in values:
                raise ConfigError("sweep.zip", p, f"a path swept in this [sweep] table ({', '.join(paths) or 'none'})")
            if p in group_of:
                raise ConfigError("sweep.zip", p, "each path in at most one zip group, once")
            group_of[p] = gi
        lengths = {p: len(values[p]) for p in group}
        if len(set(lengths.values())) > 1:
            raise ConfigError("sweep.zip", group, "paths with the same number of values (got "
                              + ", ".join(f"{p}: {n}" for p, n in lengths.items()) + ")")
    axes_paths: list[list[str]] = []
    seen_groups: set[int] = set()
    for p in paths:  # axes in the order of the table; a zip group sits where its first path is
        if p in group_of:
            gi = group_of[p]
            if gi in seen_groups:
                continue
            seen_groups.add(gi)
            axes_paths.append(list(zips[gi]))
        else:
            axes_paths.append([p])
    axes_values = [list(zip(*(values[p] for p in axis))) for axis in axes_paths]
    for axis, vals in zip(axes_paths, axes_values):
        seen: set[str] = set()
        for v in vals:
            c = _canonical(v)
            if c in seen:
                shown = v[0] if len(v) == 1 else list(v)
                raise ConfigError(f'sweep."{axis[0]}"' if len(axis) == 1 else "sweep.zip", shown,
                                  "distinct values (this one appears more than once; use seeds for repeats)")
            seen.add(c)
    return axes_paths, axes_values


def expand_spec(base_spec: dict, sweep: dict, base_seed: int, *, validate: "Callable[[dict], Experiment]",
                apply: Callable[[dict, dict], dict]) -> list[SweepPoint]:
    """The runs of ``sweep`` applied to ``base_spec`` (a spec without its [sweep] table; it need
    not be a valid run itself): every point is validated by ``validate`` (a spec dict → its
    Experiment, raising ConfigError), the first failing one is reported with its values.
    ``apply(spec, {path: value})`` applies dotted-path values. The validator is passed in so this
    module sits below lamina.config (which uses it to validate a sweep whose base spec is not a
    run on its own) without an import circle."""
    if not isinstance(sweep, dict):
        raise ConfigError("sweep", sweep, "a table")
    seeds = sweep.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError("sweep.seeds", seeds, "a positive number of repeats per point")
    mode = sweep.get("seed_mode", "independent")
    if mode not in SEED_MODES:
        raise ConfigError("sweep.seed_mode", mode, f"one of {', '.join(SEED_MODES)}")
    batch = sweep.get("batch", 1)
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 100_000:
        raise ConfigError("sweep.batch", batch, "a positive number of runs simulated together per program")
    axes_paths, axes_values = sweep_axes(sweep)
    flat_paths = [p for axis in axes_paths for p in axis]
    if _SEED_PATH in flat_paths and seeds != 1:
        raise ConfigError("sweep.seeds", seeds, "1 when simulation.seed itself is swept")
    n_runs = math.prod(len(v) for v in axes_values) * seeds
    if n_runs > MAX_RUNS:
        raise ConfigError("sweep", f"{n_runs:,} runs", f"at most {MAX_RUNS:,} runs (points x seeds) in one sweep")
    points: list[SweepPoint] = []
    used_seeds: set[int] = set()
    ids: dict[str, dict] = {}
    for index, combo in enumerate(itertools.product(*axes_values)):
        values = {p: v for axis, vals in zip(axes_paths, combo) for p, v in zip(axis, vals)}
        for repeat in range(seeds):
            if _SEED_PATH in values:
                seed = values[_SEED_PATH]
                if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
                    raise ConfigError(f'sweep."{_SEED_PATH}"', seed, "integers in [0, 2**32)")
            else:
                key_values = {} if mode == "common" else values
                seed, salt = derive_seed(base_seed, key_values, repeat), 0
                while mode == "independent" and seed in used_seeds:  # keep seeds distinct
                    salt += 1
                    seed = derive_seed(base_seed, key_values, repeat, salt)
                used_seeds.add(seed)
            spec = apply(base_spec, {**values, _SEED_PATH: seed})
            try:
                pexp = validate(spec)
            except ConfigError as e:
                shown = ", ".join(f"{p} = {v!r}"[:100] for p, v in values.items())
                raise ConfigError(e.field, e.value, f"{e.expected} (in sweep point {index}: {shown})") from None
            rid = run_id(pexp.spec)
            if rid in ids:
                raise ConfigError("sweep", values, f"distinct points (same run as {ids[rid]})")
            ids[rid] = values
            points.append(SweepPoint(index, repeat, values, seed, rid, pexp))
    return points
