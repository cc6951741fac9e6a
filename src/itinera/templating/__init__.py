"""Templates: the sandbox they render in, with its limits of work and size
(:mod:`~itinera.templating.sandbox`, :mod:`~itinera.templating.guards`), and what validation
can tell about a template without rendering it (:mod:`~itinera.templating.static`).
Rendering with values (the fast path for placeholders, the contexts) is the engine's
(``itinera.engine.render``)."""

from itinera.templating.guards import MAX_SIZE
from itinera.templating.sandbox import CPU_SECONDS, MAX_BITS, MAX_WORK, Budget, Sandbox
from itinera.templating.static import template_problems

__all__ = ["CPU_SECONDS", "MAX_BITS", "MAX_SIZE", "MAX_WORK", "Budget", "Sandbox",
           "template_problems"]
