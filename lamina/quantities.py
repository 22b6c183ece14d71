"""Parse quantities written in specs and cell cards ("5 ms", "345 uS/cm**2", "38 uA/cm^2").

Values are kept as Brian2 quantities so that dimensions are checked once, here, and
downstream code can hand them to Brian2 unchanged.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from . import _brian  # noqa: F401  (first: Brian2 without pylab)
from brian2.units import allunits, stdunits
from brian2.units.fundamentalunits import (
    DIMENSIONLESS,
    Quantity,
    Unit,
    get_dimensions,
    get_unit,
    have_same_dimensions,
)

from .errors import ConfigError

_UNITS: dict[str, Any] = {}
for _mod in (allunits, stdunits):
    _UNITS.update({k: getattr(_mod, k) for k in dir(_mod)
                   if not k.startswith("_") and isinstance(getattr(_mod, k), Unit)})
_UNITS.setdefault("s", _UNITS["second"])  # "24 s": Brian2 spells it `second`

# A number, optional space, an optional unit expression. Linear-time on any input: the unit part
# is everything after the number (trailing space is stripped by the caller's text).
NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
MAX_TEXT = 200  # longest quantity or unit text accepted (characters)
MAX_EXPONENT = 4  # largest |e| in `unit**e`
_MAX_DEPTH = 8  # parentheses nesting in a unit expression

# Tokens of the unit grammar (see parse_unit): names, integers, operators, parentheses.
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z_0-9]*)|(\d+)|(\*\*|\*|/|\^|\(|\)|[-+]))")


_NAMES = {"s": "time units (e.g. 'ms')", "V": "voltage units (e.g. 'mV')",
          "m^-2 A": "current-density units (e.g. 'uA/cm**2')", "A": "current units (e.g. 'pA')",
          "m^-4 kg^-1 s^3 A^2": "conductance-density units (e.g. 'uS/cm**2')",
          "m^-4 kg^-1 s^4 A^2": "capacitance-density units (e.g. 'uF/cm**2')"}


def _unit_name(like: Any) -> str:
    u = str(get_unit(get_dimensions(like)))
    return _NAMES.get(u, f"units of {u}")


def _tokens(text: str, field: str) -> list[tuple[str, str]]:
    out, pos, n = [], 0, len(text)
    while pos < n:
        if text[pos:].isspace():
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConfigError(field, text, "a unit expression such as 'ms' or 'uA/cm**2'")
        name, num, op = m.groups()
        out.append(("name", name) if name else ("int", num) if num else ("op", "**" if op == "^" else op))
        pos = m.end()
    return out


def parse_unit(text: str, field: str) -> Quantity:
    """A unit expression such as ``uA/cm**2`` → the Brian2 unit.

    Grammar (nothing else is evaluated; no exponent can blow up)::

        unit     := factor (("*" | "/") factor)*
        factor   := atom [("**" | "^") exponent]
        atom     := NAME | "(" unit ")"                 NAME: a Brian2 unit (ms, mV, uA, cm, ...)
        exponent := ["-" | "+"] INT | "(" ["-" | "+"] INT ")"      with |INT| <= 4
    """
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ConfigError(field, text, f"a unit expression such as 'ms' (at most {MAX_TEXT} characters)")
    unit, expected = _unit(text)
    if expected:
        raise ConfigError(field, text, expected)
    return unit


@functools.lru_cache(maxsize=4096)
def _unit(text: str) -> tuple[Any, str]:
    """(unit, "") or (None, what was expected); cached: Brian2 unit arithmetic is slow."""
    try:
        return _parse_unit(text, ""), ""
    except ConfigError as e:
        return None, e.expected


def _parse_unit(text: str, field: str) -> Quantity:
    bad = "a unit expression such as 'ms' or 'uA/cm**2'"
    toks = _tokens(text, field)
    if not toks:
        raise ConfigError(field, text, bad)
    pos = 0

    def peek(kind: str | None = None, value: str | None = None) -> bool:
        if pos >= len(toks):
            return False
        k, v = toks[pos]
        return (kind is None or k == kind) and (value is None or v == value)

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(toks):
            raise ConfigError(field, text, bad + " (incomplete)")
        pos += 1
        return toks[pos - 1]

    def exponent() -> int:
        paren = peek("op", "(")
        if paren:
            take()
        sign = 1
        if peek("op", "-") or peek("op", "+"):
            sign = -1 if take()[1] == "-" else 1
        k, v = take()
        if k != "int":
            raise ConfigError(field, text, f"{bad} (an exponent is a small integer)")
        if len(v) > 2 or int(v) > MAX_EXPONENT:
            raise ConfigError(field, text, f"an exponent of at most {MAX_EXPONENT} in a unit expression")
        if paren and take() != ("op", ")"):
            raise ConfigError(field, text, f"{bad} (unbalanced parentheses)")
        return sign * int(v)

    def atom(depth: int) -> Any:
        k, v = take()
        if (k, v) == ("op", "("):
            if depth >= _MAX_DEPTH:
                raise ConfigError(field, text, f"{bad} (parentheses nested too deeply)")
            u = unit(depth + 1)
            if take() != ("op", ")"):
                raise ConfigError(field, text, f"{bad} (unbalanced parentheses)")
            return u
        if k != "name":
            raise ConfigError(field, text, bad)
        if v not in _UNITS:
            raise ConfigError(field, text, "known units (e.g. ms, mV, uA/cm**2, uS/cm**2)")
        return _UNITS[v]

    def factor(depth: int) -> Any:
        u = atom(depth)
        if peek("op", "**"):
            take()
            u = u ** exponent()
        return u

    def unit(depth: int) -> Any:
        u = factor(depth)
        while peek("op", "*") or peek("op", "/"):
            op = take()[1]
            f = factor(depth)
            u = u * f if op == "*" else u / f
        return u

    result = unit(0)
    if pos != len(toks):
        raise ConfigError(field, text, bad)
    return result


def _finite(x: float, field: str, value: Any) -> float:
    if not math.isfinite(x):
        raise ConfigError(field, value, "a finite number (not nan or inf)")
    return x


def parse_quantity(value: Any, field: str, like: Any = None) -> Quantity:
    """Parse ``value`` ("5 ms", 0.15, "0.15") into a Quantity.

    ``like``: a quantity or unit whose dimensions the value must have (None: any).
    A bare number is accepted only where a dimensionless value is expected.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(field, value, "a number or a quantity string such as '5 ms'")
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ConfigError(field, value, f"a quantity such as '5 ms' (at most {MAX_TEXT} characters)")
        m = NUMBER.match(value)
        if not m:
            raise ConfigError(field, value, "a quantity such as '5 ms' (number, space, unit)")
        number, unit_text = _finite(float(m.group(1)), field, value), m.group(2)
        try:
            q = number * parse_unit(unit_text, field) if unit_text else Quantity(number)
        except ConfigError as e:  # name the whole value, not only its unit part
            raise ConfigError(field, value, e.expected) from None
    else:
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            raise ConfigError(field, value, "a finite number") from None
        q = Quantity(_finite(number, field, value))
    if not math.isfinite(float(q)):  # e.g. "1e300 Ymetre" overflowing in the scale
        raise ConfigError(field, value, "a finite quantity")
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
