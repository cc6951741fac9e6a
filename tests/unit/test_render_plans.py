"""Texts whose only template syntax is placeholders are filled without Jinja: the output must be
exactly what Jinja renders, for every value, and anything else must still go to Jinja."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from itinera.engine.render import MAX_OUTPUT, Renderer, RenderError, _plan

VALUES: list[Any] = ["Acme", "", "é", 0, 7, 2.5, True, None, [1, "a"], {"a": 1},
                     {"name": "Z", "items": 3, "inner": {"name": "deep"}}]
TEXTS = ["Hi {{ account.name }}", "{{account.name}}!", "{{ account }}", "a {{ x.y.z }} b",
         "{{ account.items }}", "{{ account.inner.name }} and {{ account.missing }}",
         "{{ account.missing.name }}", "{{ none }}", "{{ range }}", "{{ account.name }}\n",
         "x\r\n{{ account.name }}", "{ {{ account.name }}", "{{ account.name | upper }}",
         "{% if account %}{{ account.name }}{% endif %}", "{{ account['name'] }}"]


def _jinja(renderer: Renderer, text: str, values: dict[str, Any]) -> Any:
    try:
        template = renderer.environment.from_string(text)
        context = template.new_context({**renderer.environment.globals, **values}, shared=True)
        return "".join(template.root_render_func(context))
    except Exception as error:  # what Jinja does wrong, compared by kind
        return type(error).__name__


def _ours(renderer: Renderer, text: str, values: dict[str, Any]) -> Any:
    try:
        return renderer.render(text, values)
    except RenderError as error:
        return type(error.__cause__).__name__


@pytest.mark.parametrize("text", TEXTS)
def test_placeholders_render_as_jinja_renders_them(text: str) -> None:
    renderer = Renderer()
    for account, x in itertools.product([*VALUES, "missing"], [*VALUES[:4], {"y": {"z": 1}}]):
        values: dict[str, Any] = {"x": x}
        if account != "missing":
            values["account"] = account
        assert _ours(renderer, text, values) == _jinja(renderer, text, values), values


def test_only_placeholders_of_keys_are_filled_without_jinja() -> None:
    assert _plan("Hi {{ account.name }}!") == ("Hi ", ("account", "name"), "!")
    for text in ["{{ account.items }}", "{{ true }}", "{{ a }}\n", "{% raw %}{{ a }}",
                 "{{ a | e }}", "a { b {{ c }}", "{{ a }} }"]:
        assert _plan(text) is None, text


def test_output_beyond_the_cap_is_refused_either_way() -> None:
    with pytest.raises(RenderError):
        Renderer().render("{{ a }}{{ a }}", {"a": "x" * MAX_OUTPUT})


def test_a_value_that_cannot_be_written_out_is_the_templates_error() -> None:
    from itinera.engine.render import Renderer, RenderError

    with pytest.raises(RenderError, match=r"account\.n"):
        Renderer().render("Hi {{ account.n }}", {"account": {"n": 10 ** 5000}})


@pytest.mark.parametrize("text", ["as {{ role }}.", "{% if true %}as {{ role }}.{% endif %}",
                                  "as {{ group.role }}.", "as {{ role | default(none) }}."])
def test_a_null_renders_as_nothing_either_way(text: str) -> None:
    assert Renderer().render(text, {"role": None, "group": {"role": None}}) == "as ."
