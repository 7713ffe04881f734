"""The engine against a real, well-behaved local partner: what arrives there, and what comes back.

Then the control API's web-call routes and the screen pop's external search, through Flask's
test client, with the same partner on a loopback port.
"""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree
from partner_servers import JDOE2_SEARCH, JDOE_SEARCH, RefusedPort, WellBehavedPartner

from mockspice.webcalls.engine import MASK, Endpoint, Engine
from mockspice.webcalls.transport import Transport

POP = "/spiceinstall/integrations/telephony/telephonypop.php"
TICKET_ATTRIBUTES = [
    "cid",
    "id",
    "tier",
    "date",
    "status",
    "sid",
    "issue",
    "agent",
    "aname",
    "journal",
    "email",
    "article",
    "treepath",
    "events",
]

# Every search criterion, by the store's name, with the variable the page names it by.
EVERY_CRITERION = {
    "userkey": "jdoe",
    "firstname": "John",
    "lastname": "Doe",
    "aone": "123 Fake St.",
    "atwo": "Apt 4",
    "city": "Anywhere",
    "region": "ZZ",
    "pc": "123456",
    "country": "US",
    "pphone": "(555) 555-5555",
    "sphone": "555.555.0001",
    "pemail": "johnd@xyz.net",
    "semail": "john@home.example",
    "fax": "555-0002",
    "mobile": "+1 555 0003",
    "password": "pw",
    "status": "Active",
    "account": "EXT-1",
    "fields": {2: "2024", 1: "Gold"},
}
PAGE_ORDER = [
    ("intUser", "spice"),
    ("intPass", "s3cret"),
    ("Userkey", "jdoe"),
    ("FirstName", "John"),
    ("LastName", "Doe"),
    ("AddressOne", "123 Fake St."),
    ("AddressTwo", "Apt 4"),
    ("City", "Anywhere"),
    ("Region", "ZZ"),
    ("PostalCode", "123456"),
    ("Country", "US"),
    ("PrimaryPhone", "(555) 555-5555"),
    ("SecondayPhone", "555.555.0001"),
    ("PrimaryEmail", "johnd@xyz.net"),
    ("SecondaryEmail", "john@home.example"),
    ("Fax", "555-0002"),
    ("Modile", "+1 555 0003"),
    ("Password", "pw"),
    ("Status", "Active"),
    ("AccountID", "EXT-1"),
    ("CustFields", "1\\Gold,2\\2024"),
]
CORRECTED = {"SecondayPhone": "SecondaryPhone", "Modile": "Mobile"}


@pytest.fixture
def partner():
    """A well-behaved partner on a loopback port, stopped after the test."""
    with WellBehavedPartner() as running:
        yield running


@pytest.fixture
def engine():
    """The real engine and transport."""
    transport = Transport()
    yield Engine(transport)
    transport.close()


def endpoint(
    partner: WellBehavedPartner, kind: str, int_user: str = "spice", int_pass: str = "s3cret"
) -> Endpoint:
    """The partner's endpoint of one kind of web call."""
    return Endpoint(f"{partner.url}/{kind}", int_user, int_pass, 5)


# --- what arrives ----------------------------------------------------------------------------


@pytest.mark.parametrize("corrected", [False, True], ids=["page-spelling", "corrected-names"])
def test_a_search_sends_every_variable_as_the_page_names_and_orders_them(partner, corrected):
    transport = Transport()
    exchange = Engine(transport, corrected_names=corrected).search(
        endpoint(partner, "search"), EVERY_CRITERION
    )
    transport.close()
    assert exchange.outcome == "ok", exchange.findings
    [received] = partner.calls("/search")
    expected = [(CORRECTED.get(n, n) if corrected else n, v) for n, v in PAGE_ORDER]
    assert received.form == expected
    assert received.content_type == "application/x-www-form-urlencoded"
    assert received.raw.startswith(b"intUser=spice&intPass=s3cret&Userkey=jdoe&FirstName=John&")


@pytest.mark.parametrize(
    "criteria, form",
    [
        ({}, [("intUser", "spice"), ("intPass", "s3cret")]),
        (
            {"pphone": "5555555555", "firstname": "", "lastname": None},
            [("intUser", "spice"), ("intPass", "s3cret"), ("PrimaryPhone", "5555555555")],
        ),
        (
            {"lastname": "Doe", "userkey": "jdoe"},
            [("intUser", "spice"), ("intPass", "s3cret"), ("Userkey", "jdoe"), ("LastName", "Doe")],
        ),
        (
            {"fields": {3: "", 10: "b", 2: "a"}},
            [("intUser", "spice"), ("intPass", "s3cret"), ("CustFields", "2\\a,10\\b")],
        ),
        ({"fields": {}}, [("intUser", "spice"), ("intPass", "s3cret")]),
    ],
    ids=[
        "nothing",
        "empty-values-left-out",
        "page-order-not-caller-order",
        "custfields-by-id",
        "no-custfields",
    ],
)
def test_a_search_sends_only_variables_with_data(partner, engine, criteria, form):
    engine.search(endpoint(partner, "search"), criteria)
    assert partner.calls("/search")[0].form == form


def test_credentials_are_sent_even_when_empty(partner, engine):
    engine.load(endpoint(partner, "load", int_user="", int_pass=""), "jdoe")
    assert partner.calls("/load")[0].form == [("intUser", ""), ("intPass", ""), ("Userkey", "jdoe")]
    assert partner.calls("/load")[0].raw == b"intUser=&intPass=&Userkey=jdoe"


def test_an_update_sends_userxml_every_value_percent_encoded(partner, engine):
    account = {
        "userkey": "jdoe",
        "password": "",
        "status": "Active",
        "account": "",
        "contacts": [
            {
                "firstname": "Carmen",
                "lastname": "García",
                "aone": "123 Fake St.",
                "city": "Anywhere",
                "pphone": "(555) 555-5555",
                "pemail": "johnd@xyz.net",
            }
        ],
        "fields": [{"id": 2, "value": "2024-02-15"}, {"id": 1, "value": "Gold & Silver"}],
    }
    exchange = engine.update(endpoint(partner, "update"), account)
    assert exchange.outcome == "ok" and exchange.body == b"OK"
    [received] = partner.calls("/update")
    assert [name for name, _ in received.form] == ["intUser", "intPass", "userXML"]
    user_xml = dict(received.form)["userXML"]
    root = etree.fromstring(user_xml.encode())
    assert root.tag == "userdata" and [c.tag for c in root] == ["user", "contacts", "fielddata"]
    assert root.find("user").attrib == {
        "userkey": "jdoe",
        "password": "",
        "status": "Active",
        "account": "",
    }
    contact = root.find("contacts/contact")
    assert list(contact.attrib) == [
        "firstname",
        "lastname",
        "aone",
        "atwo",
        "city",
        "region",
        "pc",
        "country",
        "pphone",
        "sphone",
        "pemail",
        "semail",
        "mobile",
        "fax",
    ]
    assert (
        contact.get("lastname"),
        contact.get("aone"),
        contact.get("pphone"),
        contact.get("pemail"),
    ) == ("Garc%C3%ADa", "123%20Fake%20St%2E", "%28555%29%20555%2D5555", "johnd%40xyz%2Enet")
    assert [(f.get("id"), f.get("value")) for f in root.iterfind("fielddata/field")] == [
        ("1", "Gold%20%26%20Silver"),
        ("2", "2024%2D02%2D15"),
    ]
    # On the wire the whole document is form-encoded once more.
    assert b"&userXML=%3C%3Fxml+version%3D%221.0%22" in received.raw


def test_a_case_sends_casexml_with_the_documented_attributes_and_date(partner, engine):
    ticket = {
        "cid": 6344,
        "id": 7906,
        "tier": 1,
        "date": dt.datetime(2006, 1, 27, 13, 27, 51),
        "status": "In Progress",
        "sid": 2,
        "issue": "Browsing",
        "agent": "jsmith",
        "aname": "John Smith",
        "journal": "13:28:41 - adding a second ticket <b>&</b>",
        "email": "",
        "article": "",
        "treepath": "",
        "events": "",
    }
    exchange = engine.case(endpoint(partner, "case"), "jdoe", [ticket])
    assert exchange.outcome == "ok"
    [received] = partner.calls("/case")
    assert [name for name, _ in received.form] == ["intUser", "intPass", "Userkey", "caseXML"]
    assert dict(received.form)["Userkey"] == "jdoe"
    root = etree.fromstring(dict(received.form)["caseXML"].encode())
    [element] = root.iterfind("ticket")
    assert root.tag == "tickets" and list(element.attrib) == TICKET_ATTRIBUTES
    assert dict(element.attrib) == {
        "cid": "6344",
        "id": "7906",
        "tier": "1",
        "date": "1/27/06 1:27:51 PM",
        "status": "In Progress",
        "sid": "2",
        "issue": "Browsing",
        "agent": "jsmith",
        "aname": "John Smith",
        "journal": "13:28:41 - adding a second ticket <b>&</b>",
        "email": "",
        "article": "",
        "treepath": "",
        "events": "",
    }
    assert (
        'journal="13:28:41 - adding a second ticket &lt;b&gt;&amp;&lt;/b&gt;"'
        in dict(received.form)["caseXML"]
    )


@pytest.mark.parametrize(
    "moment, text",
    [
        (dt.datetime(2006, 1, 27, 13, 27, 51), "1/27/06 1:27:51 PM"),
        (dt.datetime(2024, 12, 5, 0, 5, 9), "12/5/24 12:05:09 AM"),
        (dt.datetime(2009, 10, 10, 12, 0, 0), "10/10/09 12:00:00 PM"),
    ],
)
def test_the_case_date_uses_the_pages_format(partner, engine, moment, text):
    engine.case(endpoint(partner, "case"), "jdoe", [{"cid": 1, "id": 2, "date": moment}])
    root = etree.fromstring(dict(partner.calls("/case")[0].form)["caseXML"].encode())
    assert root.find("ticket").get("date") == text


# --- what comes back -------------------------------------------------------------------------


def test_a_search_reply_is_ok_with_its_records_decoded(partner, engine):
    partner.search_users = [JDOE_SEARCH, JDOE2_SEARCH]
    exchange = engine.search(endpoint(partner, "search"), {"lastname": "Doe"})
    assert (exchange.outcome, exchange.status, exchange.findings) == ("ok", 200, [])
    assert exchange.records == [
        {
            "status": "Active",
            "userkey": "jdoe",
            "name": "John Doe",
            "email": "johnd@xyz.net",
            "phone": "(555) 555-5555",
        },
        {
            "status": "Active",
            "userkey": "jdoe2",
            "name": "John Doe",
            "email": "johgnd@xyz.net",
            "phone": "555.555.5555",
        },
    ]
    answer = exchange.as_dict()
    assert answer["request"]["form"] == {"intUser": "spice", "intPass": MASK, "LastName": "Doe"}
    assert answer["response"]["status"] == 200 and answer["response"]["body"].startswith("<?xml")


def test_a_load_reply_is_ok_with_the_account(partner, engine):
    exchange = engine.load(endpoint(partner, "load"), "jdoe")
    assert (exchange.outcome, exchange.findings) == ("ok", [])
    [account] = exchange.records
    assert (account["userkey"], account["status"], account["fields"]) == (
        "jdoe",
        "Active",
        [{"id": 1, "value": "Anything"}],
    )
    assert (
        account["contacts"][0]["aone"] == "123 Fake St."
        and account["contacts"][0]["pemail"] == "johnd@xyz.net"
    )


def test_a_load_reply_for_another_userkey_is_invalid(partner, engine):
    partner.load_userkey = "asmith"
    exchange = engine.load(endpoint(partner, "load"), "jdoe")
    assert exchange.outcome == "invalid"
    assert [(f.code, f.message) for f in exchange.findings if f.severity == "error"] == [
        ("userkey-mismatch", "the document is for userkey 'asmith', but 'jdoe' was asked for")
    ]
    assert exchange.findings[0].path == "/userdata/user/@userkey"


def test_wrong_credentials_are_an_http_status_error(engine):
    with WellBehavedPartner(credentials=("spice", "right")) as partner:
        exchange = engine.search(endpoint(partner, "search", int_pass="wrong"), {"pphone": "1"})
    assert exchange.outcome == "error"
    assert [(f.code, f.message) for f in exchange.findings] == [
        ("http-status", "the partner answered HTTP 403; SpiceCSM expects 200 with the reply")
    ]


def test_the_engine_hands_every_exchange_to_its_recorder(partner):
    recorded = []
    engine = Engine(Transport(), record=lambda exchange: recorded.append(exchange) or len(recorded))
    first = engine.search(endpoint(partner, "search"), {"pphone": "1"})
    second = engine.load(endpoint(partner, "load"), "jdoe")
    engine.transport.close()
    assert recorded == [first, second] and (first.id, second.id) == (1, 2)


# --- the control API -------------------------------------------------------------------------


def wire_brand(client, partner_url: str, **extra) -> None:
    """Point brand 1/1's four web calls at a partner."""
    settings = {
        f"{kind}_url": f"{partner_url}/{kind}" for kind in ("search", "load", "update", "case")
    }
    response = client.put(
        "/_mockspice/brands/1/1/webcalls",
        json={**settings, "int_user": "spice", "int_pass": "s3cret", "timeout_s": 3, **extra},
    )
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(
    "method, path, body, status, code, message",
    [
        (
            "PUT",
            "/_mockspice/brands/1/1/webcalls",
            {"search_url": "ftp://partner.example/search"},
            400,
            "bad-parameter",
            "search_url: must be an http or https URL, not 'ftp://partner.example/search'",
        ),
        (
            "PUT",
            "/_mockspice/brands/1/1/webcalls",
            {"case_url": "javascript:alert(1)"},
            400,
            "bad-parameter",
            "case_url: must be an http or https URL",
        ),
        (
            "PUT",
            "/_mockspice/brands/1/1/webcalls",
            {"timeout_s": 0},
            400,
            "bad-parameter",
            "timeout_s: must be a number of seconds from 0.1 to 300, not 0",
        ),
        (
            "PUT",
            "/_mockspice/brands/1/99/webcalls",
            {},
            404,
            "unknown-brand",
            "brand 99 does not exist in company 1",
        ),
        (
            "GET",
            "/_mockspice/brands/1/99/webcalls",
            None,
            404,
            "unknown-brand",
            "brand 99 does not exist in company 1",
        ),
        (
            "POST",
            "/_mockspice/webcalls/bogus",
            {"company": 1, "brand": 1},
            400,
            "bad-parameter",
            "unknown web call 'bogus'; use one of search, load, update, case",
        ),
        (
            "POST",
            "/_mockspice/webcalls/search",
            {"brand": 1},
            400,
            "bad-parameter",
            "'company' is required: a positive whole number",
        ),
        (
            "POST",
            "/_mockspice/webcalls/search",
            {"company": 1, "brand": 99},
            404,
            "unknown-brand",
            "brand 99 does not exist in company 1",
        ),
        (
            "POST",
            "/_mockspice/webcalls/load",
            {"company": 1, "brand": 1, "userkey": "jdoe"},
            409,
            "no-webcall-url",
            "brand 1 of company 1 has no load_url",
        ),
    ],
    ids=[
        "ftp-url",
        "javascript-url",
        "zero-timeout",
        "put-unknown-brand",
        "get-unknown-brand",
        "bogus-kind",
        "missing-company",
        "fire-unknown-brand",
        "no-load-url",
    ],
)
def test_the_control_api_refuses_bad_web_call_requests(
    client, method, path, body, status, code, message
):
    before = client.get("/_mockspice/brands/1/1/webcalls").get_json()
    response = client.open(path, method=method, json=body)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"].startswith(message), error
    assert client.get("/_mockspice/brands/1/1/webcalls").get_json() == before
    assert client.get("/_mockspice/journal?kind=webcall").get_json()["count"] == 0


def test_put_then_get_the_web_call_settings_with_int_pass_masked(client, partner):
    wire_brand(client, "https://partner.example/spice")
    got = client.get("/_mockspice/brands/1/1/webcalls").get_json()
    assert got == {
        "search_url": "https://partner.example/spice/search",
        "load_url": "https://partner.example/spice/load",
        "update_url": "https://partner.example/spice/update",
        "case_url": "https://partner.example/spice/case",
        "int_user": "spice",
        "int_pass": MASK,
        "timeout_s": 3.0,
    }
    # What GET answered can be put back: the mask keeps the brand's own intPass.
    changed = {**got, "load_url": partner.url + "/load"}
    assert client.put("/_mockspice/brands/1/1/webcalls", json=changed).get_json() == changed
    client.post("/_mockspice/webcalls/load", json={"company": 1, "brand": 1, "userkey": "jdoe"})
    assert dict(partner.calls("/load")[0].form)["intPass"] == "s3cret"
    # A brand with no intPass has none to keep.
    response = client.put("/_mockspice/brands/1/2/webcalls", json={"int_pass": MASK})
    assert response.status_code == 400 and response.get_json()["error"] == {
        "code": "bad-parameter",
        "message": (
            "int_pass: is the mask '********', and the brand has no intPass to keep; give its value"
        ),
    }


def test_firing_a_case_sends_the_stored_cases_last_response(client, partner):
    wire_brand(client, partner.url)
    response = client.post(
        "/_mockspice/webcalls/case", json={"company": 1, "brand": 1, "case": 6344}
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert (
        answer["outcome"] == "ok"
        and answer["kind"] == "case"
        and answer["request"]["form"]["intPass"] == MASK
    )
    [received] = partner.calls("/case")
    form = dict(received.form)
    assert (form["intUser"], form["intPass"], form["Userkey"]) == ("spice", "s3cret", "jdoe")
    ticket = etree.fromstring(form["caseXML"].encode()).find("ticket")
    assert list(ticket.attrib) == TICKET_ATTRIBUTES
    assert (
        ticket.get("cid"),
        ticket.get("id"),
        ticket.get("status"),
        ticket.get("sid"),
        ticket.get("date"),
    ) == ("6344", "7906", "In Progress", "2", "1/27/06 1:27:51 PM")
    assert ticket.get("journal") == "13:28:41 - adding a second ticket for case dump testing "
    entries = client.get("/_mockspice/journal?kind=webcall").get_json()["entries"]
    assert [e["exchange"]["id"] for e in entries] == [answer["id"]]


def test_firing_a_case_with_a_response_sends_that_response(client, partner):
    wire_brand(client, partner.url)
    response = client.post(
        "/_mockspice/webcalls/case", json={"company": 1, "brand": 1, "case": 6344, "response": 7905}
    )
    assert response.status_code == 200 and response.get_json()["outcome"] == "ok"
    ticket = etree.fromstring(dict(partner.calls("/case")[0].form)["caseXML"].encode()).find(
        "ticket"
    )
    assert (ticket.get("id"), ticket.get("status"), ticket.get("sid"), ticket.get("date")) == (
        "7905",
        "New",
        "1",
        "1/27/06 1:20:02 PM",
    )
    missing = client.post(
        "/_mockspice/webcalls/case", json={"company": 1, "brand": 1, "case": 6344, "response": 1}
    )
    assert missing.status_code == 400
    assert missing.get_json()["error"] == {
        "code": "bad-parameter",
        "message": "case 6344 has no response 1",
    }
    as_text = client.post(
        "/_mockspice/webcalls/case", json={"company": 1, "brand": 1, "case": "6344"}
    )
    assert as_text.status_code == 400 and as_text.get_json()["error"] == {
        "code": "bad-parameter",
        "message": "'case' must be the id of a case (a whole number)",
    }
    assert len(partner.calls("/case")) == 1


def test_firing_a_search_answers_the_exchange_with_records(client, partner):
    wire_brand(client, partner.url)
    response = client.post(
        "/_mockspice/webcalls/search",
        json={
            "company": 1,
            "brand": 1,
            "variables": {"PrimaryPhone": "(555) 555-5555", "CustFields": "1\\Gold"},
        },
    )
    answer = response.get_json()
    assert response.status_code == 200 and answer["outcome"] == "ok"
    assert answer["records"][0]["userkey"] == "jdoe"
    assert partner.calls("/search")[0].form == [
        ("intUser", "spice"),
        ("intPass", "s3cret"),
        ("PrimaryPhone", "(555) 555-5555"),
        ("CustFields", "1\\Gold"),
    ]


def test_a_pop_with_an_ani_shows_the_external_account(client, partner):
    wire_brand(client, partner.url)
    pop = client.get(
        POP + "?company=1&brand=1&callid=C1&ani=(555)%20555-5555&format=json"
    ).get_json()
    assert pop["match"]["kind"] == "account"
    [account] = pop["match"]["accounts"]
    assert account["external"] is True and account["userkey"] == "jdoe"
    assert [(w["kind"], w["outcome"]) for w in pop["webcalls"]] == [
        ("search", "ok"),
        ("load", "ok"),
    ]
    assert dict(partner.calls("/search")[0].form)["PrimaryPhone"] == "(555) 555-5555"
    assert partner.calls("/load")[0].form == [
        ("intUser", "spice"),
        ("intPass", "s3cret"),
        ("Userkey", "jdoe"),
    ]
    journal = client.get("/_mockspice/journal?kind=webcall").get_json()
    assert [e["exchange"]["kind"] for e in journal["entries"]] == ["search", "load"]
    assert [e["exchange"]["id"] for e in journal["entries"]] == [w["id"] for w in pop["webcalls"]]


def test_a_pop_with_several_external_results_shows_them_as_candidates(client, partner):
    partner.search_users = [JDOE_SEARCH, JDOE2_SEARCH]
    wire_brand(client, partner.url)
    pop = client.get(POP + "?company=1&brand=1&ani=5555555555&format=json").get_json()
    assert pop["match"]["kind"] == "candidates" and pop["match"]["candidates_total"] == 2
    assert [(a["userkey"], a["external"]) for a in pop["match"]["accounts"]] == [
        ("jdoe", True),
        ("jdoe2", True),
    ]
    assert [(w["kind"], w["outcome"]) for w in pop["webcalls"]] == [("search", "ok")]
    assert partner.calls("/load") == []


@pytest.mark.parametrize("load_url", ["", "/nowhere"], ids=["no load_url", "load fails"])
def test_a_pop_with_one_external_hit_and_no_load_shows_it_as_the_candidate(
    client, partner, load_url
):
    # A regression: the greeting read the contacts a search record does not have (a 500).
    wire_brand(client, partner.url, load_url=partner.url + load_url if load_url else "")
    response = client.get(POP + "?company=1&brand=1&ani=5555555555&format=json")
    assert response.status_code == 200, response.get_json()
    pop = response.get_json()
    assert pop["match"]["kind"] == "candidates" and pop["match"]["candidates_total"] == 1
    assert [(a["userkey"], a["external"]) for a in pop["match"]["accounts"]] == [("jdoe", True)]
    assert "Am I speaking with caller?" in pop["greeting"]
    page = client.get(POP + "?company=1&brand=1&ani=5555555555")
    assert page.status_code == 200 and "jdoe" in page.get_data(as_text=True)


def test_a_pop_with_a_failing_partner_shows_local_matches_and_a_notice(client):
    with RefusedPort() as refused:
        wire_brand(client, refused.url)
        pop = client.get(POP + "?company=1&brand=1&ani=555.201.0002&format=json").get_json()
    assert pop["match"]["kind"] == "account"
    assert [a["userkey"] for a in pop["match"]["accounts"]] == ["bjones"]
    assert "external" not in pop["match"]["accounts"][0]
    assert [(w["kind"], w["outcome"]) for w in pop["webcalls"]] == [("search", "unreachable")]
    [notice] = [n for n in pop["notices"] if "external search failed" in n]
    assert "external search failed (unreachable)" in notice and "connection refused" in notice
    page = client.get(POP + "?company=1&brand=1&ani=555.201.0002").get_data(as_text=True)
    assert "external search failed" in page
