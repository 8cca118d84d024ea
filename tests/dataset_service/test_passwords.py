"""The password policy: one rule for every way a password is set."""
from __future__ import annotations

import pytest

from dataset_service.passwords import COMMON_PASSWORDS, PASSWORD_MIN, password_problem


@pytest.mark.parametrize("password", ["password123", "password1234", "1234567890", "qwertyuiop", "PassWord123", "aaaaaaaaaaaaaa", "short"])
def test_weak_passwords_have_a_problem(password):
    assert password_problem(password) is not None


@pytest.mark.parametrize("password", ["violet-kettle-42", "correct horse battery staple", "éléphant rose 9"])
def test_good_passwords_pass(password):
    assert password_problem(password) is None


def test_the_common_list_is_small_lowercase_and_long_enough_to_matter():
    assert 100 <= len(COMMON_PASSWORDS) <= 250
    assert all(word == word.lower() for word in COMMON_PASSWORDS)
    assert sum(len(word) >= PASSWORD_MIN for word in COMMON_PASSWORDS) >= 100


@pytest.mark.parametrize("password, username, refused", [
    ("carl-the-great", "carl", True), ("CARL-carl-1234", "Carl", True), ("banner-house-9", "ann", False),
    ("violet-kettle-42", "carl", False), ("violet-kettle-42", "", False),
])
def test_a_password_may_not_hold_its_username(password, username, refused):
    assert (password_problem(password, username) == "must not contain the username") is refused
