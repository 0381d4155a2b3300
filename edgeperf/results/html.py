"""`edgeperf report`: one self-contained HTML page of one or more runs (the page: edgeperf/results/views/).

This module is the page's public face: `render` and `Run`, with `kind_of`, `esc`, `num`, `mib`, `CSP` and
`TIMELINE_BINS` kept for the callers that name them here. A page assembled elsewhere (the plan's, plan/page.py)
builds the views' blocks and goes through `views.page.render_page`.
"""

from __future__ import annotations

from edgeperf.results.views.fmt import esc, mib, num
from edgeperf.results.views.latency import TIMELINE_BINS
from edgeperf.results.views.page import CSP, kind_of, render
from edgeperf.results.views.run import Run

__all__ = ["CSP", "TIMELINE_BINS", "Run", "esc", "kind_of", "mib", "num", "render"]
