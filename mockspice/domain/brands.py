"""Brands as the API's directory methods read and change them: create, update, delete, copy,
and the brand's script. The rules of mockspice/domain/directory.py apply (visibility, keys read
case-insensitively, results as SpiceCSM's clients show them).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mockspice.domain.directory import (
    SUCCESS,
    company_for,
    fields,
    flag_field,
    int_field,
    label_field,
    text_field,
)
from mockspice.domain.errors import (
    CommunityLimit,
    Conflict,
    UnknownBrand,
)
from mockspice.domain.records import NO_RESULTS, php_row
from mockspice.domain.sessions import Session
from mockspice.store import dataset
from mockspice.store.db import Store
from mockspice.store.schema import MAX_ID, table

# --- brands ----------------------------------------------------------------------------------


def _brand_row(conn: sqlite3.Connection, company_id: int, brand_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT BrandID, BrandLabel, BrandListLabel, Active FROM {table(company_id, 'tblBrand')}"
        " WHERE BrandID = ?",
        (brand_id,),
    ).fetchone()
    if row is None:
        return None
    return php_row(
        {
            "brandid": row[0],
            "brandlabel": row[1],
            "brandlistlabel": row[2],
            "active": row[3],
            "companyid": company_id,
        }
    )


def _existing_brand(
    conn: sqlite3.Connection, company_id: int, obj: dict[str, Any], method: str
) -> int:
    brand_id = int_field(obj, "brandid", method, required=True)
    if _brand_row(conn, company_id, brand_id) is None:
        raise UnknownBrand(f"{method}: company {company_id} has no brand {brand_id}")
    return brand_id


def _new_brand_id(
    conn: sqlite3.Connection, company_id: int, wanted: int | None, method: str
) -> int:
    brands = table(company_id, "tblBrand")
    if wanted is not None:
        if conn.execute(f"SELECT 1 FROM {brands} WHERE BrandID = ?", (wanted,)).fetchone():
            raise Conflict(f"{method}: company {company_id} has a brand {wanted}")
        return wanted
    brand_id = conn.execute(f"SELECT COALESCE(MAX(BrandID), 0) + 1 FROM {brands}").fetchone()[0]
    if brand_id > MAX_ID:
        raise Conflict(f"{method}: no brand id is left; give brandid")
    return brand_id


def create_brand(
    store: Store, session: Session, obj: dict[str, Any], edition: str
) -> list[dict[str, Any]]:
    """A new brand with its greeting and empty web-call settings."""
    method = "createBrand"
    obj = fields(obj)
    if edition == "community":
        raise CommunityLimit(f"{method}: the Community edition has a single brand (id 1)")
    label = label_field(obj, ("brandlabel", "label"), method)
    list_label = label_field(obj, ("brandlistlabel",), method, required=False) or label
    greeting = text_field(obj, "greeting", method, default="")
    active = flag_field(obj, "active", method)
    wanted = int_field(obj, "brandid", method)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        brand_id = _new_brand_id(conn, company_id, wanted, method)
        conn.execute(
            f"INSERT INTO {table(company_id, 'tblBrand')} VALUES (?,?,?,?)",
            (brand_id, label, list_label, int(active is not False)),
        )
        webcalls = dataset.check_webcalls({}, method)
        dataset.insert_brand_data(
            conn,
            company_id,
            [
                (brand_id, dataset.GREETING_LABEL, greeting),
                *dataset.webcall_rows(brand_id, webcalls),
            ],
        )
        return [_brand_row(conn, company_id, brand_id)]


def update_brand(store: Store, session: Session, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Change a brand's labels, active flag or greeting (only the keys given)."""
    method = "updateBrand"
    obj = fields(obj)
    label = label_field(obj, ("brandlabel", "label"), method, required=False)
    list_label = label_field(obj, ("brandlistlabel",), method, required=False)
    greeting = text_field(obj, "greeting", method)
    active = flag_field(obj, "active", method)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        brand_id = _existing_brand(conn, company_id, obj, method)
        brands = table(company_id, "tblBrand")
        for column, value in (
            ("BrandLabel", label),
            ("BrandListLabel", list_label),
            ("Active", None if active is None else int(active)),
        ):
            if value is not None:
                conn.execute(
                    f"UPDATE {brands} SET {column} = ? WHERE BrandID = ?", (value, brand_id)
                )
        if greeting is not None:
            conn.execute(
                f"INSERT OR REPLACE INTO {table(company_id, 'tblBrandData')}(BrandID, DataLabel, "
                "DataText)"
                " VALUES (?,?,?)",
                (brand_id, dataset.GREETING_LABEL, greeting),
            )
        return [_brand_row(conn, company_id, brand_id)]


def delete_brand(store: Store, session: Session, obj: dict[str, Any]) -> dict[str, Any]:
    """Remove a brand and its brand data; a brand that still has accounts or cases is refused."""
    method = "deleteBrand"
    obj = fields(obj)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        brand_id = _existing_brand(conn, company_id, obj, method)
        accounts = conn.execute(
            f"SELECT COUNT(*) FROM {table(company_id, 'tblAccount')} WHERE BrandID = ?", (brand_id,)
        ).fetchone()[0]
        cases = conn.execute(
            f"SELECT COUNT(*) FROM {table(company_id, 'tblCase')} WHERE BrandID = ?", (brand_id,)
        ).fetchone()[0]
        if accounts or cases:
            raise Conflict(
                f"{method}: brand {brand_id} still has {accounts} account(s) and {cases} case(s); "
                'deactivate it with updateBrand {"active": 0} instead'
            )
        conn.execute(f"DELETE FROM {table(company_id, 'tblBrand')} WHERE BrandID = ?", (brand_id,))
    return {"msg": SUCCESS, "brandid": str(brand_id)}


def copy_brand(
    store: Store, session: Session, obj: dict[str, Any], edition: str
) -> list[dict[str, Any]]:
    """A new brand with a brand's settings and brand data (greeting, web calls); no accounts or
    cases.
    """
    method = "copyBrand"
    obj = fields(obj)
    if edition == "community":
        raise CommunityLimit(f"{method}: the Community edition has a single brand (id 1)")
    label = label_field(obj, ("brandlabel", "label"), method, required=False)
    list_label = label_field(obj, ("brandlistlabel",), method, required=False)
    wanted = int_field(obj, "newbrandid", method)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        source = _existing_brand(conn, company_id, obj, method)
        brands = table(company_id, "tblBrand")
        row = conn.execute(
            f"SELECT BrandLabel, BrandListLabel, Active FROM {brands} WHERE BrandID = ?", (source,)
        ).fetchone()
        brand_id = _new_brand_id(conn, company_id, wanted, method)
        conn.execute(
            f"INSERT INTO {brands} VALUES (?,?,?,?)",
            (brand_id, label or f"{row[0]} (copy)", list_label or row[1], row[2]),
        )
        for name in ("tblBrandData", "tblBrandSecret"):
            data = table(company_id, name)
            conn.execute(
                f"INSERT INTO {data}(BrandID, DataLabel, DataText) SELECT ?, DataLabel, DataText "
                f"FROM {data}"
                " WHERE BrandID = ?",
                (brand_id, source),
            )
        return [_brand_row(conn, company_id, brand_id)]


def script_file(brand_id: int) -> str:
    """The file name ``scriptLoad`` gives a brand's greeting script."""
    return f"brand_{brand_id}_greeting.txt"


def script_load(
    store: Store, session: Session, obj: dict[str, Any]
) -> list[dict[str, Any]] | dict[str, str]:
    """The brand's greeting script: its file name and its text, or no results."""
    method = "scriptLoad"
    obj = fields(obj)
    with store.snapshot() as conn:
        company_id = company_for(conn, session, obj, method)
        brand_id = int_field(obj, "brandid", method, required=True)
        brand = _brand_row(conn, company_id, brand_id)
        if brand is None:
            return dict(NO_RESULTS)
        text = conn.execute(
            f"SELECT DataText FROM {table(company_id, 'tblBrandData')} WHERE BrandID = ?"
            " AND DataLabel = ?",
            (brand_id, dataset.GREETING_LABEL),
        ).fetchone()
    return [
        {
            "brandid": brand["brandid"],
            "brandlabel": brand["brandlabel"],
            "filename": script_file(brand_id),
            "script": text[0] if text else "",
        }
    ]
