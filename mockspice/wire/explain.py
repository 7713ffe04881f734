"""Step 5 of the validator: every XSD violation of a document lxml found invalid, explained.

xmlschema gives each violation's reason and element; the finding gets a specific code
(``missing-attribute``, ``element-order``...), a message in the page's terms, and its line and
column from the lxml tree.
"""

import difflib
import re

from mockspice.wire import reasons
from mockspice.wire.documents import ATTRIBUTES, CHILDREN
from mockspice.wire.findings import Collector, Finding
from mockspice.wire.schemas import xmlschema_schema
from mockspice.wire.source import Source
from mockspice.wire.wellformed import excerpt

_ATTRIBUTE_REASON = re.compile(r"attribute ([\w:.-]+)='(.*)': (.*)", re.DOTALL)
_QUOTED_NAME = re.compile(r"'([^']+)'")


def qualified(element) -> str:
    """Return an element's name as written (prefix:local), without lxml's {namespace}."""
    local = element.tag.rpartition("}")[2] if isinstance(element.tag, str) else str(element.tag)
    return f"{element.prefix}:{local}" if element.prefix else local


def namespace_note(element) -> str:
    """Explain a namespace on the root, which the documented replies never have."""
    if isinstance(element.tag, str) and element.tag.startswith("{"):
        return f" in no namespace (it is in {element.tag[1:].partition('}')[0]!r})"
    return ""


def too_deep(root, max_depth: int, source: Source, found: Collector) -> bool:
    """Add a ``too-deep`` finding for the first element nested deeper than ``max_depth``."""
    deeper = root.xpath("/" + "/".join(["*"] * (max_depth + 1)) + "[1]")
    if not deeper:
        return False
    element = deeper[0]
    line, column = source.element(element.sourceline, qualified(element))
    found.add(
        Finding.of(
            "too-deep",
            f"elements are nested more than {max_depth} deep; the documented replies are 3 deep",
            line,
            column,
            element.getroottree().getpath(element),
        )
    )
    return True


def explain(xsd: str, tree, source: Source, lxml_log: list, found: Collector) -> None:
    """Add one finding for every XSD violation that xmlschema finds, located in the lxml tree."""
    before = len(found.items)
    try:
        for error in xmlschema_schema(xsd).iter_errors(tree):
            if not found.add(_schema_finding(error, tree, source)):
                break
    except Exception:  # noqa: BLE001 - fall back to libxml2's own messages below
        pass
    if len(found.items) == before:
        # xmlschema saw nothing lxml saw (or failed): say what libxml2 said, line by line.
        for line, column, path, message in lxml_log:
            if not found.add(Finding.of("schema", message, line, column or None, path)):
                break


def _schema_finding(error, tree, source: Source) -> Finding:
    """Turn one xmlschema validation error into a finding with a specific code."""
    element = getattr(error, "elem", None)
    if element is None or not hasattr(element, "sourceline"):
        return Finding.of("schema", error.reason or str(error), None, None, error.path)
    tag = qualified(element)
    path = tree.getpath(element)
    reason = error.reason or ""
    if hasattr(error, "invalid_tag") and hasattr(error, "index"):
        return _content_finding(error, element, tree, source)
    if "attribute not allowed" in reason:
        name = _QUOTED_NAME.search(reason).group(1)
        documented = ATTRIBUTES.get(tree.getroot().tag, {}).get(tag, ())
        close = difflib.get_close_matches(name.lower(), documented, n=1, cutoff=0.6)
        near = f"; did you mean {close[0]!r}?" if close else ""
        line, column = source.attribute(element.sourceline, tag, name)
        return Finding.of(
            "unexpected-attribute",
            f"<{tag}> has the attribute {name!r}, which the "
            f"documented structure does not have (it has: {', '.join(documented)})"
            f"{near}",
            line,
            column,
            f"{path}/@{name}",
        )
    if reason.startswith("missing required attribute"):
        name = _QUOTED_NAME.search(reason).group(1)
        line, column = source.element(element.sourceline, tag)
        why = " (the account name)" if name == "userkey" else ""
        return Finding.of(
            "missing-attribute",
            f"<{tag}> lacks the required attribute {name!r}{why}",
            line,
            column,
            f"{path}/@{name}",
        )
    if "character data" in reason:
        return _text_finding(element, tag, path, source)
    attribute = _ATTRIBUTE_REASON.match(reason)
    if attribute:
        name, value, why = attribute.groups()
        line, column = source.attribute(element.sourceline, tag, name)
        if name == "userkey" and value == "":
            return Finding.of(
                "empty-userkey",
                f"<{tag}> has an empty userkey; the userkey is "
                "the account name SpiceCSM loads it by",
                line,
                column,
                f"{path}/@{name}",
            )
        return Finding.of(
            "invalid-value",
            f"attribute {name!r} of <{tag}> has the invalid value {value!r}: "
            f"{reasons.value_reason(error, why)}",
            line,
            column,
            f"{path}/@{name}",
        )
    line, column = source.element(element.sourceline, tag)
    return Finding.of("schema", f"<{tag}>: {reason}", line, column, path)


def _content_finding(error, element, tree, source: Source) -> Finding:
    """Explain an unexpected or missing child element."""
    tag = qualified(element)
    expected = [getattr(e, "local_name", None) or str(e) for e in (error.expected or ())]
    wanted = " or ".join(f"<{name}>" for name in expected if name) or "nothing more"
    documented = CHILDREN.get(tag, ())
    order = (
        f" (documented: {', '.join(f'<{n}>' for n in documented)}, in this order)"
        if len(documented) > 1
        else ""
    )
    if error.invalid_tag is None:
        line, column = source.element(element.sourceline, tag)
        return Finding.of(
            "missing-element",
            f"<{tag}> is incomplete: {wanted} is missing{order}",
            line,
            column,
            tree.getpath(element),
        )
    children = [c for c in element if isinstance(c.tag, str)]
    child = children[error.index] if error.index < len(children) else element
    name = qualified(child)
    line, column = source.element(child.sourceline, name)
    if name in documented:
        earlier = [qualified(c) for c in children[: error.index]]
        code = "repeated-element" if name in earlier else "element-order"
        what = "may occur only once" if code == "repeated-element" else "is out of order"
        message = f"<{name}> {what} inside <{tag}>; expected here: {wanted}{order}"
    else:
        code = "unexpected-element"
        allowed = (
            f"<{tag}> may hold only {', '.join(f'<{n}>' for n in documented)}"
            if documented
            else f"<{tag}> may hold no element"
        )
        message = f"<{name}> is not expected inside <{tag}>: {allowed}{order}"
    return Finding.of(code, message, line, column, tree.getpath(child))


def _text_finding(element, tag: str, path: str, source: Source) -> Finding:
    """Locate the first text in an element that may hold only elements."""
    text, line = element.text, element.sourceline
    if not (text and text.strip()):
        for child in element:
            if child.tail and child.tail.strip():
                text, line = child.tail, child.sourceline
                break
    text = (text or "").strip()
    column = None
    if line and text:
        at = source.text.find(text[:20], source.tag_offset(line, tag) or 0)
        if at >= 0:
            line, column = source.position(at)
    return Finding.of(
        "unexpected-text",
        f"<{tag}> may hold only elements, but holds the text {excerpt(text.encode())}",
        line,
        column,
        path,
    )
