"""The pytest plugin (mockspice/testing.py), as a partner's suite meets it: each case writes a
test project and runs pytest on it in a child process (the plugin loads from its entry point,
as after ``pip install mockspice``), its servers real ``mockspice serve`` processes."""

from __future__ import annotations

import textwrap

import pytest

pytestmark = pytest.mark.slow


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=180)


def test_the_fixture_serves_pop_api_and_control_and_each_test_starts_clean(pytester):
    pytester.makepyfile(
        test_partner=textwrap.dedent("""
        import mockspice as package

        def test_health_and_pop(mockspice):
            assert mockspice.client.health()["status"] == "ok"
            assert mockspice.base_url == mockspice.url + "/spiceinstall"
            answer = mockspice.pop(ani="5552010001")
            assert answer["match"]["kind"] == "account"
            assert answer["match"]["accounts"][0]["userkey"] == "asmith"
            telephony = mockspice.base_url + "/integrations/telephony/"
            assert mockspice.pop_url(ani="1").startswith(telephony)

        def test_api_connects_once_and_appends_the_session(mockspice):
            first = mockspice.api("checkSession")
            assert mockspice.session
            mockspice.api("checkSession")
            assert len(mockspice.journal(kind="api", method="connect")) == 1

        def test_an_api_error_raises_rpc_error(mockspice):
            mockspice.agent = ("jdoe.agent", "wrong")
            try:
                mockspice.api("checkSession")
            except package.RpcError as exc:
                assert exc.code == -32003 and "login" in exc.message.lower()
            else:
                raise AssertionError("no RpcError")

        def test_a_write(mockspice):
            mockspice.stub("accountLoad", result={"stubbed": True})
            mockspice.set_webcalls(1, 1, search_url="http://127.0.0.1:9/search")
            mockspice.pop(ani="5550000000")

        def test_the_next_test_sees_none_of_it(mockspice):
            assert mockspice.client.stubs() == []
            assert mockspice.journal() == []
            assert mockspice.client.webcalls(1, 1)["search_url"] != "http://127.0.0.1:9/search"
    """)
    )
    result = run(pytester, "-v")
    result.assert_outcomes(passed=5)


def test_a_marker_gets_a_server_of_its_own_and_a_settings_fixture_overrides(pytester):
    pytester.makeconftest(
        textwrap.dedent("""
        import pytest

        @pytest.fixture
        def mockspice_settings():
            return {"edition": "community"}
    """)
    )
    pytester.makepyfile(
        test_settings=textwrap.dedent("""
        import pytest

        def test_the_fixture_setting(mockspice):
            assert mockspice.client.health()["edition"] == "community"

        @pytest.mark.mockspice(edition="enterprise", settings={"rpc_single_row_object": True})
        def test_the_marker_wins(mockspice):
            assert mockspice.client.health()["edition"] == "enterprise"
            assert mockspice.settings.rpc_single_row_object is True

        def test_back_on_the_first_server(mockspice):
            assert mockspice.client.health()["edition"] == "community"
    """)
    )
    run(pytester).assert_outcomes(passed=3)


def test_ini_and_command_line_options_set_the_session_defaults(pytester):
    pytester.makeini(
        "[pytest]\nmockspice_settings =\n    edition=community\n    journal_limit=50\n"
    )
    pytester.makepyfile(
        test_ini=textwrap.dedent("""
        def test_defaults(mockspice):
            assert mockspice.settings.edition == "community"
            assert mockspice.settings.journal_limit == 50
            assert mockspice.settings.rpc_single_row_object is True
    """)
    )
    run(pytester, "--mockspice-setting", "rpc_single_row_object=true").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    "setup, expected",
    [
        (
            {"ini": "[pytest]\nmockspice_settings =\n    colour=blue\n"},
            "mockspice: ini option mockspice_settings: unknown setting 'colour'",
        ),
        (
            {"ini": "[pytest]\nmockspice_settings =\n    journal_limit=lots\n"},
            "mockspice: ini option mockspice_settings: journal_limit must be a whole number, not "
            "'lots'",
        ),
        (
            {"args": ["--mockspice-setting", "port=8080"]},
            "mockspice: option --mockspice-setting: setting 'port' is chosen by the plugin",
        ),
        (
            {"args": ["--mockspice-fixtures", "missing.yaml"]},
            "mockspice: option --mockspice-fixtures:",
        ),
        (
            {"marker": "@pytest.mark.mockspice(colour='blue')"},
            "test_bad.py::test_it: @pytest.mark.mockspice: unknown key 'colour' (known: fixtures, "
            "edition, stubs, settings)",
        ),
        (
            {"marker": "@pytest.mark.mockspice(settings={'edition': 'gold'})"},
            "edition='gold' must be one of enterprise, community",
        ),
        ({"marker": "@pytest.mark.mockspice(fixtures='broken.yaml')"}, "broken.yaml"),
    ],
)
def test_bad_configuration_is_a_usage_error_naming_it(pytester, setup, expected):
    if "ini" in setup:
        pytester.makeini(setup["ini"])
    (pytester.path / "broken.yaml").write_text("companies: [\n  - id: 1\n", encoding="utf-8")
    marker = setup.get("marker", "")
    pytester.makepyfile(test_bad=f"import pytest\n\n{marker}\ndef test_it(mockspice):\n    pass\n")
    result = run(pytester, *setup.get("args", []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    text = result.stderr.str() + result.stdout.str()
    assert expected in text
    assert "Traceback" not in text


def test_a_test_that_kills_the_server_fails_and_the_next_gets_a_fresh_one(pytester):
    pytester.makepyfile(
        test_kill=textwrap.dedent("""
        import os, signal

        def test_kills_it(mockspice):
            os.kill(mockspice.server.proc.pid, signal.SIGKILL)
            mockspice.server.proc.wait()

        def test_next(mockspice):
            assert mockspice.client.health()["status"] == "ok"
    """)
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*the mockspice server was killed by signal 9*", "*The next test gets a fresh server.*"]
    )


def test_a_test_that_wedges_the_server_fails_and_the_next_gets_a_fresh_one(pytester):
    pytester.makepyfile(
        test_wedge=textwrap.dedent("""
        import os, signal

        def test_wedges_it(mockspice):
            os.kill(mockspice.server.proc.pid, signal.SIGSTOP)
            # and its workers: a stopped process group answers nothing
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open(f"/proc/{pid}/stat") as fh:
                            ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                    except OSError:
                        continue
                    if ppid == mockspice.server.proc.pid:
                        os.kill(int(pid), signal.SIGSTOP)

        def test_next(mockspice):
            assert mockspice.client.health()["status"] == "ok"
    """)
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*the mockspice server did not answer within 5 s after the test*"])


def test_an_error_inside_the_server_fails_the_test_with_its_traceback(pytester, monkeypatch):
    # The server's own code made to fail, for real: a sitecustomize on the server's path breaks
    # two domain functions (one behind an API method, one behind a control URL).
    site = pytester.mkdir("site")
    (site / "sitecustomize.py").write_text(
        textwrap.dedent("""
        import os
        if os.environ.get("BREAK_MOCKSPICE"):
            from mockspice.domain import sessions, state

            def broken(*args, **kwargs):
                raise ZeroDivisionError("broken on purpose by the test")

            sessions.portal_connect = broken
            state.export_state = broken
    """),
        encoding="utf-8",
    )
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("BREAK_MOCKSPICE", "1")
    pytester.makepyfile(
        test_errors=textwrap.dedent("""
        import mockspice as package
        import pytest

        def test_api_method_fails(mockspice):
            with pytest.raises(package.RpcError) as caught:
                mockspice.api("portalconnect", "asmith")
            assert caught.value.code == -32603

        def test_control_url_fails(mockspice):
            with pytest.raises(package.ControlError) as caught:
                mockspice.client.state()
            assert caught.value.status == 500 and caught.value.code == "internal-error"

        def test_provoked_on_purpose(mockspice):
            mockspice.fail_on_server_errors = False
            with pytest.raises(package.ControlError):
                mockspice.client.state()

        def test_the_next_test_is_clean(mockspice):
            assert mockspice.client.health()["status"] == "ok"
    """)
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_api_method_fails*",
            "*the mockspice server failed 1 time during this test:*",
            "*--- portalconnect: ZeroDivisionError: broken on purpose by the test*",
            "*Traceback (most recent call last):*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*--- GET /_mockspice/state: ZeroDivisionError: broken on purpose by the test*"]
    )


def test_assert_called_passes_and_fails_with_the_near_misses(pytester):
    pytester.makepyfile(
        test_verify=textwrap.dedent("""
        import pytest

        def test_passes(mockspice):
            mockspice.api("accountLoad", {"PrimaryPhone": "5554010001"})
            mockspice.assert_called("accountLoad", times=1)
            mockspice.assert_called("accountLoad", params_match=[{"PrimaryPhone": "5554010001"}])
            mockspice.assert_not_called("caseLoad")

        def test_fails(mockspice):
            mockspice.api("accountLoad", {"PrimaryPhone": "5554010001"})
            with pytest.raises(AssertionError) as caught:
                phone = {"PrimaryPhone": "5559999999"}
                mockspice.assert_called("accountLoad", params_match=[phone])
            text = str(caught.value)
            assert "expected API call accountLoad at least once" in text
            assert "it was made 0 times" in text
            assert "nearest entries:" in text
            assert "params_match: expected" in text and "5554010001" in text
    """)
    )
    run(pytester).assert_outcomes(passed=2)


def test_the_in_process_app_leaves_nothing_on_disk(pytester):
    pytester.makepyfile(
        test_app=textwrap.dedent("""
        import glob, tempfile, os

        def test_unit(mockspice_client, mockspice_app):
            assert mockspice_client.get("/_mockspice/health").json["status"] == "ok"
            assert mockspice_app.extensions["mockspice"].store.path.exists()

        def test_create_app_alone_cleans_up():
            from mockspice.app import create_app
            before = set(glob.glob(os.path.join(tempfile.gettempdir(), "mockspice-*")))
            app = create_app()
            assert app.test_client().get("/_mockspice/health").status_code == 200
            folder = app.extensions["mockspice"].prepared.temp_dir
            assert folder.exists()
            del app
            import gc; gc.collect()
            assert not folder.exists()
    """)
    )
    run(pytester).assert_outcomes(passed=2)


def test_under_xdist_each_worker_has_its_own_server(pytester):
    pytester.makepyfile(
        test_xdist=textwrap.dedent("""
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_isolated(mockspice, n):
            assert mockspice.journal() == []
            mockspice.pop(ani=f"555000000{n}")
            assert len(mockspice.journal(kind="pop")) == 1
    """)
    )
    run(pytester, "-n", "2").assert_outcomes(passed=6)


def test_assert_exchange_ok_passes_a_good_reply_and_fails_a_bad_one_with_its_findings(pytester):
    pytester.makepyfile(
        test_exchange=textwrap.dedent("""
        import threading

        import pytest
        from werkzeug.serving import make_server
        from werkzeug.wrappers import Response

        import mockspice as package

        GOOD = (
            '<users><user status="Active" userkey="k1" name="Kim" '
            'email="k@example.com"/></users>'
        )
        BAD = '<users>\\n<user status="Active" name="Kim"/>\\n</users>'


        @pytest.fixture
        def receiver():
            replies = {"body": GOOD}
            server = make_server("127.0.0.1", 0, lambda env, start: Response(
                replies["body"], content_type="text/xml")(env, start), threaded=True)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            yield f"http://127.0.0.1:{server.server_port}/search", replies
            server.shutdown()

        def test_good_then_bad(mockspice, receiver):
            url, replies = receiver
            mockspice.set_webcalls(1, 1, search_url=url)
            good = mockspice.fire("search", PrimaryPhone="5551230000")
            mockspice.assert_exchange_ok(good)
            package.assert_exchange_ok(good)
            replies["body"] = BAD
            bad = mockspice.fire("search", PrimaryPhone="5551230000")
            for check in (mockspice.assert_exchange_ok, package.assert_exchange_ok):
                with pytest.raises(AssertionError) as caught:
                    check(bad)
                text = str(caught.value)
                assert f"web call search to {url}" in text, text
                assert "outcome invalid, HTTP 200" in text, text
                assert "userkey" in text and "line 2" in text, text
                assert '>    2 | <user status="Active" name="Kim"/>' in text, text
    """)
    )
    run(pytester).assert_outcomes(passed=1)
