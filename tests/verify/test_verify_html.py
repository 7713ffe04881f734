"""The HTML report of ``mockspice verify`` in a real browser (headless Chromium): one file that
fetches nothing, pass and fail in colour, each finding at its line of the reply."""

from __future__ import annotations

import pytest
from broken_partners import Broken, body, target
from partner_servers import serving

from mockspice.verify import catalog, reports
from mockspice.verify.runner import run

pytestmark = pytest.mark.browser

RED, GREEN = "rgb(198, 40, 40)", "rgb(46, 125, 50)"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report of a partner whose load reply has typographic quotes on its user line."""
    broken = Broken(
        "/load", body(lambda b: b.replace(b'status="Active"', "status=“Active”".encode()))
    )
    with serving(broken) as base:
        finished = run(target(base), catalog.select(["search.", "load.found-accounts"]))
    path = tmp_path_factory.mktemp("report") / "verify.html"
    path.write_text(reports.html_report(finished), encoding="utf-8")
    return path, finished


def test_the_report_fetches_nothing_and_colours_each_case(browser, report):
    path, finished = report
    page = browser.new_page()
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(path.as_uri())
    assert fetched == [path.as_uri()]
    assert page.inner_text("#summary") == reports.summary(finished)
    failed = page.locator("details.failed")
    assert failed.count() == 1 and failed.get_attribute("open") == ""
    colour = "e => getComputedStyle(e).color"
    assert failed.locator(".mark").evaluate(colour) == RED
    assert page.locator("details.passed .mark").first.evaluate(colour) == GREEN
    page.close()


def test_a_finding_is_shown_under_its_line_with_the_request_and_the_command(browser, report):
    path, finished = report
    [result] = [r for r in finished.results if r.status == "failed"]
    exchange = result.exchanges[result.problems[0].exchange]
    [finding] = [f for f in exchange.findings if f.code == "typographic-quote"][:1]
    page = browser.new_page()
    page.goto(path.as_uri())
    case = page.locator("details.failed")
    hit = case.locator("tr.hit").first  # one load of each account, each with the finding
    assert hit.locator("td.n").inner_text() == str(finding.line)
    assert "“Active”" in hit.locator("td").nth(1).inner_text()
    note = case.locator("tr.hit + tr.note").first
    assert f"error typographic-quote: {finding.message}" in note.inner_text()
    assert "intPass=********" in case.inner_text() and "secret" not in case.inner_text()
    assert reports.reproduce(finished, result) in case.inner_text()
    page.close()
