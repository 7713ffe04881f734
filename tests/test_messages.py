"""Messages a partner understands: each entry point's answer to a bad input, pinned whole.

Tried as a new user would (issue "Messages a partner understands"); none may carry Python's
internals: an exception's text, a raw regular expression, a traceback, a repr of a type.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from mockspice.partner.app import PartnerDataError, partner_accounts
from mockspice.store.dataset import DatasetError, load_file
from mockspice.wire.validate import validate

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
INTERNALS = re.compile(
    r"invalid literal for|could not convert|doesn't match any pattern|Traceback|NoneType"
    r"|object has no attribute|Error\(|<class |\[0-9\]|\(\?|\\d"
)


def _clean(message: str) -> str:
    assert not INTERNALS.search(message), message
    return message


def _finding(kind: str, body: str) -> str:
    [finding] = [f for f in validate(kind, body.encode()) if f.severity == "error"]
    return _clean(finding.message)


LOAD = (
    '<?xml version="1.0"?><userdata><user userkey="j" password="" status="Active" account=""/>'
    "<contacts/><fielddata>{}</fielddata></userdata>"
)
TICKET = (
    '<?xml version="1.0"?><tickets><ticket cid="1" id="1" tier="{tier}" date="{date}" '
    'status="Open" sid="1" issue="x" agent="a" /></tickets>'
)


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        (
            "load",
            LOAD.format('<field id="abc" value="x"/>'),
            "attribute 'id' of <field> has the invalid value 'abc': it must be a whole number, "
            "0 or more",
        ),
        (
            "case",
            TICKET.format(tier="1", date="2006-01-27"),
            "attribute 'date' of <ticket> has the invalid value '2006-01-27': it must be the "
            'page\'s date format, as in "1/27/06 1:27:51 PM": month/day/2-digit year, 12-hour '
            "clock; or empty.",
        ),
        (
            "case",
            TICKET.format(tier="high", date=""),
            "attribute 'tier' of <ticket> has the invalid value 'high': it must be a tier or "
            "status id: digits, or empty when the case has none.",
        ),
    ],
)
def test_validator_findings(kind, body, message):
    assert _finding(kind, body) == message


def _dataset_error(tmp_path, text: str) -> str:
    path = tmp_path / "data.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_file(path)
    return _clean(str(caught.value)).replace(str(path), "data.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "format: mockspice-dataset/1\ncompanies:\n- id: 1\n  label: A\n  brands: [{id: 1, "
            "label: B}]\n  accounts:\n  - {brand: 1}\n",
            "data.yaml line 7: companies[0].accounts[0]: an account needs the key 'userkey'",
        ),
        (
            "format: mockspice-dataset/1\ncompanies: [1, 2\n",
            "data.yaml line 3: not valid YAML, column 1: did not find expected ',' or ']'",
        ),
    ],
)
def test_dataset_messages(tmp_path, text, message):
    assert _dataset_error(tmp_path, text) == message


def test_the_partner_data_file_names_line_and_column(tmp_path):
    path = tmp_path / "crm.yaml"
    path.write_text("companies: [{accounts: [\n", encoding="utf-8")
    with pytest.raises(PartnerDataError) as caught:
        partner_accounts(path)
    assert _clean(str(caught.value)) == (
        f"{path} line 2, column 1: not YAML or JSON: expected the node content, but found "
        "'<stream end>'"
    )


def test_mockspice_call_names_line_and_column_of_a_bad_account_file(tmp_path):
    path = tmp_path / "account.yaml"
    path.write_text("userkey: jdoe\ncontacts: [\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mockspice",
            "call",
            "update",
            "--url",
            "http://127.0.0.1:9/u",
            "--account-file",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert _clean(done.stderr) == (
        f"mockspice: error: {path} line 3, column 1: not YAML or JSON: "
        "expected the node content, but found '<stream end>'\n"
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            {"method": "accountLoad", "params": [{"LastName": "Doe", "brand": "1.5"}]},
            "'brand' must be an id (a whole number from 1 to 2147483647), not '1.5'",
        ),
        (
            {"method": "scriptLoad", "params": [{"brandid": [1]}]},
            "scriptLoad: 'brandid' must be an id (a whole number from 1 to 2147483647), "
            "not an array",
        ),
        (
            {"method": "create", "params": [[{"type": "account", "brand": 1}]]},
            "record 0 (account): an account record needs 'userkey'; nothing was written",
        ),
    ],
)
def test_api_messages(client, call, message):
    session = client.post(
        API, json={"jsonrpc": "2.0", "method": "connect", "params": ["admin", "admin"], "id": 1}
    ).get_json()["result"]["session"]
    reply = client.post(
        API,
        json={"jsonrpc": "2.0", **call, "params": [*call["params"], session], "id": 2},
    ).get_json()
    assert reply["error"]["code"] == -32602
    assert _clean(reply["error"]["message"]) == message


def test_json_posted_as_a_form_is_told_the_content_type(client):
    reply = client.post(
        API,
        data=b'{"jsonrpc": "2.0", "method": "connect", "params": ["admin", "admin"], "id": 1}',
        content_type="application/x-www-form-urlencoded",
    ).get_json()
    # The envelope's version cannot be read from a body that is not parsed: 1.0's, the message.
    assert reply["result"] is None and reply["id"] is None
    assert _clean(reply["error"]).startswith(
        "Parse error: the body is JSON but its Content-Type is a form's "
        "(application/x-www-form-urlencoded): send JSON with Content-Type: application/json"
    )
