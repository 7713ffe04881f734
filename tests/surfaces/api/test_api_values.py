"""One rule for ids and text across the API's methods (docs/api.md, "Values")."""

import pytest
from spiceclients import Rpc20

# Three methods, three modules that read a brand id: the account search, the brand's script
# (the directory) and the case counts (the undocumented methods).
BRAND_READERS = [
    ("accountLoad", lambda brand: {"LastName": "Doe", "brand": brand}),
    ("scriptLoad", lambda brand: {"brandid": brand}),
    ("caseAggregate", lambda brand: {"brandid": brand}),
]


@pytest.fixture
def api(client):
    return Rpc20.on(client, login="admin")


@pytest.mark.parametrize(("method", "obj"), BRAND_READERS)
@pytest.mark.parametrize("brand", [1, "1", " 1 ", "0000000001"])
def test_every_method_reads_an_id_alike(api, method, obj, brand):
    assert api.result(method, obj(brand)) == api.result(method, obj(1))


@pytest.mark.parametrize(("method", "obj"), BRAND_READERS)
@pytest.mark.parametrize(
    ("brand", "shown"), [(1.5, "1.5"), ("1.5", "'1.5'"), (True, "a boolean"), ("x1", "'x1'")]
)
def test_every_method_refuses_a_non_id_alike(api, method, obj, brand, shown):
    error = api.error(method, obj(brand))
    assert error["code"] == -32602
    assert error["message"].endswith(
        "must be an id (a whole number from 1 to 2147483647), not " + shown
    )


def test_a_number_is_text_where_text_is_asked(api):
    # PHP's clients send a number where text is expected; it is taken as PHP prints it.
    [row] = api.result("accountLoad", {"Userkey": "jdoe"})
    created = api.result(
        "update", [{"type": "contact", "userkey": "jdoe", "position": 0, "pc": 12345}]
    )
    assert created["records"][0]["type"] == "contact"
    [again] = api.result("accountLoad", {"Userkey": "jdoe"})
    assert again["pc"] == "12345" and row["pc"] != again["pc"]
