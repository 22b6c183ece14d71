"""Names of networks as figures and tables show them ("Het", "Diff-only", "β_w −10 mV", ...)."""
from __future__ import annotations

from .style import variant

__all__ = ["deep_network_label", "fly_label"]


def deep_network_label(cells: list[str]) -> str:
    """'Het', 'Diff-only', 'Int-only', 'Reversed Het', 'β_w −10 mV' … from a chain's cell refs."""
    vs = [variant(c) for c in cells]
    body = [v for v in vs[1:] if v != "inh"] if vs and vs[0] == "input" else vs
    if not body:
        return "-".join(vs)
    if len(set(body)) == 1:
        v = body[0]
        named = {"diff": "Diff-only", "int": "Int-only", "int0": "Int-only"}
        if v in named:
            return named[v]
        if v.startswith("mid"):
            return f"β_w −{v[3:]} mV"
        return f"{v}-only"
    if set(body) == {"int", "diff"}:
        alternating = all(a != b for a, b in zip(body, body[1:]))
        if alternating:
            return "Het" if body[0] == "int" else "Reversed Het"
    return "-".join(vs)


def fly_label(cells: list[str]) -> str:
    """Fly-pathway configurations of fig2 / figA4 (ORN → PN → LHN)."""
    vs = tuple(variant(c) for c in cells[1:])
    return {("int", "diff"): "Het", ("diff", "diff"): "All-Diff", ("int", "int"): "All-Int",
            ("diff", "int"): "Reversed", ("mid10", "mid10"): "β_w −10 mV"}.get(vs, "/".join(vs))
