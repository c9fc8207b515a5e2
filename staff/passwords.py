"""Password hashing with argon2id (argon2-cffi's current defaults)."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
MIN_LENGTH = 10


class WeakPassword(ValueError):
    """A password too easy to guess; the message says what is needed."""


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"密码太短：至少要 {MIN_LENGTH} 个字符")
    if password.isdigit():
        raise WeakPassword("密码不能全是数字，太容易被猜到：请加入字母")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    return _hasher.check_needs_rehash(stored_hash)


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password with today's parameters: what an unknown username is checked against."""
    return _hasher.hash(secrets.token_urlsafe(16))
