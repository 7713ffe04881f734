"""Settings: defaults < YAML file < environment < CLI flags, and one-line errors."""

from __future__ import annotations

import pytest

from mockspice.settings import Settings, SettingsError


def test_defaults():
    s = Settings.load(environ={})
    assert (s.host, s.port, s.base_path, s.edition, s.workers, s.journal_limit) == (
        "127.0.0.1",
        8080,
        "/spiceinstall",
        "enterprise",
        2,
        10000,
    )
    assert s.db == "" and s.fixtures == "" and s.control_token == ""


def test_layers_in_order(tmp_path):
    config = tmp_path / "mock.yaml"
    config.write_text("port: 9000\nedition: community\nlog_level: debug\nworkers: 3\n")
    s = Settings.load(
        config,
        environ={"MOCKSPICE_PORT": "9100", "MOCKSPICE_WORKERS": "4"},
        overrides={"port": 9200, "host": None},
    )
    # CLI beats env beats file beats default; None means "flag not given".
    assert (s.port, s.workers, s.edition, s.log_level, s.host) == (
        9200,
        4,
        "community",
        "debug",
        "127.0.0.1",
    )


def test_config_file_from_environment(tmp_path):
    config = tmp_path / "mock.yaml"
    config.write_text("journal_limit: 5\n")
    assert Settings.load(environ={"MOCKSPICE_CONFIG": str(config)}).journal_limit == 5


def test_token_masked_in_dict():
    assert Settings(control_token="secret").as_dict()["control_token"] == "***"


@pytest.mark.parametrize(
    "file_text, environ, overrides, message",
    [
        (
            "",
            {"MOCKSPICE_PORT": "eighty"},
            {},
            "environment variable MOCKSPICE_PORT: port must be a whole number, not 'eighty'",
        ),
        (
            "",
            {"MOCKSPICE_PORT": "70000"},
            {},
            "MOCKSPICE_PORT: port=70000 must be between 0 and 65535",
        ),
        (
            "",
            {},
            {"edition": "gold"},
            "option --edition: edition='gold' must be one of enterprise, community",
        ),
        ("", {}, {"workers": 0}, "option --workers: workers=0 must be between 1 and 64"),
        ("", {}, {"journal_limit": 0}, "journal_limit=0 must be 1 or more"),
        ("", {}, {"base_path": "spice/"}, "base_path='spice/' must start with '/'"),
        ("", {}, {"log_level": "loud"}, "must be one of debug, info, warning, error"),
        ("colour: blue\n", {}, {}, "unknown setting 'colour'"),
        ("port: [1, 2]\n", {}, {}, "port must be a whole number, not [1, 2]"),
        ("port: true\n", {}, {}, "port must be a whole number, not True"),
        ("host: {a: 1}\n", {}, {}, "host must be text"),
        ("- port\n", {}, {}, "must be a mapping of setting names to values"),
        ("port: [\n", {}, {}, "line 2"),
    ],
)
def test_bad_settings_name_the_key(tmp_path, file_text, environ, overrides, message):
    config = tmp_path / "mock.yaml"
    config.write_text(file_text)
    with pytest.raises(SettingsError) as info:
        Settings.load(config, environ=environ, overrides=overrides)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_config_file(tmp_path):
    with pytest.raises(
        SettingsError, match=r"config file .*missing.yaml: cannot read it \(No such file"
    ):
        Settings.load(tmp_path / "missing.yaml", environ={})


def test_empty_base_path_serves_from_root():
    assert Settings.load(environ={"MOCKSPICE_BASE_PATH": ""}).base_path == ""
