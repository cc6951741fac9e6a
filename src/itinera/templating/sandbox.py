"""The sandbox every template renders in: Jinja2's immutable sandbox, bounded in work and size.

Each render has a :class:`Budget` of work: a loop iteration, a call, a filter, an operator and
a value written out each cost a step, and a value made or handed to a filter costs a step per
32 characters (or per item). A template that runs out fails with a clear error instead of
running on (``{% for i in range(100000) %}{% for j in range(100000) %}`` writes nothing, so no
cap on output would stop it). Thread CPU time is a backstop for work the steps do not see
(comparing long texts in a loop): an operational guard, never a decision of the engine's.

No value a template makes may exceed :data:`~itinera.templating.guards.MAX_SIZE`; where the
size is known in advance (widths, ``replace``, ``join``, ``indent``, ``+``) the operation is
refused before it allocates (:mod:`itinera.templating.guards`). Templates may call only their
own macros, loops and helpers and a few methods of text, mappings, lists and dates; ``*``
does not repeat text or lists. ``lipsum`` and the ``random`` filter are gone: the same
template renders the same text in the simulator and live.

A missing or null value writes nothing, as does a null joined with ``~``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import BlockReference, Context, LoopContext, Macro, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.utils import Cycler, Joiner, Namespace

from itinera.templating.guards import (
    MAX_SIZE,
    check_brace_format,
    check_filter,
    check_method,
    check_printf,
    check_size,
    text_size,
)

__all__ = ["CPU_SECONDS", "ITERATE", "MAX_BITS", "MAX_WORK", "Budget", "Sandbox"]

MAX_WORK = 200_000
"""Steps of work one render may do (see the module's docstring)."""
MAX_BITS = 4096
"""Bits of an integer ``*`` or ``**`` may make (about 1,200 digits)."""
CPU_SECONDS = 1.0
"""Thread CPU time one render may take: the backstop."""
ITERATE = "<iterate>"
"""The filter every loop's sequence goes through (a name no template can write)."""

_CLOCK_EVERY = 1024  # steps between two looks at the CPU clock
_SIZED = (str, list, tuple, dict, set, frozenset, range)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, _SIZED) else 0


def _weight(value: Any) -> int:
    """Steps a value costs when made or handed on: text by 32 characters, collections by item."""
    if isinstance(value, str):
        return len(value) // 32
    return _size(value)


class Budget:
    """The work one render has left; raises SecurityError once it is spent (and after)."""

    __slots__ = ("_check_at", "_clock", "_deadline", "_left", "_seconds", "_work")

    def __init__(self, work: int, cpu_seconds: float | None, clock: Callable[[], float]) -> None:
        self._work, self._left, self._seconds, self._clock = work, work, cpu_seconds, clock
        self._deadline = None if cpu_seconds is None else clock() + cpu_seconds
        self._check_at = work - _CLOCK_EVERY

    def charge(self, steps: int = 1) -> None:
        self._left -= steps
        if self._left < self._check_at:
            self._check()

    def _check(self) -> None:
        if self._left < 0:
            raise SecurityError(f"the template does more than {self._work} steps of work "
                                "(loop iterations, calls, filters, characters made)")
        self._check_at = self._left - _CLOCK_EVERY
        if self._deadline is not None and self._clock() > self._deadline:
            self._left = self._check_at = -1
            raise SecurityError(f"the template took more than {self._seconds:g} s of CPU")

    def made(self, value: Any) -> Any:
        """``value``, made by the template: refused when too large, else paid for."""
        size = _size(value)
        if size > MAX_SIZE:
            raise SecurityError(f"the template made a value of {size} characters or items, over "
                                f"the limit of {MAX_SIZE}")
        self.charge(1 + _weight(value))
        return value


class _Context(Context):
    """A render's context, with its budget."""

    def __init__(self, environment: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(environment, *args, **kwargs)
        self.budget: Budget = environment.new_budget()


def _budget(context: Context) -> Budget:
    budget: Budget = context.budget  # type: ignore[attr-defined]
    return budget


def _iterate(budget: Budget, iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        budget.charge()
        yield item


@pass_context
def _iterate_filter(context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    return _iterate(_budget(context), iterable)


class _CodeGenerator(CodeGenerator):
    """Jinja's code, with every loop's sequence counted and ``~`` checked for size (at render
    time even for literals, where Jinja would join ``none`` as "None" when compiling)."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in list(node.find_all(nodes.For)):
            loop.iter = nodes.Filter(loop.iter, ITERATE, [], [], None, None, lineno=loop.lineno)
        super().visit_Template(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.join_values(context, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


@pass_context
def _finalize(context: Context, value: Any) -> str:
    """What ``{{ value }}`` writes: nothing for a null (as for a missing value), never "None"."""
    kind = type(value)
    if kind is str:
        text: str = value
    elif value is None:
        return ""
    elif kind is int or kind is float or kind is bool:
        text = str(value)
    else:
        check_size(text_size(value), "writing out a value")
        text = str(value)
    context.budget.charge(1 + len(text) // 32)  # type: ignore[attr-defined]
    return text


def _concat(parts: Iterable[str]) -> str:
    """A captured block (``{% set x %}``, a macro's output): checked before it is joined."""
    parts = list(parts)
    check_size(sum(len(part) for part in parts), "a captured block")
    return "".join(parts)


class _Namespace(Namespace):
    """``namespace()``, whose attributes cannot grow past the size limit from loop to loop."""

    def __setitem__(self, name: str, value: Any) -> None:
        check_size(_size(value), f"namespace attribute {name!r}")
        super().__setitem__(name, value)


def _filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Filter ``name``, paid for and checked (guards.check_filter) before it runs."""
    kind = getattr(getattr(function, "jinja_pass_arg", None), "name", None)

    @pass_context
    def run(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget(context)
        budget.charge(1 + _weight(value))
        value = check_filter(name, value, args, kwargs)
        if kind == "context":
            return budget.made(function(context, value, *args, **kwargs))
        if kind == "eval_context":
            return budget.made(function(context.eval_ctx, value, *args, **kwargs))
        if kind == "environment":
            return budget.made(function(context.environment, value, *args, **kwargs))
        return budget.made(function(value, *args, **kwargs))

    return run


_CALLABLE_TYPES = (Macro, LoopContext, BlockReference, Cycler, Joiner, Undefined)
_RUNTIME = (LoopContext, BlockReference, Cycler, Joiner)  # methods: loop.cycle, super, next


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with a budget per render and size limits (module docstring).
    ``cpu_clock`` is the thread's CPU time unless given."""

    code_generator_class = _CodeGenerator
    context_class = _Context
    intercepted_binops = frozenset({"*", "**", "%", "+"})
    concat = staticmethod(_concat)

    def __init__(self, *, work: int = MAX_WORK, cpu_seconds: float | None = CPU_SECONDS,
                 cpu_clock: Callable[[], float] = time.thread_time) -> None:
        super().__init__(undefined=Undefined, autoescape=False, finalize=_finalize)
        self.work, self.cpu_seconds, self.cpu_clock = work, cpu_seconds, cpu_clock
        del self.globals["lipsum"]  # random text, of any size
        self.globals["namespace"] = _Namespace
        self.filters = {name: _filter(name, f) for name, f in self.filters.items()
                        if name != "random"}
        self.filters[ITERATE] = _iterate_filter
        self._callables = (safe_range, dict, _Namespace, Cycler, Joiner)

    def new_budget(self) -> Budget:
        return Budget(self.work, self.cpu_seconds, self.cpu_clock)

    def join_values(self, context: Context, parts: tuple[Any, ...]) -> str:
        """``a ~ b``: text of each part (nothing for a null), checked before it is joined."""
        check_size(sum(text_size(part) for part in parts), "joining with ~")
        text = "".join(["" if p is None else p if type(p) is str else str(p) for p in parts])
        _budget(context).charge(1 + len(text) // 32)
        return text

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget(context)
        budget.charge()
        if operator == "*":
            if isinstance(left, str | list | tuple) or isinstance(right, str | list | tuple):
                raise SecurityError("repeating text or lists with * is not allowed in templates")
            if _bits(left) + _bits(right) > MAX_BITS:
                raise SecurityError("operands of * are too large for a template")
        elif operator == "**":
            if (_bits(left) > 1 and isinstance(right, int) and right > 0
                    and _bits(left) * right > MAX_BITS):
                raise SecurityError("operands of ** are too large for a template")
        elif operator == "%" and isinstance(left, str):
            check_printf(left)
            check_size(len(left) + text_size(right), "% formatting")
        elif operator == "+" and isinstance(left, _SIZED) and isinstance(right, _SIZED):
            check_size(_size(left) + _size(right), "+")
        return budget.made(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        text: str = value.__self__
        format_call = wrapper

        def checked(*args: Any, **kwargs: Any) -> str:
            check_brace_format(text)
            check_size(len(text) + text_size(args) + text_size(kwargs), "format")
            return format_call(*args, **kwargs)

        checked.itinera_format = True  # type: ignore[attr-defined]
        return checked

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _budget(context)
        budget.charge()
        if isinstance(obj, LoopContext):
            if args:  # loop(children) of a recursive loop: a loop again, counted as one
                args = (_iterate(budget, args[0]), *args[1:])
        elif not (isinstance(obj, _CALLABLE_TYPES) or any(obj is c for c in self._callables)
                  or getattr(obj, "itinera_format", False)):
            receiver, name = getattr(obj, "__self__", None), getattr(obj, "__name__", "")
            checked = None
            if isinstance(receiver, _RUNTIME):
                checked = None if name.startswith("_") else args
            elif receiver is not None:
                checked = check_method(receiver, name, args)
            if checked is None:
                raise SecurityError(f"templates may not call {name or type(obj).__name__!r}")
            args = checked
        return budget.made(super().call(context, obj, *args, **kwargs))


def _bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0
