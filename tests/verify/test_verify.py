"""``mockspice verify`` against real partners on loopback ports: the reference partner passes
every case; each deliberately broken one fails the case that checks what it breaks, with the
finding's code, and no case fails for another reason."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from broken_partners import (
    PASS,
    USER,
    Broken,
    _always_jdoe,
    _any_password,
    answer,
    body,
    forward,
    partner,
    target,
)
from partner_servers import MiB, RawPartner, drip, huge, search_reply, serving
from werkzeug.wrappers import Response

from mockspice.verify import catalog, command, reports
from mockspice.verify.runner import Target, run


def _outcomes(finished) -> dict[str, tuple[str, set[str]]]:
    return {r.name: (r.status, {p.code for p in r.problems}) for r in finished.results}


def test_the_reference_partner_passes_every_case():
    with serving(partner()) as base:
        finished = run(target(base), catalog.CASES)
    assert [(r.name, r.status, r.problems) for r in finished.results if r.status != "passed"] == []
    assert len(finished.results) == len(catalog.CASES) and finished.passed


def _not_persisting(request, app):
    return Response("<ack>updated</ack>", 200, content_type="text/xml")  # and keeps nothing


def _slow(request, app):
    time.sleep(0.3)
    return forward(request, app)


BROKEN = [
    # (name, partner, the case that must fail or warn, its code, fail or warn)
    (
        "typographic quotes",
        Broken("/load", body(lambda b: b.replace(b'status="Active"', "status=“Active”".encode()))),
        "load.found-accounts",
        "typographic-quote",
        "failed",
    ),
    (
        "no userkey",
        Broken("/search", body(lambda b: b.replace(b' userkey="jdoe"', b""))),
        "search.userkey",
        "missing-attribute",
        "failed",
    ),
    (
        "+ unencoded",
        Broken("/search", body(lambda b: b.replace(b"John%20Doe", b"John+Doe"))),
        "search.userkey",
        "plus-in-value",
        "warned",
    ),
    (
        "HTML 500 on update",
        Broken("/update", answer(500, b"<html><body>Fatal error</body></html>")),
        "update.same-data",
        "http-status",
        "failed",
    ),
    (
        "a PHP error page with 200 on case",
        Broken("/case", answer(200, b"<html><b>Warning</b>: mysql_query()</html>")),
        "case.update",
        "html-reply",
        "warned",
    ),
    (
        "update not persisted",
        Broken("/update", _not_persisting),
        "update.changed-field",
        "not-persisted",
        "failed",
    ),
    (
        "load ignoring the userkey",
        Broken("/load", _always_jdoe),
        "load.unknown-userkey",
        "userkey-mismatch",
        "failed",
    ),
    (
        "accepts any password",
        Broken("*", _any_password),
        "auth.wrong-password",
        "accepts-bad-credentials",
        "warned",
    ),
    (
        "empty reply",
        Broken("/search", answer(200, b"", "text/xml")),
        "search.lastname",
        "empty-body",
        "failed",
    ),
    (
        "wrong root",
        Broken("/search", body(lambda b: b.replace(b"users>", b"userdata>"))),
        "search.lastname",
        "wrong-root",
        "failed",
    ),
]


@pytest.mark.parametrize(
    ("partner", "case", "code", "verdict"),
    [pytest.param(*b[1:], id=b[0]) for b in BROKEN],
)
def test_a_broken_partner_fails_the_case_that_checks_it(partner, case, code, verdict):
    with serving(partner) as base:
        finished = run(target(base), catalog.CASES)
    outcomes = _outcomes(finished)
    status, codes = outcomes[case]
    if verdict == "failed":
        assert status == "failed" and code in codes, outcomes[case]
    else:
        assert status == "passed" and code in codes, outcomes[case]
    # Nothing fails for another reason: every failure is this code, or a case skipped for want
    # of an account the broken receiver did not give.
    others = {n: c for n, (s, c) in outcomes.items() if s == "failed" and code not in c}
    assert others == {}


def test_a_slow_partner_warns_over_the_budget_and_fails_past_the_timeout():
    with serving(Broken("/search", _slow)) as base:
        slow = run(target(base, budget_ms=100), catalog.select(["search.lastname"]))
        late = run(target(base, timeout_s=0.1), catalog.select(["search.lastname"]))
    [warned] = slow.results
    assert warned.status == "passed" and [p.code for p in warned.warnings] == ["slow"]
    [failed] = late.results
    assert failed.status == "failed" and [p.code for p in failed.failures] == ["timeout"]


def test_cases_of_a_receiver_not_given_are_skipped_and_say_so():
    with serving(partner()) as base:
        finished = run(Target({"search": f"{base}/search"}, USER, PASS), catalog.CASES)
    skipped = {r.name: r.skipped_because for r in finished.results if r.status == "skipped"}
    assert skipped["update.same-data"] == "no --update-url given"
    assert skipped["case.update"] == "no --case-url given"
    assert skipped["load.unknown-userkey"] == "no --load-url given"
    assert all(r.status == "passed" for r in finished.results if r.name.startswith("search."))


def _verify(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mockspice", "verify", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )


def test_the_command_writes_junit_json_and_a_github_summary(tmp_path):
    summary = tmp_path / "summary.md"
    with serving(Broken("/update", answer(500, b"<html>down</html>"))) as base:
        done = _verify(
            "--search-url",
            f"{base}/search",
            "--load-url",
            f"{base}/load",
            "--update-url",
            f"{base}/update",
            "--int-user",
            USER,
            "--int-pass",
            PASS,
            "--junit",
            str(tmp_path / "v.xml"),
            "--json",
            str(tmp_path / "v.json"),
            "--github-summary",
            env={"GITHUB_STEP_SUMMARY": str(summary)},
        )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert "FAIL update.same-data" in done.stdout and lines[-1].endswith(" s")
    data = json.loads((tmp_path / "v.json").read_text())
    counts = data["summary"]
    assert lines[-1].startswith(
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped, "
    )
    assert counts["failed"] == 2 and counts["skipped"] == 1  # update twice; no --case-url
    assert data["format"] == "mockspice-verify/1"
    by_name = {c["name"]: c for c in data["cases"]}
    assert by_name["update.same-data"]["status"] == "failed"
    assert by_name["case.update"]["status"] == "skipped"
    assert "UserKey" not in data["coverage"]["variables_sent"]
    assert "LastName" in data["coverage"]["variables_sent"]
    from junitparser import JUnitXml

    suite = next(iter(JUnitXml.fromfile(str(tmp_path / "v.xml"))))
    assert suite.tests == len(catalog.all_cases()) and suite.failures >= 1
    failed = [case for case in suite if case.result and case.result[0]._tag == "failure"]
    assert "update.same-data" in {case.name for case in failed}
    assert "| `update.same-data` | FAIL |" in summary.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give the partner's receivers: at least one of --search-url"),
        (("--search-url", "ftp://x/search"), "--search-url must be an http or https URL"),
        (("--search-url", "http://127.0.0.1:9/search"), "cannot reach the partner"),
        (
            ("--search-url", "http://127.0.0.1:{port}/s", "--case", "nope"),
            "no case is named 'nope'",
        ),
        (
            ("--search-url", "http://127.0.0.1:{port}/s", "--junit", "/nonexistent/v.xml"),
            "--junit /nonexistent/v.xml: the folder /nonexistent does not exist",
        ),
        (
            ("--search-url", "http://127.0.0.1:{port}/s", "--timeout", "soon"),
            "--timeout: timeout must be a number, not 'soon'",
        ),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args, message):
    with serving(partner()) as base:
        port = base.rsplit(":", 1)[1]
        done = _verify(*(a.replace("{port}", port) for a in args))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("mockspice: error: ")
    assert message in done.stderr


def test_options_come_from_a_file_and_the_environment(tmp_path):
    config = tmp_path / "verify.yaml"
    config.write_text("search_url: http://a/search\ncase: [search.]\nbudget_ms: 50\n")
    options = command.load_options(
        str(config), {"budget_ms": None}, {"MOCKSPICE_VERIFY_INT_USER": "u"}
    )
    assert (options.search_url, options.case, options.budget_ms) == (
        "http://a/search",
        ["search."],
        50.0,
    )
    assert options.int_user == "u"
    flagged = command.load_options(str(config), {"budget_ms": "75"}, {})
    assert flagged.budget_ms == 75.0


def test_the_summary_line_names_the_first_problem():
    with serving(Broken("/search", answer(200, b"", "text/xml"))) as base:
        finished = run(target(base), catalog.select(["search.lastname"]))
    assert reports.summary_line(finished.results[0]).startswith("FAIL search.lastname [")
    assert "empty-body: search by LastName: " in reports.summary_line(finished.results[0])


def test_the_docs_name_every_case():
    text = (Path(__file__).resolve().parents[2] / "docs" / "verify.md").read_text()
    # The 19 searches by one variable are one row, named by their first and last.
    missing = [n for n in catalog.NAMES if not _a_search_variable(n) and f"`{n}`" not in text]
    assert missing == []
    assert "`search.userkey` ... `search.custfields`" in text


def _a_search_variable(name: str) -> bool:
    from mockspice.wire.documents import SEARCH_VARIABLES

    return name in {f"search.{v.lower()}" for v, _ in SEARCH_VARIABLES}


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        (drip(search_reply('<user userkey="j" />'), every_s=0.2), "timeout"),
        (huge(50 * MiB), "reply-too-large"),
    ],
    ids=["drips", "50 MiB"],
)
def test_a_hostile_partner_cannot_stall_the_run(behaviour, code):
    with RawPartner(behaviour) as partner:
        target = Target({"search": partner.url}, timeout_s=1.0)
        started = time.monotonic()
        finished = run(target, catalog.select(["search.lastname", "search.firstname"]))
    assert time.monotonic() - started < 2 * 1.0 + 3  # two calls, each cut at its timeout
    assert [(r.status, [p.code for p in r.failures]) for r in finished.results] == [
        ("failed", [code]),
        ("failed", [code]),
    ]


def test_generated_cases_pass_on_the_reference_partner_and_say_their_seed():
    with serving(partner()) as base:
        finished = run(
            target(base, generated=30, seed=7), catalog.select(["generated."], count=30, seed=7)
        )
    assert [(r.name, r.status, r.problems) for r in finished.results] == [
        ("generated.search", "passed", []),
        ("generated.load", "passed", []),
    ]


def _breaks_on_a_last_name(request, app):
    # A partner whose search reply breaks (a value not closed) whenever LastName is sent.
    response = forward(request, app)
    if "LastName" in request.form:
        return Response(b'<users><user userkey="x" name="a,b></users>', 200)
    return response


def test_a_generated_failure_is_shrunk_and_can_be_run_again():
    with serving(Broken("/search", _breaks_on_a_last_name)) as base:
        cases = catalog.select(["generated.search"], count=200, seed=11)
        [result] = run(target(base, generated=200, seed=11), cases).results
        assert result.status == "failed"
        [problem] = result.failures
        assert problem.code == "not-well-formed"
        # Shrunk: the smallest failing search is LastName alone, with the simplest text.
        assert problem.message.startswith("a search by LastName='0' (the smallest of 200 drawn")
        assert "seed 11" in problem.message
        assert len(result.exchanges) == 1  # the shrunk one, not the hundreds drawn
        again = reports.reproduce_for(target(base, generated=200, seed=11), result)
        assert again.endswith("--generated 200 --seed 11 --case generated.search")
        rerun = _verify(*again.split()[2:], "--int-pass", PASS)
    assert rerun.returncode == 1 and "FAIL generated.search" in rerun.stdout
    assert "a search by LastName='0'" in rerun.stdout


def _junit_schema():
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(Path(__file__).parent / "data" / "junit.xsd")))


def test_the_junit_report_fits_the_structure_ci_servers_read(tmp_path):
    from lxml import etree

    with serving(Broken("/update", answer(500, b"<html>down & out <b>now</b></html>"))) as base:
        finished = run(target(base, generated=5, seed=3), catalog.select(count=5, seed=3))
    document = etree.fromstring(reports.junit(finished).encode())
    schema = _junit_schema()
    assert schema.validate(document), schema.error_log
    statuses = {r.status for r in finished.results}
    assert statuses == {"passed", "failed"}  # both shapes of <testcase> are in the document
    assert document.find("testsuite/testcase/failure") is not None


def test_the_junit_schema_refuses_what_ci_servers_refuse():
    from lxml import etree

    schema = _junit_schema()
    bad = [
        b'<testsuites><testsuite tests="1"><testcase name="a"/></testsuite></testsuites>',
        b'<testsuites><testsuite name="s" tests="x"><testcase name="a"/></testsuite></testsuites>',
        b'<testsuites><testsuite name="s" tests="1"><testcase/></testsuite></testsuites>',
        b'<testsuites><testsuite name="s" tests="1"><testcase name="a">'
        b"<system-out/><failure/></testcase></testsuite></testsuites>",
    ]
    assert [schema.validate(etree.fromstring(doc)) for doc in bad] == [False] * 4


def test_a_progress_bar_on_a_terminal_and_none_in_a_pipe():
    import os
    import pty

    with serving(partner()) as base:
        args = [
            sys.executable,
            "-m",
            "mockspice",
            "verify",
            "--search-url",
            f"{base}/search",
            "--case",
            "search.",
            "--generated",
            "0",
            "--int-user",
            USER,
            "--int-pass",
            PASS,
        ]
        leader, follower = pty.openpty()
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=follower, timeout=120)
        os.close(follower)
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            terminal += chunk
        os.close(leader)
        piped = _verify(*args[4:])
    assert done.returncode == 0 and piped.returncode == 0
    assert b"\r[" in terminal and b"] 22/22 " in terminal  # the bar, on the terminal only
    assert "[" not in piped.stderr

    # The lines a case are the same either way (their times aside).
    def marks(text):
        return [line.split(" [")[0] for line in text.splitlines()[:22]]

    assert marks(done.stdout.decode()) == marks(piped.stdout) and len(marks(piped.stdout)) == 22
