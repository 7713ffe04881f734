"""Tests of mockspice/partner/app.py: the reference partner's four receivers, alone and against the
engine.
"""

import datetime as dt
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from partner_servers import serving
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from mockspice.partner import create_partner_app, partner_accounts
from mockspice.partner.app import PARTNER_DATASET
from mockspice.resources import DEMO_DATASET
from mockspice.store.dataset import load_file
from mockspice.store.phones import normalize_phone
from mockspice.webcalls.engine import Endpoint, Engine
from mockspice.webcalls.transport import Transport
from mockspice.wire.build import case_form, load_form, search_form, update_form
from mockspice.wire.parse import parse_account, parse_search
from mockspice.wire.validate import validate

CREDS = {"intUser": "spice", "intPass": "secret"}
ACCOUNTS = partner_accounts(PARTNER_DATASET)
ROOT = Path(__file__).resolve().parents[2]
TICKET = {
    "cid": 6344,
    "id": 7906,
    "tier": 1,
    "date": dt.datetime(2006, 1, 27, 13, 27, 51),
    "status": "In Progress",
    "sid": 2,
    "issue": "Browsing",
    "agent": "Doe, John",
    "aname": "",
    "journal": "13:28:41 - adding a second ticket & <more>",
    "email": "",
    "article": "",
    "treepath": "",
    "events": "",
}
ACCOUNT = {
    "userkey": "newbie",
    "password": "",
    "status": "Active",
    "account": "CRM-9",
    "contacts": [
        {
            "firstname": "Nina",
            "lastname": "Newbie",
            "pphone": "+1 555 499 0001",
            "pemail": "nina+new@example.com",
        }
    ],
    "fields": {1: "Platinum, yearly"},
}


@pytest.fixture
def app():
    """A fresh reference partner on its own dataset, per test."""
    return create_partner_app()


@pytest.fixture
def client(app):
    """Flask's test client of the per-test partner."""
    return app.test_client()


def post(client, path: str, form):
    """POST a form (pairs or a dict) form-encoded in order, as SpiceCSM does."""
    return client.post(path, data=urlencode(form), content_type="application/x-www-form-urlencoded")


def found(reply) -> list[str]:
    """Check a search reply is clean and return its userkeys."""
    assert reply.status_code == 200, reply.text
    assert reply.content_type.startswith("text/xml")
    assert validate("search", reply.data) == []
    return [user["userkey"] for user in parse_search(reply.data)]


# --- the dataset -----------------------------------------------------------------------------


def test_partner_dataset_loads_with_the_page_example_and_numbers_not_in_the_demo():
    accounts = ACCOUNTS
    assert len(accounts) >= 12
    jdoe = next(a for a in accounts if a["userkey"] == "jdoe")
    assert jdoe["contacts"][0]["pphone"] == "(555) 555-5555"
    demo_phones = {
        normalize_phone(c[p])
        for company in load_file(DEMO_DATASET)["companies"]
        for a in company["accounts"]
        for c in a["contacts"]
        for p in ("pphone", "sphone", "mobile", "fax")
    } - {""}
    only_here = [
        a["userkey"]
        for a in accounts
        if not demo_phones & {normalize_phone(c["pphone"]) for c in a["contacts"]}
    ]
    assert len(only_here) == len(accounts) - 1 and "mvega" in only_here


# --- search: every documented variable ---------------------------------------------------------


@pytest.mark.parametrize(
    "variables, userkeys",
    [
        ({"Userkey": "JDOE"}, ["jdoe"]),
        ({"FirstName": "maria"}, ["mvega"]),
        ({"LastName": "Garner"}, ["lgarner", "rgarner"]),
        ({"AddressOne": "5 oak ct."}, ["lgarner", "rgarner"]),
        ({"AddressTwo": "Apt 4B"}, ["tobrien"]),
        ({"City": "zürich"}, ["jmuller"]),
        ({"Region": "ZH"}, ["jmuller"]),
        ({"PostalCode": "62701"}, ["mvega", "dnovak"]),
        ({"Country": "gb"}, ["gpatel"]),
        ({"PrimaryPhone": "5554010001"}, ["mvega"]),
        ({"PrimaryPhone": "(555) 555-5555"}, ["jdoe"]),
        ({"PrimaryPhone": "+15554010015"}, ["smithco"]),  # the second contact's mobile
        ({"PrimaryPhone": "011 44 20 7946 0018"}, ["gpatel"]),
        ({"SecondayPhone": "555-402-0000"}, ["lgarner", "rgarner"]),
        ({"SecondaryPhone": "555.402.0000"}, ["lgarner", "rgarner"]),
        ({"PrimaryEmail": "KIM+CRM@example.com"}, ["kchen"]),
        ({"SecondaryEmail": "kchen@work.example"}, ["kchen"]),
        ({"Fax": "555 401 0092"}, ["tobrien"]),
        ({"Modile": "1-555-401-0014"}, ["kchen"]),
        ({"Mobile": "+44 7700 900123"}, ["gpatel"]),
        ({"Password": "s3cret"}, ["smithco"]),
        ({"Password": "S3CRET"}, []),  # a secret is compared exactly
        ({"Status": "inactive"}, ["pwright"]),
        ({"AccountID": "crm-40011"}, ["dnovak"]),
        ({"CustFields": "1\\Gold"}, ["mvega", "jmuller"]),
        ({"CustFields": "1\\Gold,2\\2019-05-02"}, ["mvega"]),
        ({"CustFields": "1\\Smith & Sons 50% off"}, ["smithco"]),
        ({"LastName": "Garner", "FirstName": "Ray"}, ["rgarner"]),  # all given variables (AND)
        ({"City": "Springfield", "Status": "Active"}, ["mvega", "tobrien"]),
        ({"LastName": "Nobody"}, []),
        ({"PrimaryPhone": "no digits"}, []),
        ({"LastName": "Doe", "FirstName": ""}, ["jdoe"]),  # a variable without data is ignored
        ({"Unknown": "x", "LastName": "Doe"}, ["jdoe"]),  # one this partner does not use, too
    ],
)
def test_search_matches_every_documented_variable(client, variables, userkeys):
    assert found(post(client, "/search", {**CREDS, **variables})) == userkeys


def test_search_as_the_engine_sends_it_in_page_order_and_spelling(client):
    form = search_form(
        {"lastname": "Garner", "sphone": "5554020000", "fields": {}},
        int_user="spice",
        int_pass="secret",
    )
    assert [name for name, _ in form] == ["intUser", "intPass", "LastName", "SecondayPhone"]
    assert found(post(client, "/search", form)) == ["lgarner", "rgarner"]


def test_search_without_match_answers_the_empty_parent_element(client):
    reply = post(client, "/search", {**CREDS, "LastName": "Nobody"})
    assert reply.text == '<?xml version="1.0" encoding="UTF-8"?>\n<users></users>\n'


def test_search_reply_values_are_percent_encoded_as_the_page_shows(client):
    reply = post(client, "/search", {**CREDS, "Userkey": "jdoe"})
    assert (
        '<user status="Active" userkey="jdoe" name="John%20Doe" email="johnd%40xyz%2Enet" '
        'phone="%28555%29%20555%2D5555" />'
    ) in reply.text


# --- load, update, case ------------------------------------------------------------------------


@pytest.mark.parametrize("account", ACCOUNTS, ids=lambda a: a["userkey"])
def test_load_answers_every_account_cleanly(client, account):
    reply = post(
        client, "/load", load_form(account["userkey"], int_user="spice", int_pass="secret")
    )
    assert reply.status_code == 200
    assert validate("load", reply.data, expected_userkey=account["userkey"]) == []
    loaded = parse_account(reply.data)
    assert loaded["contacts"] == account["contacts"]
    assert loaded["fields"] == account["fields"]


def test_update_replaces_an_account_and_load_shows_it(client):
    jdoe = parse_account(post(client, "/load", {**CREDS, "Userkey": "jdoe"}).data)
    jdoe["contacts"][0]["city"] = "Elsewhere & Beyond"
    jdoe["fields"][2] = "2006-01-27"
    reply = post(client, "/update", update_form(jdoe, int_user="spice", int_pass="secret"))
    assert reply.status_code == 200
    assert reply.text.endswith('<ack call="update" userkey="jdoe" result="updated" />\n')
    assert parse_account(post(client, "/load", {**CREDS, "Userkey": "jdoe"}).data) == jdoe
    assert found(post(client, "/search", {**CREDS, "City": "elsewhere & beyond"})) == ["jdoe"]


def test_update_of_a_new_userkey_adds_the_account(client):
    reply = post(client, "/update", update_form(ACCOUNT, int_user="spice", int_pass="secret"))
    assert 'result="created"' in reply.text
    assert found(post(client, "/search", {**CREDS, "PrimaryPhone": "5554990001"})) == ["newbie"]
    assert found(post(client, "/search", {**CREDS, "CustFields": "1\\Platinum, yearly"})) == [
        "newbie"
    ]


def test_update_takes_a_userxml_larger_than_werkzeugs_default_form_field_limit(client):
    big = {
        **ACCOUNT,
        "contacts": [
            {"firstname": f"N{i}", "lastname": "Many", "aone": "x" * 200} for i in range(2000)
        ],
    }
    form = update_form(big, int_user="spice", int_pass="secret")
    assert len(form[-1][1]) > 500_000
    assert post(client, "/update", form).status_code == 200
    loaded = post(client, "/load", {**CREDS, "Userkey": "newbie"})
    assert len(parse_account(loaded.data)["contacts"]) == 2000


def test_a_value_that_is_not_utf8_is_no_crash(client):
    reply = client.post(
        "/load",
        data=b"intUser=spice&intPass=secret&Userkey=%FF",
        content_type="application/x-www-form-urlencoded",
    )
    # Werkzeug keeps an escape that does not decode as UTF-8 as it came.
    assert (reply.status_code, reply.text) == (404, "no account with userkey '%FF'\n")


def test_case_keeps_the_tickets_per_userkey_and_replaces_a_response_sent_again(app, client):
    form = case_form("jdoe", [TICKET, {**TICKET, "id": 7907}], int_user="spice", int_pass="secret")
    reply = post(client, "/case", form)
    assert reply.status_code == 200
    assert reply.text.endswith('<ack call="case" userkey="jdoe" tickets="2" />\n')
    post(
        client,
        "/case",
        case_form("jdoe", [{**TICKET, "status": "Closed"}], int_user="spice", int_pass="secret"),
    )
    tickets = app.extensions["partner"]["book"].tickets("jdoe")
    assert [(t["id"], t["status"]) for t in tickets] == [
        ("7906", "Closed"),
        ("7907", "In Progress"),
    ]
    assert tickets[0]["journal"] == TICKET["journal"] and tickets[0]["date"] == "1/27/06 1:27:51 PM"
    assert app.extensions["partner"]["book"].tickets("asmith") == []


# --- refusals: status AND message ----------------------------------------------------------------

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    '<tickets><ticket cid="1" id="1" journal="&b;" /></tickets>'
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'
    '<userdata><user userkey="&x;" /></userdata>'
)


@pytest.mark.parametrize(
    "path, form, status, message",
    [
        (
            "/search",
            {"intUser": "spice", "intPass": "wrong", "Userkey": "jdoe"},
            403,
            "wrong or missing intUser/intPass",
        ),
        ("/search", {"Userkey": "jdoe"}, 403, "wrong or missing intUser/intPass"),
        (
            "/load",
            {"intUser": "SPICE", "intPass": "secret", "Userkey": "jdoe"},
            403,
            "wrong or missing intUser/intPass",
        ),
        (
            "/update",
            {"intUser": "spice", "intPass": "", "userXML": "x"},
            403,
            "wrong or missing intUser/intPass",
        ),
        (
            "/case",
            {"intUser": "", "intPass": "secret", "Userkey": "jdoe"},
            403,
            "wrong or missing intUser/intPass",
        ),
        ("/search", CREDS, 400, "no search variable with data"),
        ("/search", {**CREDS, "FirstName": "  "}, 400, "no search variable with data"),
        (
            "/search",
            {**CREDS, "CustFields": "Gold"},
            400,
            "CustFields: 'Gold' is not an ID\\value pair",
        ),
        (
            "/search",
            {**CREDS, "CustFields": "x\\Gold"},
            400,
            "CustFields: 'x\\\\Gold' is not an ID\\value pair",
        ),
        ("/load", CREDS, 400, "missing variable Userkey"),
        ("/load", {**CREDS, "Userkey": "nobody"}, 404, "no account with userkey 'nobody'"),
        ("/load", {**CREDS, "Userkey": "JDOE"}, 404, "no account with userkey 'JDOE'"),
        ("/update", CREDS, 400, "missing variable userXML"),
        (
            "/update",
            {**CREDS, "userXML": "<userdata><user userkey='a'>"},
            400,
            "userXML: not well-formed XML",
        ),
        (
            "/update",
            {**CREDS, "userXML": "<users />"},
            400,
            "userXML: the root element is <users>, not <userdata>",
        ),
        (
            "/update",
            {**CREDS, "userXML": EXTERNAL},
            400,
            "userXML: the document has a DOCTYPE, which mockspice refuses",
        ),
        (
            "/update",
            {
                **CREDS,
                "userXML": '<!DOCTYPE userdata [<!ENTITY x "y">]><userdata><user userkey="a" />'
                "</userdata>",
            },
            400,
            "userXML: the document has a DOCTYPE, which mockspice refuses",
        ),
        (
            "/update",
            {**CREDS, "userXML": "<userdata><user userkey='%20' /></userdata>"},
            400,
            "userXML: <user> has no userkey",
        ),
        ("/case", {**CREDS, "caseXML": "<tickets />"}, 400, "missing variable Userkey"),
        ("/case", {**CREDS, "Userkey": "jdoe"}, 400, "missing variable caseXML"),
        (
            "/case",
            {**CREDS, "Userkey": "jdoe", "caseXML": "<tickets><ticket"},
            400,
            "caseXML: not-well-formed:",
        ),
        (
            "/case",
            {**CREDS, "Userkey": "jdoe", "caseXML": LAUGHS},
            400,
            "caseXML: doctype-refused:",
        ),
        (
            "/case",
            {
                **CREDS,
                "Userkey": "jdoe",
                "caseXML": "<!-- <x -->" + LAUGHS.removeprefix('<?xml version="1.0"?>'),
            },
            400,
            "caseXML: doctype-refused:",
        ),
        (
            "/case",
            {**CREDS, "Userkey": "jdoe", "caseXML": "<users />"},
            400,
            "caseXML: wrong-root:",
        ),
        (
            "/case",
            {**CREDS, "Userkey": "jdoe", "caseXML": "<tickets><ticket id='1' /></tickets>"},
            400,
            "caseXML: missing-attribute:",
        ),
    ],
)
def test_bad_calls_are_refused_with_a_one_line_reason(client, path, form, status, message):
    reply = post(client, path, form)
    assert reply.status_code == status
    assert reply.content_type.startswith("text/plain")
    assert reply.text.startswith(message) and reply.text.count("\n") == 1


NAMES = [
    "Userkey",
    "FirstName",
    "PrimaryPhone",
    "CustFields",
    "Password",
    "userXML",
    "caseXML",
    "Other",
]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "1\\",
            "\\x",
            ",",
            "<userdata><user/></userdata>",
            "<tickets><ticket cid='1' id='1'/></tickets>",
            "<tickets><ticket cid='1' id='1' date='13/40/06 1:00:00 PM'/></tickets>",
            "<?xml version='1.0'?>",
        ]
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    path=st.sampled_from(["/search", "/load", "/update", "/case"]),
    form=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4),
)
def test_any_form_gets_an_answer_never_a_500(path, form):
    reply = post(create_partner_app(ACCOUNTS).test_client(), path, {**CREDS, **form})
    assert reply.status_code in (200, 400, 404), reply.text
    if reply.status_code == 200 and path in ("/search", "/load"):
        assert validate(path[1:], reply.data) == []


def test_a_get_is_405_and_an_unknown_path_404_as_one_line(client):
    assert (client.get("/search").status_code, client.get("/search").text.count("\n")) == (405, 1)
    assert client.post("/nothing", data=CREDS).status_code == 404


def test_other_credentials_are_configurable():
    client = create_partner_app([], int_user="u", int_pass="p").test_client()
    assert found(post(client, "/search", {"intUser": "u", "intPass": "p", "Userkey": "jdoe"})) == []
    assert post(client, "/search", {**CREDS, "Userkey": "jdoe"}).status_code == 403


def test_works_mounted_under_a_prefix():
    mounted = DispatcherMiddleware(create_partner_app(), {"/_partner": create_partner_app()})
    reply = Client(mounted).post("/_partner/search", data={**CREDS, "Userkey": "jdoe"})
    assert reply.status_code == 200 and b'userkey="jdoe"' in reply.data


# --- end to end: the mockspice engine over real HTTP ---------------------------------------------


@pytest.fixture
def served(app):
    """The per-test partner on a free loopback port; yields its base URL."""
    with serving(app) as url:
        yield url


@pytest.fixture
def engine():
    """The real engine with a real transport."""
    transport = Transport()
    yield Engine(transport)
    transport.close()


def test_engine_runs_all_four_calls_against_the_partner(app, served, engine):
    at = {
        kind: Endpoint(f"{served}/{kind}", "spice", "secret", 5.0)
        for kind in ("search", "load", "update", "case")
    }
    searched = engine.search(at["search"], {"pphone": "+1 555 401 0001"})
    assert (searched.outcome, searched.findings) == ("ok", [])
    assert [r["userkey"] for r in searched.records] == ["mvega"]
    assert searched.records[0]["phone"] == "+1 555 401 0001"
    loaded = engine.load(at["load"], "mvega")
    assert (loaded.outcome, loaded.findings) == ("ok", [])
    account = loaded.records[0]
    assert account["contacts"][0]["firstname"] == "Maria"
    assert account["fields"] == [{"id": 1, "value": "Gold"}, {"id": 2, "value": "2019-05-02"}]
    account["contacts"][0]["aone"] = "402 Harbor Rd."
    updated = engine.update(at["update"], account)
    assert (updated.outcome, updated.findings, updated.status) == ("ok", [], 200)
    assert engine.load(at["load"], "mvega").records[0]["contacts"][0]["aone"] == "402 Harbor Rd."
    cased = engine.case(at["case"], "mvega", [TICKET])
    assert (cased.outcome, cased.findings) == ("ok", [])
    assert [t["cid"] for t in app.extensions["partner"]["book"].tickets("mvega")] == ["6344"]


def test_engine_with_corrected_names_finds_the_same(served):
    transport = Transport()
    try:
        exchange = Engine(transport, corrected_names=True).search(
            Endpoint(f"{served}/search", "spice", "secret"), {"mobile": "5554010014"}
        )
    finally:
        transport.close()
    assert ("Mobile", "5554010014") in exchange.form
    assert (exchange.outcome, [r["userkey"] for r in exchange.records]) == ("ok", ["kchen"])


@pytest.mark.parametrize("kind", ["search", "load", "update", "case"])
def test_engine_with_wrong_credentials_gets_an_http_status_error(served, engine, kind):
    at = Endpoint(f"{served}/{kind}", "spice", "guess")
    exchange = {
        "search": lambda: engine.search(at, {"userkey": "jdoe"}),
        "load": lambda: engine.load(at, "jdoe"),
        "update": lambda: engine.update(at, {**ACCOUNT, "fields": []}),
        "case": lambda: engine.case(at, "jdoe", [TICKET]),
    }[kind]()
    assert exchange.outcome == "error" and exchange.status == 403
    assert [f.code for f in exchange.findings] == ["http-status"]
    assert "HTTP 403" in exchange.findings[0].message


def test_engine_load_of_an_unknown_userkey_is_an_http_status_error(served, engine):
    exchange = engine.load(Endpoint(f"{served}/load", "spice", "secret"), "nobody")
    assert (exchange.outcome, exchange.status, exchange.body) == (
        "error",
        404,
        b"no account with userkey 'nobody'\n",
    )
    assert [f.code for f in exchange.findings] == ["http-status"]


def test_concurrent_updates_are_all_kept(app, served):
    def add(n: int) -> None:
        with requests.Session() as session:
            for i in range(10):
                form = update_form(
                    {**ACCOUNT, "userkey": f"u{n}-{i}"}, int_user="spice", int_pass="secret"
                )
                assert session.post(f"{served}/update", data=form, timeout=10).status_code == 200

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    reply = requests.post(f"{served}/search", data={**CREDS, "LastName": "Newbie"}, timeout=10)
    assert len(parse_search(reply.content)) == 80


def test_serve_partner_prints_its_url_and_serves_until_interrupted():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from mockspice.partner import serve_partner; "
            "serve_partner('127.0.0.1', 0, None, 'u', 'p')",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("mockspice reference partner on http://127.0.0.1:"), (
            proc.stderr.read()
        )
        url = line.split()[4]
        reply = requests.post(
            url + "search", data={"intUser": "u", "intPass": "p", "Userkey": "jdoe"}, timeout=10
        )
        assert [u["userkey"] for u in parse_search(reply.content)] == ["jdoe"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_a_book_in_a_file_is_one_book_for_every_process(tmp_path):
    import multiprocessing

    from mockspice.partner.app import PartnerBook

    path = tmp_path / "partner-book"
    book = PartnerBook(ACCOUNTS, path)
    jdoe = book.load("jdoe")
    context = multiprocessing.get_context("fork")

    def change(city):
        book.update({**jdoe, "contacts": [{**jdoe["contacts"][0], "city": city}]})
        book.add_tickets("jdoe", [{"cid": "1", "id": "1", "journal": city}])

    child = context.Process(target=change, args=("Elsewhere",))
    child.start()
    child.join(10)
    assert child.exitcode == 0
    assert book.load("jdoe")["contacts"][0]["city"] == "Elsewhere"  # seen by the parent
    assert book.tickets("jdoe") == [{"cid": "1", "id": "1", "journal": "Elsewhere"}]
    assert [a["userkey"] for a in book.search([])] == [a["userkey"] for a in ACCOUNTS]
    assert book.update({**jdoe, "userkey": "newbie"}) is True
    assert PartnerBook(ACCOUNTS, path).load("newbie") is None  # a new book starts afresh
