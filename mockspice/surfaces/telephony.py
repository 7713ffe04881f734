"""SpiceCSM's screen pop URL: ``<base>/integrations/telephony/telephonypop.php``.

Routing and rendering only; :func:`mockspice.domain.pop.screen_pop` does the work.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from markupsafe import Markup

from mockspice.domain.cache import GenerationCache
from mockspice.domain.pop import PopResult, screen_pop
from mockspice.surfaces.errors import CSP, self_url, wants_json

blueprint = Blueprint("telephony", __name__)



@blueprint.route("/integrations/telephony/telephonypop.php", methods=["GET"])
def telephonypop() -> Response:
    """The screen pop: HTML for the agent's browser, JSON when asked."""
    ext = current_app.extensions["mockspice"]
    settings = ext["settings"]
    # PHP's $_GET keeps the last of a repeated parameter; so does the mock.
    params = {name: request.args.getlist(name)[-1] for name in request.args}
    result = screen_pop(ext["store"], params, edition=settings.edition, journal_limit=settings.journal_limit,
                        calls=ext["outbound"], self_url=self_url(), cache=ext["pop_cache"])
    if wants_json():
        return jsonify(result.as_dict())
    page = _render("telephonypop.html", pop=result, match_html=_match_html(result, ext["pop_fragments"]))
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    return response


def _match_html(result: PopResult, fragments: GenerationCache) -> Markup:
    """The rendered match part of the page, kept while the dataset's generation stays the same."""
    if result.cache_key is None:
        return Markup(_render("_pop_match.html", pop=result))
    key, generation = result.cache_key
    html = fragments.get(key, generation)
    if html is None:
        html = Markup(_render("_pop_match.html", pop=result))
        fragments.put(key, generation, html)
    return html


def _render(name: str, **context: object) -> str:
    """Render a template with Jinja directly: the pop's templates use no Flask context (the hot path)."""
    return current_app.jinja_env.get_template(name).render(**context)
