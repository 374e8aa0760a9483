"""The password policy and the bundled list of common passwords."""

from __future__ import annotations

import pytest

from labelwise.service import passwords
from labelwise.service.errors import ValidationError


def test_the_bundled_list_is_sorted_casefolded_and_about_a_thousand_long():
    lines = passwords.COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    assert lines == sorted(set(lines), key=lambda line: line.encode("utf-8"))
    assert all(line and line == line.casefold() and line.strip() == line for line in lines)
    assert 1000 <= len(lines) <= 5000
    assert {"password", "12345678", "qwerty123", "iloveyou", "1qaz2wsx"} <= set(lines)


@pytest.mark.parametrize(
    "password",
    ["password", "Password1!", "12345678", "QWERTYUIOP", "sunshine1987", "iloveyou!!", "Admin123"],
)
def test_common_passwords_are_refused_whatever_their_case_or_trailing_digits(password):
    with pytest.raises(ValidationError, match="most common"):
        passwords.check_password(password, username="ana")


@pytest.mark.parametrize("password", ["ana-the-annotator", "ANA-THE-ANNOTATOR"])
def test_a_password_equal_to_the_username_is_refused_whatever_its_case(password):
    with pytest.raises(ValidationError, match="may not be the username"):
        passwords.check_password(password, username="Ana-the-Annotator")


def test_short_and_overlong_passwords_are_refused():
    with pytest.raises(ValidationError, match="at least 8 characters"):
        passwords.check_password("x7#kq2", username="ana")
    passwords.check_password("x" * 8 + "7#kq" * 62, username="ana")  # 256: the cap
    with pytest.raises(ValidationError, match=r"at most 256 characters \(this one has 257\)"):
        passwords.check_password("y" + "x" * 8 + "7#kq" * 62, username="ana")


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "football-lover-from-leeds", "x7#kq2Lm", "päßwörter sind gut"],
)
def test_uncommon_passwords_pass(password):
    passwords.check_password(password, username="ana")
