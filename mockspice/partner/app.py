"""The reference partner: SpiceCSM's four web-call receivers (search, load, update, case) as a
template.

A partner copies this file to answer SpiceCSM's web calls from its own data; docs/partner-guide.md
walks through it. "The page" below is SpiceCSM's API/Integration page. Accounts are the mockspice
dataset's shape (docs/fixtures.md); in memory their ``fields`` are ``{id: value}``, the shape of
:mod:`mockspice.wire.build` and :mod:`mockspice.wire.parse`.

Where the page is silent, this partner's choices: a wrong or missing intUser/intPass is 403; an
unknown userkey on load is 404 (a ``<userdata>`` must hold one user, so there is no empty one);
update and case answer ``<ack call="update|case" .../>`` (mockspice accepts any 2xx there); bad
input is 400. Every refusal has a one-line ``text/plain`` reason.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import sqlite3
import threading
from pathlib import Path

import yaml
from flask import Blueprint, Flask, Response, abort, current_app, request
from lxml import etree
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from mockspice.resources import DATA_DIR
from mockspice.wire import safexml
from mockspice.wire.build import AccountError, account_of, user_xml
from mockspice.wire.documents import (
    ACCOUNT_USER_ATTRIBUTES,
    CORRECTED_NAMES,
    SEARCH_USER_ATTRIBUTES,
    SEARCH_VARIABLES,
    TICKET_ATTRIBUTES,
)
from mockspice.wire.encoding import encode
from mockspice.wire.parse import UnreadableDocument, parse_account
from mockspice.wire.validate import validate

PARTNER_DATASET = DATA_DIR / "partner.yaml"
MAX_BODY = 16 * 1024 * 1024
XML = "text/xml; charset=utf-8"
# Page, "Account Search/Load": the variables in its spelling, plus the corrected spellings
# (SecondaryPhone, Mobile) that a fixed SpiceCSM, or mockspice's corrected_names, sends.
VARIABLES = dict(SEARCH_VARIABLES) | {
    right: dict(SEARCH_VARIABLES)[wrong] for wrong, right in CORRECTED_NAMES.items()
}
PHONES = ("pphone", "sphone", "mobile", "fax")
# CustFields is "ID\value" pairs joined by commas; the page gives no escape, so a comma only
# separates pairs when the next pair starts: "1\Smith, Jones,2\Gold" is two pairs.
PAIR_START = re.compile(r",(?=\s*\d+\\)")

receivers = Blueprint("partner", __name__)


# The credentials the partner accepts unless told otherwise (SpiceCSM sends them as
# intUser/intPass).
DEFAULT_INT_USER, DEFAULT_INT_PASS = "spice", "secret"
NON_DIGITS = re.compile(r"[^0-9]+")


class PartnerDataError(ValueError):
    """The partner's data file cannot be read; the message names the file and the place."""


class PartnerBook:
    """The partner's accounts and the cases it was sent, safe to share between threads.

    In memory, or, given a ``path``, in a SQLite file of its own that every process opening it
    shares (the mock mounts the partner in each of its workers: an update one worker received
    is what the next load sees, whichever worker answers it). The file is written afresh with
    ``accounts`` when the book is made.
    """

    def __init__(self, accounts: list[dict], path: str | Path | None = None):
        self._lock = threading.Lock()
        self._path = None if path is None else str(path)
        self._local = threading.local()
        accounts = [account_of(a, "an account of the partner") for a in accounts]
        self._accounts = {a["userkey"]: a for a in accounts}
        self._tickets: dict[str, dict[tuple[str, str], dict]] = {}
        if self._path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(self._path + suffix).unlink(missing_ok=True)
            self._db().db.executescript(_BOOK_DDL)
            with self._db() as db:
                db.executemany(
                    "INSERT INTO Account(Userkey, Data) VALUES (?, ?)",
                    [(a["userkey"], json.dumps(a)) for a in accounts],
                )

    def _db(self, write: bool = True) -> _Transaction:
        """A transaction on this thread's connection to the book's file (never a connection
        made before a fork): a write takes the file's write lock, a read does not."""
        found = getattr(self._local, "db", None)
        if found is None or found[0] != os.getpid():
            db = sqlite3.connect(self._path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            found = self._local.db = (os.getpid(), db)
        return _Transaction(found[1], write)

    def _all(self) -> list[dict]:
        if self._path is None:
            with self._lock:
                return list(self._accounts.values())
        with self._db(write=False) as db:
            return [json.loads(r[0]) for r in db.execute("SELECT Data FROM Account ORDER BY Seq")]

    def search(self, criteria: list[tuple[str, object]]) -> list[dict]:
        """Return the accounts that match every criterion (AND), in the book's order."""
        return [a for a in self._all() if all(_matches(a, k, v) for k, v in criteria)]

    # Accounts are replaced whole, never changed in place, so a reader may keep one unlocked.
    def load(self, userkey: str) -> dict | None:
        """Return the account of that userkey (exactly as written), or None."""
        if self._path is None:
            with self._lock:
                return self._accounts.get(userkey)
        with self._db(write=False) as db:
            row = db.execute("SELECT Data FROM Account WHERE Userkey = ?", (userkey,)).fetchone()
        return None if row is None else json.loads(row[0])

    def update(self, account: dict) -> bool:
        """Replace or insert an account; return whether it is new."""
        if self._path is None:
            with self._lock:
                created = account["userkey"] not in self._accounts
                self._accounts[account["userkey"]] = account
                return created
        with self._db() as db:
            changed = db.execute(
                "UPDATE Account SET Data = ? WHERE Userkey = ?",
                (json.dumps(account), account["userkey"]),
            ).rowcount
            if not changed:
                db.execute(
                    "INSERT INTO Account(Userkey, Data) VALUES (?, ?)",
                    (account["userkey"], json.dumps(account)),
                )
        return not changed

    def add_tickets(self, userkey: str, tickets: list[dict]) -> None:
        """Keep a case's tickets for the account; a response sent again replaces its copy."""
        if self._path is None:
            with self._lock:
                kept = self._tickets.setdefault(userkey, {})
                kept.update({(t["cid"], t["id"]): t for t in tickets})
            return
        with self._db() as db:
            for t in tickets:
                changed = db.execute(
                    "UPDATE Ticket SET Data = ? WHERE Userkey = ? AND Cid = ? AND Id = ?",
                    (json.dumps(t), userkey, t["cid"], t["id"]),
                ).rowcount
                if not changed:
                    db.execute(
                        "INSERT INTO Ticket(Userkey, Cid, Id, Data) VALUES (?, ?, ?, ?)",
                        (userkey, t["cid"], t["id"], json.dumps(t)),
                    )

    def tickets(self, userkey: str) -> list[dict]:
        """Return the tickets received for an account, in the order they first came."""
        if self._path is None:
            with self._lock:
                return list(self._tickets.get(userkey, {}).values())
        with self._db(write=False) as db:
            rows = db.execute(
                "SELECT Data FROM Ticket WHERE Userkey = ? ORDER BY Seq", (userkey,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]


_BOOK_DDL = """
CREATE TABLE Account (Seq INTEGER PRIMARY KEY, Userkey TEXT NOT NULL UNIQUE, Data TEXT NOT NULL);
CREATE TABLE Ticket (
    Seq INTEGER PRIMARY KEY, Userkey TEXT NOT NULL, Cid TEXT NOT NULL, Id TEXT NOT NULL,
    Data TEXT NOT NULL, UNIQUE (Userkey, Cid, Id)
);
"""


class _Transaction:
    """``with`` a connection: one transaction (``BEGIN IMMEDIATE`` for a write)."""

    def __init__(self, db: sqlite3.Connection, write: bool):
        self.db, self.write = db, write

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE" if self.write else "BEGIN")
        return self.db

    def __exit__(self, kind, exc, tb) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _digits(phone: str) -> str:
    """A phone number's digits, without the North American country code (1) or the exit code
    dialled before an international number (011)."""
    digits = NON_DIGITS.sub("", phone)
    if len(digits) == 11 and digits.startswith("1"):
        return digits[1:]
    return digits[3:] if digits.startswith("011") and len(digits) > 10 else digits


def _same(text: str, wanted: str) -> bool:
    """Compare two texts as people type them: trimmed, case-insensitive."""
    return text.strip().casefold() == wanted.strip().casefold()


def _matches(account: dict, key: str, wanted) -> bool:
    """Whether one search criterion matches the account."""
    contacts = account.get("contacts") or ()
    if key in PHONES:
        # An ANI arrives as PrimaryPhone (the pop) in whatever format the switch uses, and the
        # caller may ring from any of their numbers: compare digits, against every phone.
        digits = _digits(wanted)
        return bool(digits) and any(
            _digits(c.get(p) or "") == digits for c in contacts for p in PHONES
        )
    if key == "fields":
        field_id, value = wanted
        return _same(account["fields"].get(field_id, ""), value)
    if key == "password":
        return account.get("password", "") == wanted  # a secret: compared exactly
    if key in ACCOUNT_USER_ATTRIBUTES:
        return _same(account.get(key) or "", wanted)
    return any(_same(c.get(key) or "", wanted) for c in contacts)


def _criteria(form) -> list[tuple[str, object]]:
    """Read the search variables; "only variables that contain data will be sent" (page)."""
    criteria = []
    for name, value in form.items():
        key = VARIABLES.get(name)
        if key is None or not value.strip():
            continue  # intUser, intPass, or a variable this partner does not search on
        if key != "fields":
            criteria.append((key, value))
            continue
        for pair in PAIR_START.split(value):
            field_id, sep, text = pair.strip().partition("\\")
            if not sep or not field_id.isdigit():
                abort(400, f"CustFields: {pair!r} is not an ID\\value pair")
            criteria.append(("fields", (int(field_id), text)))
    if not criteria:
        abort(400, "no search variable with data")
    return criteria


def _xml(body: str) -> Response:
    """Answer an XML document."""
    return Response(body, 200, content_type=XML)


def _ack(call: str, **values: str) -> Response:
    """Answer update and case with a one-element XML acknowledgement (the page asks for none)."""
    attributes = " ".join(f'{name}="{encode(str(value))}"' for name, value in values.items())
    return _xml(f'<?xml version="1.0" encoding="UTF-8"?>\n<ack call="{call}" {attributes} />\n')


def _required(name: str) -> str:
    """Return a POST variable that must carry data, or answer 400."""
    value = request.form.get(name, "")
    if not value.strip():
        abort(400, f"missing variable {name}")
    return value


@receivers.before_request
def check_credentials():
    """Refuse a call without the configured intUser and intPass (page: "Web Call Integrations")."""
    user, password = current_app.extensions["partner"]["credentials"]
    given_user, given_pass = request.form.get("intUser", ""), request.form.get("intPass", "")
    # compare_digest: the time taken does not tell how much of a guess was right.
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    pass_ok = hmac.compare_digest(given_pass.encode(), password.encode())
    if not (user_ok and pass_ok):
        abort(403, "wrong or missing intUser/intPass")


@receivers.post("/search")
def search():
    """Account search: every matching account as <users><user
    .../></users>, values percent-encoded.
    """
    users = []
    for account in current_app.extensions["partner"]["book"].search(_criteria(request.form)):
        contact = (account.get("contacts") or [{}])[0]  # the first contact speaks for the account
        values = {
            "status": account.get("status") or "",
            "userkey": account["userkey"],
            "name": f"{contact.get('firstname') or ''} {contact.get('lastname') or ''}".strip(),
            "email": contact.get("pemail") or "",
            "phone": contact.get("pphone") or "",
        }
        users.append(
            "\n  <user "
            + " ".join(f'{name}="{encode(values[name])}"' for name in SEARCH_USER_ATTRIBUTES)
            + " />"
        )
    # Page: "Should no matching records be found the parent element must be returned with no
    # child elements": then the reply is <users></users>.
    return _xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n<users>'
        + "".join(users)
        + ("\n" if users else "")
        + "</users>\n"
    )


@receivers.post("/load")
def load():
    """Account load: the account of Userkey as <userdata>; an
    unknown userkey is 404 (page silent).
    """
    userkey = _required("Userkey")
    account = current_app.extensions["partner"]["book"].load(userkey)
    if account is None:
        abort(404, f"no account with userkey {userkey!r}")
    return _xml(user_xml(account))  # the load structure, every value percent-encoded


@receivers.post("/update")
def update():
    """Account update: userXML (the load structure) replaces or adds the account."""
    try:
        account = parse_account(_required("userXML").encode("utf-8"))
    except UnreadableDocument as exc:
        abort(400, f"userXML: {str(exc).splitlines()[0]}")
    if not account["userkey"].strip():
        abort(400, "userXML: <user> has no userkey")
    created = current_app.extensions["partner"]["book"].update(account)
    return _ack("update", userkey=account["userkey"], result="created" if created else "updated")


@receivers.post("/case")
def case():
    """Case update: the tickets of caseXML, kept for Userkey."""
    userkey, data = _required("Userkey"), _required("caseXML").encode("utf-8")
    # The contract's validator refuses a DOCTYPE before parsing (no entity expanded, nothing
    # fetched) and names the first problem; only a clean document is read.
    errors = [f for f in validate("case", data) if f.severity == "error"]
    if errors:
        abort(400, f"caseXML: {errors[0].code}: {errors[0].message.splitlines()[0]}")
    parser = safexml.parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        abort(400, f"caseXML: {exc}")
    tickets = [{name: t.get(name, "") for name in TICKET_ATTRIBUTES} for t in root.iter("ticket")]
    current_app.extensions["partner"]["book"].add_tickets(userkey, tickets)
    return _ack("case", userkey=userkey, tickets=str(len(tickets)))


def _plain(error: HTTPException) -> Response:
    """Answer every HTTP error with its status and a one-line text reason."""
    return Response(f"{error.description}\n", error.code, content_type="text/plain; charset=utf-8")


def partner_accounts(path: str | Path) -> list[dict]:
    """The accounts of every company of a file in the dataset format (docs/fixtures.md), read as
    userXML carries them (:func:`mockspice.wire.build.account_of`). The partner reads only what
    it needs and leaves the rest of the format to the mock (``mockspice serve`` checks it all).

    :raises PartnerDataError: the file cannot be read, or an account lacks a text userkey.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PartnerDataError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PartnerDataError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PartnerDataError(f"{path}{where}: not YAML or JSON: {problem}") from None
    companies = data.get("companies") if isinstance(data, dict) else None
    if not isinstance(companies, list):
        raise PartnerDataError(f"{path}: needs 'companies', a list of companies with accounts")
    accounts = []
    for c, company in enumerate(companies):
        listed = company.get("accounts") if isinstance(company, dict) else None
        for a, account in enumerate(listed if isinstance(listed, list) else ()):
            try:
                accounts.append(account_of(account, f"{path}: companies[{c}].accounts[{a}]"))
            except AccountError as exc:
                raise PartnerDataError(str(exc)) from None
    return accounts


def create_partner_app(
    accounts: list[dict] | None = None,
    *,
    int_user: str = DEFAULT_INT_USER,
    int_pass: str = DEFAULT_INT_PASS,
    book_path: str | Path | None = None,
) -> Flask:
    """Create a reference partner answering from ``accounts`` (default: data/partner.yaml).

    :param book_path: keep its data in this SQLite file (written afresh), shared by every process
        that serves the app; None: in this process's memory.
    """
    app = Flask(__name__)
    # Werkzeug keeps form fields under 500 kB by default; a userXML of many contacts is larger.
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, MAX_FORM_MEMORY_SIZE=MAX_BODY)
    book = PartnerBook(
        partner_accounts(PARTNER_DATASET) if accounts is None else accounts, book_path
    )
    app.extensions["partner"] = {"book": book, "credentials": (int_user, int_pass)}
    app.register_blueprint(receivers)  # relative routes: works mounted under a prefix too
    app.register_error_handler(HTTPException, _plain)
    return app


def serve_partner(
    host: str = "127.0.0.1",
    port: int = 9000,
    data_file: str | Path | None = None,
    int_user: str = DEFAULT_INT_USER,
    int_pass: str = DEFAULT_INT_PASS,
) -> None:
    """Serve the reference partner until interrupted, printing its URL first."""
    accounts = partner_accounts(data_file) if data_file else None
    app = create_partner_app(accounts, int_user=int_user, int_pass=int_pass)
    # One process with a thread per request, not the mock server's forked workers: the book lives in
    # this process's memory, and an update must be seen by the next load whichever worker got it.
    server = make_server(host, port, app, threaded=True)
    shown = f"[{host}]" if ":" in host else host
    print(
        f"mockspice reference partner on http://{shown}:{server.server_port}/ "
        "(POST search, load, update, case)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
