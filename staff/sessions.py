"""Staff sessions: a signed cookie (itsdangerous) naming a session kept server-side, its CSRF token, its expiry.

The cookie alone is not enough: its session must still be open in `staff_sessions`, so signing out, a password
change or disabling the account ends it at once, whatever copies of the cookie exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from staff.tables import StaffSessionRecord, StaffUser

SECRET_FILE = "session-secret"
MIN_SECRET_LENGTH = 32
GENERATE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


@dataclass(frozen=True)
class StaffSession:
    """What a session cookie says: the account, the session's id, its CSRF token, the password it was opened with."""

    user_id: int
    session_id: str
    csrf: str
    password_stamp: int


class SessionSigner:
    """Signs and reads session cookies; a cookie older than `max_age_s` or tampered with reads as None."""

    def __init__(self, secret: str, max_age_s: int) -> None:
        self._cookies = URLSafeTimedSerializer(secret, salt="hotline-session")
        self._forms = URLSafeTimedSerializer(secret, salt="hotline-sign-in-form")
        self.max_age_s = max_age_s

    def issue(self, user: StaffUser) -> tuple[str, StaffSession]:
        """A new session for `user` and its cookie; `open_session` records it server-side."""
        session = StaffSession(user.id, secrets.token_urlsafe(32), secrets.token_urlsafe(24), password_stamp(user))
        cookie = self._cookies.dumps([session.user_id, session.session_id, session.csrf, session.password_stamp])
        return cookie, session

    def read(self, cookie: str | None) -> StaffSession | None:
        """What a genuine, unexpired cookie says (a cookie of the older three-field form reads as None)."""
        if not cookie:
            return None
        try:
            user_id, session_id, csrf, stamp = self._cookies.loads(cookie, max_age=self.max_age_s)
        except (BadSignature, ValueError, TypeError):
            return None
        return StaffSession(int(user_id), str(session_id), str(csrf), int(stamp))

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


def _digest(session_id: str) -> str:
    """What the table keeps: a reader of the database cannot turn it back into a cookie."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(db: Session, staff_session: StaffSession, max_age_s: int, now: datetime) -> None:
    """Record a new session (and forget sessions long expired, so the table stays small)."""
    db.execute(delete(StaffSessionRecord).where(StaffSessionRecord.expires_at < now - timedelta(days=1)))
    db.add(
        StaffSessionRecord(
            id=_digest(staff_session.session_id),
            user_id=staff_session.user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age_s),
        )
    )


def session_is_open(db: Session, staff_session: StaffSession, now: datetime) -> bool:
    """True while the session is recorded for this account, not ended and not expired."""
    record = db.get(StaffSessionRecord, _digest(staff_session.session_id))
    return (
        record is not None
        and record.user_id == staff_session.user_id
        and record.ended_at is None
        and record.expires_at > now
    )


def end_session(db: Session, staff_session: StaffSession, now: datetime) -> None:
    """Sign out: this session's cookie is refused from now on."""
    db.execute(
        update(StaffSessionRecord)
        .where(StaffSessionRecord.id == _digest(staff_session.session_id), StaffSessionRecord.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_sessions_of(db: Session, user_id: int, now: datetime) -> None:
    """End every open session of an account (its password changed, or it was disabled)."""
    db.execute(
        update(StaffSessionRecord)
        .where(StaffSessionRecord.user_id == user_id, StaffSessionRecord.ended_at.is_(None))
        .values(ended_at=now)
    )


def session_secret(configured: str | None, var_dir: Path, *, production: bool) -> str:
    """The configured secret; in development, one generated once into var/ (kept across restarts).

    Production refuses a missing or short secret: a short one can be guessed, and then cookies forged.
    """
    if production and (not configured or len(configured) < MIN_SECRET_LENGTH):
        problem = "must be set" if not configured else f"is {len(configured)} characters, too short to be safe"
        raise RuntimeError(
            f"HOTLINE_SESSION_SECRET {problem} in production: use a random string of at least "
            f"{MIN_SECRET_LENGTH} characters, e.g. the output of `{GENERATE_SECRET}`"
        )
    if configured:
        return configured
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
    secret: str = json.loads(path.read_text())["secret"]  # the file this function wrote
    return secret
