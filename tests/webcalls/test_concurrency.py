"""Issue 4 §7: 200 web calls fired by 16 concurrent control-API clients through the real server."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from partner_servers import WellBehavedPartner

CALLS = 200
CLIENTS = 16


def test_200_concurrent_web_calls_are_each_journaled_exactly_once(live):
    with WellBehavedPartner() as partner:
        put = live.request("PUT", "/_mockspice/brands/1/1/webcalls", json={
            "search_url": partner.url + "/search", "int_user": "spice", "int_pass": "s3cret", "timeout_s": 10})
        assert put.status_code == 200, put.text
        phones = [f"555{i:07d}" for i in range(CALLS)]

        def client(share: list[str]) -> list[tuple[int, dict]]:
            with requests.Session() as session:
                return [(r.status_code, r.json()) for r in (
                    session.post(live.url + "/_mockspice/webcalls/search", timeout=30,
                                 json={"company": 1, "brand": 1, "variables": {"PrimaryPhone": phone}})
                    for phone in share)]

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = [a for share in pool.map(client, [phones[i::CLIENTS] for i in range(CLIENTS)]) for a in share]
        arrived = [dict(r.form)["PrimaryPhone"] for r in partner.calls("/search")]

    assert len(answers) == CALLS
    assert Counter(status for status, _ in answers) == {200: CALLS}
    assert Counter(a["outcome"] for _, a in answers) == {"ok": CALLS}, [a["findings"] for _, a in answers][:3]
    ids = [a["id"] for _, a in answers]
    assert len(set(ids)) == CALLS and None not in ids
    assert sorted(a["request"]["form"]["PrimaryPhone"] for _, a in answers) == phones
    assert sorted(arrived) == phones

    journal = live.get("/_mockspice/journal?kind=webcall").json()
    assert journal["count"] == CALLS and journal["dropped"] == 0
    entries = journal["entries"]
    assert sorted(e["exchange"]["id"] for e in entries) == sorted(ids)
    assert all(e["id"] == e["exchange"]["id"] for e in entries)
    assert sorted(e["exchange"]["request"]["form"]["PrimaryPhone"] for e in entries) == phones
    by_id = {a["id"]: a for _, a in answers}
    assert all(e["exchange"]["request"] == by_id[e["id"]]["request"] for e in entries)
    assert live.get("/_mockspice/health").status_code == 200
