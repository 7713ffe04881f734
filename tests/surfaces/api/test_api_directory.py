"""Companies, brands and agents through the real API transport
(mockspice/surfaces/api/methods/directory.py).
"""

from __future__ import annotations

import hashlib

import pytest
from spiceclients import API, OpenACD

from mockspice.app import create_app
from mockspice.settings import Settings
from mockspice.store import dataset

STATE = "/_mockspice/state"
FACTS_QUERIES = [  # spicecsm-facts.md, "query": the statements real clients send
    "select BrandID, BrandLabel, BrandListLabel from 1_tblBrand where Active=1",
    "select DataLabel, DataText from 1_tblBrandData where BrandID=2",
    "select BrandListLabel from 1_tblBrand where BrandID=2",
    "select TenantID from tblTenant where TenantID=1",
]


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def rpc20(client, session: str | None, method: str, params) -> dict:
    """One JSON-RPC 2.0 call with a JSON body; the session as a named parameter or appended."""
    if isinstance(params, dict) and session is not None:
        params = {**params, "session": session}
    elif session is not None:
        params = [*params, session]
    response = client.post(
        API, json={"jsonrpc": "2.0", "method": method, "params": params, "id": "x"}
    )
    assert response.status_code == 200
    return response.get_json()


def state(client) -> dict:
    return client.get(STATE).get_json()


def stored_agents(client) -> list[dict]:
    """The agents as the store holds them (GET /_mockspice/state masks their password digests)."""
    return dataset.export(client.application.extensions["mockspice"].store.read())["agents"]


def company(client, company_id: int) -> dict:
    return next(c for c in state(client)["companies"] if c["id"] == company_id)


# --- companyList, agentExists, agentAuth ----------------------------------------------------------


@pytest.mark.parametrize(
    "login, ids",
    [
        ("admin", ["1", "2"]),
        ("globex.admin", ["1", "2"]),
        ("jdoe.agent", ["1"]),
        ("tsuper", ["1"]),
        ("mortiz", ["2"]),
    ],
)
def test_company_list_shows_what_the_session_sees(client, login, ids):
    rows = OpenACD(client, login).result("companyList")
    assert [r["companyid"] for r in rows] == ids
    assert rows[0] == {
        "companyid": ids[0],
        "companylabel": "Acme Help Desk" if ids[0] == "1" else "Globex Telecom",
        "active": "1",
    }


def test_agent_exists(client):
    spice = OpenACD(client, "tsuper")
    [row] = spice.result("agentExists", ["jdoe.agent"])
    assert row["agentid"] == "1" and row["login"] == "jdoe.agent" and row["companyid"] == "1"
    assert all(isinstance(v, str) for v in row.values()) and "password" not in row
    assert spice.result("agentExists", ["nobody"]) == {"msg": "no results"}
    assert spice.result("agentExists", "jdoe.agent")[0]["agentid"] == "1"  # one login as text
    # Another company's login is taken, but whose it is stays hidden.
    assert spice.result("agentExists", ["lvance", "rpowell", "ghost"]) == [
        {"login": "lvance"},
        {**spice.result("loadAgent", {"login": "rpowell"})[0]},
    ]
    assert OpenACD(client, "admin").result("agentExists", ["lvance"])[0]["companyid"] == "2"


AUTH_CASES = [
    ("jdoe.agent", md5("spice"), "row"),
    ("jdoe.agent", md5("spice").upper(), "row"),
    ("jdoe.agent", md5("wrong"), {"msg": "deny"}),
    ("jdoe.agent", "spice", {"msg": "deny"}),  # plain text: only an MD5 hex digest is compared
    ("nobody", md5("spice"), {"msg": "deny"}),
    ("newbie", md5("spice"), {"msg": "destroy"}),  # inactive agent, right password
    ("newbie", md5("wrong"), {"msg": "deny"}),  # inactive agent, wrong password: no hint
    ("lvance", md5("spice"), {"msg": "deny"}),  # company 2: not seen by a company 1 session
]


@pytest.mark.parametrize("login, password, expected", AUTH_CASES)
def test_agent_auth(client, login, password, expected):
    reply = OpenACD(client, "tsuper").result("agentAuth", [{"login": login, "password": password}])
    if expected == "row":
        assert reply == [
            {
                "agentid": "1",
                "securitylevelid": "1",
                "tierid": "1",
                "login": "jdoe.agent",
                "firstname": "John",
                "lastname": "Doe",
                "companyid": "1",
            }
        ]
    else:
        assert reply == expected


def test_agent_auth_of_an_inactive_company_destroys_and_admin_sees_all(client):
    admin = OpenACD(client, "admin")
    assert (
        admin.result("agentAuth", {"login": "lvance", "password": md5("spice")})[0]["companyid"]
        == "2"
    )
    data = state(client)
    data["companies"][1]["active"] = False
    assert client.put(STATE, json=data).status_code == 200
    admin = OpenACD(client, "admin")
    assert admin.result("agentAuth", [{"login": "lvance", "password": md5("spice")}]) == {
        "msg": "destroy"
    }


# --- agentList, loadAgent ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "login, filters, ids",
    [
        ("jdoe.agent", {}, ["1", "2", "3", "4", "5"]),
        ("admin", {}, ["1", "2", "3", "4", "5", "6", "7", "8"]),
        ("admin", {"companyid": 2}, ["6", "7", "8"]),
        ("admin", {"companyid": "2", "tierid": "3"}, ["7"]),
        ("admin", {"securitylevelid": 4}, ["4", "6"]),
        ("admin", {"active": 0}, ["5"]),
        ("admin", {"active": "1", "SecurityLevelID": "1"}, ["1"]),
        ("mortiz", {}, ["6", "7", "8"]),
        ("jdoe.agent", {"companyid": 2}, None),
        ("admin", {"tierid": 2, "companyid": 1, "securitylevelid": 4}, None),
    ],
)
def test_agent_list(client, login, filters, ids):
    reply = OpenACD(client, login).result("agentList", filters)
    if ids is None:
        assert reply == {"msg": "no results"}
    else:
        assert [r["agentid"] for r in reply] == ids
        assert all(
            "password" not in r and all(isinstance(v, str) for v in r.values()) for r in reply
        )


def test_load_agent(client):
    spice = OpenACD(client, "jdoe.agent")
    [row] = spice.result("loadAgent", {"agentid": "3"})
    assert row == {
        "agentid": "3",
        "securitylevelid": "3",
        "tierid": "3",
        "login": "tsuper",
        "firstname": "Tom",
        "lastname": "Super",
        "companyid": "1",
        "email": "",
        "active": "1",
        "securitylevellabel": "Supervisor",
        "tierlabel": "Level 3",
    }
    assert spice.result("loadAgent", {"login": "tsuper"}) == [row]
    assert spice.result("loadAgent", {"agentid": 6}) == {"msg": "no results"}  # another company's
    assert spice.result("loadAgent", {"agentid": 99}) == {"msg": "no results"}
    assert (
        OpenACD(client, "admin").result("loadAgent", {"agentid": 6})[0]["login"] == "globex.admin"
    )


# --- createAgent, changePass, getAgentAccess ------------------------------------------------------


def test_create_agent_then_update_it(client):
    admin = OpenACD(client, "admin")
    [row] = admin.result(
        "createAgent",
        {
            "login": "new.agent",
            "password": "s3cret",
            "firstname": "Nel",
            "lastname": "New",
            "securitylevelid": "2",
            "tierid": 2,
        },
    )
    assert (
        row["agentid"] == "9"
        and row["companyid"] == "1"
        and row["securitylevellabel"] == "Power User"
    )
    agent = next(a for a in stored_agents(client) if a["id"] == 9)
    assert agent["password_md5"] == md5("s3cret") and agent["active"] is True
    assert (
        admin.result("agentAuth", [{"login": "new.agent", "password": md5("s3cret")}])[0]["agentid"]
        == "9"
    )
    # createAgent with agentid: an update of the keys given, as SpiceCSM's clients use it.
    [row] = admin.result("createAgent", {"agentid": "9", "tierid": 4, "email": "nel@example.com"})
    assert (row["tierid"], row["email"], row["firstname"], row["login"]) == (
        "4",
        "nel@example.com",
        "Nel",
        "new.agent",
    )
    assert next(a for a in state(client)["agents"] if a["id"] == 9)["tier"] == 4
    # An admin may place an agent in another company; an MD5 hex password is kept as given.
    [row] = admin.result(
        "createAgent", {"login": "g.agent", "password": md5("x").upper(), "companyid": 2}
    )
    assert row["companyid"] == "2"
    assert next(a for a in stored_agents(client) if a["login"] == "g.agent")["password_md5"] == md5(
        "x"
    )


def test_deactivating_an_agent_ends_its_sessions(client):
    rosa = OpenACD(client, "rpowell")
    assert rosa.result("checkSession")["msg"] == "valid"
    OpenACD(client, "admin").result("createAgent", {"agentid": 2, "active": 0})
    assert rosa.error("checkSession").startswith("invalid session")
    assert OpenACD(client, "admin").result(
        "agentAuth", [{"login": "rpowell", "password": md5("spice")}]
    ) == {"msg": "destroy"}


def test_a_new_security_level_applies_to_open_sessions(client):
    tom = OpenACD(client, "tsuper")
    assert tom.error("createCompany", {"companylabel": "X"}).startswith(
        "createCompany needs security level 4"
    )
    OpenACD(client, "admin").result("createAgent", {"agentid": 3, "securitylevelid": 4})
    assert tom.result("createCompany", {"companylabel": "X"})[0]["companyid"] == "3"


def test_change_own_password(client):
    spice = OpenACD(client, "jdoe.agent")
    assert spice.result("changePass", {"password": "n3w"}) == {"msg": "success", "agentid": "1"}
    assert (
        client.post(
            API, json={"method": "connect", "params": ["jdoe.agent", "n3w"], "id": 1}
        ).get_json()["error"]
        is None
    )
    assert spice.error("changePass", {"password": "again", "oldpassword": "wrong"}) == (
        "changePass: the old password does not match"
    )
    assert (
        spice.result("changePass", {"newpassword": md5("again"), "oldpassword": "n3w"})["msg"]
        == "success"
    )
    assert next(a for a in stored_agents(client) if a["id"] == 1)["password_md5"] == md5("again")


def test_change_another_agents_password_needs_level_3(client):
    assert OpenACD(client, "rpowell").error("changePass", {"agentid": 1, "password": "x"}) == (
        "changePass: changing another agent's password needs security level 3; this session has 2"
    )
    assert (
        OpenACD(client, "tsuper").result("changePass", {"login": "jdoe.agent", "password": "x"})[
            "agentid"
        ]
        == "1"
    )
    assert next(a for a in stored_agents(client) if a["id"] == 1)["password_md5"] == md5("x")
    assert OpenACD(client, "tsuper").error("changePass", {"agentid": 7, "password": "x"}) == (
        "changePass: no agent 7"
    )  # another company's agent is not seen


def test_get_agent_access(client):
    access = OpenACD(client, "jdoe.agent").result("getAgentAccess", {})
    assert access["securitylevellabel"] == "Agent" and access["tierlabel"] == "Probationary"
    assert [b["brandid"] for b in access["brands"]] == ["1", "2", "3"]  # brand 4 is inactive
    assert access["brands"][0] == {
        "brandid": "1",
        "brandlabel": "Acme Support",
        "brandlistlabel": "Acme",
    }
    assert access["may"] == {
        "createcompany": "0",
        "deletecompany": "0",
        "allcompanies": "0",
        "changeotherpasswords": "0",
    }
    other = OpenACD(client, "globex.admin").result("getAgentAccess", {"agentid": "8"})
    assert (other["login"], other["securitylevellabel"], other["tierlabel"]) == (
        "mortiz",
        "Supervisor",
        "Level 2",
    )
    assert [b["brandlabel"] for b in other["brands"]] == ["Globex Home", "Globex Business"]
    assert other["may"]["changeotherpasswords"] == "1" and other["may"]["createcompany"] == "0"
    assert OpenACD(client, "admin").result("getAgentAccess", {})["may"]["createcompany"] == "1"


# --- companies -----------------------------------------------------------------------------


@pytest.mark.parametrize("login, level", [("jdoe.agent", 1), ("rpowell", 2), ("tsuper", 3)])
@pytest.mark.parametrize("method", ["createCompany", "deleteCompany"])
def test_companies_need_a_system_administrator(client, login, level, method):
    spice = OpenACD(client, login)
    assert spice.error(method, {"companylabel": "X", "companyid": 2}) == (
        f"{method} needs security level 4; this session has {level}"
    )
    reply = rpc20(client, spice.session, method, {"obj": {"companylabel": "X", "companyid": 2}})
    assert (
        reply["error"]["code"] == -32002 and reply["error"]["data"]["code"] == "permission-denied"
    )
    assert len(state(client)["companies"]) == 2


def test_create_company_makes_its_tables_in_one_go(client):
    admin = OpenACD(client, "admin")
    assert admin.result("createCompany", {"companylabel": "Initech"}) == [
        {"companyid": "3", "companylabel": "Initech", "active": "1"}
    ]
    new = company(client, 3)
    assert new["label"] == "Initech" and new["brands"] == [] and new["events"] == []
    assert [s["label"] for s in new["statuses"]] == ["New", "In Progress", "Closed"]
    assert admin.result("query", "select BrandID from 3_tblBrand") == {"msg": "no results"}
    [brand] = admin.result("createBrand", {"companyid": 3, "brandlabel": "Initech Support"})
    assert brand["companyid"] == "3" and brand["brandid"] == "1"
    assert (
        admin.result("createCompany", {"label": "Hooli", "companyid": 10})[0]["companyid"] == "10"
    )
    assert admin.error("createCompany", {"companylabel": "Again", "companyid": 10}) == (
        "createCompany: company 10 exists"
    )


def test_delete_company(client):
    globex = OpenACD(client, "globex.admin")
    admin = OpenACD(client, "admin")
    assert admin.result("deleteCompany", {"companyid": "2"}) == {"msg": "success", "companyid": "2"}
    assert [c["id"] for c in state(client)["companies"]] == [1]
    assert [a["id"] for a in state(client)["agents"]] == [1, 2, 3, 4, 5]
    assert globex.error("checkSession").startswith("invalid session")
    assert admin.error("query", "select * from 2_tblBrand").startswith(
        "query failed: no such table"
    )
    assert admin.error("deleteCompany", {"companyid": 2}) == "deleteCompany: no company 2"
    assert admin.error("deleteCompany", {"companyid": 1}) == (
        "deleteCompany: a session cannot delete its own company (1)"
    )


def test_the_community_edition_refuses_new_companies_and_brands(tmp_path):
    app = create_app(
        Settings.load(environ={}, overrides={"db": str(tmp_path / "c.db"), "edition": "community"})
    )
    try:
        admin = OpenACD(app.test_client(), "admin")
        assert admin.error("createCompany", {"companylabel": "X"}) == (
            "createCompany: the Community edition has a single company (id 1)"
        )
        assert admin.error("createBrand", {"brandlabel": "X"}) == (
            "createBrand: the Community edition has a single brand (id 1)"
        )
        assert (
            admin.error("copyBrand", {"brandid": 1})
            == "copyBrand: the Community edition has a single brand (id 1)"
        )
        reply = rpc20(app.test_client(), admin.session, "createBrand", [{"brandlabel": "X"}])
        assert reply["error"]["data"]["code"] == "community-edition"
    finally:
        app.extensions["mockspice"].prepared.cleanup()


# --- brands --------------------------------------------------------------------------------


def test_create_brand_and_the_facts_queries_still_work(client):
    spice = OpenACD(client, "jdoe.agent")  # brand methods check no level (the facts name none)
    [row] = spice.result(
        "createBrand",
        {"brandlabel": "Acme Kids", "brandlistlabel": "Kids", "greeting": "Hi {caller}!"},
    )
    assert row == {
        "brandid": "5",
        "brandlabel": "Acme Kids",
        "brandlistlabel": "Kids",
        "active": "1",
        "companyid": "1",
    }
    brand = company(client, 1)["brands"][4]
    assert (brand["id"], brand["greeting"], brand["data"]) == (5, "Hi {caller}!", {})
    assert brand["webcalls"]["search_url"] == "" and brand["webcalls"]["timeout_s"] == 10.0
    answers = [spice.result("query", sql) for sql in FACTS_QUERIES]
    assert [r["brandid"] for r in answers[0]] == ["1", "2", "3", "5"]
    assert {
        "datalabel": "GreetingScript",
        "datatext": "Welcome to {brand}, {caller}. I can help with invoices and payments.",
    } in answers[1]
    assert answers[2] == [{"brandlistlabel": "Billing"}] and answers[3] == [{"tenantid": "1"}]
    assert spice.result(
        "query",
        "select DataText from 1_tblBrandData where BrandID=5 and DataLabel='GreetingScript'",
    ) == [{"datatext": "Hi {caller}!"}]
    # The pop knows the new brand at once.
    assert (
        client.get(
            "/spiceinstall/integrations/telephony/telephonypop.php?company=1&brand=5"
        ).status_code
        == 200
    )


def test_update_brand(client):
    spice = OpenACD(client, "admin")
    [row] = spice.result(
        "updateBrand",
        {"brandid": 2, "brandlabel": "Acme Invoices", "active": "0", "greeting": "New greeting"},
    )
    assert row == {
        "brandid": "2",
        "brandlabel": "Acme Invoices",
        "brandlistlabel": "Billing",
        "active": "0",
        "companyid": "1",
    }
    brand = company(client, 1)["brands"][1]
    assert (brand["label"], brand["active"], brand["greeting"]) == (
        "Acme Invoices",
        False,
        "New greeting",
    )
    assert [r["brandid"] for r in spice.result("query", FACTS_QUERIES[0])] == ["1", "3"]
    [row] = spice.result("updateBrand", {"brandid": 1, "companyid": 2, "brandlistlabel": "Home!"})
    assert (
        row["brandlistlabel"] == "Home!"
        and company(client, 2)["brands"][0]["list_label"] == "Home!"
    )


def test_delete_brand(client):
    spice = OpenACD(client, "admin")
    spice.result("createBrand", {"brandlabel": "Short-lived", "brandid": 7})
    assert spice.result("deleteBrand", {"brandid": 7}) == {"msg": "success", "brandid": "7"}
    assert [b["id"] for b in company(client, 1)["brands"]] == [1, 2, 3, 4]
    assert spice.result("query", "select * from 1_tblBrandData where BrandID=7") == {
        "msg": "no results"
    }


def test_copy_brand_copies_brand_data_but_no_accounts(client):
    spice = OpenACD(client, "admin")
    data = state(client)
    data["companies"][0]["brands"][1]["data"] = {"Colour": "blue"}
    data["companies"][0]["brands"][1]["webcalls"]["search_url"] = "http://crm.example/search"
    assert client.put(STATE, json=data).status_code == 200
    spice = OpenACD(client, "admin")
    [row] = spice.result("copyBrand", {"brandid": 2})
    assert row == {
        "brandid": "5",
        "brandlabel": "Acme Billing (copy)",
        "brandlistlabel": "Billing",
        "active": "1",
        "companyid": "1",
    }
    acme = company(client, 1)
    source, copy = acme["brands"][1], acme["brands"][4]
    assert {k: v for k, v in copy.items() if k not in ("id", "label")} == {
        k: v for k, v in source.items() if k not in ("id", "label")
    }
    assert not [a for a in acme["accounts"] if a["brand"] == 5] and not [
        k for k in acme["cases"] if k["brand"] == 5
    ]
    [row] = spice.result(
        "copyBrand",
        {"brandid": 1, "brandlabel": "Acme Two", "brandlistlabel": "Two", "newbrandid": 20},
    )
    assert (row["brandid"], row["brandlabel"], row["brandlistlabel"]) == ("20", "Acme Two", "Two")


def test_script_load(client):
    spice = OpenACD(client, "jdoe.agent")
    assert spice.result("scriptLoad", {"brandid": "1"}) == [
        {
            "brandid": "1",
            "brandlabel": "Acme Support",
            "filename": "brand_1_greeting.txt",
            "script": (
                "Thank you for calling {brand}. Am I speaking with {caller}? How may I help you "
                "today?"
            ),
        }
    ]
    assert spice.result("scriptLoad", {"brandid": 99}) == {"msg": "no results"}
    spice.result("updateBrand", {"brandid": 3, "greeting": "Changed"})
    assert spice.result("scriptLoad", {"brandid": 3})[0]["script"] == "Changed"
    assert (
        OpenACD(client, "globex.admin").result("scriptLoad", {"brandid": 2})[0]["filename"]
        == "brand_2_greeting.txt"
    )


# --- every error, as 1.0 messages and 2.0 codes ---------------------------------------------------

ERRORS = [
    (
        "admin",
        "agentExists",
        [[]],
        -32602,
        'agentExists: logins must be an array of logins, e.g. ["jdoe.agent"]',
    ),
    (
        "admin",
        "agentExists",
        [[1]],
        -32602,
        'agentExists: logins must be an array of logins, e.g. ["jdoe.agent"]',
    ),
    ("admin", "agentAuth", [[{"login": "x"}]], -32602, "agentAuth: 'password' is required"),
    (
        "admin",
        "agentAuth",
        [["x"]],
        -32602,
        'agentAuth: credentials must be [{"login": text, "password": MD5 hex}]',
    ),
    (
        "admin",
        "agentAuth",
        [[{"login": ["x"], "password": "y"}]],
        -32602,
        "agentAuth: 'login' must be text, not an array",
    ),
    (
        "admin",
        "agentList",
        [{"tierid": 5}],
        -32602,
        "agentList: 'tierid' must be a whole number from 1 to 4, not 5",
    ),
    (
        "admin",
        "agentList",
        [{"securitylevelid": "two"}],
        -32602,
        "agentList: 'securitylevelid' must be a whole number from 1 to 4, not 'two'",
    ),
    (
        "admin",
        "agentList",
        [{"active": "maybe"}],
        -32602,
        "agentList: 'active' must be yes or no (true/false, 1/0 or their text), not 'maybe'",
    ),
    (
        "admin",
        "agentList",
        ["x"],
        -32602,
        "agentList: parameter obj must be an object, not a string",
    ),
    ("admin", "loadAgent", [{}], -32602, "loadAgent: give agentid or login"),
    (
        "admin",
        "loadAgent",
        [{"agentid": True}],
        -32602,
        "loadAgent: 'agentid' must be an id (a whole number from 1 to 2147483647), not a boolean",
    ),
    ("admin", "createAgent", [{"password": "x"}], -32602, "createAgent: 'login' is required"),
    ("admin", "createAgent", [{"login": "x"}], -32602, "createAgent: 'password' is required"),
    (
        "admin",
        "createAgent",
        [{"login": " ", "password": "x"}],
        -32602,
        "createAgent: 'login' must not be empty",
    ),
    (
        "admin",
        "createAgent",
        [{"login": "x", "password": ""}],
        -32602,
        "createAgent: 'password' must not be empty",
    ),
    (
        "admin",
        "createAgent",
        [{"login": "admin", "password": "x"}],
        -32009,
        "createAgent: login 'admin' is taken",
    ),
    (
        "admin",
        "createAgent",
        [{"agentid": 1, "login": "tsuper"}],
        -32009,
        "createAgent: login 'tsuper' is taken",
    ),
    ("admin", "createAgent", [{"agentid": 99, "tierid": 2}], -32004, "createAgent: no agent 99"),
    (
        "admin",
        "createAgent",
        [{"login": "x", "password": "y", "companyid": 9}],
        -32004,
        "createAgent: no company 9",
    ),
    (
        "jdoe.agent",
        "createAgent",
        [{"login": "x", "password": "y", "companyid": 2}],
        -32004,
        "createAgent: no company 2",
    ),
    ("jdoe.agent", "createAgent", [{"agentid": 6, "tierid": 1}], -32004, "createAgent: no agent 6"),
    (
        "admin",
        "createAgent",
        [{"login": "x", "password": "y", "securitylevelid": 0}],
        -32602,
        "createAgent: 'securitylevelid' must be a whole number from 1 to 4, not 0",
    ),
    ("admin", "changePass", [{}], -32602, "changePass: 'password' is required"),
    ("admin", "changePass", [{"agentid": 99, "password": "x"}], -32004, "changePass: no agent 99"),
    (
        "admin",
        "changePass",
        [{"login": "ghost", "password": "x"}],
        -32004,
        "changePass: no agent 'ghost'",
    ),
    (
        "jdoe.agent",
        "changePass",
        [{"agentid": 2, "password": "x"}],
        -32002,
        "changePass: changing another agent's password needs security level 3; this session has 1",
    ),
    ("admin", "getAgentAccess", [{"agentid": 99}], -32004, "getAgentAccess: no agent 99"),
    ("mortiz", "getAgentAccess", [{"agentid": 1}], -32004, "getAgentAccess: no agent 1"),
    ("admin", "createCompany", [{}], -32602, "createCompany: 'companylabel' is required"),
    (
        "admin",
        "createCompany",
        [{"companylabel": "  "}],
        -32602,
        "createCompany: 'companylabel' must not be empty",
    ),
    (
        "admin",
        "createCompany",
        [{"companylabel": "X", "companyid": 1}],
        -32009,
        "createCompany: company 1 exists",
    ),
    (
        "admin",
        "createCompany",
        [{"companylabel": "X", "companyid": 2**31}],
        -32602,
        (
            "createCompany: 'companyid' must be an id (a whole number from 1 to 2147483647), not "
            "2147483648"
        ),
    ),
    ("admin", "deleteCompany", [{}], -32602, "deleteCompany: 'companyid' is required"),
    ("admin", "deleteCompany", [{"companyid": 5}], -32004, "deleteCompany: no company 5"),
    ("admin", "createBrand", [{}], -32602, "createBrand: 'brandlabel' is required"),
    (
        "admin",
        "createBrand",
        [{"brandlabel": "X", "brandid": 1}],
        -32009,
        "createBrand: company 1 has a brand 1",
    ),
    (
        "admin",
        "createBrand",
        [{"brandlabel": "X", "companyid": 4}],
        -32004,
        "createBrand: no company 4",
    ),
    (
        "tsuper",
        "createBrand",
        [{"brandlabel": "X", "companyid": 2}],
        -32004,
        "createBrand: no company 2",
    ),
    (
        "admin",
        "updateBrand",
        [{"brandid": 9, "brandlabel": "X"}],
        -32004,
        "updateBrand: company 1 has no brand 9",
    ),
    ("admin", "updateBrand", [{"brandlabel": "X"}], -32602, "updateBrand: 'brandid' is required"),
    (
        "admin",
        "updateBrand",
        [{"brandid": 1, "brandlabel": ""}],
        -32602,
        "updateBrand: 'brandlabel' must not be empty",
    ),
    (
        "admin",
        "updateBrand",
        [{"brandid": 1, "greeting": {"a": 1}}],
        -32602,
        "updateBrand: 'greeting' must be text, not an object",
    ),
    (
        "admin",
        "deleteBrand",
        [{"brandid": 1}],
        -32009,
        "deleteBrand: brand 1 still has 6 account(s) and 5 case(s); "
        'deactivate it with updateBrand {"active": 0} instead',
    ),
    ("admin", "deleteBrand", [{"brandid": 9}], -32004, "deleteBrand: company 1 has no brand 9"),
    ("admin", "copyBrand", [{"brandid": 9}], -32004, "copyBrand: company 1 has no brand 9"),
    (
        "admin",
        "copyBrand",
        [{"brandid": 1, "newbrandid": 2}],
        -32009,
        "copyBrand: company 1 has a brand 2",
    ),
    ("admin", "scriptLoad", [{}], -32602, "scriptLoad: 'brandid' is required"),
    (
        "jdoe.agent",
        "scriptLoad",
        [{"brandid": 1, "companyid": 2}],
        -32004,
        "scriptLoad: no company 2",
    ),
    (
        "admin",
        "companyList",
        [{}],
        -32602,
        "companyList takes 0 parameter(s) besides the session, got 1",
    ),
]


@pytest.mark.parametrize(
    "login, method, params, code, message",
    ERRORS,
    ids=[f"{e[1]}-{i}" for i, e in enumerate(ERRORS)],
)
def test_errors(client, login, method, params, code, message):
    before = state(client)
    spice = OpenACD(client, login)
    assert spice.error(method, *params) == message
    reply = rpc20(client, spice.session, method, params)
    assert reply["error"]["code"] == code and reply["error"]["message"] == message
    assert reply["error"]["data"]["message"] == message and "result" not in reply
    assert state(client) == before


@pytest.mark.parametrize(
    "method, params",
    [
        ("companyList", []),
        ("agentExists", [["x"]]),
        ("agentAuth", [[{"login": "x", "password": "y"}]]),
        ("agentList", [{}]),
        ("loadAgent", [{"agentid": 1}]),
        ("createAgent", [{"login": "x", "password": "y"}]),
        ("changePass", [{"password": "x"}]),
        ("getAgentAccess", [{}]),
        ("createCompany", [{"companylabel": "X"}]),
        ("deleteCompany", [{"companyid": 2}]),
        ("createBrand", [{"brandlabel": "X"}]),
        ("updateBrand", [{"brandid": 1}]),
        ("deleteBrand", [{"brandid": 4}]),
        ("copyBrand", [{"brandid": 1}]),
        ("scriptLoad", [{"brandid": 1}]),
    ],
)
def test_every_method_needs_a_session(client, method, params):
    before = state(client)
    reply = rpc20(client, "0" * 32, method, params)
    assert (
        reply["error"]["code"] == -32001
        and reply["error"]["message"]
        == "invalid session: unknown session '00000000000000000000000000000000'"
    )
    assert state(client) == before


def test_json_rpc_20_named_parameters(client):
    session = OpenACD(client, "admin").session
    reply = rpc20(client, session, "loadAgent", {"obj": {"login": "tsuper"}})
    assert reply["jsonrpc"] == "2.0" and reply["result"][0]["agentid"] == "3"
    assert rpc20(client, session, "companyList", {})["result"][1]["companyid"] == "2"


def test_the_single_row_quirk_gives_a_bare_object(tmp_path):
    overrides = {"db": str(tmp_path / "q.db"), "rpc_single_row_object": True}
    app = create_app(Settings.load(environ={}, overrides=overrides))
    try:
        spice = OpenACD(app.test_client(), "admin")
        assert spice.result("loadAgent", {"login": "tsuper"})["agentid"] == "3"
        assert spice.result("scriptLoad", {"brandid": 1})["filename"] == "brand_1_greeting.txt"
        assert len(spice.result("companyList")) == 2
    finally:
        app.extensions["mockspice"].prepared.cleanup()


def test_oversized_values_are_refused_briefly(client):
    spice = OpenACD(client, "admin")
    assert spice.error("loadAgent", {"agentid": "9" * 5000}) == (
        "loadAgent: 'agentid' must be an id (a whole number from 1 to 2147483647), not "
        f"'{'9' * 59}..."
    )
    assert (
        spice.error("agentExists", ["x"] * 1001)
        == "agentExists: at most 1000 logins per call, not 1001"
    )


def test_a_lone_surrogate_is_refused_as_a_parse_error(client):
    session = OpenACD(client, "admin").session
    for method, params in (
        ("agentExists", '["\\ud800"]'),
        ("createBrand", '{"brandlabel": "\\ud800"}'),
        ("agentAuth", '[{"login": "\\ud800", "password": "x"}]'),
    ):
        call = f'"method": "{method}", "params": [{params}, "{session}"]'
        body = f'{{"jsonrpc": "2.0", {call}, "id": 1}}'
        reply = client.post(API, data=body, content_type="application/json").get_json()
        # Valid JSON syntax, but no text: the whole request is refused before any method runs.
        assert reply["error"]["code"] == -32700 and "lone surrogate" in reply["error"]["data"]
