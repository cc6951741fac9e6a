"""The web UI over HTTP, on SQLite and PostgreSQL: signing in, the journeys list and graph with
the analytics' counts, lifecycle controls, an account's timeline with its decisions, the task
inbox writing what the REST API reads, and template previews."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ui_world import World, open_world

from itinera.analytics.report import journey_report, journey_summary, node_counts
from itinera.api import create_app
from itinera.storage import keys, views


@pytest.fixture
def ui(database_url: str) -> Iterator[tuple[World, TestClient]]:
    with open_world(database_url) as world:
        world.progress(3)
        yield world, TestClient(create_app(world.service))


def _sign_in(world: World, client: TestClient) -> None:
    response = client.post("/ui/login", data={"key": world.key}, follow_redirects=False)
    assert response.status_code == 303, response.text


def _api(world: World, client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers={"Authorization": f"Bearer {world.key}"})
    assert response.status_code == 200, response.text
    return response.json()


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def _count(page: str, node: str, name: str) -> int:
    found = re.search(rf'data-node="{re.escape(node)}".*?data-count="{name}">(\d+)<', page, re.S)
    assert found, f"no {name} count on node {node}"
    return int(found.group(1))


def test_pages_need_a_signed_in_key(ui: tuple[World, TestClient]) -> None:
    world, client = ui
    response = client.get("/ui/journeys/bodea-x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=/ui/journeys/bodea-x"
    htmx = client.get("/ui/journeys/rows", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == "/ui/login"
    wrong = client.post("/ui/login", data={"key": "itk_nope_nope"}, follow_redirects=False)
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
    # A key in the address (the old sign-in link) signs nobody in.
    linked = client.get("/ui/login", params={"key": world.key}, follow_redirects=False)
    assert linked.status_code == 200 and "set-cookie" not in linked.headers

    signed = client.post("/ui/login", data={"key": world.key}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/;" in cookie
    assert world.key not in cookie and world.key.split("_", 2)[2] not in cookie
    assert "ui-tests" in client.get("/ui/journeys").text

    # The form, and never a redirect to another site after it.
    client.cookies.clear()
    posted = client.post("/ui/login", data={"key": world.key, "next": "https://elsewhere.test/"},
                         follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"] == "/ui/"
    posted = client.post("/ui/login", data={"key": world.key, "next": "/ui/tasks"},
                         follow_redirects=False)
    assert posted.headers["location"] == "/ui/tasks"

    # Revoking the key signs the browser out.
    key_id = world.key.split("_")[1]
    with world.service.intake.engine.begin() as connection:
        assert keys.revoke_api_key(connection, key_id, world.clock.now())
    assert client.get("/ui/tasks", follow_redirects=False).status_code == 303


def test_journeys_list_and_graph_show_the_analytics_counts(ui: tuple[World, TestClient]) -> None:
    world, client = ui
    _sign_in(world, client)
    with world.service.intake.engine.connect() as connection:
        summary = journey_summary(connection, "bodea-x")
        counts = node_counts(connection, "bodea-x")
    assert summary.completed > 0 and summary.goal_reached == 3

    listing = client.get("/ui/journeys").text
    row = listing[listing.index('data-journey="bodea-x"'):]
    for name in ("active", "completed", "exited", "unenrolled"):
        shown = re.search(rf'data-count="{name}">(\d+)<', row)
        assert shown and int(shown.group(1)) == getattr(summary, name), name
    assert summary.conversion_rate is not None
    assert f"{summary.conversion_rate * 100:.1f}% <span class=\"muted\">(3/{summary.enrolled})" in row

    page = client.get("/ui/journeys/bodea-x").text
    assert "Bodea-Product X — large accounts" in page and "enabled" in page
    for node, expected in counts.items():
        assert _count(page, node, "entered") == expected.entered
        assert _count(page, node, "waiting") == expected.waiting
        assert _count(page, node, "ended") == expected.ended
    assert counts["by-state"].ended > 0 and counts["listen"].waiting > 0
    assert 'class="node kind-split"' in page and 'class="node kind-split_people"' in page
    assert ">state is NY<" in page and ">after 14d<" in page  # branch labels
    assert "the Bodea-Product X buying group&#39;s status is Engaged — then the journey goes on" in page
    assert "leaves when account status is churned" in page
    assert "accounts entering segment bodea-targets" in page
    assert "Funnel" in page and "Per day" in page

    # The live fragment (what the page polls) follows the store.
    world.clock.advance(timedelta(days=20))
    world.apply()
    with world.service.intake.engine.connect() as connection:
        later = node_counts(connection, "bodea-x")
    live = client.get("/ui/journeys/bodea-x/live").text
    assert "<html" not in live
    assert _count(live, "listen", "waiting") == later["listen"].waiting == 0  # timed out, nudged
    assert _count(live, "listen-again", "waiting") == later["listen-again"].waiting > 0
    assert client.get("/ui/journeys/bodea-x", params={"version": 9}).status_code == 404
    assert client.get("/ui/journeys/nope").status_code == 404


def test_lifecycle_controls_go_through_the_inbox(ui: tuple[World, TestClient]) -> None:
    world, client = ui
    _sign_in(world, client)
    page = client.get("/ui/journeys/bodea-x").text
    assert 'data-command="pause"' in page and 'data-command="resume"' not in page

    forged = client.post("/ui/journeys/bodea-x/pause", data={"csrf": "0" * 40})
    assert forged.status_code == 403
    assert _api(world, client, "/api/journeys/bodea-x")["status"] == "enabled"

    paused = client.post("/ui/journeys/bodea-x/pause", data={"csrf": _csrf(page)},
                         follow_redirects=False)
    assert paused.status_code == 303 and paused.headers["location"] == "/ui/journeys/bodea-x"
    assert _api(world, client, "/api/journeys/bodea-x")["status"] == "paused"
    page = client.get("/ui/journeys/bodea-x").text
    assert 'data-command="resume"' in page and 'data-command="pause"' not in page

    client.post("/ui/journeys/bodea-x/resume", data={"csrf": _csrf(page)})
    assert _api(world, client, "/api/journeys/bodea-x")["status"] == "enabled"
    # A resume from a page older than the journey's state is refused, and the page says why.
    stale = client.post("/ui/journeys/bodea-x/resume", data={"csrf": _csrf(page)})
    assert stale.status_code == 200
    assert "Not done: journey &#39;bodea-x&#39; is enabled: only a paused journey can be resumed" \
        in stale.text
    assert client.post("/ui/journeys/bodea-x/explode", data={"csrf": _csrf(page)}).status_code == 404


def test_account_timeline_shows_each_decision_with_its_values(ui: tuple[World, TestClient]) -> None:
    world, client = ui
    _sign_in(world, client)
    engaged = world.engaging(1)[0]
    page = client.get(f"/ui/accounts/{engaged}").text
    assert "bodea-targets" in page  # segments
    assert f"{engaged}-2" in page and "Product SME" in page  # people, roles
    assert 'data-score="engagement">100.0<' in page
    timeline = page[page.index('id="timeline"'):]
    steps = ["enrolled in bodea-x", "by-state: took branch 2 → ny-decision-makers",
             "ny-decision-makers: ran its actions", f"email.clicked by {engaged}-0",
             "listen: heard → mark-engaged", "reached the goal of bodea-x",
             "left bodea-x: completed"]
    at = [timeline.index(step) for step in steps]
    assert at == sorted(at), "the timeline is in order"
    decision = timeline[at[1]:at[2]]
    assert "account state is NY" in decision  # the rule that decided
    assert "<dt>account state</dt><dd>NY</dd>" in decision  # its value, as recorded then
    heard = timeline[at[4]:at[5]]
    assert "engagement score is over 80" in heard and "100.0" in heard

    quiet = next(a for a in world.accounts_in("TX"))
    assert "no branch matched — the path ends here" in client.get(f"/ui/accounts/{quiet}").text

    found = client.get("/ui/accounts", params={"q": engaged}).text
    assert f'href="/ui/accounts/{engaged}"' in found
    assert client.get("/ui/accounts/nobody").status_code == 404


def test_task_inbox_writes_what_the_api_reads(ui: tuple[World, TestClient]) -> None:
    world, client = ui
    _sign_in(world, client)
    page = client.get("/ui/tasks").text
    tasks = _api(world, client, "/api/tasks", status="open")["items"]
    assert len(tasks) == 3
    for task in tasks:
        assert f'data-task="{task["id"]}"' in page and task["title"] in page
    first, second = tasks[0], tasks[1]

    assert client.post(f"/ui/tasks/{first['id']}/complete", data={}).status_code == 403
    done = client.post(f"/ui/tasks/{first['id']}/complete",
                       data={"csrf": _csrf(page), "note": "Called them", "status": "open"},
                       follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/ui/tasks?status=open&done=completed%3A{first['id']}"
    completed = _api(world, client, "/api/tasks", status="completed")["items"]
    assert [(t["id"], t["completion_note"]) for t in completed] == [(first["id"], "Called them")]
    page = client.get(done.headers["location"]).text
    assert f"Task {first['id']} completed." in page and f'data-task="{first["id"]}"' not in page
    assert f'data-task="{first["id"]}"' in client.get("/ui/tasks", params={"status": "completed"}).text

    other = "bob" if second["assignee"] == "ann" else "ann"
    client.post(f"/ui/tasks/{second['id']}/reassign", data={"csrf": _csrf(page), "to": other})
    moved = next(t for t in _api(world, client, "/api/tasks")["items"] if t["id"] == second["id"])
    assert moved["assignee"] == other
    assert moved["reassignments"][-1]["from"] == second["assignee"]
    mine = client.get("/ui/tasks", params={"assignee": other}).text
    assert f'data-task="{second["id"]}"' in mine
    assert client.post("/ui/tasks/999999/complete", data={"csrf": _csrf(page)}).status_code == 404


def test_template_preview_fills_in_the_personalization(ui: tuple[World, TestClient]) -> None:
    world, client = ui
    _sign_in(world, client)
    engaged = world.engaging(1)[0]
    with world.service.intake.engine.connect() as connection:
        name = views.account_view(connection, engaged).account.attributes["name"]  # type: ignore[union-attr]
    page = client.get("/ui/templates", params={"template": "dm-intro", "person": f"{engaged}-0"}).text
    assert f"{name}: Bodea-Product X for leaders" in page
    assert re.search(r"Dear \w+, as Decision Maker \.\.\.", page)
    assert "{{ person.first_name }}" in page  # the source beside it

    missing = client.get("/ui/templates", params={"template": "dm-intro", "person": "nobody"}).text
    assert "no person &#39;nobody&#39;" in missing


def test_template_preview_writes_nothing_for_a_null_value(ui: tuple[World, TestClient]) -> None:
    world, client = ui
    _sign_in(world, client)
    developer = next(p for a in world.accounts_in("NY") for p in world.people_of(a) if p.endswith("-4"))
    page = client.get("/ui/templates", params={"template": "dm-intro", "person": developer}).text
    assert re.search(r"Dear \w+, as  \.\.\.", page)  # no role in a buying group: nothing
    assert "None" not in page


def test_a_hostile_template_preview_shows_the_error_and_the_server_goes_on(
        ui: tuple[World, TestClient]) -> None:
    world, client = ui
    _sign_in(world, client)
    developer = next(p for a in world.accounts_in("NY") for p in world.people_of(a) if p.endswith("-4"))
    loops = "{% for i in range(person.n) %}{% for j in range(person.n) %}{% endfor %}{% endfor %}"
    world.service.submit([
        {"configure": {"templates": [{"id": "loops", "subject": "Hi", "text": loops},
                                     {"id": "wide", "subject": "{{ 'x'|center(person.n ** 2) }}",
                                      "text": "Hello"}]}},
        {"upsert_person": {"id": developer, "attributes": {"n": 100_000}}}])
    world.apply()
    for template, error in [("loops", "more than 200000 steps of work"),
                            ("wide", "center would make 10000000000 characters")]:
        page = client.get("/ui/templates", params={"template": template, "person": developer})
        assert page.status_code == 200 and error in page.text
    assert client.get("/health").status_code == 200


def test_journey_report_shows_experiments_with_lift_and_p_value(ui: tuple[World, TestClient]) -> None:
    world, client = ui
    _sign_in(world, client)
    world.run_trial()
    with world.service.intake.engine.connect() as connection:
        report = journey_report(connection, "trial-test")
    (experiment,) = report.experiments
    b = next(v for v in experiment.variants if v.name == "B")
    assert b.comparison is not None and experiment.control == "A"

    page = client.get("/ui/journeys/trial-test").text
    assert 'class="node kind-experiment"' in page
    assert re.search(r">A \(1(\.0)?\) / B \(1(\.0)?\)<", page)  # both variants lead to hold
    section = page[page.index("Experiment subject"):]
    for variant in experiment.variants:
        row = section[section.index(f"<td>{variant.name}"):]
        cells = re.findall(r'<td class="num">(.*?)</td>', row, re.S)[:3]
        assert cells == [str(variant.enrolled), str(variant.converted), f"{variant.rate * 100:.1f}%"]
    c = b.comparison
    assert (f"{c.difference * 100:+.1f} pts [{c.ci_low * 100:+.1f}, {c.ci_high * 100:+.1f}]"
            in section)
    assert f"{c.p_value:.3g} <span class=\"muted small\">{c.test}</span>" in section
    assert section.count('class="interval"') == 1  # B's interval around the control
