"""Parse quantities written in specs and cell cards ("5 ms", "345 uS/cm**2", "38 uA/cm^2").

Values are kept as Brian2 quantities so that dimensions are checked once, here, and
downstream code can hand them to Brian2 unchanged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2.units import allunits, stdunits
from brian2.units.fundamentalunits import (
    DIMENSIONLESS,
    Quantity,
    get_dimensions,
    get_unit,
    have_same_dimensions,
)

from .errors import ConfigError

_UNITS: dict[str, Any] = {}
for _mod in (allunits, stdunits):
    _UNITS.update({k: getattr(_mod, k) for k in dir(_mod) if not k.startswith("_")})
_UNITS.setdefault("s", _UNITS["second"])  # "24 s": Brian2 spells it `second`

NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_UNIT_EXPR = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*(\s*(\*\*|\*|/)\s*(\(?\s*[-+]?\d+\s*\)?|[A-Za-z_][A-Za-z_0-9]*))*$")


_NAMES = {"s": "time units (e.g. 'ms')", "V": "voltage units (e.g. 'mV')",
          "m^-2 A": "current-density units (e.g. 'uA/cm**2')", "A": "current units (e.g. 'pA')",
          "m^-4 kg^-1 s^3 A^2": "conductance-density units (e.g. 'uS/cm**2')",
          "m^-4 kg^-1 s^4 A^2": "capacitance-density units (e.g. 'uF/cm**2')"}


def _unit_name(like: Any) -> str:
    u = str(get_unit(get_dimensions(like)))
    return _NAMES.get(u, f"units of {u}")


def parse_unit(text: str, field: str) -> Quantity:
    """A unit expression such as ``uA/cm**2`` → the Brian2 unit."""
    expr = text.replace("^", "**").strip()
    if not _UNIT_EXPR.match(expr):
        raise ConfigError(field, text, "a unit expression such as 'ms' or 'uA/cm**2'")
    try:
        unit = eval(expr, {"__builtins__": {}}, _UNITS)  # noqa: S307 — names restricted to units
    except Exception:
        raise ConfigError(field, text, "known units (e.g. ms, mV, uA/cm**2, uS/cm**2)") from None
    return unit


def parse_quantity(value: Any, field: str, like: Any = None) -> Quantity:
    """Parse ``value`` ("5 ms", 0.15, "0.15") into a Quantity.

    ``like``: a quantity or unit whose dimensions the value must have (None: any).
    A bare number is accepted only where a dimensionless value is expected.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(field, value, "a number or a quantity string such as '5 ms'")
    if isinstance(value, str):
        m = NUMBER.match(value)
        if not m:
            raise ConfigError(field, value, "a quantity such as '5 ms' (number, space, unit)")
        number, unit_text = float(m.group(1)), m.group(2)
        q = number * parse_unit(unit_text, field) if unit_text else Quantity(number)
    else:
        q = Quantity(float(value))
    if like is not None and not have_same_dimensions(q, like):
        want = get_dimensions(like)
        what = "a dimensionless number" if want is DIMENSIONLESS else f"a quantity in {_unit_name(like)}"
        raise ConfigError(field, value, f"expected {what} (wrong or missing unit)")
    return q


@dataclass(frozen=True)
class Distribution:
    """A per-neuron parameter: ``uniform`` [lo, hi), ``linspace`` lo..hi, or explicit ``values``."""

    kind: str
    args: tuple[Quantity, ...]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n values in SI units (floats)."""
        a = [float(np.asarray(x)) for x in self.args]
        if self.kind == "uniform":
            return rng.uniform(a[0], a[1], size=n)
        if self.kind == "linspace":
            return np.linspace(a[0], a[1], n)
        return np.asarray(a, dtype=float)


ParamValue = Quantity | Distribution


def parse_param(value: Any, field: str, like: Any) -> ParamValue:
    """A cell parameter: a quantity, or a per-neuron distribution table."""
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in ("uniform", "linspace", "values"):
            raise ConfigError(field, value, "a quantity or one of {uniform=[lo,hi]}, {linspace=[lo,hi]}, {values=[...]}")
        kind, raw = next(iter(value.items()))
        if not isinstance(raw, list) or (kind != "values" and len(raw) != 2) or not raw:
            raise ConfigError(f"{field}.{kind}", raw, "a list [lo, hi]" if kind != "values" else "a non-empty list")
        args = tuple(parse_quantity(v, f"{field}.{kind}[{k}]", like) for k, v in enumerate(raw))
        if kind == "uniform" and float(args[0]) > float(args[1]):
            raise ConfigError(f"{field}.uniform", raw, "lo <= hi")
        return Distribution(kind, args)
    return parse_quantity(value, field, like)


def param_values(value: ParamValue, n: int, rng: np.random.Generator, field: str) -> np.ndarray:
    """Per-neuron SI values of a parameter for a layer of n neurons."""
    if isinstance(value, Distribution):
        if value.kind == "values" and len(value.args) != n:
            raise ConfigError(f"{field}.values", len(value.args), f"one value per neuron ({n})")
        return value.sample(n, rng)
    return np.full(n, float(np.asarray(value)))
