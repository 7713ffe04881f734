"""The reference partner mounted by ``serve --partner`` under two workers is one partner: an
update one worker takes is what every later load sees, whichever worker answers it."""

from __future__ import annotations

import requests

from mockspice.wire.build import user_xml
from mockspice.wire.parse import parse_account

CREDENTIALS = {"intUser": "spice", "intPass": "secret"}


def _load(session: requests.Session, base: str, userkey: str) -> dict:
    reply = session.post(f"{base}/_partner/load", data={**CREDENTIALS, "Userkey": userkey})
    assert reply.status_code == 200, reply.text
    return parse_account(reply.content)


def test_an_update_is_seen_by_every_later_load_whichever_worker_answers(partner_live):
    base = partner_live.url.rstrip("/")
    before = _load(requests.Session(), base, "jdoe")
    changed = {**before, "contacts": [{**before["contacts"][0], "city": "Seen Everywhere"}]}
    try:
        reply = requests.post(
            f"{base}/_partner/update", data={**CREDENTIALS, "userXML": user_xml(changed)}
        )
        assert reply.status_code == 200, reply.text
        # A new connection each time: the two workers share the listening socket.
        cities = [_load(requests.Session(), base, "jdoe")["contacts"][0]["city"] for _ in range(16)]
        assert cities == ["Seen Everywhere"] * 16
    finally:
        requests.post(f"{base}/_partner/update", data={**CREDENTIALS, "userXML": user_xml(before)})
