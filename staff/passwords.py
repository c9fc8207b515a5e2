"""Password hashing with argon2id, with OWASP's first recommended parameters (19 MiB, 2 passes, 1 lane)."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's Password Storage Cheat Sheet lists m=19 MiB, t=2, p=1 first among equally strong argon2id settings;
# argon2-cffi's default (RFC 9106's 64 MiB, t=3, 4 lanes) costs ~5x the CPU, across both cores of a small server.
# At ~20 ms on one core, 30 staff signing in at once are checked in well under a second on the one low-priority
# checker thread, and the webhooks keep the other core. Hashes made with other parameters are redone at the next
# successful sign-in (needs_rehash).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
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
