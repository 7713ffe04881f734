"""The dataset format: checks with place and line, import/export round trips, all or nothing."""

from __future__ import annotations

import copy

import pytest
import yaml

from mockspice.domain import state
from mockspice.domain.errors import BadDataset
from mockspice.resources import DEMO_DATASET
from mockspice.store import dataset
from mockspice.store.dataset import DatasetError
from mockspice.store.db import Store


@pytest.fixture
def store(tmp_path):
    store, existed = Store.open(tmp_path / "store.db")
    assert not existed
    yield store
    store.close()


@pytest.fixture
def demo() -> dict:
    return dataset.load_file(DEMO_DATASET)


def load(store: Store, data: dict) -> None:
    with store.write() as conn:
        dataset.replace(conn, data)


def test_demo_dataset_has_what_the_issue_asks(demo):
    companies = demo["companies"]
    assert len(companies) >= 2
    brands = [b for c in companies for b in c["brands"] if b["active"]]
    assert len(brands) >= 3 and all(b["greeting"] for b in brands)
    accounts = [a for c in companies for a in c["accounts"]]
    assert len(accounts) >= 20
    phones = {c["pphone"] for a in accounts for c in a["contacts"]}
    assert {"(555) 555-5555", "+1 555 201 0001", "555.201.0002"} <= phones
    cases = [k for c in companies for k in c["cases"]]
    assert len(cases) >= 10
    assert len({k["status"] for k in cases}) >= 4
    levels = {(a["security_level"], a["tier"]) for a in demo["agents"]}
    assert {lvl for lvl, _ in levels} == {1, 2, 3, 4} and {t for _, t in levels} == {1, 2, 3, 4}
    # The integration page's own examples.
    acme = companies[0]
    jdoe = next(a for a in acme["accounts"] if a["userkey"] == "jdoe")
    assert (jdoe["contacts"][0]["firstname"], jdoe["contacts"][0]["lastname"]) == ("John", "Doe")
    case = next(k for k in acme["cases"] if k["id"] == 6344)
    assert case["status"] == 2 and 7906 in [r["id"] for r in case["responses"]]
    assert next(s for s in acme["statuses"] if s["id"] == 2)["label"] == "In Progress"
    # Scheduled events (one on the documented case) and global alerts, in both companies.
    assert [e["id"] for e in acme["events"] if e["case"] == 6344] == [1]
    assert all(c["event_categories"] and c["events"] and c["alerts"] for c in companies)
    assert {a["active"] for a in acme["alerts"]} == {True, False}


def test_import_export_import_is_identical(store, demo):
    load(store, demo)
    with store.snapshot() as conn:
        first = dataset.export(conn)
    assert first == demo
    load(store, dataset.parse_yaml(dataset.dump_yaml(first), "exported.yaml"))
    with store.snapshot() as conn:
        assert dataset.export(conn) == first


def test_json_round_trip_through_state(store, demo):
    load(store, demo)
    exported = state.export_state(store)
    import json

    counts = state.import_state(store, json.loads(json.dumps(exported)))
    assert counts == {"companies": 2, "brands": 6, "accounts": 20, "cases": 10, "agents": 8}
    assert state.export_state(store) == exported


def test_plain_password_becomes_md5(demo):
    admin = next(a for a in demo["agents"] if a["login"] == "admin")
    assert admin["password_md5"] == "21232f297a57a5a743894a0e4a801fc3" and "password" not in admin


def _broken(mutate) -> dict:
    data = yaml.safe_load(DEMO_DATASET.read_text())
    mutate(data)
    return data


CASES = [
    ("unknown top key", lambda d: d.update(extra=1), "extra", "unknown key 'extra' in a dataset"),
    (
        "unknown account key",
        lambda d: d["companies"][0]["accounts"][3].update(colour="red"),
        "companies[0].accounts[3].colour",
        "unknown key 'colour' in an account",
    ),
    (
        "duplicate userkey",
        lambda d: d["companies"][0]["accounts"][5].update(userkey="jdoe"),
        "companies[0].accounts[5].userkey",
        "duplicate userkey 'jdoe' (first at companies[0].accounts[0])",
    ),
    (
        "dangling brand",
        lambda d: d["companies"][0]["accounts"][2].update(brand=42),
        "companies[0].accounts[2].brand",
        "no brand with id 42",
    ),
    (
        "dangling case userkey",
        lambda d: d["companies"][0]["cases"][1].update(userkey="ghost"),
        "companies[0].cases[1].userkey",
        "no account with userkey 'ghost'",
    ),
    (
        "dangling status",
        lambda d: d["companies"][0]["cases"][0]["responses"][1].update(status=9),
        "companies[0].cases[0].responses[1].status",
        "no status with id 9",
    ),
    (
        "dangling custom field",
        lambda d: d["companies"][0]["accounts"][0]["fields"][0].update(id=77),
        "companies[0].accounts[0].fields[0].id",
        "no custom field with id 77",
    ),
    (
        "agent of another company",
        lambda d: d["companies"][1]["cases"][0].update(agent=1),
        "companies[1].cases[0].agent",
        "agent 1 belongs to company 1",
    ),
    (
        "duplicate case id",
        lambda d: d["companies"][0]["cases"][2].update(id=6344),
        "companies[0].cases[2].id",
        "duplicate case id 6344",
    ),
    (
        "duplicate response id",
        lambda d: d["companies"][0]["cases"][1]["responses"][0].update(id=7906),
        "companies[0].cases[1].responses[0].id",
        "duplicate response id 7906",
    ),
    (
        "bad id type",
        lambda d: d["companies"][0]["brands"][0].update(id="one"),
        "companies[0].brands[0].id",
        "must be a whole number, not 'one'",
    ),
    (
        "zero id",
        lambda d: d["companies"][0].update(id=0),
        "companies[0].id",
        "must be a positive id",
    ),
    (
        "bool active",
        lambda d: d["companies"][0]["brands"][0].update(active="yes"),
        "companies[0].brands[0].active",
        "must be true or false",
    ),
    (
        "bad date",
        lambda d: d["companies"][0]["cases"][0].update(created="yesterday"),
        "companies[0].cases[0].created",
        "must be a date and time like 2006-01-27 13:27:51",
    ),
    (
        "tier out of range",
        lambda d: d["agents"][0].update(tier=7),
        "agents[0].tier",
        "must be 1, 2, 3 or 4",
    ),
    (
        "agent without password",
        lambda d: d["agents"][0].pop("password"),
        "agents[0]",
        "an agent needs 'password' or 'password_md5'",
    ),
    (
        "missing userkey",
        lambda d: d["companies"][0]["accounts"][0].pop("userkey"),
        "companies[0].accounts[0]",
        "an account needs the key 'userkey'",
    ),
    (
        "empty userkey",
        lambda d: d["companies"][0]["accounts"][0].update(userkey="  "),
        "companies[0].accounts[0].userkey",
        "must not be empty",
    ),
    ("wrong format", lambda d: d.update(format="other/9"), "format", "unknown format 'other/9'"),
    (
        "case without responses",
        lambda d: d["companies"][0]["cases"][1].update(responses=[]),
        "companies[0].cases[1].responses",
        "a case needs at least one response",
    ),
    (
        "brands not a list",
        lambda d: d["companies"][0].update(brands={"id": 1}),
        "companies[0].brands",
        "must be a list of brand records",
    ),
    (
        "dangling event case",
        lambda d: d["companies"][0]["events"][0].update(case=101),
        "companies[0].events[0].case",
        "no case with id 101",
    ),
    (
        "dangling event category",
        lambda d: d["companies"][1]["events"][0].update(category=2),
        "companies[1].events[0].category",
        "no event category with id 2",
    ),
    (
        "event agent of another company",
        lambda d: d["companies"][0]["events"][0].update(agent=7),
        "companies[0].events[0].agent",
        "agent 7 belongs to company 2",
    ),
    (
        "dangling event agent",
        lambda d: d["companies"][0]["events"][0].update(agent=99),
        "companies[0].events[0].agent",
        "no agent with id 99",
    ),
    (
        "event ends before it starts",
        lambda d: d["companies"][0]["events"][0].update(ends="2006-01-28 08:00:00"),
        "companies[0].events[0].ends",
        "ends before the event starts (2006-01-28 09:00:00)",
    ),
    (
        "event without title",
        lambda d: d["companies"][0]["events"][2].pop("title"),
        "companies[0].events[2]",
        "an event needs the key 'title'",
    ),
    (
        "duplicate event id",
        lambda d: d["companies"][0]["events"][1].update(id=1),
        "companies[0].events[1].id",
        "duplicate event id 1",
    ),
    (
        "duplicate event category id",
        lambda d: d["companies"][0]["event_categories"][2].update(id=1),
        "companies[0].event_categories[2].id",
        "duplicate event category id 1",
    ),
    (
        "duplicate alert id",
        lambda d: d["companies"][0]["alerts"][1].update(id=1),
        "companies[0].alerts[1].id",
        "duplicate alert id 1",
    ),
    (
        "bad alert date",
        lambda d: d["companies"][0]["alerts"][0].update(expires="later"),
        "companies[0].alerts[0].expires",
        "must be a date and time like 2006-01-27 13:27:51",
    ),
    (
        "empty alert message",
        lambda d: d["companies"][1]["alerts"][0].update(message=""),
        "companies[1].alerts[0].message",
        "must not be empty",
    ),
    (
        "unknown alert key",
        lambda d: d["companies"][1]["alerts"][0].update(level="red"),
        "companies[1].alerts[0].level",
        "unknown key 'level' in an alert",
    ),
]


@pytest.mark.parametrize("name, mutate, place, reason", CASES, ids=[c[0] for c in CASES])
def test_bad_dataset_names_place_and_reason(name, mutate, place, reason):
    with pytest.raises(DatasetError) as info:
        dataset.check(_broken(mutate), "broken.yaml")
    assert info.value.place == place
    assert reason in info.value.reason
    assert str(info.value).startswith(f"broken.yaml: {place}: ")


def test_file_errors_carry_the_line(tmp_path):
    text = DEMO_DATASET.read_text().replace("userkey: jdoe2", "userkey: jdoe", 1)
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(DatasetError) as info:
        dataset.load_file(path)
    # Accounts come before cases in the file: the second "userkey: jdoe" is the duplicate.
    second = [
        i + 1 for i, line in enumerate(text.splitlines()) if line.strip().endswith("userkey: jdoe")
    ][1]
    assert info.value.line == second
    assert str(info.value) == (
        f"{path} line {second}: companies[0].accounts[1].userkey: "
        "duplicate userkey 'jdoe' (first at companies[0].accounts[0])"
    )


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"companies: [\n  {id: 1\n", "not valid YAML, column"),
        (b"format: x\nformat: y\n", "key 'format' is given twice in one mapping"),
        (b"\xff\xfe garbage", "not UTF-8 text (byte 0)"),
        (b"- just\n- a list\n", "must be a mapping (a dataset)"),
    ],
)
def test_unparsable_files(tmp_path, content, reason):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=".*") as info:
        dataset.load_file(path)
    assert reason in str(info.value) and str(path) in str(info.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(
        DatasetError, match=r"nothere.yaml: cannot read it \(No such file or directory\)"
    ):
        dataset.load_file(tmp_path / "nothere.yaml")


def test_empty_file_is_refused_and_an_empty_dataset_is_said_so(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(DatasetError, match=r"the dataset is empty; an empty dataset is written"):
        dataset.load_file(path)
    path.write_text("agents: []\n")
    with pytest.raises(DatasetError, match=r"a dataset needs 'companies'"):
        dataset.load_file(path)
    path.write_text("companies: []\n")
    assert dataset.load_file(path) == {"format": dataset.FORMAT, "companies": [], "agents": []}


def test_bad_import_changes_nothing(store, demo):
    load(store, demo)
    before = state.export_state(store)
    broken = copy.deepcopy(before)
    broken["companies"][1]["accounts"][0]["brand"] = 99
    with pytest.raises(
        BadDataset, match=r"request body: companies\[1\]\.accounts\[0\]\.brand: no brand with id 99"
    ):
        state.import_state(store, broken)
    assert state.export_state(store) == before


def test_failure_inside_the_transaction_rolls_back(store, demo):
    load(store, demo)
    before = state.export_state(store)
    data = copy.deepcopy(demo)
    data["companies"][0]["accounts"][0]["contacts"] = "not-a-list-of-contacts"  # skips check()
    with pytest.raises(TypeError):
        with store.write() as conn:
            dataset.replace(conn, data)
    assert state.export_state(store) == before


def test_events_and_alerts_defaults_and_round_trip(store):
    data = dataset.check(
        {
            "companies": [
                {
                    "id": 1,
                    "label": "C",
                    "event_categories": [{"id": 4, "label": "Visit"}],
                    "events": [
                        {
                            "id": 2,
                            "category": 4,
                            "title": "Visit",
                            "starts": "2024-01-01T10:00:00+02:00",
                        }
                    ],
                    "alerts": [{"id": 1, "message": "Hello", "created": "2024-01-01"}],
                }
            ]
        }
    )
    company = data["companies"][0]
    assert company["events"] == [
        {
            "id": 2,
            "case": None,
            "category": 4,
            "title": "Visit",
            "starts": "2024-01-01 08:00:00",
            "ends": None,
            "notes": "",
            "agent": None,
        }
    ]
    assert company["alerts"] == [
        {
            "id": 1,
            "message": "Hello",
            "created": "2024-01-01 00:00:00",
            "expires": None,
            "active": True,
        }
    ]
    load(store, data)
    assert state.export_state(store) == data


def test_issue_parent_may_come_after_child(store):
    data = dataset.check(
        {
            "companies": [
                {
                    "id": 1,
                    "label": "C",
                    "issues": [
                        {"id": 2, "label": "Refund", "parent": 5},
                        {"id": 5, "label": "Billing"},
                    ],
                }
            ]
        }
    )
    load(store, data)
    assert state.export_state(store)["companies"][0]["issues"] == [
        {"id": 2, "label": "Refund", "parent": 5},
        {"id": 5, "label": "Billing", "parent": None},
    ]


def test_a_fixtures_file_with_a_masked_secret_is_refused(tmp_path):
    from mockspice.domain.state import prepare
    from mockspice.settings import Settings

    data = dataset.load_file(DEMO_DATASET)
    data["agents"][0]["password_md5"] = "********"
    path = tmp_path / "exported.yaml"
    path.write_text(dataset.dump_yaml(data))
    settings = Settings.load(
        environ={}, overrides={"db": str(tmp_path / "s.db"), "fixtures": str(path)}
    )
    with pytest.raises(DatasetError) as info:
        prepare(settings)
    assert str(info.value) == (
        f"{path}: agent {data['agents'][0]['id']}: password_md5: is the mask '********' (as "
        "GET /_mockspice/state shows secrets); a fixtures file needs the real value"
    )
