"""The studio's drafts over the REST API (issue 12): create, edit by text and by operations,
stale revisions, problems with lines, publish (journeys, segments, templates), export — on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from api_support import WORKSPACE, Api, open_api

from itinera.storage import schema as t

EXAMPLES = Path(__file__).parents[2] / "examples"
RENEWAL = (EXAMPLES / "csb-renewal.journey.yaml").read_text()
RENEWAL_WORKSPACE = {
    "csms": [{"id": "dana", "name": "Dana"}],
    "playbooks": ["renewal", "renewal-rescue"],
    "segments": [{"id": "renewal-90", "when": {"account.renewal_date": {"within_next": "90d"}}}],
    "templates": [{"id": "renewal-value-recap", "subject": "Your year with us"},
                  {"id": "renewal-order-form", "subject": "Your renewal order form"},
                  {"id": "renewal-last-call", "subject": "Renewal in a week"}],
}


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def _call(api: Api, method: str, path: str, body: Any = None, **params: Any) -> Any:
    return api.client.request(method, path, json=body, params=params,
                              headers={"Authorization": f"Bearer {api.key}"})


def _workspace_for_renewal(api: Api) -> None:
    """What the renewal example refers to, read from its text (templates, segment, CSM...)."""
    import re

    templates = sorted(set(re.findall(r"template: ([\w-]+)", RENEWAL)))
    playbooks = sorted(set(re.findall(r"assign_playbook: ([\w-]+)", RENEWAL)))
    data = {**RENEWAL_WORKSPACE, "playbooks": playbooks,
            "templates": [{"id": name, "subject": name} for name in templates]}
    assert api.post("/api/inputs", [{"configure": data}]).status_code == 200
    upsell = {"id": "upsell-nurture", "entry": {"segments": ["renewal-90"]}, "start": "a",
              "nodes": {"a": {"wait": "1d"}}}
    assert api.post("/api/journeys", upsell).status_code == 200


def test_a_journey_from_text_round_trips_and_shows_its_problems_with_lines(api: Api) -> None:
    created = _call(api, "POST", "/api/drafts", {"kind": "journey", "from": "text",
                                                 "text": RENEWAL})
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["text"] == RENEWAL and draft["revision"] == 1
    assert draft["object_id"] == "csb-renewal" and draft["model"]["start"] == "value-recap"
    assert draft["created_by"] == "key:tests" and draft["updated_by"] == "key:tests"
    # No workspace yet: the references are problems, each at its line in the text.
    problems = {p["place"]: p for p in draft["problems"]}
    recap = problems["nodes.value-recap.do[1].send_email.template"]
    assert "renewal-value-recap" in recap["message"]
    line = RENEWAL.splitlines()[recap["line"] - 1]
    assert "send_email: {template: renewal-value-recap" in line
    # The export is the text as written.
    exported = _call(api, "GET", f"/api/drafts/{draft['id']}/export")
    assert exported.text == RENEWAL
    assert 'filename="csb-renewal.journey.yaml"' in exported.headers["content-disposition"]
    # Publishing is refused while problems remain, and nothing is published.
    refused = _call(api, "POST", f"/api/drafts/{draft['id']}/publish", None, wait="true")
    assert refused.status_code == 422
    assert {p["place"] for p in refused.json()["problems"]} == set(problems)
    assert all(p["line"] for p in refused.json()["problems"])
    assert api.get("/api/journeys") == []


def test_edits_keep_comments_and_a_stale_revision_is_refused(api: Api) -> None:
    _workspace_for_renewal(api)
    draft = _call(api, "POST", "/api/drafts",
                  {"kind": "journey", "from": "text", "text": RENEWAL}).json()
    assert draft["problems"] == []
    edits = [{"op": "rename_node", "from": "health-check", "to": "health"},
             {"op": "set", "path": ["nodes", "t-minus-60", "wait_until", "offset"],
              "value": "-45d"}]
    edited = _call(api, "POST", f"/api/drafts/{draft['id']}/edits",
                   {"revision": 1, "edits": edits})
    assert edited.status_code == 200, edited.text
    after = edited.json()
    assert after["revision"] == 2 and after["problems"] == []
    assert after["model"]["nodes"]["value-recap"]["next"] == "health"
    assert "health-check" not in after["model"]["nodes"]
    assert "offset: -45d" in after["text"]
    # Every comment line of the example is still there, in order.
    comments = [line for line in RENEWAL.splitlines() if line.lstrip().startswith("#")]
    assert [line for line in after["text"].splitlines()
            if line.lstrip().startswith("#")] == comments
    # The first revision is stale now: edits and text alike.
    stale = _call(api, "POST", f"/api/drafts/{draft['id']}/edits", {"revision": 1, "edits": []})
    assert stale.status_code == 409
    assert _call(api, "PUT", f"/api/drafts/{draft['id']}",
                 {"revision": 1, "text": RENEWAL}).status_code == 409
    # An edit that does not fit is refused with its place, nothing changed.
    bad = _call(api, "POST", f"/api/drafts/{draft['id']}/edits",
                {"revision": 2, "edits": [{"op": "delete", "path": ["nodes", "nope"]}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["place"] == "edits[0]"
    assert api.get(f"/api/drafts/{draft['id']}")["revision"] == 2


def test_publish_a_journey_draft_keeps_its_text_and_publisher(api: Api) -> None:
    _workspace_for_renewal(api)
    draft = _call(api, "POST", "/api/drafts",
                  {"kind": "journey", "from": "text", "text": RENEWAL}).json()
    published = _call(api, "POST", f"/api/drafts/{draft['id']}/publish", {"revision": 1},
                      wait="true")
    assert published.status_code == 200, published.text
    assert published.json()["version"] == 1
    assert _call(api, "GET", f"/api/drafts/{draft['id']}").status_code == 404
    with api.service.intake.engine.connect() as connection:
        row = connection.execute(sa.select(t.journeys.c.source, t.journeys.c.published_by)
                                 .where(t.journeys.c.id == "csb-renewal")).one()
    assert row.source == RENEWAL and row.published_by == "key:tests"
    # A draft from the current version starts from the text published, at that version.
    again = _call(api, "POST", "/api/drafts", {"kind": "journey", "from": "current",
                                               "object_id": "csb-renewal"}).json()
    assert again["text"] == RENEWAL and again["base_version"] == 1
    assert _call(api, "POST", "/api/drafts", {"kind": "journey", "from": "current",
                                              "object_id": "nope"}).status_code == 404


def test_segment_and_template_drafts_publish_into_the_workspace(api: Api) -> None:
    assert api.post("/api/inputs", [{"configure": WORKSPACE}]).status_code == 200
    segment = _call(api, "POST", "/api/drafts", {"kind": "segment", "from": "current",
                                                 "object_id": "big"}).json()
    assert segment["model"] == {"id": "big", "when": {"account.employees": {"gte": 1000}}}
    broken = _call(api, "PUT", f"/api/drafts/{segment['id']}",
                   {"revision": 1, "text": "id: big\nwhen:\n  account.employees: {greater: 5}\n"})
    assert broken.status_code == 200
    [problem] = broken.json()["problems"]
    assert problem["place"] == "when.account.employees.greater" and problem["line"] == 3
    assert problem["message"].startswith("unknown operator 'greater'")
    fixed = _call(api, "PUT", f"/api/drafts/{segment['id']}",
                  {"revision": 2, "text": "id: big\nwhen:\n  account.employees: {gte: 500}\n"})
    assert fixed.json()["problems"] == []
    assert _call(api, "POST", f"/api/drafts/{segment['id']}/publish", None,
                 wait="true").status_code == 200
    with api.service.intake.engine.connect() as connection:
        body = connection.execute(sa.select(t.config.c.body).where(
            t.config.c.kind == "segment", t.config.c.id == "big")).scalar()
    assert body == {"account.employees": {"gte": 500}}

    template = _call(api, "POST", "/api/drafts", {"kind": "template", "object_id": "hello"})
    assert template.status_code == 201
    assert [d["kind"] for d in api.get("/api/drafts")] == ["template"]
    text = "id: hello\nsubject: Hi {{ account.name }}\ntext: |\n  Hello!\n"
    put = _call(api, "PUT", f"/api/drafts/{template.json()['id']}", {"revision": 1, "text": text})
    assert put.json()["problems"] == []
    assert _call(api, "DELETE", f"/api/drafts/{template.json()['id']}",
                 revision=1).status_code == 409
    assert _call(api, "DELETE", f"/api/drafts/{template.json()['id']}").status_code == 204
    assert api.get("/api/drafts") == []


def test_a_text_that_does_not_read_has_no_model_and_its_line(api: Api) -> None:
    created = _call(api, "POST", "/api/drafts", {"kind": "journey", "from": "text",
                                                 "text": "id: x\nnodes: [\n"}).json()
    assert created["model"] is None and created["object_id"] is None
    [problem] = created["problems"]
    assert problem["place"].startswith("draft.journey.yaml:") and problem["line"] >= 2
    refused = _call(api, "POST", f"/api/drafts/{created['id']}/edits",
                    {"revision": 1, "edits": [{"op": "set", "path": ["id"], "value": "y"}]})
    assert refused.status_code == 422


def test_a_journey_draft_publishes_with_moves(api: Api) -> None:
    api.setup_onboarding()
    draft = _call(api, "POST", "/api/drafts", {"kind": "journey", "from": "current",
                                               "object_id": "onboarding"}).json()
    assert draft["base_version"] == 1 and draft["problems"] == []
    renamed = _call(api, "POST", f"/api/drafts/{draft['id']}/edits", {"revision": 1, "edits": [
        {"op": "rename_node", "from": "listen", "to": "wait-kickoff"}]}).json()
    assert renamed["problems"] == [] and "wait-kickoff" in renamed["model"]["nodes"]
    # A move to a node the new version does not have is a problem; nothing is published.
    refused = _call(api, "POST", f"/api/drafts/{draft['id']}/publish", {"revision": 2},
                    move="listen=nowhere", wait="true")
    assert refused.status_code == 422 and "nowhere" in refused.text
    assert _call(api, "GET", f"/api/drafts/{draft['id']}").status_code == 200
    published = _call(api, "POST", f"/api/drafts/{draft['id']}/publish",
                      {"revision": 2, "moves": {"listen": "wait-kickoff"}}, wait="true")
    assert published.status_code == 200, published.text
    assert published.json()["version"] == 2
    with api.service.intake.engine.connect() as connection:
        kind, payload = connection.execute(sa.select(t.journal.c.kind, t.journal.c.payload)
                                           .order_by(t.journal.c.seq.desc())).first()
    assert kind == "publish_moving" and payload["moves"] == {"listen": "wait-kickoff"}
    assert payload["by"] == "key:tests" and "wait-kickoff:" in payload["source"]
    # Segments and templates move nothing.
    segment = _call(api, "POST", "/api/drafts", {"kind": "segment", "from": "current",
                                                 "object_id": "big"}).json()
    assert _call(api, "POST", f"/api/drafts/{segment['id']}/publish", None,
                 move_matching="true").status_code == 422

def test_a_text_over_the_drafts_limit_is_refused_and_nothing_stored(api: Api) -> None:
    big = "id: big\n" + "".join(f"# {'x' * 70}\n" for _ in range(4000))  # ~290 kB of comments
    refused = _call(api, "POST", "/api/drafts", {"kind": "journey", "from": "text", "text": big})
    assert refused.status_code == 422 and refused.json()["errors"][0]["place"] == "text"
    assert api.get("/api/drafts") == []


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.journey.yaml")), ids=lambda p: p.name)
def test_every_example_round_trips_through_a_draft(api: Api, example: Path) -> None:
    text = example.read_text()
    draft = _call(api, "POST", "/api/drafts", {"kind": "journey", "from": "text",
                                               "text": text}).json()
    assert _call(api, "GET", f"/api/drafts/{draft['id']}/export").text == text
    # An edit of the name changes that line only; every comment and other line stays.
    edited = _call(api, "POST", f"/api/drafts/{draft['id']}/edits", {"revision": 1, "edits": [
        {"op": "set", "path": ["name"], "value": "Renamed"}]}).json()
    before, after = text.splitlines(), edited["text"].splitlines()
    assert len(before) == len(after)
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        (next(line for line in before if line.startswith("name:")), "name: Renamed")]


def test_a_form_of_one_kind_never_overwrites_a_draft_of_another(api: Api) -> None:
    """The template and segment editors save through ``replace_text(kind=...)``: a journey
    draft's id posted to them is refused, and the journey draft is unchanged."""
    from itinera.api import drafts
    from itinera.api.problems import ApiProblem
    from itinera.domain.actor import Actor

    made = _call(api, "POST", "/api/drafts", {"kind": "journey", "from": "new"})
    assert made.status_code == 201, made.text
    journey = made.json()
    with pytest.raises(ApiProblem) as refused:
        drafts.replace_text(api.client.app.state.itinera, Actor("key", "t", "tests"),  # type: ignore[attr-defined]
                            journey["id"], journey["revision"], "id: welcome\nsubject: Hi\n",
                            kind="template")
    assert refused.value.status == 409 and "is a journey draft" in str(refused.value.detail)
    assert _call(api, "GET", f"/api/drafts/{journey['id']}").json()["text"] == journey["text"]
