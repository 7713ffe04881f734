"""The documents' own ``mockspice call`` examples work as written, against the reference
partner they name (``mockspice partner`` on port 9000, here a free port)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from partner_servers import serving

from mockspice.partner import create_partner_app

DOCS = Path(__file__).resolve().parents[1] / "docs"
ACCOUNT = "userkey: jdoe\nstatus: Active\ncontacts:\n- {firstname: John, lastname: Doe}\n"
TICKET = "cid: '1'\nid: '1'\ntier: '1'\ndate: 2006-01-27 13:27:51\nstatus: '2'\nissue: Billing\n"


def _examples() -> list[tuple[str, str]]:
    found = []
    for name in ("webcalls.md", "partner-guide.md"):
        text = (DOCS / name).read_text(encoding="utf-8").replace("\\\n", " ")
        for line in text.splitlines():
            if line.startswith("mockspice call "):
                found.append((name, line))
    return found


def test_the_documents_have_call_examples():
    assert len(_examples()) >= 8


@pytest.mark.parametrize(("document", "line"), _examples())
def test_a_documented_call_works_as_written(tmp_path, document, line):
    (tmp_path / "account.yaml").write_text(ACCOUNT, encoding="utf-8")
    (tmp_path / "ticket.yaml").write_text(TICKET, encoding="utf-8")
    with serving(create_partner_app()) as base:
        command = re.sub(r"http://127\.0\.0\.1:9000", base, line)
        argv = shlex.split(command)[1:]
        done = subprocess.run(
            [sys.executable, "-m", "mockspice", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert done.returncode == 0, f"{document}: {line}\n{done.stdout}\n{done.stderr}"
    assert "outcome: ok" in done.stdout
