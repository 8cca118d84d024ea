"""Every route x every role: the one authorization rule set (`dataset_service.access`) decides.

The table names, for every route of the API and the pages, the rule it is declared with (an
`access.Action`, "admin", or None: any signed-in user, or public). The test checks that each
route's declared rule is the table's, then calls every route as each of anonymous, admin,
owner, reviewer, labeler and a non-member and asserts the answer the rule implies:
- anonymous: 401 (the API) or a redirect to the login page (pages);
- a non-member: the dataset, its samples and jobs do not exist for them (404);
- a member whose role lacks the action, or a non-admin on an admin route: 403;
- anyone allowed: neither of those (the request gets as far as its own checks: 200, 202, 404 of a
  version that does not exist, 422 of a bad body...), and never a 500.
A route added without a row here fails the test.
"""
from __future__ import annotations

import io
import time

import pytest

from dataset_service.access import RULES, Action
from tests.dataset_service.conftest import add_member, as_user, image_bytes, make_user
from tests.dataset_service.web.pages import csrf_token

pytestmark = pytest.mark.commits  # an allowed sync or XML rewrite runs as a real job

ADMIN = "admin"
ANY = None  # any signed-in user
PUBLIC = "public"
NONE_ID = 999_999  # an id of nothing: an allowed request reaches its own 404

# (method, rule) -> (the declared rule, the request's JSON body or form, query string)
API = "/api/v1"
ROUTES: dict[tuple[str, str], tuple[object, object]] = {
    ("GET", f"{API}/openapi.json"): (PUBLIC, None),
    ("POST", f"{API}/auth/token"): (PUBLIC, {}),
    ("POST", f"{API}/auth/revoke"): (ANY, None),
    ("GET", f"{API}/me"): (ANY, None),
    ("GET", f"{API}/users"): (ADMIN, None),
    ("POST", f"{API}/users"): (ADMIN, {}),
    ("PATCH", f"{API}/users/<int:user_id>"): (ADMIN, {"role": "nonsense"}),
    ("POST", f"{API}/users/<int:user_id>/unlock"): (ADMIN, None),
    ("DELETE", f"{API}/users/<int:user_id>"): (ADMIN, None),
    ("GET", f"{API}/datasets"): (ANY, None),
    ("POST", f"{API}/datasets"): (ADMIN, {}),
    ("GET", f"{API}/datasets/<int:dataset_id>"): (Action.VIEW, None),
    ("PATCH", f"{API}/datasets/<int:dataset_id>"): (Action.MANAGE, {"name": ""}),
    ("DELETE", f"{API}/datasets/<int:dataset_id>"): (Action.DELETE, None),
    ("POST", f"{API}/datasets/<int:dataset_id>/labels"): (Action.LABEL, {"name": ""}),
    ("PATCH", f"{API}/datasets/<int:dataset_id>/labels/<int:label_id>"): (Action.MANAGE, {"color": "red"}),
    ("DELETE", f"{API}/datasets/<int:dataset_id>/labels/<int:label_id>"): (Action.DELETE, None),
    ("GET", f"{API}/datasets/<int:dataset_id>/samples"): (Action.VIEW, None),
    ("POST", f"{API}/datasets/<int:dataset_id>/samples/delete"): (Action.DELETE, {"ids": []}),
    ("POST", f"{API}/datasets/<int:dataset_id>/images"): (Action.MANAGE, None),
    ("GET", f"{API}/samples/<int:sample_id>"): (Action.VIEW, None),
    ("GET", f"{API}/samples/<int:sample_id>/annotation"): (Action.VIEW, None),
    ("PUT", f"{API}/samples/<int:sample_id>/annotation"): (Action.LABEL, {"objects": []}),
    ("POST", f"{API}/samples/<int:sample_id>/infer"): (Action.LABEL, {"points": []}),
    ("POST", f"{API}/datasets/<int:dataset_id>/sync"): (Action.MANAGE, None),
    ("POST", f"{API}/datasets/<int:dataset_id>/annotation-files"): (Action.MANAGE, None),
    ("GET", f"{API}/jobs/<int:job_id>"): (Action.VIEW, None),
    ("GET", f"{API}/datasets/<int:dataset_id>/jobs"): (Action.VIEW, None),
    ("POST", f"{API}/datasets/<int:dataset_id>/versions"): (Action.MANAGE, {"name": "not a name!"}),
    ("GET", f"{API}/datasets/<int:dataset_id>/versions"): (Action.VIEW, None),
    ("GET", f"{API}/datasets/<int:dataset_id>/versions/<int:version_id>"): (Action.VIEW, None),
    ("DELETE", f"{API}/datasets/<int:dataset_id>/versions/<int:version_id>"): (Action.MANAGE, None),
    ("POST", f"{API}/datasets/<int:dataset_id>/versions/<int:version_id>/exports"): (Action.MANAGE, {"format": "nonsense"}),
    ("GET", f"{API}/datasets/<int:dataset_id>/versions/<int:version_id>/exports"): (Action.VIEW, None),
    ("GET", f"{API}/datasets/<int:dataset_id>/versions/<int:version_id>/exports/<int:export_id>/download"): (Action.VIEW, None),
    ("PUT", f"{API}/datasets/<int:dataset_id>/versions/<int:version_id>/current"): (Action.MANAGE, None),
    ("GET", f"{API}/datasets/<int:dataset_id>/versions/<int:version_id>/diff"): (Action.VIEW, None),
    ("POST", f"{API}/datasets/<int:dataset_id>/import"): (Action.MANAGE, {}),
    ("GET", f"{API}/datasets/<int:dataset_id>/stats"): (Action.VIEW, None),
    ("GET", f"{API}/datasets/<int:dataset_id>/members"): (Action.VIEW, None),
    ("POST", f"{API}/datasets/<int:dataset_id>/members"): (Action.MEMBERS, {"username": "mark", "role": "boss"}),
    ("PATCH", f"{API}/datasets/<int:dataset_id>/members/<int:user_id>"): (Action.MEMBERS, {"role": "labeler"}),
    ("DELETE", f"{API}/datasets/<int:dataset_id>/members/<int:user_id>"): (Action.MEMBERS, None),
    ("POST", f"{API}/datasets/<int:dataset_id>/assignments"): (Action.MANAGE, {"labelers": []}),
    ("POST", f"{API}/datasets/<int:dataset_id>/assignments/clear"): (Action.MANAGE, {}),
    ("GET", f"{API}/datasets/<int:dataset_id>/next"): (Action.LABEL, None),
    ("GET", f"{API}/datasets/<int:dataset_id>/team"): (Action.VIEW, None),
    ("POST", f"{API}/samples/<int:sample_id>/submit"): (Action.LABEL, None),
    ("POST", f"{API}/samples/<int:sample_id>/review"): (Action.REVIEW, {"decision": "maybe"}),
    ("GET", f"{API}/samples/<int:sample_id>/history"): (Action.VIEW, None),
    ("POST", f"{API}/samples/<int:sample_id>/history/<int:revision>/restore"): (Action.LABEL, {"revision": 0}),
    ("POST", f"{API}/datasets/<int:dataset_id>/acceptances"): (Action.MANAGE, {}),
    ("GET", f"{API}/datasets/<int:dataset_id>/acceptances/<int:acceptance_id>"): (Action.MANAGE, None),
    ("POST", f"{API}/datasets/<int:dataset_id>/acceptances/<int:acceptance_id>/samples/<int:sample_id>"): (Action.MANAGE, {"verdict": "pass"}),
    ("POST", f"{API}/datasets/<int:dataset_id>/acceptances/<int:acceptance_id>/finish"): (Action.MANAGE, {"outcome": "pass_all"}),
    ("GET", "/healthz"): (PUBLIC, None),
    ("GET", "/readyz"): (PUBLIC, None),
    ("GET", "/login"): (PUBLIC, None),
    ("POST", "/login"): (PUBLIC, {}),
    ("POST", "/logout"): (PUBLIC, None),
    ("GET", "/users"): (ADMIN, None),
    ("POST", "/users"): (ADMIN, {}),
    ("POST", "/users/<int:user_id>/password"): (ADMIN, {}),
    ("POST", "/users/<int:user_id>/active"): (ADMIN, {}),
    ("POST", "/users/<int:user_id>/unlock"): (ADMIN, {}),
    ("GET", "/"): (ANY, None),
    ("GET", "/datasets/new"): (ADMIN, None),
    ("POST", "/datasets/new"): (ADMIN, {}),
    ("GET", "/datasets/<int:dataset_id>"): (Action.VIEW, None),
    ("GET", "/datasets/<int:dataset_id>/versions"): (Action.VIEW, None),
    ("GET", "/datasets/<int:dataset_id>/dashboard"): (Action.VIEW, None),
    ("GET", "/datasets/<int:dataset_id>/team"): (Action.VIEW, None),
    ("GET", "/datasets/<int:dataset_id>/samples/<int:sample_id>"): (Action.VIEW, None),
    ("GET", "/samples/<int:sample_id>/thumbnail"): (Action.VIEW, None),
    ("GET", "/samples/<int:sample_id>/image"): (Action.VIEW, None),
    ("GET", "/api/docs"): (PUBLIC, None),
}
SKIPPED_RULES = ("/static/", "/assets/", "/api/docs/ui/")  # files
ROLES = ("anonymous", "admin", "owner", "reviewer", "labeler", "nonmember")
USERS = {"admin": "admin", "owner": "olga", "reviewer": "rita", "labeler": "lena", "nonmember": "nora"}


def _routes(app) -> dict[tuple[str, str], object]:
    out = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(SKIPPED_RULES):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out[(method, rule.rule)] = getattr(app.view_functions[rule.endpoint], "authorization", None)
    return out


def test_every_route_has_a_row_and_declares_its_rule(app):
    routes = _routes(app)
    assert set(routes) == set(ROUTES), f"missing rows: {set(routes) - set(ROUTES)}; rows of no route: {set(ROUTES) - set(routes)}"
    for key, declared in routes.items():
        rule = ROUTES[key][0]
        assert declared == (None if rule in (ANY, PUBLIC) else rule), f"{key}: declared {declared!r}, the table says {rule!r}"


def _wait_idle(api, dataset_id: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = api.get(f"/api/v1/datasets/{dataset_id}/jobs").get_json()["items"]
        if all(j["status"] not in ("queued", "running") for j in jobs):
            return
        time.sleep(0.1)
    raise AssertionError("jobs did not finish")


@pytest.fixture
def world(app, admin, bucket, s3_server):
    """A dataset with an owner, a reviewer, a labeler, an image, a label, a job; a non-member."""
    s3_server.store.put(bucket, "in/one.png", image_bytes())
    dataset = admin.post("/api/v1/datasets", json={
        "name": "authz", "input_path": f"s3://{bucket}/in/", "labels": [{"name": "cat"}, {"name": "dog"}]}).get_json()
    for role in ("owner", "reviewer", "labeler"):
        add_member(app, dataset["id"], USERS[role], role)
    add_member(app, dataset["id"], "mark", "labeler")
    make_user(app, "nora")
    job = admin.post(f"/api/v1/datasets/{dataset['id']}/sync").get_json()
    _wait_idle(admin, dataset["id"])
    sample = admin.get(f"/api/v1/datasets/{dataset['id']}/samples").get_json()["items"][0]
    return {
        "dataset_id": dataset["id"], "sample_id": sample["id"], "job_id": job["id"],
        "label_id": next(label["id"] for label in dataset["labels"] if label["name"] == "dog"),
        "user_id": _user_id(admin, "mark"),
        "version_id": NONE_ID, "export_id": NONE_ID, "acceptance_id": NONE_ID, "revision": NONE_ID,
    }


def _user_id(admin, username: str) -> int:
    return next(u["id"] for u in admin.get("/api/v1/users").get_json() if u["username"] == username)


def _hidden(response, ids) -> bool:
    """A 404 that says the dataset, sample or job itself does not exist (what a non-member gets)."""
    if response.status_code != 404:
        return False
    hidden = (f"Dataset {ids['dataset_id']} does not exist.", f"Sample {ids['sample_id']} does not exist.", f"Job {ids['job_id']} does not exist.")
    if response.is_json:
        return response.get_json().get("message") in hidden
    return any(message in response.get_data(as_text=True) for message in hidden)  # a page says it in its text


def _expected(rule, role: str, page: bool) -> str:
    if rule == PUBLIC:
        return "allowed"
    if role == "anonymous":
        return "login" if page else "unauthenticated"
    if rule == ANY:
        return "allowed"
    if rule == ADMIN:
        return "allowed" if role == "admin" else "forbidden"
    if role == "admin":
        return "allowed"
    if role == "nonmember":
        return "hidden"
    return "allowed" if role in RULES[rule] else "forbidden"


def _outcome(response, ids, page: bool, declared) -> str:
    assert response.status_code < 500 or response.status_code == 503, (response.status_code, response.get_data(as_text=True)[:300])
    if declared == PUBLIC:
        return "allowed"  # e.g. logging out without a session sends the visitor to the login page
    if response.status_code == 401:
        return "unauthenticated"
    if page and response.status_code == 302 and "/login" in response.headers.get("Location", ""):
        return "login"
    if response.status_code == 403:
        return "forbidden"
    if _hidden(response, ids):
        return "hidden"
    return "allowed"


# The order of the walk: what removes things comes last.
LAST = ("/members/<int:user_id>", "/datasets/<int:dataset_id>")


def _walk_order(key):
    method, rule = key
    deleting = method == "DELETE" and rule.endswith(LAST)
    ending = rule.endswith(("/auth/revoke", "/logout"))  # they end the caller's token
    return (ending, deleting, deleting and rule.endswith("/datasets/<int:dataset_id>"), rule)


@pytest.mark.parametrize("role", ROLES)
def test_each_route_answers_each_role_by_the_rules(app, world, role):
    ids = world
    client = app.test_client()
    headers = {}
    if role != "anonymous":
        headers = {"Authorization": f"Bearer {as_user(app, USERS[role]).token}"}
    token = csrf_token(client)  # page forms carry it, so that a page's answer is its rule's, not the CSRF check's
    wrong = []
    for key in sorted(ROUTES, key=_walk_order):
        method, rule = key
        declared, body = ROUTES[key]
        page = not rule.startswith(API) and rule not in ("/healthz", "/readyz")
        path = rule
        for name, value in ids.items():
            path = path.replace(f"<int:{name}>", str(value))
        kwargs = {"headers": headers}
        if key == ("POST", f"{API}/datasets/<int:dataset_id>/images"):
            kwargs["data"] = {"nofiles": (io.BytesIO(b"x"), "x.txt")}
        elif body is not None and page:
            kwargs["data"] = {**body, "csrf_token": token}
        elif body is not None:
            kwargs["json"] = body
        response = client.open(path, method=method, **kwargs)
        expected, got = _expected(declared, role, page), _outcome(response, ids, page, declared)
        if expected != got:
            wrong.append(f"{method} {rule}: expected {expected}, got {got} ({response.status_code} {response.get_data(as_text=True)[:120]!r})")
    assert not wrong, "\n".join(wrong)
