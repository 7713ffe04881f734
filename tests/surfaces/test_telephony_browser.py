"""The screen pop in a real browser: headless Debian ``chromium`` driven by Playwright (issue 2,
§7-§8).

An agent's browser opens ``telephonypop.php`` pushed by the phone system; these tests do the same
against a real ``mockspice serve`` (the ``live`` fixture) and read the page as the agent sees it.
Then every parameter gets script payloads, and the page must show them as text without running
them. Those pages load with Playwright's ``bypass_csp`` so the pop's Content-Security-Policy
cannot hide a missing escape: escaping alone is on trial there.

Without ``/usr/bin/chromium`` these tests skip, unless ``CI`` or ``MOCKSPICE_REQUIRE_BROWSER`` is
set: then a missing browser is a failure.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest
from liveserver import POP

pytestmark = pytest.mark.browser

PAGE_TIMEOUT_MS = 15_000

# Every element with an event handler attribute, as HTML: the mock's templates have none at all.
HANDLERS_JS = """() => Array.from(document.querySelectorAll('*'))
    .filter(e => Array.from(e.attributes).some(a => a.name.toLowerCase().startsWith('on')))
    .map(e => e.outerHTML)"""
# Elements the templates never use; one on the page can only have come from a payload.
FOREIGN = "script, svg, img, iframe, object, embed, math, base, meta[http-equiv], form"


class Tab:
    """A page in its own browser context, with every dialog it tried to open."""

    def __init__(self, browser, *, bypass_csp: bool = False):
        self.context = browser.new_context(bypass_csp=bypass_csp)
        self.context.set_default_timeout(PAGE_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self, url: str):
        """Load ``url`` (and its images, so an ``onerror`` has had its chance); the response."""
        return self.page.goto(url, wait_until="load")

    def text(self, selector: str) -> str:
        """The text of the one element matching ``selector``."""
        return self.page.locator(selector).inner_text()

    def close(self) -> None:
        """Close the page and its context."""
        self.page.close()
        self.context.close()


@pytest.fixture
def tab(browser):
    """A fresh page, as the agent's browser shows it (the pop's CSP in force)."""
    opened = Tab(browser)
    yield opened
    opened.close()


@pytest.fixture
def bare_tab(browser):
    """A fresh page that ignores Content-Security-Policy, so only escaping stands between a payload
    and the DOM.
    """
    opened = Tab(browser, bypass_csp=True)
    yield opened
    opened.close()


def pop_url(live, **params: str) -> str:
    """The pop URL on the live server with ``params`` (percent-encoded)."""
    return f"{live.url}{POP}?{urllib.parse.urlencode(params)}"


# --- what the agent sees ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "brand, brand_label, greeting",
    [
        (
            "1",
            "Acme Support",
            "Thank you for calling Acme Support. Am I speaking with caller? How may I help you "
            "today?",
        ),
        (
            "2",
            "Acme Billing",
            "Welcome to Acme Billing, caller. I can help with invoices and payments.",
        ),
        (
            "3",
            "Acme Premium",
            "Good day caller, thank you for calling Acme Help Desk premium support.",
        ),
    ],
)
def test_pop_shows_company_brand_and_greeting(live, tab, brand, brand_label, greeting):
    """The brand is selected: company, brand and its greeting with the placeholders filled."""
    response = tab.open(pop_url(live, company="1", brand=brand))
    assert response.status == 200
    assert tab.text("#company") == "Company 1: Acme Help Desk"
    assert tab.text("#brand") == f"Brand {brand}: {brand_label}"
    assert tab.text("#greeting-text") == greeting
    assert re.fullmatch(r"\d+", tab.text("#pop-id"))
    assert tab.page.title().endswith(f"{brand_label} - SpiceCSM (mockspice)")


def test_pop_loads_the_one_account_matching_the_ani(live, tab, tmp_path):
    """ANI 5552010001 is asmith's "+1 555 201 0001": that account is loaded and greeted by name."""
    response = tab.open(pop_url(live, company="1", brand="1", ani="5552010001", callid="call-42"))
    assert response.status == 200
    assert tab.page.get_attribute("#match", "data-kind") == "account"
    accounts = tab.page.locator("#match .account")
    assert accounts.count() == 1
    assert accounts.first.get_attribute("data-userkey") == "asmith"
    assert tab.text("#match .account .userkey") == "asmith"
    contacts = tab.page.locator("#match .account .contact").all_inner_texts()
    assert contacts[0].startswith("Alice Smith") and "+1 555 201 0001" in contacts[0]
    assert tab.text("#greeting-text") == (
        "Thank you for calling Acme Support. Am I speaking with Alice Smith? "
        "How may I help you today?"
    )
    assert tab.text("#callid") == "call-42"
    assert tab.text("#ani") == "5552010001 (digits: 5552010001)"
    shot = tmp_path / "artifacts" / "pop-account-asmith.png"
    shot.parent.mkdir()
    tab.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_pop_lists_candidates_for_a_shared_ani(live, tab):
    """jdoe and jdoe2 share (555) 555-5555: both are offered, neither is loaded."""
    response = tab.open(pop_url(live, company="1", brand="1", ani="(555) 555-5555"))
    assert response.status == 200
    assert tab.page.get_attribute("#match", "data-kind") == "candidates"
    assert tab.text("#match h2") == "2 accounts match this caller"
    userkeys = tab.page.locator("#match .account .userkey").all_inner_texts()
    assert userkeys == ["jdoe", "jdoe2"]
    assert "Am I speaking with caller?" in tab.text("#greeting-text")


def test_pop_loads_the_case_with_every_response(live, tab):
    """caseid=6344 loads jdoe's case with both of its responses (7905 and 7906)."""
    response = tab.open(pop_url(live, company="1", brand="1", caseid="6344"))
    assert response.status == 200
    assert tab.page.get_attribute("#match", "data-kind") == "case"
    assert tab.text("#match h2 >> nth=0") == "Case 6344 loaded"
    assert tab.text("#case-id") == "6344"
    assert tab.text("#case-status") == "In Progress (2)"
    assert tab.page.locator("table.response").evaluate_all("tables => tables.map(t => t.id)") == [
        "response-7905",
        "response-7906",
    ]
    assert tab.page.locator("#response-7905").is_visible()
    assert "opened case for browsing" in tab.text("#response-7905")
    assert "In Progress" in tab.text("#response-7906")
    assert tab.text("#match .account .userkey") == "jdoe"
    assert "Am I speaking with John Doe?" in tab.text("#greeting-text")


def test_pop_says_no_account_matched(live, tab):
    """An ANI nobody has: "No account matched", with the ANI in the notice."""
    response = tab.open(pop_url(live, company="1", brand="1", ani="555-000-0000"))
    assert response.status == 200
    assert tab.page.get_attribute("#match", "data-kind") == "none"
    assert tab.text("#no-match") == "No account matched"
    assert tab.page.locator(".notice-text").all_inner_texts() == [
        "no account matched ANI '555-000-0000'"
    ]
    assert tab.page.locator("#match .account").count() == 0


def test_bad_company_shows_the_error_page(live, tab):
    """A malformed company: a 400 page naming the parameter and the value."""
    response = tab.open(pop_url(live, company="abc", brand="1"))
    assert response.status == 400
    assert tab.text("#error-code") == "bad-parameter"
    assert tab.text("#error-message") == "parameter 'company' must be a positive integer, not 'abc'"


def test_pop_is_served_with_a_content_security_policy(live, tab):
    """The pop page runs no script and says so in its CSP header (defence in depth)."""
    response = tab.open(pop_url(live, company="1", brand="1"))
    assert "default-src 'none'" in response.headers["content-security-policy"]


# --- script payloads in every parameter ---------------------------------------------------------

PAYLOADS = {
    "script": "<script>window.__xss=1</script>",
    "img-onerror": '"><img src=x onerror="window.__xss=1">',
    "javascript-url": "javascript:window.__xss=1",
    "svg-onload": "'><svg onload=window.__xss=1>",
    "close-title": "</title><script>window.__xss=1</script><title>",
}
# parameter -> (the other parameters, the status, where the payload must show as text or None)
TARGETS = {
    "company": ({"brand": "1"}, 400, "#error-message"),
    "brand": ({"company": "1"}, 400, "#error-message"),
    "callid": ({"company": "1", "brand": "1"}, 200, "#callid"),
    "ani": ({"company": "1", "brand": "1"}, 200, "#ani"),
    "caseid": ({"company": "1", "brand": "1"}, 200, "#caseid"),
    "format": ({"company": "1", "brand": "1"}, 200, None),
    "extra": ({"company": "1", "brand": "1"}, 200, None),
}


def assert_inert(tab: Tab) -> None:
    """Nothing a payload carried ran or became markup."""
    assert tab.dialogs == []
    assert tab.page.evaluate("typeof window.__xss") == "undefined"
    assert tab.page.evaluate(HANDLERS_JS) == []
    assert tab.page.locator(FOREIGN).count() == 0
    assert tab.page.locator('a[href^="javascript:" i]').count() == 0


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("param", TARGETS)
def test_payload_in_a_parameter_does_not_run(live, bare_tab, param, payload):
    """A script payload in any parameter is shown as text (where reflected) and never runs."""
    others, status, shown_in = TARGETS[param]
    response = bare_tab.open(pop_url(live, **others, **{param: payload}))
    assert response.status == status
    assert_inert(bare_tab)
    if shown_in:
        assert payload in bare_tab.page.locator(shown_in).text_content()
    if param == "caseid":
        assert bare_tab.page.locator(".notice-text").all_text_contents() == [
            f"case {payload!r} was not found in brand 1"
        ]


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_as_a_parameter_name_does_not_run(live, bare_tab, payload):
    """An unknown parameter whose name is the payload is ignored, and nothing runs."""
    response = bare_tab.open(pop_url(live, company="1", brand="1", **{payload: "1"}))
    assert response.status == 200
    assert_inert(bare_tab)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_in_every_parameter_at_once_does_not_run(live, bare_tab, payload):
    """All reflected parameters carry the payload in one pop; each shows it as text."""
    response = bare_tab.open(
        pop_url(
            live,
            company="1",
            brand="1",
            callid=payload,
            ani=payload,
            caseid=payload,
            format=payload,
            extra=payload,
        )
    )
    assert response.status == 200
    assert_inert(bare_tab)
    for selector in ("#callid", "#ani", "#caseid"):
        assert payload in bare_tab.page.locator(selector).text_content()
    assert "__xss" not in bare_tab.page.title()


def test_payload_detector_catches_a_real_injection(bare_tab):
    """The checks above can fail: markup that does run an injected handler is caught by each of
    them.
    """
    bare_tab.page.set_content(
        '<p>pop</p><img src="data:," onerror="window.__xss=1"><a href="javascript:void 0">x</a>',
        wait_until="load",
    )
    bare_tab.page.wait_for_function("window.__xss === 1", timeout=PAGE_TIMEOUT_MS)
    with pytest.raises(AssertionError):
        assert_inert(bare_tab)
    assert bare_tab.page.evaluate(HANDLERS_JS) != []
    assert bare_tab.page.locator('a[href^="javascript:" i]').count() == 1
