"""Who is asking: the signed-in staff member behind a request, their role, and the CSRF check.

API routes answer 401 (signed out) or 403 (wrong role); console pages send a signed-out browser to /login.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from api.deps import ServicesDep, SessionDep
from api.errors import Refusal
from hotline.db import utcnow
from staff.accounts import SignInAttempt, check_attempt
from staff.audit import record
from staff.roles import ROLE_LABELS, role_allows
from staff.sessions import password_stamp, session_is_open
from staff.tables import StaffUser

SESSION_COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            401,
            "请先登录：在浏览器中打开登录页（/login），脚本请先 POST /login",
            headers={"WWW-Authenticate": 'Cookie realm="hotline12351"'},
        )


# Password checks (argon2id: ~20 ms on one lane, 19 MiB each; staff.passwords) run on a few threads of their own,
# about half the cores, at a lower CPU priority: a burst of sign-ins queues there instead of taking the event loop,
# the request threads or the CPU the webhooks need. Waiting sign-ins hold no thread and no database transaction.
PASSWORD_CHECKERS = max(1, (os.cpu_count() or 2) // 2)
PASSWORD_CHECK_NICENESS = 10


def _lower_priority() -> None:
    """Lower this thread's CPU priority (Linux: per thread; argon2's lane threads inherit it)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PASSWORD_CHECK_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: the bound on threads still holds
        pass


_password_checks = ThreadPoolExecutor(
    PASSWORD_CHECKERS, thread_name_prefix="password-check", initializer=_lower_priority
)


async def check_password(attempt: SignInAttempt, password: str) -> tuple[bool, str | None]:
    """`staff.accounts.check_attempt` on the password-check threads, awaited without blocking the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_password_checks, check_attempt, attempt, password)


def signed_in_user(request: Request, session: Session, services) -> StaffUser | None:
    """The account the session cookie names, if the cookie is genuine, its session still open (not signed out,
    not expired), and the account still active with the password the session was opened with."""
    staff_session = services.signer.read(request.cookies.get(SESSION_COOKIE))
    if staff_session is None:
        return None
    user = session.get(StaffUser, staff_session.user_id)
    if user is None or not user.active or password_stamp(user) != staff_session.password_stamp:
        return None
    if not session_is_open(session, staff_session, utcnow()):
        return None
    request.state.csrf = staff_session.csrf
    request.state.staff_session = staff_session
    return user


def current_staff(request: Request, session: SessionDep, services: ServicesDep) -> StaffUser:
    """The signed-in staff member; state-changing requests must carry the session's CSRF token."""
    user = signed_in_user(request, session, services)
    if user is None:
        raise SignInRequired()
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), request.state.csrf.encode()):
            raise Refusal(
                403,
                f"页面的安全令牌已失效：请刷新页面后再试（脚本请从 GET /api/me 读取 csrf，放在 {CSRF_HEADER} 请求头中）",
                "csrf_failed",
            )
    request.state.staff = user
    return user


StaffDep = Annotated[StaffUser, Depends(current_staff)]


def wrong_role(roles: tuple[str, ...] | list[str], user: StaffUser) -> Refusal:
    """403 for a role the request is not for, in the roles' Chinese names: who may, and who you are."""
    wanted = "、".join(ROLE_LABELS.get(r, r) for r in roles)
    mine = ROLE_LABELS.get(user.role, user.role)
    return Refusal(403, f"这项功能只有{wanted}可以使用，您登录的身份是{mine}：请换用相应的账号", "wrong_role")


def require_roles(*roles: str) -> Callable[..., StaffUser]:
    """A dependency letting through only these roles (and admin)."""

    def check(user: StaffDep) -> StaffUser:
        if not role_allows(user.role, roles):
            raise wrong_role(roles, user)
        return user

    return check


def require_page_roles(*roles: str) -> Callable[..., StaffUser]:
    """Like require_roles, for console pages: a signed-out browser is sent to the sign-in page and back."""

    def check(request: Request, session: SessionDep, services: ServicesDep) -> StaffUser:
        user = signed_in_user(request, session, services)
        if user is None:
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
            raise HTTPException(303, "请先登录", headers={"Location": f"/login?next={target}"})
        if not role_allows(user.role, roles):
            raise PageRefused(roles, user)
        request.state.staff = user
        return user

    return check


class PageRefused(HTTPException):
    """A console page the signed-in role may not open; answered as a page that says so (see api.app)."""

    def __init__(self, roles: tuple[str, ...], user: StaffUser) -> None:
        wanted = "、".join(ROLE_LABELS.get(r, r) for r in roles)
        super().__init__(403, f"这个页面只有{wanted}可以打开，您登录的身份是{ROLE_LABELS.get(user.role, user.role)}")
        self.roles, self.user = roles, user


def client_ip(request: Request) -> str | None:
    """The client's address: the peer's, or the one a trusted proxy forwarded (api.forwarded sets it)."""
    return request.client.host if request.client else None


def audit(
    session: Session, request: Request, user: StaffUser, action: str, target: str, detail: dict[str, Any] | None = None
) -> None:
    """Write what a signed-in person did or saw, from where, in the request's transaction (staff.audit)."""
    record(
        session, actor=user.username, role=user.role, action=action, target=target, ip=client_ip(request), detail=detail
    )
