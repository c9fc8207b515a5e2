"""Signed session cookies (itsdangerous): who is signed in, their CSRF token, and when the session expires."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from staff.tables import StaffUser

SECRET_FILE = "session-secret"


@dataclass(frozen=True)
class StaffSession:
    """What a session cookie says: the account, its CSRF token, and the password it was opened with."""

    user_id: int
    csrf: str
    password_stamp: int


class SessionSigner:
    """Signs and reads session cookies; a cookie older than `max_age_s` or tampered with reads as None."""

    def __init__(self, secret: str, max_age_s: int) -> None:
        self._cookies = URLSafeTimedSerializer(secret, salt="hotline-session")
        self._forms = URLSafeTimedSerializer(secret, salt="hotline-sign-in-form")
        self.max_age_s = max_age_s

    def issue(self, user: StaffUser) -> tuple[str, StaffSession]:
        session = StaffSession(user.id, secrets.token_urlsafe(24), password_stamp(user))
        return self._cookies.dumps([session.user_id, session.csrf, session.password_stamp]), session

    def read(self, cookie: str | None) -> StaffSession | None:
        if not cookie:
            return None
        try:
            user_id, csrf, stamp = self._cookies.loads(cookie, max_age=self.max_age_s)
        except (BadSignature, ValueError, TypeError):
            return None
        return StaffSession(int(user_id), str(csrf), int(stamp))

    def form_token(self) -> str:
        """A token for the sign-in form, so another site cannot sign a browser in to an account of its choosing."""
        return self._forms.dumps(secrets.token_hex(8))

    def form_token_valid(self, token: str | None, max_age_s: int = 3600) -> bool:
        if not token:
            return False
        try:
            self._forms.loads(token, max_age=max_age_s)
        except BadSignature:
            return False
        return True


def password_stamp(user: StaffUser) -> int:
    """Changes when the password changes, which ends every session opened with the old one."""
    return int(user.password_changed_at.timestamp())


def session_secret(configured: str | None, var_dir: Path, *, production: bool) -> str:
    """The configured secret; in development, one generated once into var/ (kept across restarts)."""
    if configured:
        return configured
    if production:
        raise RuntimeError("HOTLINE_SESSION_SECRET must be set in production: a long random string, e.g. "
                           "the output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
    path = var_dir / SECRET_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        tmp.write_text(json.dumps({"secret": secrets.token_urlsafe(48)}))
        tmp.chmod(0o600)
        try:  # link, not rename: two processes starting at once agree on the first secret
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return json.loads(path.read_text())["secret"]
