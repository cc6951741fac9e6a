"""The sandbox's limits of work and size: a hostile template is a clear RenderError, raised
before it allocates anything large (tracemalloc's peak stays small), and validation refuses
what is certain without rendering."""

from __future__ import annotations

import re
import tracemalloc
from typing import Any

import pytest

from itinera.engine.render import Renderer, RenderError
from itinera.templating import MAX_SIZE, MAX_WORK, Sandbox, template_problems

NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
# Hostile templates that only data makes hostile: validation cannot know, the render refuses.
HOSTILE: list[tuple[str, str]] = [
    (NESTED.replace("100000", "n"), f"more than {MAX_WORK} steps of work"),
    ("{{ 'x'|center(w) }}", "center would make 999999999"),
    ("{{ s|indent(w) }}", "indent would make 999999999"),
    ("{{ 'x'.center(w) }}", "center would make 999999999"),
    ("{{ 'x'.ljust(w) }}", "ljust would make 999999999"),
    ("{{ f % 1 }}", "width 999999999 is over the template limit"),
    ("{{ g.format(1) }}", "width 999999999 is over the template limit"),
    ("{{ '%*d' % (w, 1) }}", "a * width"),
    ("{{ '{:{}}'.format(1, w) }}", "format spec made of fields"),
    ("{{ s * w }}", "repeating text or lists with * is not allowed"),
    ("{{ [s] * w }}", "repeating text or lists with * is not allowed"),
    ("{{ n ** n }}", "operands of ** are too large"),
    ("{{ (1).to_bytes(w, 'big') }}", "templates may not call 'to_bytes'"),
    ("{{ s.encode() }}", "templates may not call 'encode'"),
    ("{{ big|replace('', big) }}", "replace would make"),
    ("{{ big.replace('a', big) }}", "replace would make"),
    ("{{ big.join(['a', 'b', 'c']) }}", "join would make"),
    ("{{ range(3)|join(big) }}", "join would make"),
    ("{{ big|wordwrap(1, wrapstring=big) }}", "wordwrap would make"),
    ("{{ [1]|batch(w, 'x')|list }}", "batch would make"),
    ("{{ [1]|slice(w) }}", "slice would make"),
    ("{{ range(n)|map('center', n)|join }}", "steps of work"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}", "joining with ~ would make"),
    ("{% macro f(s, k) %}{% if k %}{{ f(s ~ s, k - 1) }}{% endif %}{% endmacro %}{{ f('ab', 60) }}",
     "joining with ~ would make"),
    ("{% set x %}{% for i in range(3) %}{{ big }}{% endfor %}{% endset %}{{ x|length }}",
     "a captured block would make"),
    ("{% for x in [1] recursive %}{{ loop(range(n)) }}{{ loop(range(n)) }}{{ loop(range(n)) }}"
     "{% endfor %}", "steps of work"),
    ("{{ dt.strftime('%0999999999Y') }}", "strftime: width 0999999999"),
    ("{{ '{:%0999999999Y}'.format(dt) }}", "width 0999999999"),
    ("{{ ([1], [2])|sum(start=[]) }}", "sum adds up numbers only"),
    ("{{ lipsum(w) }}", "'lipsum' is undefined"),
]
VALUES: dict[str, Any] = {"n": 100_000, "w": 999_999_999, "s": "ab\ncd", "big": "a" * 60_000,
                          "f": "%0999999999d", "g": "{:>999999999}"}


@pytest.mark.parametrize(("text", "error"), HOSTILE)
def test_a_hostile_template_fails_clearly_without_allocating(text: str, error: str) -> None:
    from datetime import UTC, datetime

    renderer = Renderer()
    values = {**VALUES, "dt": datetime(2026, 1, 1, tzinfo=UTC)}
    renderer.render("{{ n }}", values)  # compiled and warmed up before measuring
    tracemalloc.start()
    try:
        with pytest.raises(RenderError, match=re.escape(error)):
            renderer.render(text, values)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * MAX_SIZE  # at most a few values of the size limit, never gigabytes


def test_the_budget_counts_steps_not_time() -> None:
    loop = "{% for i in range(n) %}{{ i }}{% endfor %}"
    with pytest.raises(RenderError, match="more than 1000 steps"):
        Renderer(Sandbox(work=1000)).render(loop, {"n": 1000})
    assert Renderer(Sandbox(work=10_000)).render(loop, {"n": 3}) == "012"


def test_the_cpu_backstop_stops_work_the_steps_do_not_see() -> None:
    ticks = iter(range(10**6))
    sandbox = Sandbox(cpu_seconds=5, cpu_clock=lambda: float(next(ticks)))  # a second a look
    with pytest.raises(RenderError, match="more than 5 s of CPU"):
        Renderer(sandbox).render("{% for i in range(n) %}{% endfor %}", {"n": 100_000})


@pytest.mark.parametrize("text", [
    "{% for x in items %}{{ loop.index }}:{{ x|upper }} {% endfor %}",
    "{{ '%05.1f' % price }} {{ '{:>6}'.format(name) }} {{ name|center(10) }}|",
    "{{ name.upper() }} {{ account.get('tier', 'none') }} {{ items|join(', ') }}",
    "{% set ns = namespace(n=0) %}{% for x in items %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}",
    "{{ arr * 1.1 }} {{ arr * 12 }} {{ 2 ** 10 }} {{ [1, 2]|sum }} {{ 'x' ~ none ~ 'y' }}",
    "{% for k, v in account.items() %}{{ k }}={{ v }};{% endfor %}{{ account|tojson }}",
    "{{ when.strftime('%d %B %Y') }} {{ '{:%Y}'.format(when) }}",
])
def test_ordinary_templates_render_as_before(text: str) -> None:
    from datetime import UTC, datetime

    values = {"items": ["a", "b"], "price": 3.14159, "name": "Acme", "arr": 250_000,
              "account": {"tier": "gold"}, "when": datetime(2026, 3, 1, tzinfo=UTC)}
    expected = Sandbox().from_string(text).render(values)  # a full render, the same sandbox
    assert Renderer().render(text, values) == expected
    assert "None" not in expected and expected


@pytest.mark.parametrize(("text", "problem"), [
    (NESTED, f"loops would run 10000000000 times, over the template limit of {MAX_WORK} steps "
             "(line 1)"),
    ("{{ range(1000000)|length }}", "range of 1000000 items is over"),
    ("{{ 'x'|center(999999999) }}", "center would make 999999999"),
    ("Hi\n{{ name|indent(999999999) }}", "indent would make 999999999 characters or items, over "
                                         "the template limit of 100000 (line 2)"),
    ("{{ '%0999999999d' % 1 }}", "width 999999999 is over"),
    ("{{ '{:>999999999}'.format(1) }}", "width 999999999 is over"),
    ("{{ name.rjust(999999999) }}", "rjust would make 999999999"),
    ("{{ 'a' * 1000000000 }}", "repeating text or lists with * is not allowed"),
    ("{{ 99999 ** 99999 }}", "operands of ** are too large"),
    ("{% if x %}{{ items|random }}{% endif %}", "no filter named 'random'"),
    ("{{ x|nosuchfilter }}", "no filter named 'nosuchfilter'"),
    ("{{ name", "template syntax error"),
    ("Hi\n{% include 'footer.html' %}", "cannot include, import or extend another template (line 2)"),
    ("{% import 'macros.html' as m %}{{ m.x() }}", "cannot include, import or extend"),
    ("{% from 'macros.html' import x %}", "cannot include, import or extend"),
    ("{% extends 'base.html' %}", "cannot include, import or extend"),
])
def test_validation_refuses_what_is_certain(text: str, problem: str) -> None:
    found = template_problems(text)
    assert len(found) == 1 and problem in found[0], found


def test_validation_leaves_ordinary_and_data_dependent_templates_alone() -> None:
    for text in ["Hi {{ account.name }}", "{% for i in range(10) %}{% for j in range(100) %}"
                 "{% endfor %}{% endfor %}", "{{ x|center(40) }}", "{{ '%05d' % n }}",
                 "{{ x|center(w) }}", NESTED.replace("100000", "n")]:
        assert template_problems(text) == [], text
