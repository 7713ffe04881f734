"""accountLoad, load and the create/update/delete record batches, over the real HTTP transport."""

from __future__ import annotations

import socket

import pytest
from liveserver import POP
from partner_servers import serving
from spiceclients import OpenACD, Rpc20

from mockspice.domain.search import LOAD_ARRAY, ROW_KEYS
from mockspice.partner import create_partner_app


def connect(client, login="admin", password="admin") -> OpenACD:
    """An OpenACD-style client with a session."""
    return OpenACD(client, login, password)


@pytest.fixture
def api(client) -> OpenACD:
    """The form client, connected as the demo's administrator (level 4, company 1)."""
    return connect(client)


@pytest.fixture
def rpc(client, api) -> Rpc20:
    """A 2.0 client on the administrator's session."""
    return Rpc20.on(client, api.session)


@pytest.fixture
def partner(client):
    """A reference partner on a free loopback port, wired to brand 1 of company 1."""
    app = create_partner_app()
    with serving(app) as url:
        settings = {f"{kind}_url": f"{url}/{kind}" for kind in ("search", "load", "update", "case")}
        settings.update(int_user="spice", int_pass="secret", timeout_s=5)
        assert client.put("/_mockspice/brands/1/1/webcalls", json=settings).status_code == 200
        yield app.extensions["partner"]["book"]


def state(client):
    """The whole dataset."""
    return client.get("/_mockspice/state").get_json()


def last_api_entry(client):
    """The newest API journal entry."""
    return client.get("/_mockspice/journal?kind=api").get_json()["entries"][-1]


def pop(client, ani):
    """The userkeys a screen pop of brand 1 finds for an ANI."""
    body = client.get(
        POP, query_string={"company": 1, "brand": 1, "ani": ani, "format": "json"}
    ).get_json()
    return [a["userkey"] for a in body["match"]["accounts"]]


def free_port() -> int:
    """A loopback port nobody listens on (for a partner that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- accountLoad ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "search, userkeys",
    [
        ({"LastName": "doe"}, ["jdoe", "jdoe2"]),
        ({"LastName": " DOE ", "FirstName": "john"}, ["jdoe", "jdoe2"]),
        ({"PrimaryPhone": "(555) 201-0001"}, ["asmith"]),
        ({"PrimaryPhone": "1-555-555-5555"}, ["jdoe", "jdoe2"]),  # digits, any format
        ({"Modile": "555.209.9999"}, ["asmith"]),  # the second contact's mobile
        ({"LastName": "Smith", "FirstName": "Alan"}, ["asmith"]),
        ({"Userkey": "jdoe"}, ["jdoe"]),
        ({"Status": "inactive"}, ["dlee"]),
        ({"AccountID": "ext-1002"}, ["bjones"]),
        ({"CustFields": "1\\Gold"}, ["bjones", "emuller", "hkim", "kmoore"]),
        ({"CustFields": "1\\Gold", "brand": 2}, ["emuller", "hkim"]),
        ({"CustFields": "1\\Gold", "brandid": "2"}, ["emuller", "hkim"]),
        ({"City": "Anywhere", "CustFields": "1\\silver,2\\2024-02-15"}, ["jdoe2", "iwilson"]),
        ({"CustFields": "1\\silver,2\\2024-02-15", "brand": "1"}, ["jdoe2"]),
        ({"FirstName": "Carmen", "LastName": "GARCÍA"}, ["cgarcia"]),  # case folding beyond ASCII
        ({"LastName": "Doe", "FirstName": ""}, ["jdoe", "jdoe2"]),  # empty variables are not sent
    ],
)
def test_account_load_finds(api, search, userkeys):
    rows = api.result("accountLoad", search)
    assert [r["userkey"] for r in rows] == userkeys
    for row in rows:
        assert tuple(row) == ROW_KEYS and all(isinstance(v, str) for v in row.values())
        assert row["external"] == "0"


def test_account_load_row_shape(api):
    row = api.result("accountLoad", {"Userkey": "bjones"})[0]
    assert row == {
        **dict.fromkeys(ROW_KEYS, ""),
        "userkey": "bjones",
        "brandid": "1",
        "status": "Active",
        "accountid": "EXT-1002",
        "external": "0",
        "name": "Bob Jones",
        "firstname": "Bob",
        "lastname": "Jones",
        "aone": "106 Main St.",
        "city": "Anywhere",
        "region": "ZZ",
        "pc": "123456",
        "pphone": "555.201.0002",
        "pemail": "bjones@example.com",
    }


@pytest.mark.parametrize(
    "search",
    [
        {"Userkey": "JDOE"},
        {"LastName": "Doe", "brand": 2},
        {"PrimaryPhone": "no digits"},
        {"Password": "wrong"},
    ],
)
def test_account_load_nothing(api, search):
    assert api.result("accountLoad", search) == {"msg": "no results"}


@pytest.mark.parametrize(
    "search, code, fragment",
    [
        ({}, -32602, "accountLoad needs at least one search variable"),
        ({"FirstName": ""}, -32602, "accountLoad needs at least one search variable"),
        ({"Nickname": "x"}, -32602, "unknown search variable 'Nickname'"),
        ({"LastName": ["Doe"]}, -32602, "search variable 'LastName' must be text"),
        ({"CustFields": "x\\Gold"}, -32602, "custom field id 'x' is not a number"),
        ({"LastName": "Doe", "brand": 99}, -32004, "brand 99 does not exist in company 1"),
        ({"LastName": "Doe", "brand": "one"}, -32602, "'brand' must be an id"),
        (
            {"LastName": "Doe", "brand": 1, "brandid": 1},
            -32602,
            "'brand' and 'brandid' are the same key",
        ),
        ({"LastName": "Doe", "type": "account"}, -32602, "unknown search variable 'type'"),
    ],
)
def test_account_load_errors(api, rpc, search, code, fragment):
    assert fragment in api.call("accountLoad", search)["error"]  # 1.0: the message
    error = rpc.error("accountLoad", search)
    assert error["code"] == code and fragment in error["message"]


def test_account_load_needs_an_object_and_a_session(client, api, rpc):
    error = rpc.error("accountLoad", [{"LastName": "Doe"}])
    assert (
        error["code"] == -32602
        and "parameter search must be an object, not an array" in error["message"]
    )
    anonymous = OpenACD(client)
    assert anonymous.call("accountLoad", {"LastName": "Doe"})["error"].startswith("invalid session")


def test_account_load_external_search(client, api, partner):
    rows = api.result("accountLoad", {"LastName": "Doe", "brand": 1})
    assert [(r["userkey"], r["external"]) for r in rows] == [
        ("jdoe", "0"),
        ("jdoe2", "0"),
        ("jdoe", "1"),
    ]
    external = rows[-1]
    assert (
        external["name"] == "John Doe"
        and external["pemail"] == "johnd@xyz.net"
        and external["brandid"] == "1"
    )
    ids = last_api_entry(client)["webcalls"]
    assert len(ids) == 1
    webcalls = client.get("/_mockspice/journal?kind=webcall").get_json()["entries"]
    assert [(e["id"], e["exchange"]["kind"], e["exchange"]["outcome"]) for e in webcalls] == [
        (ids[0], "search", "ok")
    ]
    # No brand named: local matches only, no web call.
    assert [r["external"] for r in api.result("accountLoad", {"LastName": "Doe"})] == ["0", "0"]
    assert last_api_entry(client)["webcalls"] == []


def test_account_load_external_only_partner_matches(client, api, partner):
    rows = api.result(
        "accountLoad", {"LastName": "Vega", "brand": 1}
    )  # only the partner knows mvega
    assert [(r["userkey"], r["external"]) for r in rows] == [("mvega", "1")]


def test_account_load_partner_down_keeps_local_rows(client, api):
    client.put(
        "/_mockspice/brands/1/1/webcalls",
        json={"search_url": f"http://127.0.0.1:{free_port()}/search", "timeout_s": 2},
    )
    rows = api.result("accountLoad", {"LastName": "Doe", "brand": 1})
    assert [r["userkey"] for r in rows] == ["jdoe", "jdoe2"]
    exchange_id = last_api_entry(client)["webcalls"][0]
    entry = client.get("/_mockspice/journal?kind=webcall").get_json()["entries"][-1]
    assert entry["id"] == exchange_id and entry["exchange"]["outcome"] == "unreachable"


def test_portal_session_sees_only_its_account(client):
    portal = OpenACD(client)
    portal.session = portal.result("portalconnect", "jdoe")["session"]
    assert [r["userkey"] for r in portal.result("accountLoad", {"LastName": "Doe"})] == ["jdoe"]
    assert portal.result("accountLoad", {"Userkey": "jdoe2"}) == {"msg": "no results"}
    assert portal.result("load", {"userkey": "jdoe"})["userkey"] == "jdoe"
    assert "may only use its own account" in portal.call("load", {"userkey": "asmith"})["error"]


# --- load -------------------------------------------------------------------------------------


def test_load_account(api):
    account = api.result("load", {"type": "account", "userkey": "asmith"})
    assert (account["type"], account["userkey"], account["brandid"], account["status"]) == (
        "account",
        "asmith",
        "1",
        "Active",
    )
    assert [(c["position"], c["firstname"], c["mobile"]) for c in account["contacts"]] == [
        ("0", "Alice", ""),
        ("1", "Alan", "+1 555 209 9999"),
    ]
    assert account["fields"] == [
        {"id": "1", "label": "Plan", "value": "Bronze"},
        {"id": "2", "label": "Customer since", "value": "2024-03-15"},
    ]
    assert [(c["caseid"], c["status"]) for c in account["cases"]] == [("6345", "New")]
    assert api.result("load", {"userkey": "asmith"}) == account  # the type inferred from the keys


@pytest.mark.parametrize(
    "record, code, message",
    [
        ([{"type": "account", "userkey": "jdoe"}], -32602, LOAD_ARRAY),
        ([], -32602, LOAD_ARRAY),
        (
            {"type": "account", "userkey": "nobody"},
            -32004,
            "company 1 has no account with userkey 'nobody'",
        ),
        ({"type": "agent", "id": 1}, -32602, 'load: \'type\' must be "account" or "case"'),
        ({}, -32602, 'load: \'type\' must be "account" or "case"'),
        ({"type": "account"}, -32602, "a load account record needs 'userkey'"),
        ({"type": "account", "userkey": "jdoe", "brand": 1}, -32602, "unknown key 'brand'"),
        ("jdoe", -32602, "load: parameter record must be an object, not a string"),
    ],
)
def test_load_errors(api, rpc, record, code, message):
    reply = api.call("load", record)
    assert reply["result"] is None and message in reply["error"]
    if message == LOAD_ARRAY:
        assert reply["error"] == LOAD_ARRAY  # SpiceCSM's own words, exactly
    error = rpc.error("load", record)
    assert error["code"] == code and message in error["message"]


# --- create / update / delete -----------------------------------------------------------------

NEW_ACCOUNT = {
    "type": "account",
    "userkey": "zoe",
    "brand": 1,
    "status": "Active",
    "account": "EXT-9",
    "contacts": [{"firstname": "Zoe", "lastname": "Quinn", "pphone": "(555) 777-0001"}],
    "fields": {"1": "Gold"},
}


def test_create_account_with_contacts_and_fields(client, api):
    result = api.result("create", [NEW_ACCOUNT])
    assert result["webcalls"] == []
    [record] = result["records"]
    assert record["type"] == "account" and record["userkey"] == "zoe" and record["brandid"] == "1"
    assert len(record["contactids"]) == 1 and record["contactids"][0].isdigit()
    account = api.result("load", {"userkey": "zoe"})
    assert (
        account["accountid"] == "EXT-9"
        and account["contacts"][0]["contactid"] == record["contactids"][0]
    )
    assert account["fields"] == [{"id": "1", "label": "Plan", "value": "Gold"}]
    assert pop(client, "555 777 0001") == ["zoe"]  # the phone index knows the new contact
    assert [r["userkey"] for r in api.result("accountLoad", {"PrimaryPhone": "5557770001"})] == [
        "zoe"
    ]


def test_update_contact_phone_moves_the_phone_index(client, api, rpc):
    assert pop(client, "555-201-0002") == ["bjones"]
    result = rpc.result(
        "update",
        [{"type": "contact", "userkey": "bjones", "position": 0, "pphone": "555 888 1234"}],
    )
    assert result["records"] == [
        {
            "type": "contact",
            "contactid": result["records"][0]["contactid"],
            "userkey": "bjones",
            "position": "0",
        }
    ]
    assert pop(client, "(555) 888-1234") == ["bjones"]
    assert pop(client, "555-201-0002") == []
    assert api.result("accountLoad", {"PrimaryPhone": "555-201-0002"}) == {"msg": "no results"}


def test_contact_positions_stay_in_order(client, api):
    created = api.result(
        "create",
        [
            {
                "type": "contact",
                "userkey": "asmith",
                "position": 0,
                "firstname": "Amy",
                "fax": "555 666 0000",
            },
            {"type": "contact", "userkey": "asmith", "firstname": "Last"},
        ],
    )["records"]
    assert [r["position"] for r in created] == ["0", "3"]

    def names():
        contacts = api.result("load", {"userkey": "asmith"})["contacts"]
        return [(c["position"], c["firstname"]) for c in contacts]

    assert names() == [("0", "Amy"), ("1", "Alice"), ("2", "Alan"), ("3", "Last")]
    assert pop(client, "555-666-0000") == ["asmith"]
    deleted = api.result(
        "delete",
        [
            {"type": "contact", "contactid": created[0]["contactid"]},
            {"type": "contact", "userkey": "asmith", "position": 1},
        ],
    )["records"]
    assert [r["position"] for r in deleted] == ["0", "1"]
    assert names() == [("0", "Alice"), ("1", "Last")]
    assert (
        pop(client, "555-666-0000") == [] and pop(client, "555 209 9999") == []
    )  # Alan's mobile is gone


def test_field_values(api):
    created = api.result(
        "create",
        [
            {**NEW_ACCOUNT, "fields": {}},
            {"type": "fieldvalue", "userkey": "zoe", "id": "2", "value": "2025-01-01"},
        ],
    )
    assert created["records"][1] == {
        "type": "fieldvalue",
        "userkey": "zoe",
        "id": "2",
        "value": "2025-01-01",
    }
    api.result(
        "update",
        [
            {"type": "fieldvalue", "userkey": "zoe", "fieldid": 1, "value": "Gold"},  # set anew
            {"type": "fieldvalue", "userkey": "zoe", "id": 2, "value": "2025-02-02"},
        ],
    )
    assert api.result("load", {"userkey": "zoe"})["fields"] == [
        {"id": "1", "label": "Plan", "value": "Gold"},
        {"id": "2", "label": "Customer since", "value": "2025-02-02"},
    ]
    api.result("delete", [{"type": "fieldvalue", "userkey": "zoe", "id": 1}])
    assert [f["id"] for f in api.result("load", {"userkey": "zoe"})["fields"]] == ["2"]


def test_update_account(api):
    result = api.result(
        "update",
        [
            {
                "type": "account",
                "userkey": "dlee",
                "status": "Active",
                "accountid": "EXT-44",
                "fields": [{"id": 1, "value": "Gold"}],
            }
        ],
    )
    assert result["records"] == [{"type": "account", "userkey": "dlee", "brandid": "1"}]
    account = api.result("load", {"userkey": "dlee"})
    assert (account["status"], account["accountid"], account["fields"][0]["value"]) == (
        "Active",
        "EXT-44",
        "Gold",
    )


def test_delete_account(client, api):
    api.result("create", [NEW_ACCOUNT])
    assert api.result("delete", [{"type": "account", "userkey": "zoe"}])["records"] == [
        {"type": "account", "userkey": "zoe", "brandid": "1"}
    ]
    assert "no account with userkey 'zoe'" in api.call("load", {"userkey": "zoe"})["error"]
    assert pop(client, "555 777 0001") == []


BAD_RECORDS = [
    (
        {"type": "planet"},
        -32602,
        "'type' must be one of account, contact, fieldvalue, case, response",
    ),
    ({"userkey": "x"}, -32602, "'type' must be one of"),
    (
        {"type": "account", "userkey": "jdoe", "brand": 1},
        -32009,
        "already has an account with userkey 'jdoe'",
    ),
    (
        {"type": "account", "userkey": "x9", "brand": 9},
        -32004,
        "brand 9 does not exist in company 1",
    ),
    ({"type": "account", "userkey": "x9"}, -32602, "an account record needs 'brand'"),
    (
        {"type": "account", "userkey": "x9", "brand": 1, "fields": {"7": "a"}},
        -32004,
        "no custom field 7",
    ),
    (
        {"type": "account", "userkey": "x9", "brand": 1, "colour": "red"},
        -32602,
        "unknown key 'colour'",
    ),
    (
        {"type": "account", "userkey": "x9", "brand": 1, "contacts": [{"shoe": "9"}]},
        -32602,
        "unknown key 'shoe'",
    ),
    (
        {"type": "contact", "userkey": "nobody", "firstname": "A"},
        -32004,
        "no account with userkey 'nobody'",
    ),
    (
        {"type": "contact", "userkey": "jdoe", "position": 5},
        -32602,
        "'position' must be a whole number from 0 to 1",
    ),
    (
        {"type": "contact", "userkey": "jdoe", "firstname": [3.5]},
        -32602,
        "'firstname' must be text, not an array",
    ),
    (
        {"type": "fieldvalue", "userkey": "jdoe", "id": 1, "value": "x"},
        -32009,
        "already has a value for custom field 1",
    ),
    ({"type": "fieldvalue", "userkey": "jdoe", "id": 1}, -32602, "needs 'value'"),
    ({"type": "case", "userkey": "jdoe", "status": 77}, -32004, "no status 77"),
]


@pytest.mark.parametrize("bad, code, fragment", BAD_RECORDS)
def test_create_is_all_or_nothing(client, api, rpc, bad, code, fragment):
    before = state(client)
    good = [
        {**NEW_ACCOUNT},
        {"type": "contact", "userkey": "zoe", "firstname": "Second", "pphone": "555 777 0002"},
        {"type": "case", "userkey": "zoe", "journal": "first"},
    ]
    error = rpc.error("create", [*good, bad])
    assert error["code"] == code and fragment in error["message"]
    assert error["message"].startswith("record 3") and error["message"].endswith(
        "nothing was written"
    )
    assert fragment in api.call("create", [*good, bad])["error"]
    assert state(client) == before
    assert pop(client, "555 777 0001") == []


@pytest.mark.parametrize(
    "action, records, code, fragment",
    [
        (
            "update",
            [
                {"type": "account", "userkey": "jdoe", "status": "Gone"},
                {"type": "account", "userkey": "jdoe", "brand": 2, "status": "x"},
            ],
            -32602,
            "record 1 (account): an account's brand cannot be changed",
        ),
        ("update", [{"type": "account", "userkey": "jdoe"}], -32602, "needs something to change"),
        (
            "update",
            [{"type": "account", "userkey": "jdoe", "contacts": []}],
            -32602,
            "send contact records",
        ),
        (
            "update",
            [{"type": "contact", "contactid": 99999, "firstname": "X"}],
            -32004,
            "no contact 99999",
        ),
        (
            "update",
            [{"type": "contact", "userkey": "jdoe", "firstname": "X"}],
            -32602,
            "named by 'contactid', or by 'userkey' and 'position'",
        ),
        (
            "update",
            [{"type": "contact", "userkey": "jdoe", "position": 0}],
            -32602,
            "needs something to change",
        ),
        (
            "update",
            [{"type": "account", "userkey": "jdoe", "status": " "}],
            -32602,
            "'status' must not be empty",
        ),
        (
            "delete",
            [{"type": "fieldvalue", "userkey": "jdoe", "id": 2}],
            -32004,
            "has no value for custom field 2",
        ),
        (
            "delete",
            [{"type": "account", "userkey": "jdoe"}],
            -32009,
            "account 'jdoe' has 2 case(s)",
        ),
        (
            "delete",
            [{"type": "contact", "userkey": "jdoe", "position": 3}],
            -32004,
            "no contact at position 3",
        ),
        ("create", [], -32602, "create needs at least one record"),
        ("create", "account", -32602, "parameter records must be an array of objects"),
    ],
)
def test_record_errors_leave_state_unchanged(client, rpc, action, records, code, fragment):
    before = state(client)
    error = rpc.error(action, records)
    assert error["code"] == code and fragment in error["message"]
    assert state(client) == before


def test_delete_needs_security_level_2(client):
    agent = connect(client, "jdoe.agent", "spice")
    assert (
        agent.call("delete", [{"type": "contact", "userkey": "jdoe", "position": 0}])["error"]
        == "delete needs security level 2; this session has 1"
    )
    assert agent.result("update", [{"type": "account", "userkey": "jdoe", "status": "Busy"}])[
        "records"
    ]


def test_portal_session_changes_only_its_account(client):
    portal = OpenACD(client)
    portal.session = portal.result("portalconnect", "jdoe")["session"]
    assert portal.result(
        "update", [{"type": "contact", "userkey": "jdoe", "position": 0, "city": "Elsewhere"}]
    )
    assert (
        "may only use its own account"
        in portal.call(
            "update", [{"type": "contact", "userkey": "asmith", "position": 0, "city": "X"}]
        )["error"]
    )
    assert "cannot create accounts" in portal.call("create", [NEW_ACCOUNT])["error"]
    assert (
        "needs security level 2"
        in portal.call("delete", [{"type": "account", "userkey": "jdoe"}])["error"]
    )


# --- web calls --------------------------------------------------------------------------------


def test_update_fires_the_update_web_call(client, api, partner):
    result = api.result(
        "update",
        [
            {"type": "account", "userkey": "jdoe", "status": "On hold"},
            {"type": "contact", "userkey": "jdoe", "position": 0, "city": "Springfield"},
        ],
    )
    [webcall] = result["webcalls"]  # one call per account changed, after both records
    assert webcall["kind"] == "update" and webcall["outcome"] == "ok" and webcall["id"].isdigit()
    assert last_api_entry(client)["webcalls"] == [int(webcall["id"])]
    exchange = client.get("/_mockspice/journal?kind=webcall").get_json()["entries"][-1]
    assert (
        exchange["id"] == int(webcall["id"])
        and "On%20hold" in exchange["exchange"]["request"]["form"]["userXML"]
    )
    sent = partner.load("jdoe")
    assert sent["status"] == "On hold" and sent["contacts"][0]["city"] == "Springfield"


def test_create_account_and_case_fire_update_and_case(client, api, partner):
    result = api.result(
        "create", [NEW_ACCOUNT, {"type": "case", "userkey": "zoe", "journal": "hello there"}]
    )
    assert [(w["kind"], w["outcome"]) for w in result["webcalls"]] == [
        ("update", "ok"),
        ("case", "ok"),
    ]
    assert last_api_entry(client)["webcalls"] == [int(w["id"]) for w in result["webcalls"]]
    assert partner.load("zoe")["contacts"][0]["pphone"] == "(555) 777-0001"
    [ticket] = partner.tickets("zoe")
    case = result["records"][1]
    assert (ticket["cid"], ticket["id"], ticket["journal"], ticket["status"]) == (
        case["id"],
        case["responseid"],
        "hello there",
        "New",
    )


def test_failing_partner_does_not_undo_the_change(client, api):
    client.put(
        "/_mockspice/brands/1/1/webcalls",
        json={"update_url": f"http://127.0.0.1:{free_port()}/update", "timeout_s": 2},
    )
    result = api.result("update", [{"type": "account", "userkey": "jdoe", "status": "Changed"}])
    assert [(w["kind"], w["outcome"]) for w in result["webcalls"]] == [("update", "unreachable")]
    assert last_api_entry(client)["webcalls"] == [int(result["webcalls"][0]["id"])]
    assert api.result("load", {"userkey": "jdoe"})["status"] == "Changed"


def test_no_web_call_for_a_brand_without_urls(client, api, partner):
    result = api.result(
        "update", [{"type": "account", "userkey": "emuller", "status": "Busy"}]
    )  # brand 2
    assert result["webcalls"] == [] and last_api_entry(client)["webcalls"] == []


def test_the_search_folds_in_sql_exactly_as_python_folds():
    """``folded()`` (SQLite's lower(trim()) for printable ASCII, the Python function otherwise)
    against ``fold`` for tricky and random values."""
    import sqlite3

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mockspice.domain.scope import fold, folded

    conn = sqlite3.connect(":memory:")
    conn.create_function(
        "spice_fold", 1, lambda v: None if v is None else fold(v), deterministic=True
    )
    expression = folded("?1")

    def check(value):
        assert conn.execute(f"SELECT {expression}", (value,)).fetchone()[0] == (
            None if value is None else fold(value)
        )

    for value in (
        None,
        "",
        "  Doe ",
        "DOE",
        "\tdoe\n",
        "Straße",
        "STRASSE",
        "ſ",
        "\u212a",
        "İstanbul",
        "García",
        "a\u00a0b",
        " \u3000x",
        "x\x00y",
        "\x00À",
        "DOE\x00",
        "ÀÉÎ",
        "~!@#",
        "🙂 Ok",
        "Ǆ",
        "\x7f",
    ):
        check(value)

    @settings(max_examples=500, deadline=None, database=None)
    @given(st.text())
    def random_text(value):
        check(value)

    random_text()
