"""Passwords: which are accepted, and argon2id hashing off the event loop (a hash costs tens of ms of CPU).

Accepted: 8 to 256 characters, not one of the 20,000 most common passwords of public breach corpora
(`common-passwords.txt.gz`, shipped with the project: the list Django ships, BSD-3-Clause, compiled by
Royce Williams from breached password sets), not such a password with digits or symbols added at the
end ("sunshine2024!"), and not built from the account's own email or name.
"""

from __future__ import annotations

import gzip
import re
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id floor (19 MiB, t=2, p=1): ~20 ms a hash here, so sign-ins scale with the cores.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both paths cost the same time."""
    return _hasher.hash("engage-timing-equaliser")


MIN_LENGTH = 8
MAX_LENGTH = 256
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")
# How alike a password and the email or name may be (difflib's ratio, as Django's similarity validator).
MAX_SIMILARITY = 0.7
_TRAILING_EXTRAS = re.compile(r"[\W\d_]+$")
_WORDS = re.compile(r"[^\W_]+")


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why `password` is refused for this account, or None."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters"
    lowered = password.lower()
    common = common_passwords()
    if lowered in common or _TRAILING_EXTRAS.sub("", lowered) in common:
        return "this password is one of the most commonly used; choose another"
    local = email.split("@", 1)[0].lower()
    attributes = {local, name.lower(), *_WORDS.findall(local), *_WORDS.findall(name.lower())}
    for attribute in (a for a in attributes if len(a) >= 3):
        mostly_it = attribute in lowered and len(attribute) * 2 >= len(lowered)
        if mostly_it or SequenceMatcher(None, lowered, attribute).ratio() >= MAX_SIMILARITY:
            return "the password is too close to your email address or name"
    return None


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(_verify)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
