"""The account, contact and fieldvalue records of the batches (mockspice/domain/batch.py).

An account record takes the dataset's keys (docs/fixtures.md) and the row keys of accountLoad
(:data:`ACCOUNT_ALIASES`); contacts and custom field values are records of their own, named by
the account's userkey.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mockspice.domain.errors import BadParameter, Conflict, NotFound, PermissionDenied
from mockspice.domain.readers import ident, only_keys, required, text, whole
from mockspice.domain.scope import Effects, Handler, Scope, account_row, check_brand
from mockspice.store import dataset
from mockspice.store.dataset import PHONE_KEYS, DatasetError
from mockspice.store.phones import normalize_phone
from mockspice.store.schema import ACCOUNT_COLUMNS, CONTACT_COLUMNS, MAX_ID, table

# Names a client may use for an account's keys besides the dataset's own (docs/fixtures.md):
# the row keys of accountLoad.
ACCOUNT_ALIASES = {"brandid": "brand", "accountid": "account"}

ACCOUNT_KEYS = (
    "userkey",
    "brand",
    "brandid",
    "password",
    "status",
    "account",
    "accountid",
    "contacts",
    "fields",
)


def _account_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the dataset's key names, and ``fields`` as ``[{"id", "value"}]``."""
    only_keys(record, ACCOUNT_KEYS, "account")
    out = {}
    for key, value in record.items():
        name = ACCOUNT_ALIASES.get(key, key)
        if name in out:
            raise BadParameter(f"'{key}' and '{name}' are the same key; give one")
        out[name] = value
    if "brand" in out:
        out["brand"] = ident(out["brand"], "brand")
    if "fields" in out:
        out["fields"] = _field_list(out["fields"])
    return out


def _field_list(value: Any) -> list[dict[str, Any]]:
    """Custom field values as ``{id: value}`` or ``[{"id", "value"}]``, ids checked."""
    if isinstance(value, dict):
        value = [{"id": k, "value": v} for k, v in value.items()]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadParameter('\'fields\' must be {field id: value} or a list of {"id", "value"}')
    return [{**v, "id": ident(v.get("id"), "fields[].id")} for v in value]


def _check_fields(conn: sqlite3.Connection, company_id: int, fields: list[dict[str, Any]]) -> None:
    known = {
        r[0] for r in conn.execute(f"SELECT FieldID FROM {table(company_id, 'tblCustomField')}")
    }
    for value in fields:
        if value["id"] not in known:
            raise NotFound(f"company {company_id} has no custom field {value['id']}")


def _create_account(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    if scope.userkey is not None:
        raise PermissionDenied("a portal session cannot create accounts")
    record = _account_record(record)
    required(record, "userkey", "account")
    required(record, "brand", "account")
    try:
        account = dataset.check_account(record, "record")
    except DatasetError as exc:
        raise BadParameter(f"{exc.place}: {exc.reason}" if exc.place else exc.reason) from None
    cid = scope.company_id
    check_brand(conn, cid, account["brand"])
    _check_fields(conn, cid, account["fields"])
    if conn.execute(
        f"SELECT 1 FROM {table(cid, 'tblAccount')} WHERE Userkey = ?", (account["userkey"],)
    ).fetchone():
        raise Conflict(f"company {cid} already has an account with userkey {account['userkey']!r}")
    dataset.insert_accounts(conn, cid, [account])  # also writes the contacts' phone index rows
    account_id = conn.execute(
        f"SELECT AccountID FROM {table(cid, 'tblAccount')} WHERE Userkey = ?", (account["userkey"],)
    ).fetchone()[0]
    contact_ids = [
        str(r[0])
        for r in conn.execute(
            f"SELECT ContactID FROM {table(cid, 'tblContact')} WHERE AccountID = ? ORDER BY "
            "Position",
            (account_id,),
        )
    ]
    effects.account_changed(account["userkey"], account["brand"])
    return {
        "type": "account",
        "userkey": account["userkey"],
        "brandid": str(account["brand"]),
        "contactids": contact_ids,
    }


def _update_account(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    record = _account_record(record)
    if "contacts" in record:
        raise BadParameter(
            "an account update does not take 'contacts'; send contact records "
            '({"type": "contact", ...}) to create, update or delete contacts'
        )
    account_id, brand_id, userkey = account_row(conn, scope, required(record, "userkey", "account"))
    if "brand" in record and record["brand"] != brand_id:
        raise BadParameter(
            f"an account's brand cannot be changed (account {userkey!r} is in brand {brand_id})"
        )
    changes = {key: record[key] for key in ACCOUNT_COLUMNS if key in record}
    if not changes and "fields" not in record:
        raise BadParameter(
            "an account update needs something to change: password, status, account or fields"
        )
    for key, value in changes.items():
        value = text(changes[key], key)
        if key == "status" and not value.strip():
            raise BadParameter("'status' must not be empty")
        conn.execute(
            f"UPDATE {table(scope.company_id, 'tblAccount')} SET {ACCOUNT_COLUMNS[key]} = ? WHERE "
            "AccountID = ?",
            (value, account_id),
        )
    for value in record.get("fields", ()):
        _set_field(conn, scope.company_id, account_id, value, upsert=True)
    effects.account_changed(userkey, brand_id)
    return {"type": "account", "userkey": userkey, "brandid": str(brand_id)}


def _delete_account(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    if scope.userkey is not None:
        raise PermissionDenied("a portal session cannot delete accounts")
    only_keys(record, ("userkey",), "account delete")
    account_id, brand_id, userkey = account_row(conn, scope, required(record, "userkey", "account"))
    cid = scope.company_id
    count = conn.execute(
        f"SELECT COUNT(*) FROM {table(cid, 'tblCase')} WHERE AccountID = ?", (account_id,)
    ).fetchone()[0]
    if count:
        raise Conflict(f"account {userkey!r} has {count} case(s); delete them first")
    # Contacts, their phone index rows and field values go with the account (ON DELETE CASCADE);
    # the index rows are named too, so the index never depends on the foreign-key setting.
    conn.execute(f"DELETE FROM {table(cid, 'tblContactPhone')} WHERE AccountID = ?", (account_id,))
    conn.execute(f"DELETE FROM {table(cid, 'tblAccount')} WHERE AccountID = ?", (account_id,))
    effects.deleted.add(userkey)
    effects.accounts.pop(userkey, None)
    return {"type": "account", "userkey": userkey, "brandid": str(brand_id)}


CONTACT_KEYS = ("contactid", "userkey", "position", *CONTACT_COLUMNS)


def _index_phones(conn: sqlite3.Connection, company_id: int, contact_id: int) -> None:
    """Rewrite one contact's rows of the phone index from its stored phones."""
    t = {name: table(company_id, name) for name in ("tblContact", "tblContactPhone", "tblAccount")}
    conn.execute(f"DELETE FROM {t['tblContactPhone']} WHERE ContactID = ?", (contact_id,))
    phones = ", ".join(f"c.{CONTACT_COLUMNS[key]}" for key in PHONE_KEYS)
    row = conn.execute(
        f"SELECT c.AccountID, a.BrandID, {phones} FROM {t['tblContact']} c"
        f" JOIN {t['tblAccount']} a ON a.AccountID = c.AccountID WHERE c.ContactID = ?",
        (contact_id,),
    ).fetchone()
    digits = sorted({normalize_phone(value) for value in row[2:]} - {""})
    conn.executemany(
        f"INSERT INTO {t['tblContactPhone']} VALUES (?,?,?,?)",
        [(contact_id, row[0], row[1], d) for d in digits],
    )


def _contact_values(record: dict[str, Any]) -> dict[str, str]:
    return {key: text(record[key], key) for key in CONTACT_COLUMNS if key in record}


def _contact(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any]
) -> tuple[int, int, int, str, int]:
    """``(ContactID, AccountID, BrandID, Userkey, Position)`` of the contact a record names."""
    t = {name: table(scope.company_id, name) for name in ("tblContact", "tblAccount")}
    select = (
        "SELECT c.ContactID, c.AccountID, a.BrandID, a.Userkey, c.Position FROM "
        f"{t['tblContact']} c"
        f" JOIN {t['tblAccount']} a ON a.AccountID = c.AccountID"
    )
    if record.get("contactid") not in (None, ""):
        contact_id = ident(record["contactid"], "contactid")
        row = conn.execute(f"{select} WHERE c.ContactID = ?", (contact_id,)).fetchone()
        if row is None:
            raise NotFound(f"company {scope.company_id} has no contact {contact_id}")
        if "userkey" in record and record["userkey"] != row[3]:
            raise BadParameter(
                f"contact {contact_id} belongs to {row[3]!r}, not {record['userkey']!r}"
            )
        if (
            record.get("position") not in (None, "")
            and whole(record["position"], "position", 0, MAX_ID) != row[4]
        ):
            raise BadParameter(
                f"contact {contact_id} is at position {row[4]}; a position cannot be changed"
            )
        scope.check_owner(row[3])
        return tuple(row)  # type: ignore[return-value]
    if "userkey" not in record or "position" not in record:
        raise BadParameter(
            "a contact is named by 'contactid', or by 'userkey' and 'position' (0 is the first)"
        )
    account_id = account_row(conn, scope, record["userkey"])[0]
    position = whole(record["position"], "position", 0, MAX_ID)
    row = conn.execute(
        f"{select} WHERE c.AccountID = ? AND c.Position = ?", (account_id, position)
    ).fetchone()
    if row is None:
        raise NotFound(f"account {record['userkey']!r} has no contact at position {position}")
    return tuple(row)  # type: ignore[return-value]


def _contact_result(contact_id: int, userkey: str, position: int) -> dict[str, Any]:
    return {
        "type": "contact",
        "contactid": str(contact_id),
        "userkey": userkey,
        "position": str(position),
    }


def _create_contact(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, CONTACT_KEYS[1:], "contact")
    account_id, brand_id, userkey = account_row(conn, scope, required(record, "userkey", "contact"))
    values = _contact_values(record)
    t = table(scope.company_id, "tblContact")
    count = conn.execute(f"SELECT COUNT(*) FROM {t} WHERE AccountID = ?", (account_id,)).fetchone()[
        0
    ]
    position = (
        count
        if record.get("position") in (None, "")
        else whole(record["position"], "position", 0, count)
    )
    # Positions stay 0..n-1 in order: make room for the new one.
    conn.execute(
        f"UPDATE {t} SET Position = Position + 1 WHERE AccountID = ? AND Position >= ?",
        (account_id, position),
    )
    columns = ["AccountID", "Position", *(CONTACT_COLUMNS[key] for key in values)]
    contact_id = conn.execute(
        f"INSERT INTO {t}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        (account_id, position, *values.values()),
    ).lastrowid
    _index_phones(conn, scope.company_id, contact_id)
    effects.account_changed(userkey, brand_id)
    return _contact_result(contact_id, userkey, position)


def _update_contact(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, CONTACT_KEYS, "contact")
    contact_id, _, brand_id, userkey, position = _contact(conn, scope, record)
    values = _contact_values(record)
    if not values:
        raise BadParameter(
            f"a contact update needs something to change ({', '.join(CONTACT_COLUMNS)})"
        )
    assignments = ", ".join(f"{CONTACT_COLUMNS[key]} = ?" for key in values)
    conn.execute(
        f"UPDATE {table(scope.company_id, 'tblContact')} SET {assignments} WHERE ContactID = ?",
        (*values.values(), contact_id),
    )
    _index_phones(conn, scope.company_id, contact_id)
    effects.account_changed(userkey, brand_id)
    return _contact_result(contact_id, userkey, position)


def _delete_contact(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, ("contactid", "userkey", "position"), "contact delete")
    contact_id, account_id, brand_id, userkey, position = _contact(conn, scope, record)
    t = table(scope.company_id, "tblContact")
    conn.execute(
        f"DELETE FROM {table(scope.company_id, 'tblContactPhone')} WHERE ContactID = ?",
        (contact_id,),
    )
    conn.execute(f"DELETE FROM {t} WHERE ContactID = ?", (contact_id,))
    conn.execute(
        f"UPDATE {t} SET Position = Position - 1 WHERE AccountID = ? AND Position > ?",
        (account_id, position),
    )
    effects.account_changed(userkey, brand_id)
    return _contact_result(contact_id, userkey, position)


FIELDVALUE_KEYS = ("userkey", "id", "fieldid", "value")


def _field_record(conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], with_value: bool):
    only_keys(record, FIELDVALUE_KEYS if with_value else FIELDVALUE_KEYS[:3], "fieldvalue")
    if "id" in record and "fieldid" in record:
        raise BadParameter("'id' and 'fieldid' are the same key; give one")
    account_id, brand_id, userkey = account_row(
        conn, scope, required(record, "userkey", "fieldvalue")
    )
    field_id = ident(record.get("id", record.get("fieldid")), "id")
    value = None
    if with_value:
        if "value" not in record:
            raise BadParameter("a fieldvalue record needs 'value'")
        value = text(record["value"], "value")
    return account_id, brand_id, userkey, {"id": field_id, "value": value}


def _set_field(
    conn: sqlite3.Connection, company_id: int, account_id: int, value: dict[str, Any], upsert: bool
) -> None:
    _check_fields(conn, company_id, [value])
    text_value = text(value["value"], "value") if "value" in value else ""
    if upsert:
        conn.execute(
            f"INSERT INTO {table(company_id, 'tblCustomFieldValue')} VALUES (?,?,?) ON CONFLICT"
            "(AccountID, FieldID) DO UPDATE SET Value = excluded.Value",
            (account_id, value["id"], text_value),
        )
        return
    conn.execute(
        f"INSERT INTO {table(company_id, 'tblCustomFieldValue')} VALUES (?,?,?)",
        (account_id, value["id"], text_value),
    )


def _field_result(userkey: str, field_id: int, value: str | None) -> dict[str, Any]:
    return {"type": "fieldvalue", "userkey": userkey, "id": str(field_id), "value": value}


def _create_fieldvalue(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    account_id, brand_id, userkey, value = _field_record(conn, scope, record, True)
    if conn.execute(
        f"SELECT 1 FROM {table(scope.company_id, 'tblCustomFieldValue')} WHERE AccountID = ? AND "
        "FieldID = ?",
        (account_id, value["id"]),
    ).fetchone():
        raise Conflict(
            f"account {userkey!r} already has a value for custom field {value['id']}; use update"
        )
    _set_field(conn, scope.company_id, account_id, value, upsert=False)
    effects.account_changed(userkey, brand_id)
    return _field_result(userkey, value["id"], value["value"])


def _update_fieldvalue(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    account_id, brand_id, userkey, value = _field_record(conn, scope, record, True)
    _set_field(
        conn, scope.company_id, account_id, value, upsert=True
    )  # set, whether or not there was one
    effects.account_changed(userkey, brand_id)
    return _field_result(userkey, value["id"], value["value"])


def _delete_fieldvalue(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    account_id, brand_id, userkey, value = _field_record(conn, scope, record, False)
    gone = conn.execute(
        f"DELETE FROM {table(scope.company_id, 'tblCustomFieldValue')} WHERE AccountID = ? AND "
        "FieldID = ?",
        (account_id, value["id"]),
    ).rowcount
    if not gone:
        raise NotFound(f"account {userkey!r} has no value for custom field {value['id']}")
    effects.account_changed(userkey, brand_id)
    return _field_result(userkey, value["id"], None)


TYPES: dict[str, dict[str, Handler]] = {
    "account": {"create": _create_account, "update": _update_account, "delete": _delete_account},
    "contact": {"create": _create_contact, "update": _update_contact, "delete": _delete_contact},
    "fieldvalue": {
        "create": _create_fieldvalue,
        "update": _update_fieldvalue,
        "delete": _delete_fieldvalue,
    },
}
