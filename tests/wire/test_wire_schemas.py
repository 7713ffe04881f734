"""Tests of mockspice/wire/schemas.py and the XSDs: lazy compilation, and agreement with
documents.py.
"""

import subprocess
import sys

import pytest
from lxml import etree

from mockspice.resources import SCHEMAS_DIR
from mockspice.wire.documents import ATTRIBUTES, CHILDREN
from mockspice.wire.schemas import KINDS

XS = "{http://www.w3.org/2001/XMLSchema}"


def test_nothing_is_compiled_or_imported_at_import_time():
    code = (
        "import sys, mockspice, mockspice.wire.validate, mockspice.wire.schemas as s;"
        "print(s.lxml_schema.cache_info().currsize, s.xmlschema_schema.cache_info().currsize,"
        " 'xmlschema' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "0", "False"]


def test_mockspice_validate_is_the_wire_validator():
    import mockspice
    from mockspice.wire.validate import validate

    assert mockspice.validate is validate
    with pytest.raises(AttributeError):
        mockspice.no_such_name  # noqa: B018


@pytest.mark.parametrize("filename", sorted({xsd for xsd, _ in KINDS.values()}))
def test_schema_attributes_and_children_match_the_documented_structure(filename):
    schema = etree.parse(str(SCHEMAS_DIR / filename))
    root = schema.find(f"{XS}element").get("name")
    types = {t.get("name"): t for t in schema.iter(f"{XS}complexType") if t.get("name")}
    for element in schema.iter(f"{XS}element"):
        name, kind = element.get("name"), element.get("type")
        attributes = (
            tuple(a.get("name") for a in types[kind].iter(f"{XS}attribute"))
            if kind in types
            else ()
        )
        if attributes:
            assert attributes == ATTRIBUTES[root][name]
        children = tuple(
            e.get("name") for e in element.iterfind(f"{XS}complexType/{XS}sequence/{XS}element")
        )
        children += tuple(
            e.get("name") for e in types.get(kind, element).iterfind(f"{XS}sequence/{XS}element")
        )
        if children:
            assert children == CHILDREN[name]
