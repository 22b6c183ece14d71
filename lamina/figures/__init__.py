"""Paper figures: ``lamina figures [ids...] [--all] [--scale small|paper]``.

Each figure id has a recipe that

1. reads its experiment specs from the shipped ``sims/`` (:mod:`lamina.resources`) at the named
   scale and expands their ``[sweep]`` tables into runs;
2. reuses every run already present under ``--results`` whose resolved spec (seed included) and
   compiled model match, and simulates the others (:mod:`lamina.sweep.cache`, into
   ``<results>/<name>[_<scale>]/runs/<run id>.h5``, the layout of ``lamina sweep``), each analysed
   once by ``lamina analyze``'s code;
3. writes ``<out>/<id>.png``, ``.pdf`` and a caption ``<id>.txt`` with the measured numbers and
   the command that regenerates it.

Modules, one per figure family: :mod:`.single_cell` (fig1, fig2), :mod:`.packets` (fig3,
fig3_packets, fig4, figA5), :mod:`.state_space` (figA2, figA3), :mod:`.information`
(info_strength, sensitivity, ou_ffn, figA4), :mod:`.filters` (ou_filters), :mod:`.synfire`
(synfire, rate_propagation: classic results of other papers, issue 15), :mod:`.raster` (the figure
of ``lamina run``); :mod:`.style`, :mod:`.labels` and :mod:`.context` are shared.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from .context import Context

__all__ = ["Context", "NOT_IN_ALL", "figure_recipes", "make_figures"]

Recipe = Callable[[Context], list[Path]]


#: Figures that ``--all`` leaves out: the profile search is a study of hours (``lamina search``);
#: ``lamina figures profile_search`` draws it (and runs what is missing).
NOT_IN_ALL = ("profile_search",)


def figure_recipes() -> dict[str, Recipe]:
    """Every figure id → its recipe, in ``--all`` order."""
    from . import filters, information, packets, profile_search, single_cell, state_space, synfire

    return {"fig1": single_cell.fig1, "fig2": single_cell.fig2, "fig3": packets.fig3,
            "fig3_packets": packets.fig3_packets, "fig4": packets.fig4, "figA2": state_space.figA2,
            "figA3": state_space.figA3, "figA5": packets.figA5, "info_strength": information.info_strength,
            "sensitivity": information.sensitivity, "ou_ffn": information.ou_ffn, "figA4": information.figA4,
            "ou_filters": filters.ou_filters, "synfire": synfire.synfire,
            "rate_propagation": synfire.rate_propagation,
            "profile_search": profile_search.profile_search}


def make_figures(ids: list[str], ctx: Context) -> dict[str, list[Path]]:
    """Make the figures ``ids`` (known ids: :func:`figure_recipes`); returns id → files written."""
    recipes = figure_recipes()
    unknown = [i for i in ids if i not in recipes]
    if unknown:
        raise KeyError(unknown[0])
    out = {}
    for fig_id in ids:
        t0 = time.perf_counter()
        ctx.log(f"lamina: figure {fig_id} ({ctx.scale} scale)")
        out[fig_id] = recipes[fig_id](ctx)
        ctx.log(f"lamina: figure {fig_id} done in {time.perf_counter() - t0:.1f} s → "
                + ", ".join(str(p) for p in out[fig_id]))
    return out
