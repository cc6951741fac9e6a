"""`itinera import` as a user runs it, on SQLite and PostgreSQL: CSV files mapped and typed,
bad rows listed with their places and nothing stored, re-imported events skipped, progress and
a summary, and imported accounts entering a journey once the worker applies them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner, Result

from itinera.cli.main import app
from itinera.runtime import Service
from itinera.storage import schema as t

ACCOUNTS = """\
Account ID,Name,Employees,ARR,Zip,Customer,Renewal Date
acme,Acme Corp,1200,150000.5,02134,true,2026-09-30
globex,Globex,85,12000,94105,false,
"""
PEOPLE = """\
Contact ID,Account ID,Email,Title,Unsubscribed,Lead Score
ada,acme,ada@acme.test,CTO,no,12
bob,acme,bob@acme.test,VP Marketing,yes,7
"""
EVENTS = """\
event_id,event_type,account_id,person_id,timestamp,plan,seats
e-1,trial.started,acme,ada,2026-01-05T09:00:00Z,pro,25
e-2,email.opened,acme,bob,2026-01-06T10:30:00Z,,
e-3,trial.started,globex,,2026-01-07T08:00:00Z,starter,5
"""
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"
BIG_ACCOUNTS = {
    "id": "big-accounts",
    "entry": {"segments": ["big"], "existing": True},
    "start": "call",
    "nodes": {"call": {"do": [{"create_task": {"title": "Call {{ account.name }}",
                                               "assignee": "ann", "due": "1d"}}]}},
}


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["import", *args])


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def select(url: str, query: Any) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(query).all())
    finally:
        engine.dispose()


def count(url: str, table: sa.Table) -> int:
    return int(select(url, sa.select(sa.func.count()).select_from(table))[0][0])


def test_files_are_mapped_typed_stored_and_applied(database_url: str, tmp_path: Path) -> None:
    accounts = write(tmp_path, "accounts.csv", ACCOUNTS)
    people = write(tmp_path, "crm_people.csv", PEOPLE)
    # Given in the wrong order: accounts are imported first all the same.
    result = run(people, accounts, "--database", database_url, "--map", "Lead Score=score",
                 "--type", "Zip=integer", "--apply")
    assert result.exit_code == 0, result.output
    assert f"{accounts}: 2 rows → 2 accounts" in result.stdout
    assert f"{people}: 2 rows → 2 people" in result.stdout
    assert "stored 4 inputs in the inbox" in result.stdout and "applied 4 inputs" in result.stdout
    assert result.stdout.index(accounts) < result.stdout.index(people)
    stored = dict(select(database_url, sa.select(t.accounts.c.id, t.accounts.c.attributes)))
    assert stored == {
        "acme": {"name": "Acme Corp", "employees": 1200, "arr": 150000.5, "zip": 2134,
                 "customer": True, "renewal_date": "2026-09-30"},
        "globex": {"name": "Globex", "employees": 85, "arr": 12000, "zip": 94105,
                   "customer": False}}  # an empty cell sets nothing
    found = select(database_url, sa.select(t.people.c.id, t.people.c.account, t.people.c.email,
                                           t.people.c.unsubscribed, t.people.c.score,
                                           t.people.c.attributes).order_by(t.people.c.id))
    assert [tuple(row) for row in found] == [
        ("ada", "acme", "ada@acme.test", False, 12, {"title": "CTO"}),
        ("bob", "acme", "bob@acme.test", True, 7, {"title": "VP Marketing"})]
    assert count(database_url, t.inbox) == 0


def test_a_dry_run_shows_the_mapping_and_stores_nothing(database_url: str, tmp_path: Path) -> None:
    accounts = write(tmp_path, "accounts.csv", ACCOUNTS)
    result = run(accounts, "--database", database_url, "--dry-run", "--map", "Zip=-")
    assert result.exit_code == 0, result.output
    for line in ("  Account ID → id (string)", "  Employees → attributes.employees (integer)",
                 "  ARR → attributes.arr (number)", "  Customer → attributes.customer (boolean)",
                 "  Renewal Date → attributes.renewal_date (string)", "  Zip → skipped",
                 f"{accounts}: 2 rows → 2 accounts",
                 "dry run: 2 inputs would be stored; nothing was"):
        assert line in result.stdout.splitlines(), line
    assert count(database_url, t.inbox) == 0 and count(database_url, t.accounts) == 0


def test_the_example_files_with_their_mapping_file(database_url: str) -> None:
    files = sorted(str(path) for path in EXAMPLES.glob("*.csv"))
    # The export names CSMs: the workspace that knows them comes first.
    configured = CliRunner().invoke(app, ["workspace", "apply", str(EXAMPLES / "workspace.yaml"),
                                          "--database", database_url])
    assert configured.exit_code == 0, configured.output
    result = run(*files, "--mapping", str(EXAMPLES / "mapping.yaml"), "--database", database_url,
                 "--apply", "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2:] == ["stored 11 inputs in the inbox", "applied 11 inputs"]
    [acme] = select(database_url, sa.select(t.accounts.c.attributes).where(t.accounts.c.id == "acme"))
    assert acme.attributes == {"name": "Acme Corp", "sector": "Manufacturing", "employees": 1200,
                               "renewal_date": "2026-09-30", "is_customer": True}
    [ada] = select(database_url, sa.select(t.people.c.attributes).where(t.people.c.id == "ada"))
    assert ada.attributes == {"title": "CTO"}  # First Name skipped
    [trial] = select(database_url, sa.select(t.events.c.properties).where(t.events.c.id == "e-1"))
    assert trial.properties == {"plan": "pro", "seat_count": 25}
    [group] = select(database_url, sa.select(t.buying_groups.c.members))
    assert [m["person"] for m in group.members] == ["ada", "bob-p"]


def test_bad_rows_are_listed_with_their_places_and_nothing_is_stored(
        database_url: str, tmp_path: Path) -> None:
    accounts = write(tmp_path, "accounts.csv", ACCOUNTS)
    people = write(tmp_path, "people.csv", PEOPLE.replace("no,12", "perhaps,12")
                   + ",acme,x@acme.test,CEO,no,high\n" + "cy,acme\n")
    result = run(accounts, people, "--database", database_url, "--map", "Lead Score=score", "-q")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{people} line 2, column Unsubscribed: expected true or false (or yes/no, 1/0), "
        "got 'perhaps'",
        f"{people} line 4, column Lead Score: expected a number, got 'high'",
        f"{people} line 4, column Contact ID: empty, but every person needs one",
        f"{people} line 5: 2 cells, but the header has 6 columns (a quote left open, or a "
        "delimiter inside an unquoted value?)",
        "nothing was stored"]
    # The accounts file was fine: it is not stored either.
    assert count(database_url, t.inbox) == 0 and count(database_url, t.received) == 0


def test_address_and_reference_problems_are_placed_at_line_and_column_too(
        database_url: str, tmp_path: Path) -> None:
    accounts = write(tmp_path, "accounts.csv", "Account ID,Name,CSM\nacme,Acme,\n"
                                               "globex,Globex,nobody\n")
    people = write(tmp_path, "people.csv", PEOPLE.replace("bob@acme.test", "bob at acme")
                   + "cy,acme,cy@,CEO,no,3\n")
    members = write(tmp_path, "buying-groups.csv", "account,solution,person,role\n"
                                                   "acme,Product X,bob,Decision Maker\n"
                                                   "acme,Product X,ada,Influencer\n")
    result = run(accounts, people, members, "--database", database_url, "-q")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{accounts} line 3, column CSM: no CSM 'nobody' (configure the workspace's csms first)",
        f"{people} line 3, column Email: not an email address: 'bob at acme'",
        f"{people} line 4, column Email: not an email address: 'cy@'",
        # bob was refused, ada stored: only bob's membership is refused as well
        f"{members} line 2, column person: no person 'bob'",
        "nothing was stored"]
    assert count(database_url, t.inbox) == 0


def test_mapping_problems_and_unknown_kinds_exit_2(database_url: str, tmp_path: Path) -> None:
    contacts = write(tmp_path, "contacts.csv", PEOPLE)
    unknown = run(contacts, "--database", database_url)
    assert unknown.exit_code == 2
    assert f"{contacts}: its name does not say what it holds" in unknown.stderr
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  Lead Score: {field: score, type: integer}\n  Nope: email\n"
                       "delimiter: ';;'\n")
    result = run("people", contacts, "--database", database_url, "--mapping", str(mapping),
                 "--type", "Title=text")
    assert result.exit_code == 2
    assert f"{mapping}: delimiter: " in result.stderr
    result = run("people", contacts, "--database", database_url, "--map", "Nope=email",
                 "--map", "Title=attributes.", "--type", "Title=text", "--unmapped", "error")
    assert "--type 'Title=text': write COLUMN=TYPE, TYPE one of string, integer" in result.stderr
    result = run("people", contacts, "--database", database_url, "--map", "Nope=email",
                 "--map", "Lead Score=score")
    assert result.exit_code == 2
    assert f"column 'Nope': not in the header of {contacts}" in result.stderr


def test_reimported_events_are_skipped_and_counted(database_url: str, tmp_path: Path) -> None:
    accounts = write(tmp_path, "accounts.csv", ACCOUNTS)
    events = write(tmp_path, "events.csv", EVENTS)
    first = run(accounts, events, "--database", database_url)
    assert first.exit_code == 0, first.output
    assert f"{events}: 3 rows → 3 events" in first.stdout
    # One more event, and one sent through the service as the API would, with a known id.
    service = Service(database_url, receive_only=True)
    try:
        service.submit([{"event": {"id": "e-4", "type": "login", "account": "acme"}}])
    finally:
        service.close()
    more = write(tmp_path, "more-events.csv", EVENTS + "e-4,login,acme,,2026-01-08T00:00:00Z,,\n"
                 "e-5,login,globex,,2026-01-08T00:00:00Z,,\ne-5,login,globex,,2026-01-08T00:00:00Z,,\n")
    again = run(more, "--database", database_url, "--apply")
    assert again.exit_code == 0, again.output
    assert f"{more}: 6 rows → 1 event, 5 already received (skipped)" in again.stdout
    assert [r.id for r in select(database_url, sa.select(t.events.c.id).order_by(t.events.c.id))] \
        == ["e-1", "e-2", "e-3", "e-4", "e-5"]


def test_events_without_ids_are_skipped_on_reimport_by_their_content(
        database_url: str, tmp_path: Path) -> None:
    events = write(tmp_path, "events.csv", "type,account,at\nlogin,acme,2026-01-05T09:00:00Z\n"
                                           "login,acme,\n")
    assert run(events, "--database", database_url).exit_code == 0
    again = run(events, "--database", database_url)
    assert (f"{events}: 2 rows → 1 event, 1 already received (skipped), 1 without id or "
            "timestamp (a re-import records them again)") in again.stdout
    assert count(database_url, t.inbox) == 3


def test_buying_group_members_need_known_accounts_and_people(database_url: str, tmp_path: Path) -> None:
    members = write(tmp_path, "buying-groups.csv", "account,solution,person,role\n"
                                                   "acme,Product X,ada,Decision Maker\n"
                                                   "acme,Product X,zed,Influencer\n")
    alone = run(members, "--database", database_url, "-q")
    assert alone.exit_code == 2
    assert alone.stderr.splitlines() == [
        f"{members} line 2, column account: no account 'acme'",
        f"{members} line 2, column person: no person 'ada'",
        f"{members} line 3, column account: no account 'acme'",
        f"{members} line 3, column person: no person 'zed'",
        "nothing was stored"]
    people = write(tmp_path, "people.csv", PEOPLE)
    accounts = write(tmp_path, "accounts.csv", ACCOUNTS)
    partly = run(members, people, accounts, "--database", database_url)
    assert partly.exit_code == 2 and f"{members} line 3, column person: no person 'zed'" in partly.stderr
    assert count(database_url, t.inbox) == 0  # the accounts and people stored before it went too
    fixed = write(tmp_path, "buying-groups.csv", "account,solution,person,role\n"
                                                 "acme,Product X,ada,Decision Maker\n")
    ok = run(fixed, people, accounts, "--database", database_url, "--apply")
    assert ok.exit_code == 0, ok.output
    assert f"{fixed}: 1 row → 1 buying-group member" in ok.stdout
    [group] = select(database_url, sa.select(t.buying_groups))
    assert group.members == [{"person": "ada", "role": "Decision Maker"}]


def test_progress_goes_to_stderr_and_the_summary_to_stdout(database_url: str, tmp_path: Path) -> None:
    events = write(tmp_path, "events.csv", "id,type,account\n"
                   + "".join(f"e{i},login,a{i % 7}\n" for i in range(2500)))
    result = run(events, "--database", database_url, "--batch", "1000")
    assert result.exit_code == 0, result.output
    assert "checking events.csv" in result.stderr and "storing events.csv" in result.stderr
    assert "2,500/2,500 rows" in result.stderr and "rows/s" in result.stderr
    assert result.stdout.splitlines() == [f"{events}: 2,500 rows → 2,500 events",
                                          "stored 2,500 inputs in the inbox"]
    quiet = run(events, "--database", database_url, "-q")
    assert quiet.stderr == "" and "2,500 already received" in quiet.stdout


def test_an_imported_account_enters_a_journey_once_applied(database_url: str, tmp_path: Path) -> None:
    service = Service(database_url)
    try:
        service.submit([{"configure": {"csms": [{"id": "ann"}], "segments": [
            {"id": "big", "when": {"account.employees": {"gte": 1000}}}]}},
            {"publish": BIG_ACCOUNTS}, {"enable": "big-accounts"}])
        while service.work():
            pass
        # A worker runs on the database: the import only receives, the worker applies.
        accounts = write(tmp_path, "accounts.csv", ACCOUNTS)
        refused = run(accounts, "--database", database_url, "--apply")
        assert refused.exit_code == 2 and "import without --apply" in refused.stderr
        assert run(accounts, "--database", database_url).exit_code == 0
        assert count(database_url, t.enrollments) == 0
        assert service.work() == 2
    finally:
        service.close()
    enrolled = select(database_url, sa.select(t.enrollments.c.account, t.enrollments.c.journey))
    assert [tuple(row) for row in enrolled] == [("acme", "big-accounts")]
    [task] = select(database_url, sa.select(t.effects.c.account, t.effects.c.payload)
                    .where(t.effects.c.channel == "task"))
    assert task.account == "acme" and task.payload["title"] == "Call Acme Corp"
