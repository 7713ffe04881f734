"""The store's tables, in SpiceCSM's own style.

SpiceCSM keeps tenant-wide tables (``tblTenant``) and one set of tables per company, prefixed
with the company id (``1_tblBrand``, ``1_tblBrandData``; spicecsm-facts.md, "query"). The
mock's own tables follow the same style: CamelCase columns, ``tbl`` names, per-company tables
for help-desk data. Names that start with a digit must be quoted in SQLite (MySQL accepts them
bare), so every per-company name goes through :func:`table`.
"""

from __future__ import annotations

# PRAGMA application_id marks a file as a mockspice store ("MSPC"), so that a database made by
# another program is refused instead of being written into.
APPLICATION_ID = 0x4D535043
# The largest id: SpiceCSM's MySQL INT columns hold no more, and every id of the mock obeys it.
MAX_ID = 2**31 - 1
# 2: per-company event categories, events and alerts (an older file lacks those tables).
# 3: journal entries stored once and listed many times (tblJournalText); MIGRATIONS[2] adds it.
# 4: brands' secrets (intPass, inContact credentials) in "<c>_tblBrandSecret", which the API's
#    query cannot read, instead of "<c>_tblBrandData"; MIGRATIONS[3] moves them.
# 5: a stub's hits and origin (tblRpcStub.Hits, .Origin) and a session's single-row quirk
#    (tblSession.SingleRowObject); MIGRATIONS[4] adds the columns.
SCHEMA_VERSION = 5

# The journal's shared texts (schema 3).
_JOURNAL_TEXT_DDL = """
CREATE INDEX tblJournal_TextKey ON tblJournal(TextKey) WHERE TextKey IS NOT NULL;
CREATE TABLE tblJournalText (
    TextKey INTEGER PRIMARY KEY,
    Entry TEXT NOT NULL
);
"""

GLOBAL_DDL = (
    """
CREATE TABLE tblMockMeta (
    MetaKey TEXT PRIMARY KEY,
    MetaValue TEXT NOT NULL
);
CREATE TABLE tblTenant (
    TenantID INTEGER PRIMARY KEY,
    TenantLabel TEXT NOT NULL,
    Active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE tblSecurityLevel (
    SecurityLevelID INTEGER PRIMARY KEY,
    SecurityLevelLabel TEXT NOT NULL
);
CREATE TABLE tblTier (
    TierID INTEGER PRIMARY KEY,
    TierLabel TEXT NOT NULL
);
CREATE TABLE tblAgent (
    AgentID INTEGER PRIMARY KEY,
    TenantID INTEGER NOT NULL REFERENCES tblTenant(TenantID),
    Login TEXT NOT NULL UNIQUE,
    Password TEXT NOT NULL,
    FirstName TEXT NOT NULL DEFAULT '',
    LastName TEXT NOT NULL DEFAULT '',
    Email TEXT NOT NULL DEFAULT '',
    SecurityLevelID INTEGER NOT NULL REFERENCES tblSecurityLevel(SecurityLevelID),
    TierID INTEGER NOT NULL REFERENCES tblTier(TierID),
    Active INTEGER NOT NULL DEFAULT 1
);
-- API sessions (connect, portalconnect): runtime state, not part of the dataset.
CREATE TABLE tblSession (
    SessionID TEXT PRIMARY KEY,
    Kind TEXT NOT NULL,
    AgentID INTEGER,
    TenantID INTEGER,
    Userkey TEXT,
    SecurityLevelID INTEGER NOT NULL,
    Created TEXT NOT NULL,
    ExpiresAt REAL NOT NULL,
    SingleRowObject INTEGER  -- the single-row quirk of this session's calls; NULL: the server's
);
-- Canned API answers for client testing (POST /_mockspice/rpc/stubs): runtime state.
CREATE TABLE tblRpcStub (
    StubID INTEGER PRIMARY KEY,
    Method TEXT NOT NULL,
    Stub TEXT NOT NULL,
    TimesLeft INTEGER,
    Hits INTEGER NOT NULL DEFAULT 0,
    Origin TEXT  -- the file it was loaded from (--stubs); NULL: added by the API
);
CREATE INDEX tblRpcStub_Method ON tblRpcStub(Method, StubID);
-- No AUTOINCREMENT and no index on Kind: each costs another page written per entry, and the
-- journal is small (capped) and written on every request; domain/journal.py keeps ids rising.
-- An entry given many times (a replayed API answer's) is kept once in tblJournalText: its rows
-- have an empty Entry and the text's TextKey.
CREATE TABLE tblJournal (
    JournalID INTEGER PRIMARY KEY,
    Kind TEXT NOT NULL,
    Created TEXT NOT NULL,
    Entry TEXT NOT NULL,
    TextKey INTEGER
);
"""
    + _JOURNAL_TEXT_DDL
    + """
INSERT INTO tblMockMeta VALUES ('generation', '0');
INSERT INTO tblSecurityLevel VALUES
    (1, 'Agent'), (2, 'Power User'), (3, 'Supervisor'), (4, 'System Administrator');
INSERT INTO tblTier VALUES
    (1, 'Probationary'), (2, 'Level 2'), (3, 'Level 3'), (4, 'Supervisor');
"""
)

# Brand data rows that are secrets: kept in "<c>_tblBrandSecret", masked in every answer.
SECRET_LABELS = ("IntPass",)
SECRET_PREFIXES = ("inContact:",)


def is_secret_label(label: str) -> bool:
    """Whether a brand data label names a secret (kept apart from the brand's other data)."""
    return label in SECRET_LABELS or label.startswith(SECRET_PREFIXES)


def _move_secrets(company_ids: list[int]) -> str:
    """Schema 3 to 4: each company's secret table, with its secrets moved out of its brand data."""
    where = " OR ".join(
        [f"DataLabel = '{label}'" for label in SECRET_LABELS]
        + [f"substr(DataLabel, 1, {len(p)}) = '{p}'" for p in SECRET_PREFIXES]
    )
    steps = []
    for cid in company_ids:
        data, secret = table(cid, "tblBrandData"), table(cid, "tblBrandSecret")
        steps.append(
            _BRAND_SECRET_DDL.format(p=f"{cid}_")
            + f"INSERT INTO {secret} SELECT BrandID, DataLabel, "
            f"DataText FROM {data} WHERE {where};DELETE FROM {data} WHERE {where};"
        )
    return "".join(steps)


# What brings a store of version N to N + 1 (Store.open runs them in turn): DDL, or a function
# of the store's company ids that gives it.
MIGRATIONS = {
    2: "ALTER TABLE tblJournal ADD COLUMN TextKey INTEGER;" + _JOURNAL_TEXT_DDL,
    3: _move_secrets,
    4: "ALTER TABLE tblRpcStub ADD COLUMN Hits INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tblRpcStub ADD COLUMN Origin TEXT;"
    "ALTER TABLE tblSession ADD COLUMN SingleRowObject INTEGER;",
}

# Global tables that hold dataset rows (replaced with the dataset); the others are fixed
# (levels, tiers), the mock's own (meta) or history (the journal, which a reset empties).
GLOBAL_DATA_TABLES = ("tblAgent", "tblTenant")

COMPANY_TABLES = (
    "tblBrand",
    "tblBrandData",
    "tblBrandSecret",
    "tblStatus",
    "tblIssue",
    "tblCustomField",
    "tblAccount",
    "tblContact",
    "tblContactPhone",
    "tblCustomFieldValue",
    "tblCase",
    "tblResponse",
    "tblEventCategory",
    "tblEvent",
    "tblAlert",
)

# Same shape as tblBrandData; hidden from the API's query (domain/sql.py).
#: What a history write (``Store.write(history=True)``, which leaves the dataset's generation as
#: it is) may change: the journal, the sessions (creation, expiry), the stubs' use (hits, the
#: answers left) and the mock's meta rows. Nothing an API answer kept for replay is computed
#: from: the store refuses a history write to any other table (db.py, ``_history_only``).
HISTORY_TABLES = frozenset(
    {"tblJournal", "tblJournalText", "tblSession", "tblRpcStub", "tblMockMeta"}
)
#: An account's own values besides its userkey and brand: its key (an attribute of the load
#: structure's ``<user>``) and its column of ``<CompanyID>_tblAccount``.
ACCOUNT_COLUMNS = {"password": "Password", "status": "Status", "account": "ExternalID"}
#: A contact's values: its key (an attribute of the load structure's ``<contact>``, in the page's
#: order: wire/documents.py, CONTACT_ATTRIBUTES) and its column of ``<CompanyID>_tblContact``.
#: The one list: the DDL, the dataset format, the inserts and the selects are made from it.
CONTACT_COLUMNS = {
    "firstname": "FirstName",
    "lastname": "LastName",
    "aone": "AddressOne",
    "atwo": "AddressTwo",
    "city": "City",
    "region": "Region",
    "pc": "PostalCode",
    "country": "Country",
    "pphone": "PrimaryPhone",
    "sphone": "SecondaryPhone",
    "pemail": "PrimaryEmail",
    "semail": "SecondaryEmail",
    "mobile": "Mobile",
    "fax": "Fax",
}

_BRAND_SECRET_DDL = """
CREATE TABLE "{p}tblBrandSecret" (
    BrandID INTEGER NOT NULL REFERENCES "{p}tblBrand"(BrandID) ON DELETE CASCADE,
    DataLabel TEXT NOT NULL,
    DataText TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (BrandID, DataLabel)
);
"""

COMPANY_DDL = """
CREATE TABLE "{p}tblBrand" (
    BrandID INTEGER PRIMARY KEY,
    BrandLabel TEXT NOT NULL,
    BrandListLabel TEXT NOT NULL,
    Active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE "{p}tblBrandData" (
    BrandID INTEGER NOT NULL REFERENCES "{p}tblBrand"(BrandID) ON DELETE CASCADE,
    DataLabel TEXT NOT NULL,
    DataText TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (BrandID, DataLabel)
);
{brand_secret}
CREATE TABLE "{p}tblStatus" (
    StatusID INTEGER PRIMARY KEY,
    StatusLabel TEXT NOT NULL,
    Closed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE "{p}tblIssue" (
    IssueID INTEGER PRIMARY KEY,
    IssueLabel TEXT NOT NULL,
    ParentID INTEGER REFERENCES "{p}tblIssue"(IssueID)
);
CREATE TABLE "{p}tblCustomField" (
    FieldID INTEGER PRIMARY KEY,
    FieldLabel TEXT NOT NULL
);
CREATE TABLE "{p}tblAccount" (
    AccountID INTEGER PRIMARY KEY,
    BrandID INTEGER NOT NULL REFERENCES "{p}tblBrand"(BrandID),
    Userkey TEXT NOT NULL UNIQUE,
    Password TEXT NOT NULL DEFAULT '',
    Status TEXT NOT NULL DEFAULT 'Active',
    ExternalID TEXT NOT NULL DEFAULT ''
);
CREATE TABLE "{p}tblContact" (
    ContactID INTEGER PRIMARY KEY,
    AccountID INTEGER NOT NULL REFERENCES "{p}tblAccount"(AccountID) ON DELETE CASCADE,
    Position INTEGER NOT NULL,
{contact_columns}
);
CREATE INDEX "{p}tblContact_Account" ON "{p}tblContact"(AccountID, Position);
CREATE TABLE "{p}tblContactPhone" (
    ContactID INTEGER NOT NULL REFERENCES "{p}tblContact"(ContactID) ON DELETE CASCADE,
    AccountID INTEGER NOT NULL,
    BrandID INTEGER NOT NULL,
    Digits TEXT NOT NULL
);
CREATE INDEX "{p}tblContactPhone_Digits" ON "{p}tblContactPhone"(Digits, BrandID);
CREATE TABLE "{p}tblCustomFieldValue" (
    AccountID INTEGER NOT NULL REFERENCES "{p}tblAccount"(AccountID) ON DELETE CASCADE,
    FieldID INTEGER NOT NULL REFERENCES "{p}tblCustomField"(FieldID),
    Value TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (AccountID, FieldID)
);
CREATE TABLE "{p}tblCase" (
    CaseID INTEGER PRIMARY KEY,
    BrandID INTEGER NOT NULL REFERENCES "{p}tblBrand"(BrandID),
    AccountID INTEGER NOT NULL REFERENCES "{p}tblAccount"(AccountID),
    StatusID INTEGER NOT NULL REFERENCES "{p}tblStatus"(StatusID),
    IssueID INTEGER REFERENCES "{p}tblIssue"(IssueID),
    TierID INTEGER NOT NULL DEFAULT 1,
    AssignedAgentID INTEGER,
    CallID TEXT NOT NULL DEFAULT '',
    Created TEXT NOT NULL
);
CREATE INDEX "{p}tblCase_Account" ON "{p}tblCase"(AccountID);
CREATE TABLE "{p}tblResponse" (
    ResponseID INTEGER PRIMARY KEY,
    CaseID INTEGER NOT NULL REFERENCES "{p}tblCase"(CaseID) ON DELETE CASCADE,
    AgentID INTEGER,
    TierID INTEGER NOT NULL DEFAULT 1,
    StatusID INTEGER NOT NULL REFERENCES "{p}tblStatus"(StatusID),
    IssueID INTEGER REFERENCES "{p}tblIssue"(IssueID),
    Created TEXT NOT NULL,
    CallID TEXT NOT NULL DEFAULT '',
    Journal TEXT NOT NULL DEFAULT '',
    Email TEXT NOT NULL DEFAULT '',
    Article TEXT NOT NULL DEFAULT '',
    TreePath TEXT NOT NULL DEFAULT '',
    Events TEXT NOT NULL DEFAULT ''
);
CREATE INDEX "{p}tblResponse_Case" ON "{p}tblResponse"(CaseID, ResponseID);
-- Scheduled events (a call back, a visit), optionally on a case, and the company's global
-- alerts: SpiceCSM has both (spicecsm-facts.md, "The product") and the columns are the mock's
-- choice.
CREATE TABLE "{p}tblEventCategory" (
    CategoryID INTEGER PRIMARY KEY,
    CategoryLabel TEXT NOT NULL
);
CREATE TABLE "{p}tblEvent" (
    EventID INTEGER PRIMARY KEY,
    CaseID INTEGER REFERENCES "{p}tblCase"(CaseID) ON DELETE CASCADE,
    CategoryID INTEGER NOT NULL REFERENCES "{p}tblEventCategory"(CategoryID),
    Title TEXT NOT NULL,
    Starts TEXT NOT NULL,
    Ends TEXT,
    Notes TEXT NOT NULL DEFAULT '',
    AgentID INTEGER
);
CREATE INDEX "{p}tblEvent_Case" ON "{p}tblEvent"(CaseID);
CREATE TABLE "{p}tblAlert" (
    AlertID INTEGER PRIMARY KEY,
    Message TEXT NOT NULL,
    Created TEXT NOT NULL,
    Expires TEXT,
    Active INTEGER NOT NULL DEFAULT 1
);
"""


def table(company_id: int, name: str) -> str:
    """The quoted name of a per-company table, e.g. ``"1_tblBrand"``."""
    if type(company_id) is not int or company_id < 1 or name not in COMPANY_TABLES:
        raise ValueError(f"no per-company table {company_id!r}_{name}")
    return f'"{company_id}_{name}"'


def company_ddl(company_id: int) -> str:
    """The statements that create one company's tables."""
    table(company_id, "tblBrand")  # validates the id
    p = f"{company_id}_"
    return COMPANY_DDL.format(
        p=p,
        brand_secret=_BRAND_SECRET_DDL.format(p=p),
        contact_columns=",\n".join(
            f"    {column} TEXT NOT NULL DEFAULT ''" for column in CONTACT_COLUMNS.values()
        ),
    )
