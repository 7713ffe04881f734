"""The mock's whole state: preparing the store at start, reset, export and import.

The dataset loaded at start (the seed) is kept in the store itself, so any worker can reset to
it without reading the fixtures file again.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockspice.domain import journal, outbound, sessions, stubs
from mockspice.domain.errors import BadDataset
from mockspice.resources import DEMO_DATASET
from mockspice.settings import Settings
from mockspice.store import dataset, schema
from mockspice.store.dataset import MASK, DatasetError
from mockspice.store.db import Store

SEED_KEY = "seed"


@dataclass
class Prepared:
    """A store ready to serve, and the temporary folder to remove when done (if any)."""

    store: Store
    temp_dir: Path | None
    loaded: bool  # False when an existing --db file was kept as it was

    def cleanup(self) -> None:
        """Close this process's connection and remove the temporary folder."""
        self.store.close()
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def prepare(settings: Settings) -> Prepared:
    """Open (or create) the store and load the dataset into it.

    A new store is loaded with the fixtures; an existing mockspice store (``--db`` of an earlier
    run) keeps its data, and only its seed (what a reset returns to) is set from the fixtures.
    The stubs of the ``stubs`` files are put in place of any the store has from files (those
    added by the API in an earlier run are kept), and kept for a reset to restore.
    :raises DatasetError: the fixtures cannot be loaded.
    :raises StubsError: the stubs files cannot be loaded.
    :raises StoreError: the database file cannot be used.
    """
    data = dataset.load_file(settings.fixtures or DEMO_DATASET)
    file_stubs = stubs.load_path(settings.stubs) if settings.stubs else []
    masked = [place for place, holder, key in secrets_of(data) if holder[key] == MASK]
    if masked:  # an export of GET /_mockspice/state: there is no store to keep the secrets from
        raise DatasetError(
            str(settings.fixtures),
            "",
            f"{_place_name(masked[0])}: is the mask {MASK!r} (as "
            "GET /_mockspice/state shows secrets); a fixtures file needs the real value",
        )
    if settings.partner:
        data = outbound.wire_to_partner(data, outbound.PARTNER_INT_USER, outbound.PARTNER_INT_PASS)
    temp_dir = None
    if settings.db:
        path = Path(settings.db)
    else:
        temp_dir = Path(tempfile.mkdtemp(prefix="mockspice-"))
        path = temp_dir / "mockspice.db"
    try:
        store, existed = Store.open(path)
        with store.write() as conn:
            Store.set_meta(conn, SEED_KEY, dataset.to_json(data))
            Store.set_meta(conn, journal.MAX_BYTES_KEY, str(settings.journal_max_bytes))
            stubs.seed(conn, file_stubs)
            if not existed:
                dataset.replace(conn, data)
        if existed:
            journal.resume(store)
    except BaseException:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return Prepared(store, temp_dir, loaded=not existed)


def reset(store: Store) -> None:
    """Back to the seed dataset; the journal and the API sessions are emptied, and the API stubs
    are those loaded from files, as loaded (the API's are removed)."""
    seed = json.loads(store.meta(SEED_KEY) or "null")
    with store.write() as conn:
        dataset.replace(conn, seed)
        journal.clear(conn, store)
        sessions.close_all(conn)
        stubs.restore(conn)


def export_state(store: Store) -> dict[str, Any]:
    """The whole dataset, in the fixture format, with every secret masked (:func:`secrets_of`)."""
    with store.snapshot() as conn:
        data = dataset.export(conn)
    for _, holder, key in secrets_of(data):
        if holder[key]:
            holder[key] = MASK
    return data


def import_state(store: Store, raw: Any, source: str = "request body") -> dict[str, int]:
    """Replace the dataset with ``raw`` (all or nothing); returns counts of what was loaded.

    A secret given as the mask keeps the value the store has for the same brand, account or
    agent, so that what ``GET /_mockspice/state`` answers can be put back.

    :raises BadDataset: the data does not pass the dataset checks, or masks a secret the store
        does not have; nothing was changed.
    """
    try:
        data = dataset.check(raw, source)
    except DatasetError as exc:
        raise BadDataset(str(exc)) from None
    with store.write() as conn:
        masked = [
            (place, holder, key) for place, holder, key in secrets_of(data) if holder[key] == MASK
        ]
        if masked:
            current = {
                place: holder[key] for place, holder, key in secrets_of(dataset.export(conn))
            }
            for place, holder, key in masked:
                if not current.get(place):
                    raise BadDataset(
                        f"{source}: {_place_name(place)}: is the mask {MASK!r}, and the store has "
                        "no such secret to keep; give its value"
                    )
                holder[key] = current[place]
        dataset.replace(conn, data)
        sessions.close_all(conn)  # their agents and companies may be gone
    return counts(data)


def secrets_of(data: dict[str, Any]) -> Iterator[tuple[tuple, dict, str]]:
    """Every secret of a canonical dataset: (where it is, by ids, not positions; the mapping that
    holds it; its key). A brand's intPass and inContact credentials, an account's password and an
    agent's password digest."""
    for company in data["companies"]:
        cid = company["id"]
        for brand in company["brands"]:
            yield ("brand", cid, brand["id"], "int_pass"), brand["webcalls"], "int_pass"
            for label in brand["data"]:
                if schema.is_secret_label(label):
                    yield ("brand", cid, brand["id"], label), brand["data"], label
        for account in company["accounts"]:
            if account["password"] is not None:
                yield ("account", cid, account["brand"], account["userkey"]), account, "password"
    for agent in data["agents"]:
        yield ("agent", agent["id"]), agent, "password_md5"


def _place_name(place: tuple) -> str:
    if place[0] == "brand":
        return f"company {place[1]}, brand {place[2]}: {place[3]}"
    if place[0] == "account":
        return f"company {place[1]}, brand {place[2]}, account {place[3]!r}: password"
    return f"agent {place[1]}: password_md5"


def counts(data: dict[str, Any]) -> dict[str, int]:
    """How many companies, brands, accounts, cases and agents a dataset holds."""
    companies = data["companies"]
    return {
        "companies": len(companies),
        "brands": sum(len(c["brands"]) for c in companies),
        "accounts": sum(len(c["accounts"]) for c in companies),
        "cases": sum(len(c["cases"]) for c in companies),
        "agents": len(data["agents"]),
    }
