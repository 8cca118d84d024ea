"""The pages through Flask's test client: login, CSRF, the dataset pages and the labeling page."""
from __future__ import annotations

import re

import pytest

from tests.dataset_service.factories import add_sample, label_sample
from tests.dataset_service.web.pages import csrf_token, page_data, page_login, signed_in


@pytest.fixture
def browser(app, admin):
    """The admin's page session; `admin` made the user."""
    return signed_in(app)


def test_pages_send_anonymous_visitors_to_log_in(client):
    response = client.get("/datasets/7?state=labeled")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fdatasets%2F7%3Fstate%3Dlabeled"


def test_login_then_logout(app, admin):
    client = app.test_client()
    response = client.post("/login?next=/datasets/new", data={"username": "admin", "password": "password123", "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/datasets/new"
    home = client.get("/")
    assert home.status_code == 200 and 'data-testid="viewer">admin<' in home.get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    assert client.get("/").status_code == 302


def test_login_refuses_a_wrong_password(app, admin):
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": "nope-nope", "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_login_only_follows_local_next_urls(app, admin):
    client = app.test_client()
    for target in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        response = client.post(f"/login?next={target}", data={"username": "admin", "password": "password123", "csrf_token": csrf_token(client)})
        assert response.headers["Location"] == "/", target


def test_forms_without_a_valid_csrf_token_are_refused(app, admin):
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": "password123"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "The form had expired" in client.get("/login").get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in
    browser, _ = page_login(app)
    assert browser.post("/logout", data={"csrf_token": "forged"}).headers["Location"] == "/"
    assert browser.get("/").status_code == 200  # still logged in


def test_page_scripts_calling_the_api_need_the_csrf_header(browser, dataset):
    client, token = browser
    url = f"/api/v1/datasets/{dataset['id']}/labels"
    refused = client.post(url, json={"name": "bird"})
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["message"]
    assert client.post(url, json={"name": "bird"}, headers={"X-CSRFToken": "forged"}).status_code == 400
    assert client.post(url, json={"name": "bird"}, headers={"X-CSRFToken": token}).status_code == 201
    assert client.get(f"/api/v1/datasets/{dataset['id']}").status_code == 200  # reading needs no token


def test_bearer_token_callers_need_no_csrf_token(admin, dataset, client):
    assert admin.post(f"/api/v1/datasets/{dataset['id']}/labels", json={"name": "fish"}).status_code == 201
    assert client.post("/api/v1/auth/token", json={"username": "admin", "password": "password123"}).status_code == 200


def test_errors_are_pages_for_browsers_and_json_for_the_api(browser, client):
    page_client, _ = browser
    page = page_client.get("/datasets/999999")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Dataset 999999 does not exist." in page.get_data(as_text=True)
    assert page_client.get("/no-such-page").mimetype == "text/html"
    api = page_client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"
    assert client.get("/api/v1/no-such-thing").get_json()["error"] == "unauthorized"


def test_pages_carry_a_content_security_policy(browser):
    client, _ = browser
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_create_dataset_form(browser, bucket):
    client, token = browser
    response = client.post("/datasets/new", data={
        "csrf_token": token, "name": "birds", "description": "", "input_path": f"s3://{bucket}/birds",
        "output_path": "", "label_name": ["gull", "", "tern"], "label_color": ["#112233", "#000000", "#445566"],
    })
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert f"s3://{bucket}/birds/" in html
    assert "gull" in html and "--c: #112233" in html and "tern" in html


def test_create_dataset_form_shows_the_errors_of_the_api_rules(browser, bucket):
    client, token = browser
    response = client.post("/datasets/new", data={"csrf_token": token, "name": "", "input_path": "ftp://x", "label_name": ["a", "a"]})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The dataset was not created" in html and 'value="ftp://x"' in html


def test_only_admins_create_datasets(app, admin, labeler):
    client, _ = signed_in(app, "lena")
    assert client.get("/datasets/new").status_code == 403
    assert "Create dataset" not in client.get("/").get_data(as_text=True)
    admin_client, _ = signed_in(app)
    assert "Create dataset" in admin_client.get("/").get_data(as_text=True)


def test_dataset_page_tabs_filters_and_paging(app, browser, dataset):
    client, _ = browser
    ids = [add_sample(app, dataset["id"], f"cats/{name}.png") for name in ("a/one", "a/two", "b/three")]
    label_sample(app, ids[0], "admin", ["cat"])
    base = f"/datasets/{dataset['id']}"
    html = client.get(base).get_data(as_text=True)
    assert html.count('data-sample-id=') == 3 and 'data-count="labeled">1<' in html
    assert client.get(base + "?state=labeled").get_data(as_text=True).count('data-sample-id=') == 1
    folder = client.get(base + "?path=a/").get_data(as_text=True)  # a folder inside the input path
    assert folder.count('data-sample-id=') == 2 and "three.png" not in folder
    assert client.get(base + "?label=cat&label=dog&label_op=and").get_data(as_text=True).count('data-sample-id=') == 0
    paged = client.get(base + "?limit=20&page=2").get_data(as_text=True)
    assert 'data-testid="grid-empty"' in paged and "Page 2 of 1" in paged
    bad_cursor = client.get(base + "?page=2&cursor=nonsense").get_data(as_text=True)
    assert 'data-testid="filter-error"' in bad_cursor
    bad = client.get(base + "?label=nope&created=range&created_from=2026-01-02&created_to=2026-01-01")
    assert bad.status_code == 200 and 'data-testid="filter-error"' in bad.get_data(as_text=True)


def test_labeling_page_knows_its_neighbours_under_the_filter(app, browser, dataset):
    client, _ = browser
    one, two, three = (add_sample(app, dataset["id"], f"cats/{n}.png") for n in ("1", "2", "3"))
    label_sample(app, two, "admin", ["cat"])
    data = page_data(client.get(f"/datasets/{dataset['id']}/samples/{one}?state=unlabeled"))
    assert data["nextUrl"] == f"/datasets/{dataset['id']}/samples/{three}?state=unlabeled"
    assert data["prevUrl"] is None
    assert {label["name"]: label["samples"] for label in data["labels"]} == {"cat": 1, "dog": 0}
    assert client.get(f"/datasets/{dataset['id'] + 1}/samples/{one}").status_code == 404


def test_labeling_page_carries_the_list_around_the_image_for_the_filmstrip(app, browser, dataset, monkeypatch):
    from dataset_service.web import labeling

    client, _ = browser
    monkeypatch.setattr(labeling, "STRIP_SIDE", 2)
    ids = [add_sample(app, dataset["id"], f"cats/{n}.png") for n in "1234567"]
    label_sample(app, ids[3], "admin", ["cat"])
    base = f"/datasets/{dataset['id']}/samples"
    data = page_data(client.get(f"{base}/{ids[3]}?state=unlabeled"))  # labeled: out of the list, yet in its strip
    assert [entry["id"] for entry in data["strip"]] == [ids[1], ids[2], ids[3], ids[4], ids[5]]
    assert data["strip"][2]["labeled"] and not data["strip"][1]["labeled"]
    assert data["strip"][0]["thumb"].startswith(f"/samples/{ids[1]}/thumbnail?v=")
    assert (data["filterQuery"], data["listTotal"]) == ("state=unlabeled", 6)
    first = page_data(client.get(f"{base}/{ids[0]}?state=unlabeled&label=nope"))  # a filter that no longer reads: the whole dataset
    assert [entry["id"] for entry in first["strip"]] == ids[:3] and first["prevUrl"] is None


def test_the_dataset_pager_numbers_its_pages(app, browser, dataset):
    client, _ = browser
    for i in range(105):
        add_sample(app, dataset["id"], f"cats/{i:03d}.png")
    base = f"/datasets/{dataset['id']}"
    first = client.get(base).get_data(as_text=True)
    numbers = re.findall(r'aria-label="Page (\d+)"', first)
    assert numbers == ["2", "3", "6"] and '<b aria-current="page">1</b>' in first and first.count('class="gap"') == 1
    last = re.search(r'href="([^"]+)" rel="last"', first).group(1).replace("&amp;", "&")
    assert "page=6" in last and "096.png" not in first
    page_six = client.get(last).get_data(as_text=True)
    assert "104.png" in page_six and "Page 6 of 6" in page_six and 'rel="last"' not in page_six
    assert re.findall(r'aria-label="Page (\d+)"', client.get(base + "?page=4").get_data(as_text=True)) == ["1", "2", "3", "5", "6"]


def test_a_label_in_use_says_what_deleting_it_would_remove(app, browser, dataset):
    client, token = browser
    one, two = (add_sample(app, dataset["id"], f"cats/{n}.png") for n in ("1", "2"))
    label_sample(app, one, "admin", ["cat", "cat"])
    label_sample(app, two, "admin", ["cat"])
    cat = next(label for label in page_data(client.get(f"/datasets/{dataset['id']}"))["labels"] if label["name"] == "cat")
    assert cat["samples"] == 2
    refused = client.delete(f"/api/v1/datasets/{dataset['id']}/labels/{cat['id']}", headers={"X-CSRFToken": token})
    assert refused.status_code == 409 and (refused.get_json()["samples"], refused.get_json()["objects"]) == (2, 3)


def test_filter_errors_name_the_fields_as_the_page_does(browser, dataset):
    client, _ = browser
    html = client.get(f"/datasets/{dataset['id']}?created=range&created_from=2026-01-02&created_to=2026-01-01").get_data(as_text=True)
    assert "<div>Created from: must not be after Created to</div>" in html and "created_from" not in html.split("filter-error")[1][:200]


def test_a_labeler_sees_the_dataset_but_no_admin_controls(app, dataset, labeler):
    client, _ = signed_in(app, "lena")
    page = client.get(f"/datasets/{dataset['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="upload-input"' not in html and 'id="sync-button"' not in html  # uploads and sync need the owner (access.RULES)


def test_next_pages_follow_the_cursor(app, browser, dataset):
    client, _ = browser
    for i in range(45):
        add_sample(app, dataset["id"], f"cats/{i:03d}.png")
    base = f"/datasets/{dataset['id']}"
    first = client.get(base).get_data(as_text=True)
    following = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "page=2" in following and "cursor=" in following
    second = client.get(following).get_data(as_text=True)
    assert "020.png" in second and "039.png" in second and "019.png" not in second and "Page 2 of 3" in second
    third = client.get(re.search(r'href="([^"]+)" rel="next"', second).group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "044.png" in third and "039.png" not in third
    back = re.search(r'href="([^"]+)" rel="prev"', third).group(1).replace("&amp;", "&")
    assert "page=2" in back and "cursor=" in back  # back by cursor too: no offset scan on deep pages
    again = client.get(back).get_data(as_text=True)
    assert "020.png" in again and "039.png" in again and "019.png" not in again and "Page 2 of 3" in again
    first_again = re.search(r'href="([^"]+)" rel="prev"', again).group(1).replace("&amp;", "&")
    assert "cursor" not in first_again and "019.png" in client.get(first_again).get_data(as_text=True)


def test_the_dataset_list_pages(app, browser, bucket, monkeypatch):
    from dataset_service.web import datasets as pages

    client, token = browser
    monkeypatch.setattr(pages, "DATASETS_PER_PAGE", 2)
    for name in ("one", "two", "three"):
        client.post("/datasets/new", data={"csrf_token": token, "name": name, "input_path": f"s3://{bucket}/{name}/"})
    first, second = client.get("/").get_data(as_text=True), client.get("/?page=2").get_data(as_text=True)
    assert ">three<" in first and ">two<" in first and ">one<" not in first and "Page 1 of 2" in first
    assert ">one<" in second and "Page 2 of 2" in second
