"""What every figure recipe works with: the results cache at a scale, the output folder, and the
one way a figure is titled, captioned and saved."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..sweep import cache as _results
from ..sweep.cache import Results, Run
from . import style
from .labels import deep_network_label

__all__ = ["Context", "Run", "dump_rows", "ensure_runs", "finish_figure"]


@dataclass
class Context(Results):
    """A :class:`~lamina.sweep.cache.Results` cache plus where figures go."""

    out: Path = Path("figures")

    def command(self, fig_id: str) -> str:
        return f"lamina figures {fig_id} --scale {self.scale}"


def ensure_runs(ctx: Context, fig_id: str, spec_name: str, overrides: dict | None = None,
                network_label: Callable[[list[str]], str] | None = None) -> list[Run]:
    """Every run of ``sims/<spec_name>.toml`` at ``ctx.scale``, reused or simulated, analysed
    (see :func:`lamina.sweep.cache.ensure_runs`); networks named by ``network_label``."""
    return _results.ensure_runs(ctx, fig_id, spec_name, network_label or deep_network_label, overrides)


def finish_figure(ctx: Context, fig, fig_id: str, title: str, lines: list[str], specs: str, *,
                  notes: tuple[str, ...] = (), tight: bool = True) -> list[Path]:
    """Title (and tight layout), then the caption: ``lines``, a blank line, ``notes``, the
    ``specs`` line and the command that regenerates the figure; writes png, pdf and caption."""
    fig.suptitle(title, fontsize=9)
    if tight:
        fig.tight_layout()
    caption = "\n".join([*lines, "", *notes, specs, f"Regenerate: {ctx.command(fig_id)}"])
    return style.save(fig, ctx.out, fig_id, caption)


def dump_rows(rows: list[dict], path: str | Path) -> None:
    """Write packet rows as JSON lines (for docs/results.md and the analysis notebooks), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    tmp.replace(path)
