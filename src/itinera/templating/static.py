"""What validation can tell about a template without rendering it: its syntax, unknown filters
and tests, ``include``/``import``/``extends`` (a template is one text, with nothing to load), and
what would certainly break the sandbox's limits at every render — a literal ``range`` over
Jinja's cap, literal loops nested past the budget, repeating text with ``*``, literal widths over
the size limit (``center(999999999)``, ``'%0999999999d'``, ``'{:>999999999}'.format``)."""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.sandbox import MAX_RANGE

from itinera.templating.guards import check_brace_format, check_filter, check_printf, check_size, check_spec
from itinera.templating.sandbox import MAX_BITS, MAX_WORK, Sandbox

__all__ = ["template_problems"]

_SANDBOX = Sandbox()  # compiles only; each render has its own budget
_UNKNOWN = object()


def template_problems(text: str) -> list[str]:
    """Why ``text`` cannot be a template, each with its line; empty when it can."""
    try:
        tree = _SANDBOX.parse(text)
    except TemplateSyntaxError as error:
        return [f"template syntax error in {text[:60]!r}: {error.message} (line {error.lineno})"]
    problems: list[str] = []
    _walk(tree, 1, problems)
    if not problems:
        try:
            _SANDBOX.compile(text)
        except TemplateSyntaxError as error:
            problems.append(f"template error in {text[:60]!r}: {error.message} "
                            f"(line {error.lineno})")
    return problems


def _const(node: nodes.Node) -> Any:
    return node.value if isinstance(node, nodes.Const) else _UNKNOWN


def _count(node: nodes.Node) -> int | None:
    """How many items a literal sequence has (None when not literal)."""
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return len(node.value)
    if isinstance(node, nodes.List | nodes.Tuple | nodes.Dict):
        return len(node.items)
    if (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name)
            and node.node.name == "range" and node.args and not node.kwargs):
        bounds = [_const(arg) for arg in node.args]
        if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds) and len(bounds) <= 3:
            if len(bounds) == 3 and bounds[2] == 0:
                return None
            span = range(*bounds)
            try:
                return len(span)
            except OverflowError:
                return MAX_RANGE + 1
    return None


def _walk(node: nodes.Node, times: int, problems: list[str]) -> None:
    """Check ``node``, run ``times`` times by the literal loops around it, and what is in it."""
    try:
        _check(node, times)
    except SecurityError as error:
        problems.append(f"{error} (line {node.lineno})")
        return
    inner = times
    if isinstance(node, nodes.For):
        count = _count(node.iter)
        if count is not None:
            inner = times * max(count, 1)
        _walk(node.iter, times, problems)
        for child in [*node.body, *node.else_, *([node.test] if node.test else [])]:
            _walk(child, inner, problems)
        return
    for child in node.iter_child_nodes():
        _walk(child, inner, problems)


def _check(node: nodes.Node, times: int) -> None:
    if isinstance(node, nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends):
        # A template is one text: there is nothing to load, so every render would fail.
        raise SecurityError("a template cannot include, import or extend another template")
    if isinstance(node, nodes.For):
        count = _count(node.iter)
        if count is not None and times * count > MAX_WORK:
            raise SecurityError(f"loops would run {times * count} times, over the template "
                                f"limit of {MAX_WORK} steps")
    elif isinstance(node, nodes.Filter | nodes.Test):
        known = _SANDBOX.filters if isinstance(node, nodes.Filter) else _SANDBOX.tests
        if node.name not in known:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            raise SecurityError(f"no {kind} named {node.name!r}")
        if isinstance(node, nodes.Filter):
            _check_filter(node)
    elif isinstance(node, nodes.Call):
        _check_call(node)
    elif isinstance(node, nodes.Mul):
        if any(isinstance(v, str) or isinstance(n, nodes.List | nodes.Tuple)
               for n, v in ((node.left, _const(node.left)), (node.right, _const(node.right)))):
            raise SecurityError("repeating text or lists with * is not allowed in templates")
        _check_bits(node, "*")
    elif isinstance(node, nodes.Pow):
        _check_bits(node, "**")
    elif isinstance(node, nodes.Mod) and isinstance(_const(node.left), str):
        check_printf(_const(node.left))


def _check_bits(node: nodes.Mul | nodes.Pow, operator: str) -> None:
    left, right = _const(node.left), _const(node.right)
    if not (isinstance(left, int) and isinstance(right, int)):
        return
    bits = (left.bit_length() * right if operator == "**" and right > 0 and abs(left) > 1
            else left.bit_length() + right.bit_length() if operator == "*" else 0)
    if bits > MAX_BITS:
        raise SecurityError(f"operands of {operator} are too large for a template")


def _check_filter(node: nodes.Filter) -> None:
    args = [_const(arg) for arg in node.args]
    kwargs: dict[str, Any] = {}
    for keyword in node.kwargs:
        if isinstance(keyword, nodes.Keyword):
            kwargs[keyword.key] = _const(keyword.value)
    if _UNKNOWN in args or _UNKNOWN in kwargs.values() or node.dyn_args or node.dyn_kwargs:
        return
    value = _const(node.node) if node.node is not None else _UNKNOWN
    try:
        check_filter(node.name, "" if value is _UNKNOWN else value, tuple(args), kwargs)
    except TypeError:
        return  # the wrong arguments: the render will say so


def _check_call(node: nodes.Call) -> None:
    count = _count(node)
    if (isinstance(node.node, nodes.Name) and node.node.name == "range" and count is not None
            and count > MAX_RANGE):
        raise SecurityError(f"range of {count} items is over the template limit of {MAX_RANGE}")
    if not isinstance(node.node, nodes.Getattr):
        return
    name, receiver = node.node.attr, _const(node.node.node)
    first = _const(node.args[0]) if node.args else _UNKNOWN
    if name in ("format", "format_map") and isinstance(receiver, str):
        check_brace_format(receiver)
    elif name in ("center", "ljust", "rjust", "zfill") and isinstance(first, int):
        check_size(first, name)
    elif name == "strftime" and isinstance(first, str):
        check_spec(first, "strftime")
