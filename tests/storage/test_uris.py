"""Object URIs: parsing, printing back, joining, and refusing what cannot be used."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.errors import InvalidURI
from storage.uris import ObjectURI, join, parse_uri


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://bucket/prefix/", ObjectURI("s3", "bucket", "prefix/")),
        ("s3://bucket/a/b/cat.JPG", ObjectURI("s3", "bucket", "a/b/cat.JPG")),
        ("s3://bucket", ObjectURI("s3", "bucket", "")),
        ("s3://bucket/", ObjectURI("s3", "bucket", "")),
        ("S3://my.bucket-1/k", ObjectURI("s3", "my.bucket-1", "k")),
        ("file:///abs/path/x.png", ObjectURI("file", "", "abs/path/x.png")),
        ("file://localhost/abs/x.png", ObjectURI("file", "", "abs/x.png")),
        ("file:///with%20space/%E7%8C%AB.jpg", ObjectURI("file", "", "with space/猫.jpg")),
    ],
)
def test_parse(text, expected):
    assert parse_uri(text) == expected


@pytest.mark.parametrize("text", ["s3://bucket/prefix/", "s3://b-1/a b/c", "file:///abs/path/x.png"])
def test_str_gives_the_uri_back(text):
    assert str(parse_uri(text)) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "expected s3://bucket/key"),
        ("bucket/key", "expected s3://bucket/key"),
        ("http://host/key", "unsupported scheme 'http'"),
        ("s3:///key", "missing bucket"),
        ("s3://Bucket/key", "bad bucket name"),
        ("s3://ab/key", "bad bucket name"),
        ("s3://a..b/key", "bad bucket name"),
        ("s3://bucket//key", "must not start with '/'"),
        ("s3://bucket/a/../b", "'..' segment"),
        ("s3://bucket/a\nb", "control character"),
        ("s3://bucket/" + "k" * 1025, "longer than 1024 bytes"),
        ("file://host/path", "file:///absolute/path"),
        ("file:relative", "expected s3://bucket/key"),
        ("file:///a/%2e%2e/etc", "'..' segment"),
        ("file:///bad%ff", "UTF-8"),
        ("file:///a?b", "query or fragment"),
    ],
)
def test_invalid_uris_say_why(text, reason):
    with pytest.raises(InvalidURI, match=reason.replace("?", r"\?")) as caught:
        parse_uri(text)
    assert caught.value.text == text


@pytest.mark.parametrize(
    ("prefix", "relative", "expected"),
    [
        ("s3://bucket/prefix/", "a/cat.jpg", "s3://bucket/prefix/a/cat.jpg"),
        ("s3://bucket/prefix", "cat.jpg", "s3://bucket/prefix/cat.jpg"),
        ("s3://bucket", "cat.jpg", "s3://bucket/cat.jpg"),
        ("file:///data/", "x.png", "file:///data/x.png"),
    ],
)
def test_join(prefix, relative, expected):
    assert str(join(prefix, relative)) == expected
    assert str(parse_uri(prefix).join(relative)) == expected


@pytest.mark.parametrize("relative", ["/abs", "../up", "a/../../b"])
def test_join_refuses_escaping_keys(relative):
    with pytest.raises(InvalidURI):
        join("s3://bucket/prefix/", relative)


_segment = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, exclude_characters="/\x7f"), min_size=1, max_size=8
).filter(lambda s: s not in (".", ".."))
_keys = st.lists(_segment, min_size=1, max_size=4).map("/".join)


@given(scheme=st.sampled_from(["s3", "file"]), key=_keys)
def test_str_then_parse_is_identity(scheme, key):
    uri = ObjectURI(scheme, "bucket" if scheme == "s3" else "", key)
    assert parse_uri(str(uri)) == uri
