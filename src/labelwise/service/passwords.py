"""The password policy: long enough, not too long to hash, not common, not the username.

Checked before hashing, when an account is created or its password set; log-in checks
only the length cap (a policy tightened later must not lock out existing accounts).
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

from labelwise.service.errors import ValidationError

MIN_PASSWORD_CHARS = 8
#: argon2 hashes any length, so without a cap a megabyte "password" costs the server a
#: hash of a megabyte per request; 256 characters is far beyond any passphrase.
MAX_PASSWORD_CHARS = 256
COMMON_PASSWORDS = Path(__file__).resolve().parent / "password_data" / "common-passwords.txt"
_DECORATION = string.digits + string.punctuation + " "


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords, casefolded (see ``password_data/README.md``)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line)


def is_common(password: str) -> bool:
    """True for a listed password, also once trailing digits and symbols are removed."""
    key = password.casefold()
    listed = common_passwords()
    return key in listed or key.rstrip(_DECORATION) in listed


def check_password(password: str, *, username: str) -> None:
    """Raise ValidationError, saying why, unless ``password`` is acceptable for ``username``."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValidationError(f"A password needs at least {MIN_PASSWORD_CHARS} characters.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValidationError(
            f"A password may have at most {MAX_PASSWORD_CHARS} characters "
            f"(this one has {len(password):,})."
        )
    if password.strip().casefold() == username.strip().casefold():
        raise ValidationError("A password may not be the username.")
    if is_common(password):
        raise ValidationError(
            "This password is one of the most common ones, which are tried first; choose "
            "another (a few unrelated words make a good one)."
        )
