"""Import Brian2 without pylab: import this module before the first ``brian2`` import.

Brian2's package init runs ``from pylab import *`` only to re-export pylab's names (lamina uses
none of them); that imports matplotlib.pyplot, 0.4–0.7 s of every lamina process. matplotlib is
optional for Brian2, which then takes its own numpy-only fallback, so pylab is made unimportable
for that one import and restored at once (a later ``import pylab`` works as usual). The price:
``from brian2 import *`` after ``import lamina`` brings no pylab names (``plot``, ``figure`` …);
import them from matplotlib.pyplot.
"""
from __future__ import annotations

import sys

# Only when it saves something: if pylab or pyplot is already loaded, Brian2 re-exports its names as usual.
if "brian2" not in sys.modules and not {"pylab", "matplotlib.pyplot"} & set(sys.modules):
    _absent = object()
    _saved = sys.modules.get("pylab", _absent)
    sys.modules["pylab"] = None  # type: ignore[assignment]  # `import pylab` raises ImportError
    try:
        import brian2  # noqa: F401
    finally:
        if _saved is _absent:
            del sys.modules["pylab"]
        else:
            sys.modules["pylab"] = _saved  # type: ignore[assignment]
