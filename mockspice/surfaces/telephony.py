"""SpiceCSM's screen pop URL: ``<base>/integrations/telephony/telephonypop.php``.

Routing and rendering only; :func:`mockspice.domain.pop.screen_pop` does the work.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from mockspice.domain.pop import screen_pop
from mockspice.surfaces.errors import wants_json

blueprint = Blueprint("telephony", __name__)

# The page runs no script and loads nothing from elsewhere; should escaping ever fail, the
# browser still refuses to run an injected script.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'"


@blueprint.route("/integrations/telephony/telephonypop.php", methods=["GET"])
def telephonypop() -> Response:
    """The screen pop: HTML for the agent's browser, JSON when asked."""
    ext = current_app.extensions["mockspice"]
    settings = ext["settings"]
    # PHP's $_GET keeps the last of a repeated parameter; so does the mock.
    params = {name: request.args.getlist(name)[-1] for name in request.args}
    result = screen_pop(ext["store"], params, edition=settings.edition, journal_limit=settings.journal_limit,
                        calls=ext["outbound"], self_url=request.host_url)
    if wants_json():
        return jsonify(result.as_dict())
    response = Response(render_template("telephonypop.html", pop=result), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    return response
