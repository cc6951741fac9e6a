"""CSV mapping and reading (``runtime.csv_import``): which column goes where, value types
learned from whole columns, and every bad row reported at its line and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from itinera.errors import DefinitionError
from itinera.runtime.csv_import import CsvSource, ImportOptions, Kind, convert, kind_of_file, snake_case


def source(tmp_path: Path, text: str | bytes, kind: Kind = Kind.PEOPLE, name: str = "people.csv",
           **options: Any) -> CsvSource:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return CsvSource(path, kind, ImportOptions.model_validate(options), name=name)


def entries(found: CsvSource) -> list[dict[str, Any]]:
    assert found.problems == [] and found.check() == []
    return [entry for _, entry in found.entries()]


def messages(found: CsvSource) -> list[str]:
    return [str(problem) for problem in found.problems or found.check()]


@pytest.mark.parametrize(("name", "kind"), [
    ("accounts.csv", Kind.ACCOUNTS), ("crm_people.csv", Kind.PEOPLE), ("Events.CSV", Kind.EVENTS),
    ("buying_groups_2026.csv", Kind.BUYING_GROUPS), ("person.csv", Kind.PEOPLE),
    ("contacts.csv", None), ("accounts-people.csv", None), ("eventsfeed.csv", None)])
def test_the_file_name_says_the_kind(name: str, kind: Kind | None) -> None:
    assert kind_of_file(Path("/data") / name) is kind


def test_headers_become_attribute_names_in_snake_case() -> None:
    assert snake_case("Renewal Date") == "renewal_date"
    assert snake_case("annualRevenue") == "annual_revenue"
    assert snake_case("ARR (USD)") == "arr_usd"
    assert snake_case("seats") == "seats"
    assert snake_case("%%") == "%%"


def test_values_convert_to_their_declared_types() -> None:
    assert convert("42", "integer") == 42 and convert("-3", "number") == -3
    assert convert("2.5", "number") == 2.5 and convert("1e3", "number") == 1000.0
    assert [convert(v, "boolean") for v in ("TRUE", "no", "1", "Yes")] == [True, False, True, True]
    assert convert("2026-03-01", "date") == "2026-03-01"  # dates stay the strings written
    assert convert('{"a": [1]}', "json") == {"a": [1]}
    assert convert("onboarding; renewal;", "list") == ["onboarding", "renewal"]
    assert convert("1767603600", "instant") == "2026-01-05T09:00:00Z"  # Unix seconds
    assert convert("2026-01-05 09:00", "instant") == "2026-01-05 09:00"
    for text, type_, message in [("4.5", "integer", "expected an integer"),
                                 ("n/a", "number", "expected a number"),
                                 ("maybe", "boolean", "expected true or false"),
                                 ("March 1st", "date", "expected a date"),
                                 ("{oops", "json", "expected JSON"),
                                 ("soon", "instant", "bad date 'soon'")]:
        with pytest.raises(ValueError, match=message):
            convert(text, type_)


def test_columns_map_by_name_alias_and_option(tmp_path: Path) -> None:
    found = source(tmp_path, "Contact ID,Account ID,E-mail,Email Address,Title,Notes,Score\n"
                             "ada,acme,old@acme.test,ada@acme.test,CTO,hi,3\n",
                   columns={"E-mail": "-", "Notes": {"field": "attributes.remark"}})
    assert found.mapping() == [("Contact ID", "id", "string"), ("Account ID", "account", "string"),
                               ("Email Address", "email", "string"),
                               ("Title", "attributes.title", "auto"),
                               ("Notes", "attributes.remark", "auto"), ("Score", "score", "number")]
    assert entries(found) == [{"upsert_person": {
        "id": "ada", "account": "acme", "email": "ada@acme.test", "score": 3,
        "attributes": {"title": "CTO", "remark": "hi"}}}]


def test_attribute_types_are_learned_from_the_whole_column(tmp_path: Path) -> None:
    found = source(tmp_path, "id,employees,arr,zip,active,nps,renewal,tags\n"
                             "a,1200,10.5,02134,true,9,2026-09-30,x\n"
                             "b,,12,94105,False,n/a,2026-10-01,y\n", Kind.ACCOUNTS, "accounts.csv")
    rows = entries(found)
    assert {(c, t) for c, _, t in found.mapping()} >= {
        ("employees", "integer"), ("arr", "number"), ("zip", "string"), ("active", "boolean"),
        ("nps", "string"), ("renewal", "string")}
    assert rows[0]["upsert_account"]["attributes"] == {
        "employees": 1200, "arr": 10.5, "zip": "02134", "active": True, "nps": "9",
        "renewal": "2026-09-30", "tags": "x"}
    # An empty cell is left out: an upsert keeps what the account had.
    assert "employees" not in rows[1]["upsert_account"]["attributes"]
    assert rows[1]["upsert_account"]["attributes"]["arr"] == 12


def test_declared_types_and_no_inference(tmp_path: Path) -> None:
    text = "id,employees,zip\na,1200,94105\n"
    declared = source(tmp_path, text, Kind.ACCOUNTS, "accounts.csv", columns={"zip": {"type": "integer"}},
                      infer=False)
    assert entries(declared)[0]["upsert_account"]["attributes"] == {"employees": "1200", "zip": 94105}


def test_bad_rows_are_all_reported_at_their_line_and_column(tmp_path: Path) -> None:
    found = source(tmp_path, 'id,email,score,unsubscribed,employees\n'
                             'ada,ada@acme.test,1,no,10\n'
                             ',bob@acme.test,x,maybe,20\n'
                             '"cy\nrus",cy@acme.test,2,yes,many\n'
                             '\n'
                             'dan,dan@acme.test,3\n',
                   columns={"employees": {"type": "integer"}})
    assert messages(found) == [
        "people.csv line 3, column score: expected a number, got 'x'",
        "people.csv line 3, column unsubscribed: expected true or false (or yes/no, 1/0), got 'maybe'",
        "people.csv line 3, column id: empty, but every person needs one",
        "people.csv line 4, column employees: expected an integer, got 'many'",
        "people.csv line 7: 3 cells, but the header has 5 columns (a quote left open, "
        "or a delimiter inside an unquoted value?)"]
    assert found.rows == 4  # the blank line is no row


def test_the_header_and_mapping_are_checked_first(tmp_path: Path) -> None:
    found = source(tmp_path, "Email,email,tier,Score\n", columns={
        "tier": {"field": "attributes.tier", "type": "integer"}, "Score": {"type": "integer"},
        "Email": "emial"})
    assert [str(p) for p in found.problems] == [
        "people.csv column Email: no field 'emial' for people: fields are id, account, email, "
        "unsubscribed, score or attributes.<name>",
        "people.csv column Score: score has a fixed type (number); declare the types of attribute "
        "columns only",
        "people.csv: no column for 'id': every person needs one (--map COLUMN=id)"]
    twice = source(tmp_path, "id,Account,account_id\n")
    assert [str(p) for p in twice.problems] == [
        "people.csv line 1: columns 'Account' and 'account_id' both map to account"]
    events = source(tmp_path, "type,account,attributes.plan\n", Kind.EVENTS, "events.csv")
    assert "events have properties, not attributes: write properties.plan" in str(events.problems[0])


def test_unmapped_columns_can_be_ignored_or_refused(tmp_path: Path) -> None:
    text = "id,Notes\nada,hi\n"
    assert entries(source(tmp_path, text, unmapped="ignore")) == [{"upsert_person": {"id": "ada"}}]
    refused = source(tmp_path, text, unmapped="error")
    assert "people.csv column Notes: maps to no field of people" in str(refused.problems[0])
    members = source(tmp_path, "account,solution,person,role,note\n", Kind.BUYING_GROUPS, "bg.csv")
    assert "bg.csv column note: maps to no field of buying-groups" in str(members.problems[0])


def test_events_need_an_owner_and_get_stable_ids_without_an_id_column(tmp_path: Path) -> None:
    text = ("type,account,person,at,plan\n"
            "login,acme,,2026-01-05T09:00:00Z,pro\n"
            "login,,,2026-01-05T09:00:00Z,pro\n")
    assert messages(source(tmp_path, text, Kind.EVENTS, "events.csv")) == [
        "events.csv line 3: an event belongs to an account or a person: both are empty"]
    ok = "type,account,at,plan\nlogin,acme,2026-01-05T09:00:00Z,pro\nlogin,acme,,pro\n"
    first = entries(source(tmp_path, ok, Kind.EVENTS, "events.csv"))
    reordered = "plan,at,account,type\npro,2026-01-05T09:00:00Z,acme,login\n"
    again = entries(source(tmp_path, reordered, Kind.EVENTS, "events.csv"))
    assert first[0]["event"]["id"].startswith("csv-") and first[0] == again[0]
    assert "id" not in first[1]["event"]  # no timestamp: nothing to tell a repeat by
    with_ids = entries(source(tmp_path, "id,type,person\ne1,login,ada\n", Kind.EVENTS, "events.csv"))
    assert with_ids == [{"event": {"id": "e1", "type": "login", "person": "ada"}}]


def test_reading_problems_name_their_line(tmp_path: Path) -> None:
    latin = "id,name\nada,Ada\nzoe,Zoë\n".encode("cp1252")
    found = source(tmp_path, latin)
    assert messages(found) == ["people.csv line 3: not utf-8-sig text (invalid continuation byte "
                               "at byte 7 of the line); give its encoding, e.g. --encoding cp1252"]
    fixed = source(tmp_path, latin, encoding="cp1252")
    assert entries(fixed)[1]["upsert_person"]["attributes"] == {"name": "Zoë"}
    bom = source(tmp_path, "\ufeffid;name\nada;Ada\n".encode(), delimiter=";")
    assert entries(bom) == [{"upsert_person": {"id": "ada", "attributes": {"name": "Ada"}}}]
    plain_utf8 = source(tmp_path, "\ufeffid,name\nada,Ada\n".encode(), encoding="utf-8")
    assert entries(plain_utf8) == [{"upsert_person": {"id": "ada", "attributes": {"name": "Ada"}}}]
    unclosed = source(tmp_path, 'id,name\nada,"Ada\nbob,Bob\n')
    assert messages(unclosed)[0].startswith("people.csv line 3: not readable as CSV")
    assert [str(p) for p in source(tmp_path, "").problems] == [
        "people.csv: empty file: the first line must name the columns"]
    missing = CsvSource(tmp_path / "nope.csv", Kind.PEOPLE, name="nope.csv")
    assert [str(p) for p in missing.problems] == ["nope.csv: cannot read: No such file or directory"]


def test_problems_beyond_the_limit_are_counted(tmp_path: Path) -> None:
    found = source(tmp_path, "id,score\n" + "".join(f"p{i},x\n" for i in range(30)))
    problems = found.check(limit=10)
    assert len(problems) == 11 and str(problems[-1]) == "people.csv: and 20 more problems"


def test_a_file_changed_between_the_passes_is_refused(tmp_path: Path) -> None:
    found = source(tmp_path, "id,score\nada,1\n")
    assert found.check() == []
    (tmp_path / "people.csv").write_text("id,score\nada,lots\n")
    with pytest.raises(DefinitionError, match="line 2, column score"):
        list(found.entries())


def test_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        ImportOptions(encoding="klingon")
    with pytest.raises(ValueError, match="save the file as UTF-8"):
        ImportOptions(encoding="utf-16")
    with pytest.raises(ValueError, match="delimiter"):
        ImportOptions.model_validate({"delimiter": ";;"})
