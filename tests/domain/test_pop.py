"""The screen pop operation on a real store loaded with the demo dataset."""

from __future__ import annotations

import pytest

from mockspice.domain import journal, state
from mockspice.domain.errors import BadParameter, CommunityLimit, UnknownBrand, UnknownCompany
from mockspice.domain.pop import MAX_CANDIDATES, screen_pop
from mockspice.domain.state import import_state, prepare
from mockspice.settings import Settings


@pytest.fixture
def store(tmp_path):
    prepared = prepare(Settings.load(environ={}, overrides={"db": str(tmp_path / "s.db")}))
    yield prepared.store
    prepared.cleanup()


def pop(store, edition="enterprise", journal_limit=100, **params):
    return screen_pop(
        store, {k: str(v) for k, v in params.items()}, edition=edition, journal_limit=journal_limit
    )


@pytest.mark.parametrize(
    "ani", ["5552010001", "+1 555 201 0001", "(555) 201-0001", "1.555.201.0001"]
)
def test_one_account_matches_in_any_format(store, ani):
    result = pop(store, company=1, brand=1, ani=ani, callid="C-1")
    assert result.kind == "account"
    [account] = result.accounts
    assert account["userkey"] == "asmith" and account["contacts"][0]["lastname"] == "Smith"
    assert [f["label"] for f in account["fields"]] == ["Plan", "Customer since"]
    assert [k["id"] for k in account["open_cases"]] == [6345]
    assert result.greeting == (
        "Thank you for calling Acme Support. Am I speaking with Alice Smith? How may I help "
        "you today?"
    )
    assert result.callid == "C-1" and result.pop_id >= 1


def test_a_second_contact_phone_matches(store):
    result = pop(store, company=1, brand=1, ani="5552099999")  # Alan Smith's mobile on asmith
    assert result.kind == "account" and result.accounts[0]["userkey"] == "asmith"


def test_shared_number_gives_candidates(store):
    result = pop(store, company=1, brand=1, ani="555-555-5555")
    assert result.kind == "candidates"
    assert [a["userkey"] for a in result.accounts] == [
        "jdoe",
        "jdoe2",
    ] and result.candidates_total == 2
    assert "{caller}" not in result.greeting and "caller?" in result.greeting


def test_matching_stays_inside_the_brand(store):
    # asmith belongs to brand 1; brand 2 of the same company must not find it.
    result = pop(store, company=1, brand=2, ani="5552010001")
    assert result.kind == "none" and result.notices == ["no account matched ANI '5552010001'"]


def test_ani_without_digits(store):
    result = pop(store, company=1, brand=1, ani="anonymous")
    assert result.kind == "none" and result.notices == [
        "ANI 'anonymous' has no phone number digits to match"
    ]


def test_case_takes_precedence_over_ani(store):
    result = pop(store, company=1, brand=1, caseid="6344", ani="5552010001")
    assert result.kind == "case"
    assert (
        result.case["id"] == 6344
        and result.case["status"] == "In Progress"
        and result.case["status_id"] == 2
    )
    assert [r["id"] for r in result.case["responses"]] == [7905, 7906]
    assert result.case["responses"][1]["agent"] == "Doe, John"
    assert (
        result.case["responses"][1]["journal"]
        == "13:28:41 - adding a second ticket for case dump testing "
    )
    assert [a["userkey"] for a in result.accounts] == ["jdoe"]


@pytest.mark.parametrize(
    "caseid", ["999999", "abc", "6344x", "101"]
)  # 101 exists in company 2 only
def test_case_not_found_still_matches_ani(store, caseid):
    result = pop(store, company=1, brand=1, caseid=caseid, ani="5552010001")
    assert result.kind == "account" and result.case is None
    assert result.notices == [f"case {caseid!r} was not found in brand 1"]


def test_many_candidates_are_capped(store):
    accounts = [
        {"userkey": f"u{i}", "brand": 1, "contacts": [{"pphone": "555 000 1234"}]}
        for i in range(MAX_CANDIDATES + 5)
    ]
    import_state(
        store,
        {
            "companies": [
                {"id": 1, "label": "C", "brands": [{"id": 1, "label": "B"}], "accounts": accounts}
            ]
        },
    )
    result = pop(store, company=1, brand=1, ani="5550001234")
    assert result.kind == "candidates" and len(result.accounts) == MAX_CANDIDATES
    assert result.candidates_total == MAX_CANDIDATES + 5


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"brand": 1}, BadParameter, "parameter 'company' is required (a positive integer)"),
        ({"company": 1}, BadParameter, "parameter 'brand' is required (a positive integer)"),
        ({"company": "", "brand": 1}, BadParameter, "parameter 'company' is required"),
        (
            {"company": "0", "brand": 1},
            BadParameter,
            "parameter 'company' must be a positive integer, not '0'",
        ),
        ({"company": "1x", "brand": 1}, BadParameter, "must be a positive integer, not '1x'"),
        (
            {"company": 1, "brand": "-2"},
            BadParameter,
            "parameter 'brand' must be a positive integer, not '-2'",
        ),
        ({"company": "99999999999", "brand": 1}, BadParameter, "must be a positive integer"),
        ({"company": 9, "brand": 1}, UnknownCompany, "company 9 does not exist or is not active"),
        ({"company": 1, "brand": 9}, UnknownBrand, "brand 9 does not exist in company 1"),
        ({"company": 1, "brand": 4}, UnknownBrand, "brand 4 of company 1 is not active"),
    ],
)
def test_bad_company_or_brand(store, params, error, message):
    with pytest.raises(error) as info:
        pop(store, **params)
    assert message in info.value.message


@pytest.mark.parametrize("company, brand", [(2, 1), (1, 2)])
def test_community_edition_has_one_company_and_brand(store, company, brand):
    with pytest.raises(CommunityLimit) as info:
        pop(store, edition="community", company=company, brand=brand)
    assert info.value.code == "community-edition"
    assert "the Community edition has a single company and a single brand" in info.value.message
    assert pop(store, edition="community", company=1, brand=1).brand == 1


def test_every_pop_is_journaled_with_its_outcome(store):
    ok = pop(store, company=1, brand=1, ani="5552010001", callid="CALL-9")
    with pytest.raises(UnknownBrand):
        pop(store, company=1, brand=9, callid="CALL-10")
    entries = journal.entries(store, kind="pop")["entries"]
    assert entries[-2]["id"] == ok.pop_id and entries[-2]["match"] == "account"
    assert entries[-2]["accounts"] == ["asmith"] and entries[-2]["params"]["callid"] == "CALL-9"
    assert entries[-1]["status"] == 404 and entries[-1]["error"]["code"] == "unknown-brand"
    assert entries[-1]["params"] == {"company": "1", "brand": "9", "callid": "CALL-10"}


def test_pop_id_is_its_journal_entry_and_records_the_callid(store):
    first = pop(store, company=1, brand=1, callid="A")
    second = pop(store, company=1, brand=1, callid="B")
    assert second.pop_id == first.pop_id + 1
    entries = {e["id"]: e for e in journal.entries(store)["entries"]}
    assert (
        entries[second.pop_id]["kind"] == "pop"
        and entries[second.pop_id]["params"]["callid"] == "B"
    )


def test_cached_match_follows_the_dataset_generation(store):
    from mockspice.domain.cache import GenerationCache

    cache = GenerationCache()
    params = {"company": "1", "brand": "1", "ani": "5552010001"}
    first = screen_pop(
        store, {**params, "callid": "one"}, edition="enterprise", journal_limit=100, cache=cache
    )
    again = screen_pop(
        store, {**params, "callid": "two"}, edition="enterprise", journal_limit=100, cache=cache
    )
    assert again.cache_key == first.cache_key and again.callid == "two" and first.callid == "one"
    # A journal write is history: the generation, and so the cache, stay.
    assert store.generation() == first.cache_key[1]
    data = state.export_state(store)
    data["companies"][0]["accounts"][2]["contacts"][0]["lastname"] = "Smythe"
    state.import_state(store, data)
    changed = screen_pop(store, params, edition="enterprise", journal_limit=100, cache=cache)
    assert changed.cache_key[1] > first.cache_key[1]
    assert (
        changed.accounts[0]["contacts"][0]["lastname"] == "Smythe"
        and "Alice Smythe" in changed.greeting
    )


def test_journal_is_capped_and_counts_what_it_dropped(store):
    for i in range(7):
        pop(store, journal_limit=5, company=1, brand=1, callid=str(i))
    result = journal.entries(store)
    assert [e["params"]["callid"] for e in result["entries"]] == ["2", "3", "4", "5", "6"]
    assert result["dropped"] == 2


def test_journal_filters(store):
    for i in range(4):
        pop(store, company=1, brand=1, callid=str(i))
    everything = journal.entries(store)["entries"]
    assert [e["params"]["callid"] for e in journal.entries(store, limit=2)["entries"]] == ["2", "3"]
    since = journal.entries(store, since=everything[1]["id"])["entries"]
    assert [e["params"]["callid"] for e in since] == ["2", "3"]
    assert journal.entries(store, since=everything[0]["at"])["count"] == 4
    assert journal.entries(store, kind="webcall")["entries"] == []


def test_long_values_are_clipped_in_the_journal(store):
    pop(store, company=1, brand=1, callid="x" * 10000)
    entry = journal.entries(store)["entries"][-1]
    assert (
        entry["params"]["callid"].endswith("...[10000 characters]")
        and len(entry["params"]["callid"]) < 4200
    )
