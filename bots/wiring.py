"""The bots' process-wide services, set up by engage/wiring.py for the web app, the worker and the CLI."""

from __future__ import annotations

from bots.draining import Kicker
from bots.search.setup import install as install_search
from bots.support.setup import install as install_support
from engage.platform.runtime import Runtime


def install(runtime: Runtime) -> None:
    runtime.services["drains"] = Kicker(runtime.sessionmaker, runtime.jobs, in_process=runtime.redis is None)
    install_search(runtime)
    install_support(runtime)


def leave_indexing_to_server(runtime: Runtime) -> None:
    """For commands that change the catalog or the help centre in bulk: don't embed here.

    Embedded, the changes wait in the backlogs for `engage serve` (its sweep, within 30 s, or its next
    start); with Redis the worker drains them as usual. `engage reindex` drains them at once.
    """
    runtime.services["drains"].defer()
