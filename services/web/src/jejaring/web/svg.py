"""Charts inline in a page: an SVG from the report service, kept only as plain drawing.

The report service is our own, but a page must not carry what it did not mean to: an SVG can
hold scripts, event handlers, links, foreign HTML and external references. `plain_svg` keeps an
allow-list of drawing elements and presentation attributes and drops everything else; what is
not an SVG document at all (or declares a DOCTYPE or entities) is refused. Style attributes
become presentation attributes, since the pages' Content-Security-Policy forbids inline styles.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
MAX_BYTES = 512 * 1024
ELEMENTS = frozenset(
    {
        "svg", "g", "rect", "line", "polyline", "polygon", "path", "circle", "ellipse",
        "text", "tspan", "title", "desc",
    }
)  # fmt: skip
PRESENTATION = frozenset(
    {
        "fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-linecap",
        "stroke-linejoin", "stroke-opacity", "opacity", "font-size", "font-family",
        "font-weight", "font-style", "text-anchor", "dominant-baseline", "letter-spacing",
    }
)  # fmt: skip
GEOMETRY = frozenset(
    {
        "viewBox", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx",
        "ry", "points", "d", "dx", "dy", "transform", "preserveAspectRatio", "role",
        "aria-label", "aria-labelledby", "aria-describedby", "aria-hidden", "id", "class",
        "focusable", "lang",
    }
)  # fmt: skip
ID_REFS = ("aria-labelledby", "aria-describedby")
# A value that reaches outside the drawing (url(#…), javascript:, expression(), @import).
_OUTSIDE = re.compile(r"url\s*\(|javascript:|expression\s*\(|@import|[<>]", re.IGNORECASE)
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$")


def _local(name: str) -> str | None:
    """An SVG element's or attribute's own name; None for any other namespace."""
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return local if ns == SVG_NS else None
    return name


def _clean(element: ET.Element, prefix: str) -> ET.Element:
    tag = _local(element.tag)
    assert tag is not None
    kept = ET.Element(f"{{{SVG_NS}}}{tag}")
    attributes = dict(element.attrib)
    for declaration in attributes.pop("style", "").split(";"):
        prop, _, setting = declaration.partition(":")
        if prop.strip() in PRESENTATION and prop.strip() not in attributes:
            attributes[prop.strip()] = setting.strip()
    for raw, value in attributes.items():
        name = _local(raw)
        if name is None or name not in PRESENTATION | GEOMETRY or _OUTSIDE.search(value):
            continue
        if name == "id":
            value = prefix + value
        elif name in ID_REFS:
            value = " ".join(prefix + ref for ref in value.split())
        kept.set(name, value)
    kept.text = element.text if tag in ("text", "tspan", "title", "desc") else None
    for child in element:
        child_tag = _local(child.tag) if isinstance(child.tag, str) else None
        if child_tag in ELEMENTS and child_tag != "svg":
            cleaned = _clean(child, prefix)
            cleaned.tail = child.tail if tag in ("text", "tspan") else None
            kept.append(cleaned)
    return kept


def plain_svg(data: bytes, *, prefix: str) -> Markup | None:
    """The drawing of `data` as markup safe to put in a page, or None when it is no SVG.
    `prefix` keeps ids of several charts on one page apart."""
    if len(data) > MAX_BYTES:
        return None
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException):
        return None
    if root.tag != f"{{{SVG_NS}}}svg":
        return None
    svg = _clean(root, prefix)
    if "viewBox" not in svg.attrib:  # scaled to the screen's width by app.css: needs a viewBox
        width = _NUMBER.match(svg.get("width", ""))
        height = _NUMBER.match(svg.get("height", ""))
        if not (width and height):
            return None
        svg.set("viewBox", f"0 0 {width.group(1)} {height.group(1)}")
    svg.set("focusable", "false")
    if "role" not in svg.attrib:
        svg.set("role", "img")
    ET.register_namespace("", SVG_NS)
    # Safe: every element and attribute is from the allow-lists, ElementTree escapes the text.
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704
