"""``pip install .`` (not editable): the installed command finds its templates, schemas and demo."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig

import pytest
from liveserver import POP, ROOT, LiveServer


@pytest.mark.slow
def test_installed_package_serves_from_another_folder(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    installed = target / "mockspice"
    assert (installed / "data" / "demo.yaml").is_file()
    assert (installed / "surfaces" / "templates" / "telephonypop.html").is_file()
    # The installed copy first, this environment's dependencies after it; run from elsewhere.
    path = os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])
    server = LiveServer(env={"PYTHONPATH": path}, cwd=tmp_path)
    try:
        page = server.get(POP + "?company=1&brand=1&ani=5552010001")
        assert page.status_code == 200 and 'data-userkey="asmith"' in page.text
        origin = subprocess.run(
            [sys.executable, "-c", "import mockspice; print(mockspice.__file__)"],
            env={**os.environ, "PYTHONPATH": path},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert origin.startswith(str(installed))
    finally:
        assert server.stop() == 0
