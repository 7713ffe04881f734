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
        put = live.request(
            "PUT",
            "/_mockspice/brands/1/1/webcalls",
            json={
                "search_url": partner.url + "/search",
                "int_user": "spice",
                "int_pass": "s3cret",
                "timeout_s": 10,
            },
        )
        assert put.status_code == 200, put.text
        phones = [f"555{i:07d}" for i in range(CALLS)]

        def client(share: list[str]) -> list[tuple[int, dict]]:
            with requests.Session() as session:
                return [
                    (r.status_code, r.json())
                    for r in (
                        session.post(
                            live.url + "/_mockspice/webcalls/search",
                            timeout=30,
                            json={"company": 1, "brand": 1, "variables": {"PrimaryPhone": phone}},
                        )
                        for phone in share
                    )
                ]

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = [
                a
                for share in pool.map(client, [phones[i::CLIENTS] for i in range(CLIENTS)])
                for a in share
            ]
        arrived = [dict(r.form)["PrimaryPhone"] for r in partner.calls("/search")]

    assert len(answers) == CALLS
    assert Counter(status for status, _ in answers) == {200: CALLS}
    assert Counter(a["outcome"] for _, a in answers) == {"ok": CALLS}, [
        a["findings"] for _, a in answers
    ][:3]
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


def test_at_most_the_engines_calls_run_at_once_and_a_waiting_one_keeps_to_its_timeout():
    import threading
    import time as clock

    from partner_servers import RawPartner, drip, http_reply, search_reply

    from mockspice.webcalls.engine import Endpoint, Engine
    from mockspice.webcalls.transport import Transport

    slow = drip(
        http_reply("200 OK", search_reply(), {"Content-Type": "text/xml"}),
        head_at_once=True,
        every_s=0.02,
    )
    with RawPartner(slow) as partner:
        engine = Engine(Transport(), most=1)
        first: list = []
        running = threading.Thread(
            target=lambda: first.append(engine.search(Endpoint(partner.url, timeout_s=5), {}))
        )
        running.start()
        clock.sleep(0.2)  # the first is being dripped its reply
        started = clock.monotonic()
        waited = engine.search(Endpoint(partner.url, timeout_s=0.5), {})
        assert clock.monotonic() - started < 1.0
        assert waited.outcome == "timeout" and waited.findings[0].code == "timeout"
        assert waited.findings[0].message == (
            f"{partner.url}: not sent: 1 web calls were running in this server process for the "
            "call's whole "
            "timeout (0.5 s; as many as the threads setting)"
        )
        running.join(timeout=30)
        assert first[0].outcome == "ok"
        assert len(partner.requests) == 1  # the waiting call was never sent
        assert (
            engine.search(Endpoint(partner.url, timeout_s=30), {}).outcome == "ok"
        )  # its slot is back
