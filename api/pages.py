"""Server-rendered pages: Jinja2 templates in api/templates, static files (scripts, styles, chart library)."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.security_headers import csp_nonce

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
_env.globals["csp_nonce"] = csp_nonce  # inline scripts run only with the response's nonce (api.security_headers)


def render(template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """A template rendered to a page; never cached, since every page shows who is signed in."""
    response = HTMLResponse(_env.get_template(template).render(**context), status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response
