"""The documented structure of SpiceCSM's web-call documents: names, in the page's order.

One place for the element and attribute names of the integration page ("Account Search/Load",
"Account Update", "Case Update"), shared by :mod:`.build`, :mod:`.parse` and :mod:`.validate`.
The XSDs in ``mockspice/data/schemas`` say the same; ``tests/wire`` checks that they agree.
"""

#: Attributes of ``<users><user/>`` in a search reply, in the page's order.
SEARCH_USER_ATTRIBUTES = ("status", "userkey", "name", "email", "phone")
#: Attributes of ``<userdata><user/>`` in a load reply and in userXML.
ACCOUNT_USER_ATTRIBUTES = ("userkey", "password", "status", "account")
#: Attributes of ``<contacts><contact/>``; also the keys of a contact dict.
CONTACT_ATTRIBUTES = (
    "firstname",
    "lastname",
    "aone",
    "atwo",
    "city",
    "region",
    "pc",
    "country",
    "pphone",
    "sphone",
    "pemail",
    "semail",
    "mobile",
    "fax",
)
#: Attributes of ``<fielddata><field/>``.
FIELD_ATTRIBUTES = ("id", "value")
#: Attributes of ``<tickets><ticket/>`` in caseXML; also the keys of a ticket dict.
TICKET_ATTRIBUTES = (
    "cid",
    "id",
    "tier",
    "date",
    "status",
    "sid",
    "issue",
    "agent",
    "aname",
    "journal",
    "email",
    "article",
    "treepath",
    "events",
)

#: Documented attributes of each element, by root element and element name.
ATTRIBUTES: dict[str, dict[str, tuple[str, ...]]] = {
    "users": {"user": SEARCH_USER_ATTRIBUTES},
    "userdata": {
        "user": ACCOUNT_USER_ATTRIBUTES,
        "contact": CONTACT_ATTRIBUTES,
        "field": FIELD_ATTRIBUTES,
    },
    "tickets": {"ticket": TICKET_ATTRIBUTES},
}

#: Attributes that hold percent-encoded text, by root element and element name. caseXML
#: values are sent unencoded (the page's example: status="In Progress"), so tickets has none.
ENCODED_ATTRIBUTES: dict[str, dict[str, tuple[str, ...]]] = {
    "users": {"user": SEARCH_USER_ATTRIBUTES},
    "userdata": {
        "user": ACCOUNT_USER_ATTRIBUTES,
        "contact": CONTACT_ATTRIBUTES,
        "field": ("value",),
    },
    "tickets": {},
}

#: Documented child elements of each element, in the documented order.
CHILDREN: dict[str, tuple[str, ...]] = {
    "users": ("user",),
    "userdata": ("user", "contacts", "fielddata"),
    "contacts": ("contact",),
    "fielddata": ("field",),
    "tickets": ("ticket",),
}

#: The search web call's POST variables in the page's order and spelling, each with the key of
#: the search criteria (the store's attribute name) that fills it.
SEARCH_VARIABLES = (
    ("Userkey", "userkey"),
    ("FirstName", "firstname"),
    ("LastName", "lastname"),
    ("AddressOne", "aone"),
    ("AddressTwo", "atwo"),
    ("City", "city"),
    ("Region", "region"),
    ("PostalCode", "pc"),
    ("Country", "country"),
    ("PrimaryPhone", "pphone"),
    ("SecondayPhone", "sphone"),
    ("PrimaryEmail", "pemail"),
    ("SecondaryEmail", "semail"),
    ("Fax", "fax"),
    ("Modile", "mobile"),
    ("Password", "password"),
    ("Status", "status"),
    ("AccountID", "account"),
    ("CustFields", "fields"),
)
#: The two names the page misspells, and what a corrected-names setting sends instead.
CORRECTED_NAMES = {"SecondayPhone": "SecondaryPhone", "Modile": "Mobile"}
