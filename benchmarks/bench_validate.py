"""Benchmark of issue 13, §6: mockspice.validate beside lxml's parse + assertValid, same process.

Run: ``.venv/bin/python benchmarks/bench_validate.py [--repeat N] [--profile NAME]``. Prints a
Markdown table for docs/performance.md. The corpus is varied: the integration page's examples
scaled (search, load and case replies), international names (``Zo%C3%AB%20M%C3%BCller``,
``K%C3%B6ln``), escaped userkeys (``jdoe%2D1``), and replies with warnings or notes (one user
with a raw ``+`` in its status, a case reply's plain text); 10, 1,000 and 50,000 users (or
contacts and fields, or tickets). Each figure is the best of N interleaved runs (timings on a
2-core machine are noisy; the best run is the least disturbed one), and the ratio compares the
two in this process, on the same bytes.
"""

import argparse
import cProfile
import functools
import pstats
import subprocess
import sys
import time
from pathlib import Path

from lxml import etree

import mockspice
from mockspice.wire.schemas import KINDS, lxml_schema

SIZES = (10, 1_000, 50_000)
# International names, cities and streets, percent-encoded as the page encodes every value.
FIRST = ("Zo%C3%AB", "J%C3%BCrgen", "Fran%C3%A7ois", "%C3%85sa", "Jos%C3%A9", "John")
LAST = ("M%C3%BCller", "Dvo%C5%99%C3%A1k", "O%27Brien", "%C5%81ukasz", "Doe", "Garc%C3%ADa")
CITY = ("K%C3%B6ln", "M%C3%BCnchen", "Z%C3%BCrich", "S%C3%A3o%20Paulo", "Anywhere", "Malm%C3%B6")


def search_page(users: int, broken_at: int | None = None) -> bytes:
    """Return a search reply of ``users`` users as the page shows them; one without userkey if
    asked.
    """
    lines = ['<?xml version="1.0" ?>', "<users>"]
    for i in range(users):
        key = "" if i == broken_at else f'userkey="jdoe{i}" '
        lines.append(
            f'  <user status="Active" {key}name="John%20Doe{i}" '
            f'email="johnd{i}%40xyz%2Enet" phone="%28555%29%20555%2D{i:04d}" />'
        )
    lines.append("</users>\n")
    return "\n".join(lines).encode()


def search_international(users: int) -> bytes:
    """Return a search reply whose names and emails hold percent-encoded non-ASCII text."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<users>"]
    for i in range(users):
        first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
        lines.append(
            f'  <user status="Active" userkey="user{i}" name="{first}%20{last}" '
            f'email="{first.lower()}{i}%40k%C3%B6ln%2Ede" phone="%2B49%20221%20{i:06d}" />'
        )
    lines.append("</users>\n")
    return "\n".join(lines).encode()


def search_escaped_keys(users: int) -> bytes:
    """Return a search reply whose userkeys hold escapes (``jdoe%2D1``), as the page encodes."""
    lines = ['<?xml version="1.0" ?>', "<users>"]
    for i in range(users):
        lines.append(
            f'  <user status="Active" userkey="jdoe%2D{i}" name="Zo%C3%AB%20M%C3%BCller" '
            f'email="jdoe%2D{i}%40xyz%2Enet" phone="%28555%29%20555%2D5555" />'
        )
    lines.append("</users>\n")
    return "\n".join(lines).encode()


def search_warning(users: int) -> bytes:
    """Return a page-style search reply in which one user's status has a raw '+' (a warning)."""
    data = search_page(users)
    return data.replace(b'status="Active"', b'status="On+Hold"', 1)


def load_reply(contacts: int) -> bytes:
    """Return the page's load reply scaled: ``contacts`` contacts and as many custom fields."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<userdata>",
        '  <user userkey="johnd" password="" status="Active" account="" />',
        "  <contacts>",
    ]
    for i in range(contacts):
        first, last, city = FIRST[i % 6], LAST[i % 6], CITY[i % 6]
        lines.append(
            f'     <contact firstname="{first}" lastname="{last}" aone="{i}%20Fake%20St%2E" '
            f'atwo="" city="{city}" region="ZZ" pc="{i:06d}" country="" '
            'pphone="%28555%29%20555%2D5555" sphone="%28555%29%20555%2D5555" '
            f'pemail="johnd{i}%40xyz%2Enet" semail="" mobile="" fax="" />'
        )
    lines += ["  </contacts>", "  <fielddata>"]
    for i in range(contacts):
        lines.append(f'     <field id="{i + 1}" value="{CITY[i % 6]}%20{i}" />')
    lines += ["  </fielddata>", "</userdata>\n"]
    return "\n".join(lines).encode()


def case_reply(tickets: int) -> bytes:
    """Return the page's caseXML scaled to ``tickets`` responses (plain, unencoded values)."""
    lines = ['<?xml version="1.0" ?>', "<tickets>"]
    for i in range(tickets):
        lines.append(
            f'  <ticket cid="6344" id="{7906 + i}" tier="1" date="1/27/06 1:27:51 PM" '
            'status="In Progress" sid="2" issue="Browsing" agent="Doe, John" aname="" '
            f'journal="13:28:41 - adding ticket {i} for case dump testing" email="" '
            'article="" treepath="" events="" />'
        )
    lines.append("</tickets>\n")
    return "\n".join(lines).encode()


#: (name, kind, the document maker, the unit its size counts); each is made at every size.
CORPUS = (
    ("search, page's example", "search", search_page, "users"),
    ("search, international names", "search", search_international, "users"),
    ("search, escaped userkeys", "search", search_escaped_keys, "users"),
    ("search, one status with '+'", "search", search_warning, "users"),
    ("load, contacts + fields", "load", load_reply, "contacts"),
    ("case, tickets", "case", case_reply, "tickets"),
)


def lxml_baseline(kind: str, data: bytes) -> None:
    """lxml's own parse + assertValid with the same compiled schema: the baseline."""
    lxml_schema(KINDS[kind][0]).assertValid(etree.fromstring(data))


def best(function, data: bytes, repeat: int) -> float:
    """Return the best time of ``repeat`` runs of ``function(data)``, in seconds.

    One untimed run comes first. Freeing a parsed tree leaves glibc's heap with work owed
    (hundreds of thousands of freed libxml2 nodes in the fast bins, merged on the next large
    allocation or free, ≈ 20 ms at 50,000 users), and whoever allocates next pays it. Without
    the untimed run, the first timed run of a batch would inherit what the other side owed.
    Now every timed run of each side starts from the heap its own previous run left, as in a
    steady stream of documents.
    """
    function(data)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(data)
        times.append(time.perf_counter() - started)
    return min(times)


def peak_growth(side: str, users: int = 50_000) -> float:
    """Return how far one validation raises a fresh process's resident memory, in MiB.

    ``side`` is ``lxml`` or ``mockspice``. The document is made and the schemas are compiled
    first; then the kernel's high-water mark is reset (``/proc/self/clear_refs``), so only the
    validation's own memory (libxml2's tree, if one is built) is counted.
    """
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "import bench_validate as b, mockspice; "
        f"d = b.search_page({users}); mockspice.validate('search', b.search_page(2, 0)); "
        "kib = lambda key: int(next(l.split()[1] for l in open('/proc/self/status') "
        "if l.startswith(key))); "
        "open('/proc/self/clear_refs', 'w').write('5'); before = kib('VmRSS'); "
        f"((lambda x: b.lxml_baseline('search', x)) if {side!r} == 'lxml' else "
        "(lambda x: mockspice.validate('search', x)))(d); "
        "print(kib('VmHWM') - before)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout) / 1024


def profile(name: str, size: int) -> None:
    """Print cProfile's view of 20 validations of one document of the corpus."""
    [(kind, make)] = [(k, m) for n, k, m, _ in CORPUS if n.startswith(name)]
    data = make(size)
    mockspice.validate(kind, data)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        mockspice.validate(kind, data)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--profile", metavar="NAME", help="profile the document named so")
    parser.add_argument("--size", type=int, default=50_000, help="its size, with --profile")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="the table's sizes")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile, args.size)
        return
    validate = mockspice.validate
    for kind in KINDS:  # compile every schema outside the timings
        validate(kind, b"<x/>")
    print("| document | size | findings | bytes | lxml parse + assertValid | mockspice | ratio |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for name, kind, make, unit in CORPUS:
        for size in map(int, args.sizes.split(",")):
            data = make(size)
            findings = validate(kind, data)
            assert not [f for f in findings if f.severity == "error"], (name, findings[:3])
            codes = ", ".join(sorted({f.code for f in findings})) or "none"
            baseline = functools.partial(lxml_baseline, kind)
            mockspice_side = functools.partial(validate, kind)
            base = mine = float("inf")
            for _ in range(3):  # interleave, so that a slow spell hits both
                base = min(base, best(baseline, data, args.repeat))
                mine = min(mine, best(mockspice_side, data, args.repeat))
            print(
                f"| {name} | {size:,} {unit} | {codes} | {len(data):,} | {base * 1000:.2f} ms | "
                f"{mine * 1000:.2f} ms | {mine / base:.2f}× |",
                flush=True,
            )
    broken = search_page(50_000, broken_at=25_000)
    started = time.perf_counter()
    findings = validate("search", broken)
    elapsed = time.perf_counter() - started
    print(
        f"\n50,000 users, one user without userkey: {elapsed:.2f} s, findings: "
        + "; ".join(f"{f.code} line {f.line} {f.path}" for f in findings)
    )
    print(
        f"\nPeak memory of one valid 50,000-user validation, fresh process: lxml "
        f"{peak_growth('lxml'):.0f} MiB, mockspice {peak_growth('mockspice'):.0f} MiB"
    )


if __name__ == "__main__":
    main()
