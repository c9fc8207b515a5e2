"""Signing in and out, who am I, and the home page that lists the consoles a role may open."""

from __future__ import annotations

import hmac
from typing import Annotated, NamedTuple

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep, SessionDep
from api.errors import Refusal
from api.pages import render
from api.responses.staff import AuditRecord, Me
from api.staff_auth import (
    SESSION_COOKIE,
    StaffDep,
    check_password,
    client_ip,
    require_page_roles,
    require_roles,
    signed_in_user,
)
from hotline.db import transaction, utcnow
from staff.accounts import SignInAttempt, TooManyAttempts, finish_sign_in, start_sign_in
from staff.roles import ADMIN, INSPECTOR, LAWYER, OPERATOR, ROLE_LABELS, SUPERVISOR, masked_for, role_allows
from staff.sessions import end_session, open_session
from staff.tables import AuditEntry, StaffUser

router = APIRouter(tags=["staff"])
CONSOLE_ROLES = (OPERATOR, LAWYER, INSPECTOR, SUPERVISOR, ADMIN)

# The consoles, and who may open each.
CONSOLES = (
    ("/qa", "质检", (INSPECTOR, SUPERVISOR)),
    ("/lawyer", "律师座席", (LAWYER,)),
    ("/dashboard", "监控", (SUPERVISOR,)),
    ("/reports", "报表", (SUPERVISOR,)),
    ("/feedback", "质检反馈", (OPERATOR, LAWYER)),
    ("/tickets", "工单", (OPERATOR, SUPERVISOR)),
)


def nav_for(user: StaffUser) -> list[tuple[str, str]]:
    return [(href, label) for href, label, roles in CONSOLES if role_allows(user.role, roles)]


def page_context(request: Request, user: StaffUser) -> dict:
    """What every console page needs: the user, their consoles, and the CSRF token for its scripts."""
    return {
        "user": user,
        "nav": nav_for(user),
        "role_label": ROLE_LABELS.get(user.role, user.role),
        "csrf": request.state.csrf,
        "user_json": me_view(user, request.state.csrf),
    }


def me_view(user: StaffUser, csrf: str) -> dict:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "roster_id": user.roster_id,
        "csrf": csrf,
    }


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never send a freshly signed-in browser elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _home_of(user: StaffUser) -> str:
    consoles = nav_for(user)
    return consoles[0][0] if len(consoles) == 1 else "/"


@router.get("/login", include_in_schema=False)
def login_page(request: Request, session: SessionDep, services: ServicesDep, next: str | None = None) -> Response:
    user = signed_in_user(request, session, services)
    if user is not None:
        return RedirectResponse(_safe_next(next) or _home_of(user), status_code=303)
    return render(
        "login.html",
        form_token=services.signer.form_token(),
        next=_safe_next(next) or "",
        username="",
        error=None,
        user=None,
        csrf=None,
    )


class _SignedIn(NamedTuple):
    user: StaffUser
    cookie: str
    csrf: str


async def _sign_in(services, username: str, password: str, ip: str | None) -> _SignedIn | None:
    """Limits and account lookup, the password check, then audit and session: three steps, so no database
    transaction (SQLite's one writer) is held across argon2, and nothing blocks the event loop."""
    now = utcnow()

    def start() -> SignInAttempt:
        with transaction(services.factory) as session:
            return start_sign_in(session, username, ip=ip, limit=services.sign_in_limit, now=now)

    attempt = await run_in_threadpool(start)
    matched, new_hash = await check_password(attempt, password)

    def finish() -> _SignedIn | None:
        with transaction(services.factory) as session:
            user = finish_sign_in(session, attempt, matched, new_hash, ip=ip, now=now)
            if user is None:
                return None
            cookie, staff_session = services.signer.issue(user)
            open_session(session, staff_session, services.signer.max_age_s, now)
            return _SignedIn(user, cookie, staff_session.csrf)

    return await run_in_threadpool(finish)


def _login_again(services, status_code: int, target: str | None, username: str, error: str) -> Response:
    """The sign-in page once more, with a fresh form, the name typed and what went wrong."""
    return render(
        "login.html",
        status_code=status_code,
        form_token=services.signer.form_token(),
        next=target or "",
        username=username,
        error=error,
        user=None,
        csrf=None,
    )


@router.post(
    "/login",
    summary="Sign in (a form from the sign-in page, or JSON {username, password})",
    response_model=Me,
    responses={303: {"description": "signed in from the form: to the console"}},
)
async def login(request: Request, services: ServicesDep) -> Response:
    is_json = request.headers.get("content-type", "").startswith("application/json")
    if is_json:  # a cross-site page cannot send JSON without CORS, which this app never grants
        try:
            body = await request.json()
        except ValueError:  # malformed JSON or UTF-8
            body = None
        if not isinstance(body, dict):
            raise Refusal(422, '请发送用户名和密码（JSON：{"username": "…", "password": "…"}）', "bad_sign_in")
        username, password, target = str(body.get("username", "")), str(body.get("password", "")), None
    else:
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        target = _safe_next(str(form.get("next", "")))
        if not services.signer.form_token_valid(str(form.get("csrf_token", ""))):
            # the page again, with a fresh form: the person only signs in once more
            return _login_again(services, 403, target, username, "登录页面已过期：请重新输入密码登录")
    try:
        signed_in = await _sign_in(services, username.strip(), password, client_ip(request))
    except TooManyAttempts as exc:
        headers = {"Retry-After": str(exc.retry_after_s)}
        if is_json:  # a Refusal's answer, with the Retry-After header it cannot carry
            return JSONResponse({"detail": str(exc), "code": "too_many_attempts"}, status_code=429, headers=headers)
        return _login_again(services, 429, target, username, str(exc))
    if signed_in is None:
        if is_json:
            raise Refusal(401, "用户名或密码错误：请重新输入", "wrong_password")
        return _login_again(services, 401, target, username, "用户名或密码错误：请重新输入")
    response: Response = (
        JSONResponse(me_view(signed_in.user, signed_in.csrf))
        if is_json
        else RedirectResponse(target or _home_of(signed_in.user), status_code=303)
    )
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.cookie,
        max_age=services.signer.max_age_s,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
    )
    return response


@router.post("/logout", summary="Sign out (the session ends on the server: its cookie is refused from now on)")
async def logout(request: Request, services: ServicesDep) -> Response:
    form = await request.form() if "form" in request.headers.get("content-type", "") else {}
    token = request.headers.get("X-CSRF-Token") or str(form.get("csrf_token", ""))

    def sign_out() -> None:
        with transaction(services.factory) as session:
            user = signed_in_user(request, session, services)
            if user is None:
                return
            # only the page's own form (or a script holding the token) may sign someone out
            if not hmac.compare_digest(token.encode(), request.state.csrf.encode()):
                raise Refusal(403, "页面的安全令牌已失效：请刷新页面后再退出登录", "csrf_failed")
            end_session(session, request.state.staff_session, utcnow())

    await run_in_threadpool(sign_out)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/api/me", summary="Who is signed in, and the CSRF token to send as X-CSRF-Token", response_model=Me)
def me(request: Request, user: StaffDep) -> dict:
    return me_view(user, request.state.csrf)


@router.get("/", include_in_schema=False)
def home(request: Request, user: Annotated[StaffUser, Depends(require_page_roles(*CONSOLE_ROLES))]) -> Response:
    return render("home.html", **page_context(request, user))


@router.get(
    "/api/audit",
    summary="The audit log: sign-ins, tickets viewed, recordings played (newest first)",
    response_model=list[AuditRecord],
)
def audit_log(
    session: SessionDep,
    _user: Annotated[StaffUser, Depends(require_roles(SUPERVISOR))],
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    limit: int = 100,
) -> list[dict]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(min(max(limit, 1), 1000))
    for column, value in ((AuditEntry.actor, actor), (AuditEntry.action, action), (AuditEntry.target, target)):
        if value is not None:
            query = query.where(column == value)
    return masked_for(
        _user.role,
        [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "role": e.role,
                "action": e.action,
                "target": e.target,
                "ip": e.ip,
                "detail": e.detail,
            }
            for e in session.scalars(query)
        ],
    )  # no caller number in full to masked roles
