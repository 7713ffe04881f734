"""API stubs in the store: checks, answer lists, hits, files loaded at start, reset
(domain/stubs.py).
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from mockspice.domain import state, stubs
from mockspice.domain.errors import BadParameter
from mockspice.domain.state import prepare
from mockspice.domain.stubs import Stubs, StubsError, check, load_path
from mockspice.settings import Settings
from mockspice.store.db import Store

KNOWN = (
    "method, params_match, result, error, times, delay_ms, fault, answers, then, single_row_object"
)
ROWS = {"query", "companyList", "agentList"}


def _prepared(tmp_path: Path, stubs_path: Path | None = None):
    overrides = {"db": str(tmp_path / "s.db")}
    if stubs_path is not None:
        overrides["stubs"] = str(stubs_path)
    return prepare(Settings.load(environ={}, overrides=overrides))


@pytest.fixture
def store(tmp_path):
    prepared = _prepared(tmp_path)
    yield prepared.store
    prepared.cleanup()


def _answers(found: Stubs, method: str, calls: int, params=()) -> list:
    """What each of ``calls`` calls gets: the answer's result, error message or fault; None when
    no stub answers (the call goes to the real method)."""
    out = []
    for _ in range(calls):
        hit = found.match(method, list(params))
        if hit is None:
            out.append(None)
        elif hit.answer is None:
            out.append(("pass", hit.single_row_object))
        else:
            answer = hit.answer
            out.append(
                answer["fault"]
                or (answer["error"]["message"] if answer["error"] else answer["result"])
            )
    return out


# --- check ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, message, path",
    [
        (
            {"method": "a", "result": 1, "hits": 3},
            f"unknown stub key 'hits' (known: {KNOWN})",
            ("hits",),
        ),
        ({"method": "a", "answers": "x"}, "'answers' must be a non-empty array of", ("answers",)),
        ({"method": "a", "answers": []}, "'answers' must be a non-empty array of", ("answers",)),
        (
            {"method": "a", "answers": {"result": 1}},
            "'answers' must be a non-empty array of",
            ("answers",),
        ),
        (
            {"method": "a", "answers": [{"result": 1}] * 1001},
            "'answers' may hold at most 1000 answers, not 1001",
            ("answers",),
        ),
        (
            {"method": "a", "answers": [1]},
            "'answers'[0] must be an object with one of 'result', 'error' or 'fault', not a number",
            ("answers", 0),
        ),
        (
            {"method": "a", "answers": [{"result": 1}, {}]},
            "'answers'[1] must have exactly one of 'result', 'error' or 'fault'",
            ("answers", 1),
        ),
        (
            {"method": "a", "answers": [{"delay_ms": 5}]},
            "'answers'[0] must have exactly one of 'result', 'error' or 'fault'",
            ("answers", 0),
        ),
        (
            {"method": "a", "answers": [{"result": 1, "fault": "drop"}]},
            "'answers'[0] must have exactly one of 'result', 'error' or 'fault', not 'result' and "
            "'fault'",
            ("answers", 0),
        ),
        (
            {"method": "a", "answers": [{"result": 1, "times": 2}]},
            "'answers'[0]: unknown key 'times' (known: result, error, fault, delay_ms)",
            ("answers", 0, "times"),
        ),
        (
            {"method": "a", "answers": [{"fault": "boom"}]},
            "'fault' must be one of http500, drop, malformed",
            ("answers", 0, "fault"),
        ),
        (
            {"method": "a", "answers": [{"error": {"code": 1.5, "message": "m"}}]},
            "'error' must be a message, or",
            ("answers", 0, "error"),
        ),
        (
            {"method": "a", "answers": [{"result": 1, "delay_ms": -1}]},
            "'delay_ms' must be a whole number from 0 to 60000",
            ("answers", 0, "delay_ms"),
        ),
        (
            {"method": "a", "answers": [{"result": 1, "delay_ms": 60_001}]},
            "'delay_ms' must be a whole number from 0 to 60000",
            ("answers", 0, "delay_ms"),
        ),
        (
            {"method": "a", "answers": [{"result": 1}], "result": 2},
            "a stub has 'answers' or 'result', not both: each answer has its own",
            ("result",),
        ),
        (
            {"method": "a", "answers": [{"result": 1}], "fault": "drop"},
            "a stub has 'answers' or 'fault', not both",
            ("fault",),
        ),
        (
            {"method": "a", "result": 1, "then": "end"},
            "'then' goes with 'answers': what follows the last answer",
            ("then",),
        ),
        (
            {"method": "a", "answers": [{"result": 1}], "then": "loop"},
            "'then' must be repeat (the last answer again, the default) or end",
            ("then",),
        ),
        (
            {"method": "a", "answers": [{"result": 1}], "then": None},
            "'then' must be repeat",
            ("then",),
        ),
        (
            {"method": "query", "single_row_object": "yes"},
            "'single_row_object' must be true or false, not a string",
            ("single_row_object",),
        ),
        (
            {"method": "query", "single_row_object": 1},
            "'single_row_object' must be true or false, not a number",
            ("single_row_object",),
        ),
        (
            {"method": "query", "single_row_object": True, "result": []},
            "'single_row_object' makes a pass-through stub (the real method answers, with the "
            "quirk on or off): it goes "
            "without 'result', 'error', 'fault' and 'answers'",
            ("single_row_object",),
        ),
        (
            {"method": "query", "single_row_object": False, "answers": [{"result": 1}]},
            "'single_row_object' makes a pass-through stub",
            ("single_row_object",),
        ),
        (
            {"method": "connect", "single_row_object": True},
            "'method': a pass-through stub answers through the real "
            "method, and 'connect' is none of the API's methods that answer rows",
            ("method",),
        ),
        (
            {"method": "a", "result": 1, "times": 10**9 + 1},
            "'times' must be a whole number from 1 to 1000000000",
            ("times",),
        ),
        (
            {"method": "a", "result": 1, "times": True},
            "'times' must be a whole number from 1 to 1000000000",
            ("times",),
        ),
        (
            {"method": "a", "result": 1, "delay_ms": 2.5},
            "'delay_ms' must be a whole number from 0 to 60000",
            ("delay_ms",),
        ),
        (
            {"method": "a", "result": float("nan")},
            "'result' holds a value JSON has not",
            ("result",),
        ),
        (
            {"method": "a", "error": {"message": "m", "colour": "red"}},
            "'error' must be a message, or",
            ("error",),
        ),
        ({"method": "", "result": 1}, "'method' is required", ("method",)),
        (
            {"method": "a"},
            "a stub needs 'result', 'error', 'fault', 'answers' (one per call), or "
            "'single_row_object' "
            "(a pass-through)",
            (),
        ),
    ],
)
def test_check_refuses_naming_the_key(raw, message, path):
    with pytest.raises(BadParameter) as info:
        check(raw, ROWS)
    assert info.value.code == "bad-parameter"
    assert info.value.message.startswith(message), info.value.message
    assert info.value.path == path


def test_check_gives_the_full_shape():
    assert check(
        {
            "method": "a",
            "answers": [{"fault": "http500"}, {"error": "busy", "delay_ms": 5}, {"result": None}],
            "delay_ms": 10,
        }
    ) == {
        "method": "a",
        "params_match": None,
        "result": None,
        "error": None,
        "times": None,
        "delay_ms": 10,
        "fault": None,
        "then": "repeat",
        "single_row_object": None,
        "answers": [
            {"fault": "http500", "delay_ms": None},
            {"error": {"code": -32000, "message": "busy", "data": None}, "delay_ms": 5},
            {"result": None, "delay_ms": None},
        ],
    }
    passing = check({"method": "query", "single_row_object": False, "times": 2}, ROWS)
    assert (
        passing["single_row_object"],
        passing["times"],
        passing["answers"],
        passing["then"],
    ) == (False, 2, None, None)


# --- answers, hits, order -------------------------------------------------------------------------


def test_an_answer_list_is_given_in_order_then_its_last_repeats(store):
    found = Stubs(store)
    found.add(
        {"method": "m", "answers": [{"fault": "http500"}, {"error": "busy"}, {"result": "ok"}]}
    )
    assert _answers(found, "m", 5) == ["http500", "busy", "ok", "ok", "ok"]
    [listed] = found.all()
    assert (listed["hits"], listed["times_left"]) == (5, None)


def test_an_answer_list_that_ends_falls_through_to_the_next_stub_then_the_real_method(store):
    found = Stubs(store)
    found.add({"method": "m", "answers": [{"fault": "drop"}, {"result": 1}], "then": "end"})
    found.add({"method": "m", "result": "next", "times": 1})
    assert _answers(found, "m", 4) == ["drop", 1, "next", None]
    assert [(s["hits"], s["times_left"]) for s in found.all()] == [(2, 0), (1, 0)]
    assert not found.knows("m")  # used up: the name is unknown again


def test_times_with_an_answer_list_is_a_total(store):
    found = Stubs(store)
    found.add({"method": "m", "answers": [{"error": "e"}, {"result": 2}], "times": 3})
    found.add(
        {
            "method": "m",
            "answers": [{"result": "a"}, {"result": "b"}, {"result": "c"}],
            "then": "end",
            "times": 2,
        }
    )
    assert _answers(found, "m", 6) == ["e", 2, 2, "a", "b", None]


def test_the_answer_index_and_delay(store):
    found = Stubs(store)
    found.add(
        {"method": "m", "answers": [{"result": 1, "delay_ms": 7}, {"result": 2}], "delay_ms": 3}
    )
    first, second = found.match("m", []), found.match("m", [])
    assert (first.index, first.delay_ms, second.index, second.delay_ms) == (0, 7, 1, 3)


def test_params_match_picks_the_stub_and_only_it_counts(store):
    found = Stubs(store)
    found.add(
        {"method": "m", "params_match": ["jdoe"], "answers": [{"result": "j1"}, {"result": "j2"}]}
    )
    found.add({"method": "m", "result": "other"})
    assert _answers(found, "m", 1, ["x"]) == ["other"]
    assert _answers(found, "m", 3, ["jdoe"]) == ["j1", "j2", "j2"]
    assert [s["hits"] for s in found.all()] == [3, 1]


def test_a_pass_through_stub_answers_none_itself(store):
    found = Stubs(store, ROWS)
    found.add(
        {"method": "query", "single_row_object": True, "params_match": ["select 1"], "times": 1}
    )
    assert _answers(found, "query", 1, ["select 2"]) == [None]
    assert _answers(found, "query", 2, ["select 1"]) == [("pass", True), None]
    assert not found.knows("query")  # the table's method answers; the name is not made known


def test_hits_and_answers_are_counted_right_across_processes(store):
    """Four processes call the same stubs at once: each answer of an ending list is given once, and
    the hits add up (each call takes its answer under the store's write lock)."""
    found = Stubs(store)
    found.add({"method": "m", "answers": [{"result": i} for i in range(60)], "then": "end"})
    found.add({"method": "m", "result": "after"})
    store.close()
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        given = pool.map(_call_many, [str(store.path)] * 4)
    results = [r for part in given for r in part]
    assert sorted(r for r in results if r != "after") == list(range(60))
    assert results.count("after") == 4 * 25 - 60
    assert [s["hits"] for s in Stubs(Store(store.path)).all()] == [60, 40]


def _call_many(path: str) -> list:
    found = Stubs(Store(path))
    return [found.match("m", []).answer["result"] for _ in range(25)]


# --- files ----------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_holds_one_stub_or_a_list(tmp_path):
    one = _write(tmp_path / "one.yaml", "method: companyList\nresult: [{companyid: '9'}]\n")
    many = _write(tmp_path / "many.yml", "- {method: a, result: 1}\n- method: b\n  error: nope\n")
    as_json = _write(tmp_path / "j.json", '[{"method": "c", "answers": [{"fault": "drop"}]}]')
    assert [(e["place"], e["line"], e["stub"]["method"]) for e in load_path(one)] == [
        ("stub", 1, "companyList")
    ]
    assert [(e["place"], e["line"], e["stub"]["method"]) for e in load_path(many)] == [
        ("stub[0]", 1, "a"),
        ("stub[1]", 2, "b"),
    ]
    assert load_path(as_json)[0]["stub"]["answers"] == [{"fault": "drop", "delay_ms": None}]


def test_a_folder_gives_its_yaml_and_json_files_in_name_order(tmp_path):
    folder = tmp_path / "stubs"
    folder.mkdir()
    _write(folder / "b.yaml", "method: b\nresult: 1\n")
    _write(folder / "a.json", '{"method": "a", "result": 1}')
    _write(folder / "c.yml", "[]\n")
    _write(folder / "d.YAML", "method: d\nresult: 1\n")
    _write(folder / "notes.txt", "not a stub")
    (folder / "sub.yaml").mkdir()  # a folder is not read, whatever its name
    assert [(Path(e["file"]).name, e["stub"]["method"]) for e in load_path(folder)] == [
        ("a.json", "a"),
        ("b.yaml", "b"),
        ("d.YAML", "d"),
    ]


@pytest.mark.parametrize(
    "name, text, message",
    [
        (
            "s.yaml",
            "method: a\nresult: [1,\n",
            "{p} line 3: not valid YAML, column 1: did not find expected node content",
        ),
        (
            "s.yaml",
            "method: a\nmethod: b\nresult: 1\n",
            "{p} line 2: not valid YAML, column 1: key 'method' is given twice in one mapping",
        ),
        (
            "s.json",
            '[{"method": "a",\n "result": }]',
            "{p} line 2: not valid JSON, column 12: Expecting value",
        ),
        (
            "s.json",
            '{"method": "a", "method": "b", "result": 1}',
            "{p}: not valid JSON: key 'method' is given twice",
        ),
        ("s.json", '{"method": "a", "result": NaN}', "{p}: not valid JSON: NaN is not JSON"),
        ("s.yaml", "", "{p}: holds nothing: write a stub object, or a list of them"),
        (
            "s.yaml",
            "- method: a\n  result: 1\n- method: b\n  result: 1\n  times: 0\n",
            "{p} line 5: stub[1].times: 'times' must be a whole number from 1 to 1000000000",
        ),
        (
            "s.yaml",
            "method: a\nanswers:\n  - result: 1\n  - fault: boom\n",
            "{p} line 4: stub.answers[1].fault: 'fault' must be one of http500, drop, malformed",
        ),
        ("s.yaml", "- 7\n", "{p} line 1: stub[0]: a stub is a JSON object"),
        (
            "s.yaml",
            "method: a\ncolour: red\nresult: 1\n",
            f"{{p}} line 2: stub.colour: unknown stub key 'colour' (known: {KNOWN})",
        ),
        (
            "s.yaml",
            "method: a\nresult: 2026-01-01\n",
            "{p} line 2: stub.result: 'result' holds a value JSON has not",
        ),
        (
            "s.yaml",
            "method: a\n",
            "{p} line 1: stub: a stub needs 'result', 'error', 'fault', 'answers'",
        ),
        (
            "s.yaml",
            "method: a\nerror: no\n",
            "{p} line 2: stub.error: 'error' must be a message, or {{\"code\": integer, "
            '"message": string, "data": any}}, not a boolean (in YAML, quote yes, no, on and off)',
        ),
    ],
)
def test_a_bad_file_names_the_file_the_place_and_the_reason(tmp_path, name, text, message):
    path = _write(tmp_path / name, text)
    with pytest.raises(StubsError) as info:
        load_path(path)
    assert str(info.value).startswith(message.format(p=path)), str(info.value)
    assert "\n" not in str(info.value)


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(StubsError) as info:
        load_path(tmp_path / "missing.yaml")
    assert str(info.value) == f"{tmp_path / 'missing.yaml'}: no such file or folder"
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"method: caf\xe9\nresult: 1\n")
    with pytest.raises(StubsError) as info:
        load_path(latin)
    assert str(info.value) == f"{latin}: not UTF-8 text (byte 11)"


def test_a_bad_file_in_a_folder_is_named(tmp_path):
    _write(tmp_path / "a.yaml", "method: a\nresult: 1\n")
    _write(tmp_path / "b.json", "{")
    with pytest.raises(StubsError) as info:
        load_path(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'b.json'} line 1: not valid JSON")


# --- the store's file stubs and reset -------------------------------------------------------------


def test_file_stubs_match_after_the_apis_and_a_reset_restores_them_as_loaded(tmp_path):
    path = _write(
        tmp_path / "s.yaml",
        "- {method: m, answers: [{result: f1}, {result: f2}], then: end}\n"
        "- {method: m, result: forever}\n",
    )
    prepared = _prepared(tmp_path, path)
    store, found = prepared.store, Stubs(prepared.store)
    try:
        assert _answers(found, "m", 2) == ["f1", "f2"]
        found.add({"method": "m", "result": "api", "times": 1})  # a test's own stub comes first
        assert _answers(found, "m", 2) == ["api", "forever"]
        listed = found.all()
        assert [(s["origin"], s["file"], s["hits"], s["times_left"]) for s in listed] == [
            ("api", None, 1, 0),
            ("file", str(path), 2, 0),
            ("file", str(path), 1, None),
        ]
        state.reset(store)
        assert [(s["id"], s["origin"], s["hits"], s["times_left"]) for s in found.all()] == [
            (1, "file", 0, 2),
            (2, "file", 0, None),
        ]
        assert _answers(found, "m", 3) == ["f1", "f2", "forever"]
        assert found.clear() == 2  # the files' too ...
        assert found.all() == []
        state.reset(store)  # ... until the next reset
        assert [s["method"] for s in found.all()] == ["m", "m"]
    finally:
        prepared.cleanup()


def test_a_kept_store_gets_the_files_stubs_in_place_of_its_old_files_ones(tmp_path):
    first = _write(tmp_path / "first.yaml", "{method: a, result: 1}\n")
    prepared = _prepared(tmp_path, first)
    Stubs(prepared.store).add({"method": "api", "result": 1})
    prepared.cleanup()
    second = _write(tmp_path / "second.yaml", "[{method: b, result: 1}, {method: c, result: 1}]\n")
    prepared = _prepared(tmp_path, second)  # the same --db file
    try:
        assert not prepared.loaded
        assert [(s["method"], s["origin"]) for s in Stubs(prepared.store).all()] == [
            ("api", "api"),
            ("b", "file"),
            ("c", "file"),
        ]
        assert json.loads(prepared.store.meta(stubs.SEED_KEY))[1]["place"] == "stub[1]"
    finally:
        prepared.cleanup()


def test_a_bad_stubs_file_leaves_no_store_behind(tmp_path):
    with pytest.raises(StubsError):
        prepare(
            Settings.load(
                environ={},
                overrides={"db": str(tmp_path / "s.db"), "stubs": str(tmp_path / "nope.yaml")},
            )
        )
    assert not list(tmp_path.iterdir())  # read before the store is opened
