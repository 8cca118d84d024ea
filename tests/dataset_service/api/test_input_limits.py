"""Valid-shaped input the database or the parsers cannot take: 20-digit ids, NUL bytes, deeply nested
JSON, a closed polygon, long cursors; each a 4xx naming what is wrong, never a 500 (issue 17, finding 7)."""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from dataset_service.models import Sample
from dataset_service.services import filters
from dataset_service.services.filters import CURSOR_MAX_CHARS, decode_cursor, encode_cursor
from tests.dataset_service.factories import add_sample

BIG = "99999999999999999999"  # beyond a 64-bit integer
SQUARE = [[10, 10], [40, 10], [40, 30], [10, 30]]


def test_ids_beyond_64_bits_in_the_path_are_404(admin, dataset):
    for url in (f"/api/v1/datasets/{BIG}", f"/api/v1/samples/{BIG}/annotation", f"/api/v1/jobs/{2**63}",
                f"/api/v1/datasets/{dataset['id']}/labels/{BIG}"):
        response = admin.get(url) if "labels" not in url else admin.patch(url, json={"color": "#00ff00"})
        assert response.status_code == 404, (url, response.get_json())
        assert response.get_json()["error"] == "not_found"
    assert admin.get(f"/api/v1/jobs/{2**63 - 1}").status_code == 404  # the largest id is still looked up


def test_integers_beyond_64_bits_in_a_query_or_body_are_422_naming_them(app, admin, labeler, dataset):
    cases = [
        (admin.get(f"/api/v1/datasets?offset={BIG}"), "offset"),
        (admin.get(f"/api/v1/datasets/{dataset['id']}/samples?offset={BIG}"), "offset"),
        (admin.post(f"/api/v1/datasets/{dataset['id']}/samples/delete", json={"ids": [int(BIG)]}), "ids"),
        (labeler.put(f"/api/v1/samples/{add_sample(app, dataset['id'], 'x.png')}/annotation", json={"revision": int(BIG), "objects": []}), "revision"),
    ]
    for response, field in cases:
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["fields"], response.get_json()


def test_a_nul_byte_in_any_text_is_422_naming_the_field(app, admin, labeler, dataset):
    samples = f"/api/v1/datasets/{dataset['id']}/samples"
    cases = [
        (admin.get(samples + "?path=a%00b"), "path"),
        (admin.get(samples + "?label=cat%00"), "label"),
        (admin.get(samples + "?labeled_by=lena%00"), "labeled_by"),
        (admin.get(samples + "?cursor=%00"), "cursor"),
        (admin.post("/api/v1/datasets", json={"name": "x", "input_path": "s3://b/\u0000/", "description": "d"}), "input_path"),
        (admin.patch(f"/api/v1/datasets/{dataset['id']}", json={"description": "a\u0000b"}), "description"),
        (admin.post("/api/v1/auth/token", json={"username": "ad\u0000min", "password": "password123"}), "username"),
        (labeler.put(f"/api/v1/samples/{add_sample(app, dataset['id'], 'x.png')}/annotation",
                     json={"revision": 0, "objects": [{"label": "c\u0000t", "points": SQUARE}]}), "objects"),
    ]
    for response, field in cases:
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["fields"], response.get_json()


def test_a_lone_surrogate_is_422(admin, dataset):
    response = admin.patch(f"/api/v1/datasets/{dataset['id']}", data='{"description": "\\ud800"}', content_type="application/json")
    assert response.status_code == 422 and "description" in response.get_json()["fields"]


def test_json_nested_50000_deep_is_400_naming_the_body(app, admin, labeler, dataset):
    deep = "[" * 50_000
    for response in (admin.post("/api/v1/datasets", data=deep, content_type="application/json"),
                     labeler.put(f"/api/v1/samples/{add_sample(app, dataset['id'], 'x.png')}/annotation",
                                 data='{"objects": ' + deep, content_type="application/json")):
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["error"] == "invalid_json" and "body" in response.get_json()["fields"]


def test_json_that_does_not_parse_is_400_naming_the_body(admin):
    response = admin.post("/api/v1/datasets", data="{", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_json" and "body" in response.get_json()["fields"]


def test_a_polygon_closed_on_its_first_point_is_saved_open(app, labeler, dataset):
    sample_id = add_sample(app, dataset["id"], "cats/a/one.png", width=64, height=48)
    closed = [*SQUARE, [10.001, 10]]  # the same point as the XML writes it (whole pixels)
    response = labeler.put(f"/api/v1/samples/{sample_id}/annotation", json={"revision": 0, "objects": [{"label": "cat", "points": closed}]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["objects"][0]["points"] == SQUARE


def test_a_closed_triangle_of_two_points_is_422(app, labeler, dataset):
    sample_id = add_sample(app, dataset["id"], "cats/a/one.png", width=64, height=48)
    response = labeler.put(f"/api/v1/samples/{sample_id}/annotation",
                           json={"revision": 0, "objects": [{"label": "cat", "points": [[1, 1], [5, 5], [1, 1]]}]})
    assert response.status_code == 422 and "objects.0.points" in response.get_json()["fields"]


# --- cursors ---------------------------------------------------------------------------------------


def row(key: str = "a.png", sample_id: int = 7, created: str = "2024-05-01T10:00:00.123456+00:00"):
    return SimpleNamespace(key=key, id=sample_id, created_at=datetime.fromisoformat(created))


@pytest.mark.parametrize("key", ["cats/a/one.png", "猫/" * 170, "🐈/" * 128, "k" * 1024, "猫" * 1024])
def test_every_cursor_fits_the_limit_whatever_the_key(key):
    for backwards in (False, True):
        cursor = encode_cursor("key", row(key), backwards)
        assert len(cursor) <= CURSOR_MAX_CHARS <= 700
        decoded = decode_cursor("key", cursor)
        assert decoded.backwards == backwards
        if len(key.encode()) <= filters.CURSOR_KEY_BYTES:
            assert decoded.key == key and not decoded.key_cut
        else:
            assert decoded.key_cut and decoded.sample_id == 7 and key.startswith(decoded.key)


def test_time_cursors_round_trip_to_the_microsecond():
    for order in ("created", "-created"):
        cursor = encode_cursor(order, row())
        assert len(cursor) < 30
        decoded = decode_cursor(order, cursor)
        assert decoded.created == row().created_at and decoded.sample_id == 7


@pytest.mark.parametrize("cursor", ["", "!!!", base64.urlsafe_b64encode(b"\x00a\x00b").decode(),
                                    encode_cursor("created", row()), base64.urlsafe_b64encode(b"\x08" + bytes(15) + b"\xff").decode()])
def test_a_cursor_not_made_for_the_order_is_invalid(cursor):
    from dataset_service.errors import Invalid

    with pytest.raises(Invalid):
        decode_cursor("key", cursor)


def test_an_over_long_cursor_is_422_before_the_request_line_limit(admin, dataset):
    response = admin.get(f"/api/v1/datasets/{dataset['id']}/samples?cursor={'A' * (CURSOR_MAX_CHARS + 1)}")
    assert response.status_code == 422 and "cursor" in response.get_json()["fields"]


def long_key_samples(app, dataset_id: int, count: int) -> tuple[list[str], list[int]]:
    """Add samples whose keys are longer than a cursor carries (600+ bytes); return the keys and ids in key order."""
    keys = [f"cats/{'猫' * 200}/{i:02}.png" for i in range(count)]
    with app.extensions["db_sessionmaker"]() as session:
        rows = [Sample(dataset_id=dataset_id, key=key, size=1, etag=f"e{i}", created_at=datetime.now(timezone.utc)) for i, key in enumerate(keys)]
        session.add_all(rows)
        session.commit()
        return keys, [r.id for r in rows]


def keys_of(page: dict) -> list[str]:
    return [item["key"] for item in page["items"]]


def test_paging_through_long_keys_by_cursor_sees_every_sample_once(app, admin, dataset):
    keys, _ = long_key_samples(app, dataset["id"], 7)
    url = f"/api/v1/datasets/{dataset['id']}/samples?path=%E7%8C%AB&limit=3"
    seen, cursor = [], None
    while True:
        page = admin.get(url + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += keys_of(page)
        if not (cursor := page["next_cursor"]):
            break
        assert len(cursor) <= CURSOR_MAX_CHARS
    assert seen == keys
    assert keys_of(admin.get(url + f"&cursor={page['prev_cursor']}").get_json()) == keys[3:6]


def test_a_cut_key_cursor_whose_row_was_deleted_still_misses_nothing(app, admin, dataset):
    """The row is gone: the cut key bounds the page, which may show again rows sharing that cut, never skip one."""
    keys, ids = long_key_samples(app, dataset["id"], 4)
    url = f"/api/v1/datasets/{dataset['id']}/samples?path=%E7%8C%AB&limit=4"
    cursor = admin.get(url.replace("limit=4", "limit=2")).get_json()["next_cursor"]
    admin.post(f"/api/v1/datasets/{dataset['id']}/samples/delete", json={"ids": [ids[1]]})
    page = keys_of(admin.get(url + f"&cursor={cursor}").get_json())
    assert page == [keys[0], keys[2], keys[3]]
