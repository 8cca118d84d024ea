"""Upload file names made into safe keys under the dataset's folder (`uploads.safe_name`)."""
from __future__ import annotations

import pytest

from dataset_service.errors import Invalid
from dataset_service.services.uploads import MAX_NAME, safe_name


@pytest.mark.parametrize("raw, key", [
    ("cat.png", "cat.png"),
    ("a/b/cat.png", "a/b/cat.png"),
    ("./a//b/./cat.png", "a/b/cat.png"),
    ("a\\b\\cat.png", "a/b/cat.png"),  # a Windows path keeps its folders
    ("Cafe\u0301.png", "Caf\u00e9.png"),  # one spelling of each name (NFC)
    ("猫/写真 1.jpg", "猫/写真 1.jpg"),
    ("x" * (MAX_NAME - 4) + ".png", "x" * (MAX_NAME - 4) + ".png"),
])
def test_acceptable_names_become_relative_keys(raw, key):
    assert safe_name(raw) == key


@pytest.mark.parametrize("raw, reason", [
    ("", "empty name"),
    ("   ", "empty name"),
    ("a\x00b.png", "control characters"),
    ("a\nb.png", "control characters"),
    ("a\x7fb.png", "control characters"),
    ("/etc/passwd.png", "absolute paths"),
    ("C:/Windows/x.png", "absolute paths"),
    ("c:\\x.png", "absolute paths"),
    ("../evil.png", "'..'"),
    ("a/../../evil.png", "'..'"),
    ("a\\..\\evil.png", "'..'"),
    ("x" * (MAX_NAME + 1), "too long"),
])
def test_unsafe_names_are_refused_naming_the_field_and_the_reason(raw, reason):
    with pytest.raises(Invalid) as caught:
        safe_name(raw)
    assert list(caught.value.fields) == ["files"]
    assert reason in caught.value.fields["files"][0]
