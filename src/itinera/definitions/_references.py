"""What a journey may refer to, and the checks of actions against it.

:class:`Known` holds the ids a workspace defines (segments, templates, CSMs, ...). A category
left at None is not checked: a standalone journey validated without a workspace, or a scenario
whose list of that category is itself malformed (its own problems are reported; guessing what it
meant would only add false ones).

Action arguments are free mappings in the models, so their shape is checked here, on the raw
item, with a place for each problem.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itinera.conditions.parse import Scope, parse_condition
from itinera.definitions._arguments import ACCOUNT_PATH_PATTERN, ARGUMENT_MODELS, argument_keys
from itinera.definitions._shape import describe, join
from itinera.definitions.scenario import WorkspaceData
from itinera.errors import Problem
from itinera.templating import template_problems
from itinera.timeutil import parse_duration

__all__ = ["ACTION_KEYS", "Known", "check_action", "check_condition", "check_non_negative",
           "check_template_text", "is_account_path"]

# The arguments each action takes, and those it needs, from the typed models the JSON Schema
# is generated from (docs/reference/journeys.md, "Actions"); `to` only on people actions.
ACTION_KEYS: dict[str, frozenset[str]] = {
    kind: argument_keys(model)[0] for kind, model in ARGUMENT_MODELS.items()
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    kind: argument_keys(model)[1] for kind, model in ARGUMENT_MODELS.items()
}
# Arguments that are names or text; a number there is almost always a YAML surprise.
_TEXT_KEYS = frozenset({"strategy", "csm", "title", "assignee", "notes", "type", "description",
                        "solution", "status", "url", "method", "template", "role", "campaign",
                        "from"})
ALL_ACTIONS = (*ACTION_KEYS, "set", "clear", "increase", "assign_playbook")
_STRATEGIES = ("round_robin", "least_loaded", "fixed")
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_ACCOUNT_PATH = re.compile(ACCOUNT_PATH_PATTERN)


def is_account_path(value: Any) -> bool:
    """``account.<name>`` or ``account.attributes.<name>``: what an action may write."""
    return isinstance(value, str) and bool(_ACCOUNT_PATH.match(value))


@dataclass(frozen=True)
class Known:
    """The ids references are checked against; None means "do not check this kind"."""

    segments: frozenset[str] | None = None
    templates: frozenset[str] | None = None
    csms: frozenset[str] | None = None
    playbooks: frozenset[str] | None = None
    campaigns: frozenset[str] | None = None
    role_templates: Mapping[str, tuple[str, ...]] | None = None  # id -> role names
    journeys: frozenset[str] | None = None

    @classmethod
    def from_workspace(cls, workspace: WorkspaceData | None,
                       journeys: Collection[str] | None = None) -> Known:
        names = None if journeys is None else frozenset(journeys)
        if workspace is None:
            return cls(journeys=names)
        return cls.from_raw(workspace.model_dump(by_alias=True), names)

    @classmethod
    def from_raw(cls, data: Any, journeys: Collection[str] | None = None) -> Known:
        """Read leniently from raw workspace data; a malformed list leaves its kind unchecked."""
        names = None if journeys is None else frozenset(journeys)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return cls(journeys=names)
        templates: dict[str, tuple[str, ...]] | None = None
        raw_templates = data.get("role_templates", [])
        if isinstance(raw_templates, list):
            templates = {}
            for item in raw_templates:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    roles = item.get("roles")
                    templates.setdefault(item["id"], tuple(
                        r["name"] for r in (roles if isinstance(roles, list) else [])
                        if isinstance(r, dict) and isinstance(r.get("name"), str)
                    ))
        campaigns = data.get("campaigns")
        return cls(
            segments=_ids(data.get("segments", [])),
            templates=_ids(data.get("templates", [])),
            csms=_ids(data.get("csms", [])),
            playbooks=_names(data.get("playbooks", [])),
            campaigns=None if campaigns is None else _names(campaigns),
            role_templates=templates,
            journeys=names,
        )

    def all_roles(self) -> set[str] | None:
        if self.role_templates is None:
            return None
        return {role for roles in self.role_templates.values() for role in roles}


def _ids(items: Any) -> frozenset[str] | None:
    if not isinstance(items, list):
        return None
    return frozenset(i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str))


def _names(items: Any) -> frozenset[str] | None:
    if not isinstance(items, list):
        return None
    return frozenset(i for i in items if isinstance(i, str))


def check_condition(raw: Any, place: str, scope: Scope, known: Known, out: list[Problem]) -> None:
    """Parse a condition for its problems; a non-mapping is left to the shape check."""
    if isinstance(raw, dict):
        parse_condition(raw, place, scope, out, known.segments)


def check_non_negative(value: Any, place: str, what: str, out: list[Problem]) -> None:
    """A duration that must not point back in time; a malformed one is reported elsewhere."""
    try:
        negative = parse_duration(value).total_seconds() < 0
    except ValueError:
        return
    if negative:
        out.append(Problem(place, f"{what} takes a duration that is not negative, got {value!r}"))


def check_template_text(value: Any, place: str, out: list[Problem]) -> None:
    """Every string inside ``value`` as a template (the engine renders them all): its syntax,
    and what would break the sandbox's limits at every render (itinera.templating.static)."""
    if isinstance(value, str):
        if "{" in value:
            out.extend(Problem(place, problem) for problem in template_problems(value))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_template_text(item, join(place, i), out)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_template_text(item, join(place, str(key)), out)


def check_role(role: Any, template: Any, place: str, known: Known, out: list[Problem]) -> None:
    """A role must exist in the named role template, or in some template when none is named."""
    if not isinstance(role, str) or known.role_templates is None:
        return
    if isinstance(template, str):
        roles = known.role_templates.get(template)
        if roles is not None and role not in roles:
            out.append(Problem(place, f"no role {role!r} in role template {template!r}"))
    elif role not in (known.all_roles() or set()):
        out.append(Problem(place, f"no role {role!r} in any role template"))


def check_target(value: Any, place: str, known: Known, out: list[Problem]) -> None:
    """``to:`` of a people action: path_people | all | {role: R} | a condition on person.*."""
    if isinstance(value, dict) and set(value) == {"role"}:
        if not isinstance(value["role"], str):
            message = f"expected a role name, got {describe(value['role'])}"
            out.append(Problem(join(place, "role"), message))
        check_role(value["role"], None, join(place, "role"), known, out)
    elif isinstance(value, dict):
        check_condition(value, place, Scope.PERSON, known, out)
    elif value not in ("path_people", "all"):
        out.append(Problem(place, "expected path_people, all, {role: <role>} or a condition on "
                                  f"person.*, got {describe(value)}"))


def _check_reference(value: Any, known_ids: frozenset[str] | None, what: str, place: str,
                     out: list[Problem]) -> None:
    if isinstance(value, str) and known_ids is not None and value not in known_ids:
        out.append(Problem(place, f"no {what} {value!r}"))


def check_action(item: Any, place: str, known: Known, out: list[Problem]) -> None:
    """Check one raw action item; an item that is not one known action is a shape problem."""
    if not isinstance(item, dict) or len(item) != 1:
        return
    ((kind, args),) = item.items()
    if kind not in ALL_ACTIONS:
        return
    here = join(place, kind)
    if kind in ("set", "increase"):
        if isinstance(args, dict):
            for key, value in args.items():
                key_place = join(here, str(key))
                if not is_account_path(key):
                    out.append(Problem(key_place, f"expected 'account.<name>', got {key!r}"))
                if kind == "increase" and (
                    isinstance(value, bool) or (isinstance(value, str) and _is_number_text(value))
                ):
                    # Pydantic would coerce these; an increase by "1" or by true is a slip.
                    out.append(Problem(key_place, f"increase takes a number, got {value!r}"))
                elif kind == "set":
                    check_template_text(value, key_place, out)
        return
    if kind == "clear":
        paths = args if isinstance(args, list) else [args]
        for i, path in enumerate(paths):
            if isinstance(path, str) and not is_account_path(path):
                where = join(here, i) if isinstance(args, list) else here
                out.append(Problem(where, f"expected 'account.<name>', got {path!r}"))
        return
    if kind == "assign_playbook":
        _check_reference(args, known.playbooks, "playbook", here, out)
        return
    if isinstance(args, dict):
        _check_arguments(kind, args, here, known, out)


def _is_number_text(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _check_arguments(kind: str, args: dict[str, Any], here: str, known: Known,
                     out: list[Problem]) -> None:
    allowed = ACTION_KEYS[kind]
    for key in args:
        if key not in allowed:
            out.append(Problem(join(here, str(key)),
                               f"unknown key {key!r} (known: {', '.join(sorted(allowed))})"))
    for key in _REQUIRED[kind]:
        if args.get(key) in (None, ""):
            out.append(Problem(here, f"needs {key!r}"))
    for key, value in args.items():
        if key in _TEXT_KEYS and value is not None and not isinstance(value, str):
            out.append(Problem(join(here, str(key)), f"expected text, got {describe(value)}"))
    if kind == "copy":
        for key in ("from", "to"):
            value = args.get(key)
            if isinstance(value, str) and not is_account_path(value):
                out.append(Problem(join(here, key), f"expected 'account.<name>', got {value!r}"))
        return
    if "to" in args:
        check_target(args["to"], join(here, "to"), known, out)
    for key, value in args.items():
        if key not in ("to", "template", "role", "solution", "strategy", "pool", "csm", "campaign"):
            check_template_text(value, join(here, str(key)), out)
    _SPECIFIC[kind](args, here, known, out)


def _assign_csm(args: dict[str, Any], here: str, known: Known, out: list[Problem]) -> None:
    strategy = args.get("strategy")
    if isinstance(strategy, str) and strategy not in _STRATEGIES:
        out.append(Problem(join(here, "strategy"),
                           f"unknown strategy {strategy!r} (use {', '.join(_STRATEGIES)})"))
    pool = args.get("pool")
    if strategy in ("round_robin", "least_loaded") and not pool:
        out.append(Problem(here, f"strategy {strategy} needs a non-empty 'pool' of CSMs"))
    if pool is not None and not isinstance(pool, list):
        out.append(Problem(join(here, "pool"), f"expected a list of CSM ids, got {describe(pool)}"))
    elif isinstance(pool, list):
        for i, csm in enumerate(pool):
            place = join(join(here, "pool"), i)
            if not isinstance(csm, str):
                out.append(Problem(place, f"expected a CSM id, got {describe(csm)}"))
            _check_reference(csm, known.csms, "CSM", place, out)
    if strategy == "fixed" and args.get("csm") in (None, ""):
        out.append(Problem(here, "strategy fixed needs 'csm'"))
    _check_reference(args.get("csm"), known.csms, "CSM", join(here, "csm"), out)


def _create_task(args: dict[str, Any], here: str, known: Known, out: list[Problem]) -> None:
    assignee = args.get("assignee")
    if assignee != "csm":  # `csm` means the account's CSM at the time the task is created
        _check_reference(assignee, known.csms, "CSM", join(here, "assignee"), out)
    if "due" in args:
        try:
            parse_duration(args["due"])
        except ValueError as error:
            out.append(Problem(join(here, "due"), str(error)))
        check_non_negative(args["due"], join(here, "due"), "due", out)


def _webhook(args: dict[str, Any], here: str, known: Known, out: list[Problem]) -> None:
    url = args.get("url")
    if isinstance(url, str):
        problem = url_problem(url)
        if problem is not None:
            out.append(Problem(join(here, "url"), problem))
    method = args.get("method")
    if isinstance(method, str) and method.upper() not in _METHODS:
        out.append(Problem(join(here, "method"),
                           f"unknown method {method!r} (use {', '.join(sorted(_METHODS))})"))


def url_problem(url: str) -> str | None:
    """What is wrong with a webhook URL, if anything. A URL built by a template is checked up
    to its first ``{{`` or ``{%``: what the template renders is known only when it runs."""
    fixed = re.split(r"\{[{%]", url, maxsplit=1)[0]
    templated = fixed != url
    shown = repr(re.sub(r"//[^/@]*@", "//***@", url))  # a password stays out of messages
    if templated and "://" not in fixed:
        return None if fixed == "" else f"expected http:// or https:// first, got {shown}"
    if any(c.isspace() or ord(c) < 32 for c in fixed):
        return f"a URL has no spaces or control characters (encode a space as %20), got {shown}"
    try:
        parts = urlsplit(fixed)
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError as error:
        return f"not a URL ({error}), got {shown}"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not fixed.lower().startswith(f"{scheme}://"):
        return f"expected an http:// or https:// URL, got {shown}"
    host_known = not templated or "/" in fixed.split("://", 1)[1]
    if host_known and not parts.hostname:
        return f"no host in {shown}"
    return None


def _send_email(args: dict[str, Any], here: str, known: Known, out: list[Problem]) -> None:
    _check_reference(args.get("template"), known.templates, "template", join(here, "template"), out)


def _add_to_buying_group(args: dict[str, Any], here: str, known: Known, out: list[Problem]) -> None:
    template = args.get("template")
    if known.role_templates is not None:
        _check_reference(template, frozenset(known.role_templates), "role template",
                         join(here, "template"), out)
    check_role(args.get("role"), template, join(here, "role"), known, out)


def _change_score(args: dict[str, Any], here: str, known: Known, out: list[Problem]) -> None:
    by = args.get("by")
    if by is not None and (isinstance(by, bool) or not isinstance(by, int | float)):
        out.append(Problem(join(here, "by"), f"expected a number, got {describe(by)}"))


def _add_to_campaign(args: dict[str, Any], here: str, known: Known, out: list[Problem]) -> None:
    _check_reference(args.get("campaign"), known.campaigns, "campaign", join(here, "campaign"), out)


def _nothing(args: dict[str, Any], here: str, known: Known, out: list[Problem]) -> None:
    return None


_SPECIFIC = {
    "assign_csm": _assign_csm,
    "create_task": _create_task,
    "webhook": _webhook,
    "send_email": _send_email,
    "add_to_buying_group": _add_to_buying_group,
    "change_score": _change_score,
    "add_to_campaign": _add_to_campaign,
    "add_moment": _nothing,
    "set_buying_group_status": _nothing,
}
