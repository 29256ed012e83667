"""Password hashing with Argon2id (memory-hard), via argon2-cffi.

The default parameters are argon2-cffi's (RFC 9106 low-memory profile: 64 MiB, 3 passes).
A hash made with other parameters is upgraded on the next successful sign-in.
"""

from __future__ import annotations

from argon2 import Parameters
from argon2 import PasswordHasher as _Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8


class PasswordHasher:
    def __init__(self, parameters: Parameters | None = None) -> None:
        self._hasher = _Argon2Hasher() if parameters is None else _Argon2Hasher.from_parameters(parameters)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except VerifyMismatchError:
            return False
        except (InvalidHashError, VerificationError):
            # A damaged stored hash never lets anyone in.
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


def check_strength(password: str) -> str | None:
    """Why the password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if password.strip() != password:
        return "the password must not start or end with a space"
    return None
