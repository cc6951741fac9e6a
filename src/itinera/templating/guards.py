"""Size checks made *before* a template operation allocates: the widths and precisions of
``%``-formats, ``str.format`` and ``strftime``, and the sizes that ``center``, ``indent``,
``replace``, ``join``, ``wordwrap`` and the like would make. Each raises
:class:`~jinja2.exceptions.SecurityError` with what was refused; none allocates the result.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from datetime import date, time
from typing import Any

from jinja2.exceptions import SecurityError

__all__ = ["MAX_SIZE", "check_brace_format", "check_filter", "check_method", "check_printf",
           "check_size", "check_spec", "text_size"]

MAX_SIZE = 100_000
"""Characters (or items) of any one value a template makes — the cap of a rendered text too."""

_DIGITS = re.compile(r"\d+")
# A printf conversion: %(key)flags width .precision length type.
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.?)", re.DOTALL)


def _too_big(digits: str) -> bool:
    return len(digits) > 6 or int(digits) > MAX_SIZE


def check_size(size: int, what: str) -> None:
    if size > MAX_SIZE:
        raise SecurityError(f"{what} would make {size} characters or items, over the template "
                            f"limit of {MAX_SIZE}")


def check_spec(spec: str, what: str) -> None:
    """A format spec (``>20``, ``%0100Y``) whose widths and precisions are within the limit."""
    for digits in _DIGITS.findall(spec):
        if _too_big(digits):
            raise SecurityError(f"{what}: width {digits[:12]} is over the template limit of "
                                f"{MAX_SIZE}")


def check_printf(text: str) -> None:
    """A ``%``-format (``'%05d' % n``, the ``format`` filter): no ``*`` width, none too wide."""
    for match in _PRINTF.finditer(text):
        width, precision = match.group(1), match.group(2)
        if "*" in (width, precision):
            raise SecurityError("a * width or precision is not allowed in a template's % format")
        for digits in (width, precision):
            if digits and _too_big(digits):
                raise SecurityError(f"% format {match.group(0)[:20]!r}: width {digits[:12]} is "
                                    f"over the template limit of {MAX_SIZE}")


def check_brace_format(text: str) -> None:
    """A ``str.format`` text: each field's spec within the limit, and no spec made of fields
    (``{:{}}``), whose width would only be known from the values."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format will say what is wrong
    for _, _, spec, _ in fields:
        if spec and "{" in spec:
            raise SecurityError("a format spec made of fields ({:{}}) is not allowed in templates")
        if spec:
            check_spec(spec, f"format spec {spec[:20]!r}")


def text_size(value: Any, limit: int = MAX_SIZE) -> int:
    """About how many characters ``str(value)`` has, counted without making it: exact for text,
    an estimate for numbers and containers; stops counting past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, list | tuple | dict | set | frozenset):
        return 8
    size, stack = 2, [value]
    while stack and size <= limit:
        item = stack.pop()
        if isinstance(item, dict):
            size += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            size += 2 + 2 * len(item)
            stack.extend(item)
        else:
            size += len(item) + 2 if isinstance(item, str) else 8
    return size


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _replace(text: str, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        times = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            times = min(times, count)
        check_size(len(text) + times * (len(new) - len(old)), "replace")


def _joined(items: list[Any], separator: Any, what: str) -> None:
    gap = len(str(separator)) if separator is not None else 0
    total = sum(text_size(item) for item in items) + max(len(items) - 1, 0) * gap
    check_size(total, what)


# Filters (by name) that could make a value much larger than what they are given: each check
# takes the filter's arguments and returns the value to filter (an iterable made a list once,
# so that it is not consumed by the check).
def _center(value: Any, width: Any = 80) -> Any:
    check_size(_int(width, 0), "center")
    return value


def _indent(value: Any, width: Any = 4, first: bool = False, blank: bool = False) -> Any:
    prefix = _int(width, 0) if not isinstance(width, str) else len(width)
    check_size(prefix, "indent")
    text = str(value)
    check_size(len(text) + (text.count("\n") + 1) * prefix, "indent")
    return value


def _format(value: Any, *args: Any, **kwargs: Any) -> Any:
    check_printf(str(value))
    return value


def _replace_filter(value: Any, old: Any, new: Any, count: Any = None) -> Any:
    _replace(str(value), old, new, count)
    return value


def _join(value: Any, d: Any = "", attribute: Any = None) -> Any:
    items = list(value)
    _joined(items, d, "join")
    return items


def _wordwrap(value: Any, width: Any = 79, break_long_words: bool = True, wrapstring: Any = None,
              break_on_hyphens: bool = True) -> Any:
    text = str(value)
    if isinstance(wrapstring, str) and len(wrapstring) > 1:
        # At most one break per word and one per `width` characters of a long word.
        breaks = len(text.split()) + len(text) // max(_int(width, 1), 1)
        check_size(len(text) + breaks * len(wrapstring), "wordwrap")
    return value


def _batch(value: Any, linecount: Any, fill_with: Any = None) -> Any:
    check_size(_int(linecount, 0), "batch")
    return value


def _slice(value: Any, slices: Any, fill_with: Any = None) -> Any:
    check_size(_int(slices, 0), "slice")
    return value


def _tojson(value: Any, indent: Any = None) -> Any:
    check_size(_int(indent, 0) * 100 if not isinstance(indent, str) else len(indent) * 100,
               "tojson indent")
    return value


def _sum(iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    if not isinstance(start, int | float):  # adding up lists or texts copies them all each time
        raise SecurityError("sum adds up numbers only in templates")
    return iterable


def _urlize(value: Any, trim_url_limit: Any = None, nofollow: bool = False, target: Any = None,
            rel: Any = None, extra_schemes: Any = None) -> Any:
    text = str(value)
    extra = len(str(target or "")) + len(str(rel or "")) + 64
    check_size(2 * len(text) + (len(text.split()) + 1) * extra, "urlize")
    return value


_FILTERS: dict[str, Callable[..., Any]] = {
    "center": _center, "indent": _indent, "format": _format, "replace": _replace_filter,
    "join": _join, "wordwrap": _wordwrap, "batch": _batch, "slice": _slice, "tojson": _tojson,
    "sum": _sum, "urlize": _urlize,
}


def check_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Check filter ``name`` before it runs; the value to give it."""
    check = _FILTERS.get(name)
    return value if check is None else check(value, *args, **kwargs)


# Methods a template may call, by the type of what they are called on. Those of text that
# grow it are checked first; everything else is refused.
_TEXT = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
    "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable",
    "isspace", "istitle", "isupper", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "upper",
    "center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join"})
_MAPPING = frozenset({"get", "items", "keys", "values"})
_SEQUENCE = frozenset({"count", "index"})
_TIME = frozenset({"isoformat", "strftime", "weekday", "isoweekday", "timestamp", "date"})


def check_method(receiver: Any, name: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The arguments to call method ``name`` of ``receiver`` with (checked; an iterable given
    to ``join`` made a list), or None when templates may not call it."""
    if isinstance(receiver, str):
        if name not in _TEXT:
            return None
        if name in ("center", "ljust", "rjust", "zfill") and args:
            check_size(_int(args[0], 0), name)
        elif name == "expandtabs":
            tab = _int(args[0], 8) if args else 8
            check_size(len(receiver) + receiver.count("\t") * max(tab, 0), name)
        elif name == "replace" and len(args) >= 2:
            _replace(receiver, *args[:3])
        elif name == "join" and args:
            items = list(args[0])
            _joined(items, receiver, name)
            return (items, *args[1:])
        return args
    if isinstance(receiver, dict):
        return args if name in _MAPPING else None
    if isinstance(receiver, list | tuple):
        return args if name in _SEQUENCE else None
    if isinstance(receiver, date | time):
        if name not in _TIME:
            return None
        if name == "strftime" and args and isinstance(args[0], str):
            check_spec(args[0], "strftime")
        return args
    return None
