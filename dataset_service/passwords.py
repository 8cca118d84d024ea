"""Passwords: the policy every new password meets, and hashing with Argon2 (argon2-cffi)."""
from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PASSWORD_MIN = 10
PASSWORD_MAX = 256
USERNAME_IN_PASSWORD_MIN = 4  # a username this long may not appear anywhere in its password

# Well-known passwords (compared without case); the shorter ones are refused by length already and
# are kept so that the list reads as the common lists do.
COMMON_PASSWORDS = frozenset({
    "0000000000", "0123456789", "0987654321", "1111111111", "1122334455", "1212121212", "1234123412",
    "1234512345", "1234554321", "1234567890", "12345678910", "1234567890a", "123456789a", "123456789q",
    "123123123123", "123qweasdzxc", "147258369a", "1q2w3e4r5t", "1q2w3e4r5t6y", "1qaz2wsx3edc",
    "1qazxsw23edc", "2wsx3edc4rfv", "5201314520", "6543211234", "9876543210", "987654321a",
    "a123456789", "a1b2c3d4e5", "aa12345678", "aaaaaaaaaa", "abc1234567", "abcd123456", "abcd1234abcd",
    "abcdefg123", "abcdefghij", "access1234", "admin12345", "admin123456", "adminadmin", "administrator",
    "administrator1", "alexander1", "america123", "angel12345", "apple12345", "arsenal123", "asdf123456",
    "asdfasdfasdf", "asdfghjkl1", "asdfghjkl123", "asdfghjkl;", "azertyuiop", "babygirl12", "baseball11",
    "baseball123", "basketball", "basketball1", "batman1234", "blink18218", "butterfly1", "changeme123",
    "changeme1234", "charlie123", "chelsea123", "chocolate1", "computer123", "cowboys123", "dallas1234",
    "dataset123", "default123", "dragon1234", "dragonball", "football11", "football123", "football1234",
    "freedom123", "friends123", "galaxy1234", "hello12345", "hellohello", "helloworld", "helloworld1",
    "iloveyou12", "iloveyou123", "iloveyou1234", "internet123", "jennifer12", "jessica123", "jordan2323",
    "labeling123", "letmein123", "letmein1234", "liverpool1", "liverpool123", "login12345", "loveyou123",
    "manchester", "master1234", "michael123", "michelle12", "monkey1234", "mustang123", "myspace123",
    "naruto1234", "nicole1234", "p@ssw0rd12", "p@ssw0rd123", "p@ssword123", "passw0rd12", "passw0rd123",
    "password00", "password01", "password1!", "password10", "password11", "password12", "password123",
    "password1234", "password12345", "password123456", "password2020", "password2021", "password2022",
    "password2023", "password2024", "password2025", "password2026", "passwordpassword", "pokemon123",
    "princess12", "princess123", "q1w2e3r4t5", "q1w2e3r4t5y6", "qazwsxedc1", "qazwsxedc123",
    "qazwsxedcrfv", "qwe123qwe123", "qweasdzxc1", "qweasdzxc123", "qwert12345", "qwerty1234",
    "qwerty12345", "qwerty123456", "qwertyuiop", "qwertyuiop1", "qwertyuiop123", "qwertzuiop",
    "rainbow123", "samsung123", "secret1234", "shadow1234", "soccer1234", "starwars12", "starwars123",
    "summer2024", "summer2025", "sunshine12", "sunshine123", "superman12", "superman123", "test123456",
    "testtest12", "thomas1234", "trustno1234", "welcome123", "welcome1234", "whatever12", "whatever123",
    "winter2024", "winter2025", "zaq12wsxcde3", "zaq1xsw2cde3", "zxcvbnm123", "zxcvbnm1234",
    "zxcvbnmasdfghjkl", "password", "password1", "123456789", "12345678", "qwerty123", "iloveyou",
})

_hasher = PasswordHasher()


def password_problem(password: str, username: str = "") -> str | None:
    """Return why a password may not be set (for the user of this name), or None when it may."""
    if len(password) < PASSWORD_MIN:
        return f"use at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"use at most {PASSWORD_MAX} characters"
    if len(set(password)) == 1:
        return "use more than one distinct character"
    if password.lower() in COMMON_PASSWORDS:
        return "this password is too common; choose another"
    if _holds_username(password, username):
        return "must not contain the username"
    return None


def _holds_username(password: str, username: str) -> bool:
    """Tell whether the password holds the username, ignoring case (names of 1-3 characters would refuse too many good passwords)."""
    name = username.casefold()
    return len(name) >= USERNAME_IN_PASSWORD_MIN and name in password.casefold()


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Tell whether the password matches the stored hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """Return a hash no password matches, made once per process, to check unknown users against."""
    return _hasher.hash(secrets.token_urlsafe(32))
