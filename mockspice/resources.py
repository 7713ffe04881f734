"""Paths of the files shipped inside the package (demo dataset, XSD schemas).

The top-level ``fixtures/demo.yaml`` and ``schemas/`` of the source tree are links to these
files, so a source checkout and an installed wheel read the same bytes.
"""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_DATASET = DATA_DIR / "demo.yaml"
SCHEMAS_DIR = DATA_DIR / "schemas"
