"""The API's documentation page, ``GET <base>/docs/api_client/``: the OpenRPC document as HTML."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from mockspice.surfaces import extension
from mockspice.surfaces.api.methods.discovery import SESSION_NOTE, document
from mockspice.surfaces.errors import CSP, self_url
from mockspice.urls import API_PATH

blueprint = Blueprint("api_docs", __name__)


@blueprint.get("/docs/api_client/")
def api_client() -> Response:
    """Every API method, grouped by concept: parameters, result, errors, summary."""
    ext = extension.of()
    base = ext.settings.base_path or ""
    doc = document(ext.registry, self_url().rstrip("/") + base + API_PATH)
    groups: dict[str, list] = {}
    for method in doc["methods"]:
        groups.setdefault(method["tags"][0]["name"], []).append(method)
    response = Response(
        render_template(
            "api_client.html", doc=doc, groups=sorted(groups.items()), session_note=SESSION_NOTE
        ),
        mimetype="text/html",
    )
    response.headers["Content-Security-Policy"] = CSP
    return response
