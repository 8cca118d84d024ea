"""Team labeling through the API, on both databases: members and roles, assignment and the
labeler's queue, submit -> reject with a reason -> fix -> accept, acceptance with its report,
and the history that makes "overwrite with mine" undoable."""
from __future__ import annotations

import io

import pytest

from tests.dataset_service.conftest import add_member, as_user, image_bytes, make_user

BOX = {"label": "cat", "shape": "bndbox", "points": [[2, 2], [20, 20]]}
POLY = {"label": "dog", "points": [[1, 1], [30, 1], [30, 30]]}


@pytest.fixture
def team(app, admin, bucket):
    """A dataset of 7 uploaded images; olga owns it, rita reviews, lena and leo label; nora is no member."""
    dataset = admin.post("/api/v1/datasets", json={
        "name": "team", "input_path": f"s3://{bucket}/team/", "labels": [{"name": "cat"}, {"name": "dog"}]}).get_json()
    for name, role in (("olga", "owner"), ("rita", "reviewer"), ("lena", "labeler"), ("leo", "labeler")):
        add_member(app, dataset["id"], name, role)
    make_user(app, "nora")
    owner = as_user(app, "olga")
    files = [(image_bytes(40, 40), f"up{i}.png") for i in range(7)]
    response = owner.client.post(f"/api/v1/datasets/{dataset['id']}/images", headers=owner._headers(),
                                 data={"files": [(io.BytesIO(b), n) for b, n in files]}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    ids = sorted(item["id"] for item in response.get_json()["items"])
    return {"dataset": dataset, "ids": ids, "owner": owner, "reviewer": as_user(app, "rita"),
            "lena": as_user(app, "lena"), "leo": as_user(app, "leo"), "nora": as_user(app, "nora")}


def _uid(admin, username):
    return next(u["id"] for u in admin.get("/api/v1/users").get_json() if u["username"] == username)


def _save(api, sample_id, objects):
    revision = api.get(f"/api/v1/samples/{sample_id}/annotation").get_json()["revision"]
    return api.put(f"/api/v1/samples/{sample_id}/annotation", json={"revision": revision, "objects": objects})


def test_members_see_only_their_datasets_and_roles_decide(team, admin):
    d = team["dataset"]["id"]
    assert [x["id"] for x in team["lena"].get("/api/v1/datasets").get_json()["items"]] == [d]
    assert team["nora"].get("/api/v1/datasets").get_json()["total"] == 0
    assert team["nora"].get(f"/api/v1/datasets/{d}").status_code == 404
    members = {m["username"]: m["role"] for m in team["lena"].get(f"/api/v1/datasets/{d}/members").get_json()["items"]}
    assert members == {"olga": "owner", "rita": "reviewer", "lena": "labeler", "leo": "labeler"}
    # A labeler cannot delete images (and their source files), sync, or change the team.
    deleting = team["lena"].post(f"/api/v1/datasets/{d}/samples/delete", json={"ids": team["ids"][:1], "delete_source": True})
    assert deleting.status_code == 403 and "owner" in deleting.get_json()["message"]
    assert team["lena"].post(f"/api/v1/datasets/{d}/sync").status_code == 403
    assert team["lena"].post(f"/api/v1/datasets/{d}/members", json={"username": "nora", "role": "owner"}).status_code == 403
    # The last owner stays: stepping down needs another owner first.
    olga = _uid(admin, "olga")
    assert team["owner"].patch(f"/api/v1/datasets/{d}/members/{olga}", json={"role": "labeler"}).status_code == 409
    bad = team["owner"].post(f"/api/v1/datasets/{d}/members", json={"username": "nobody-here", "role": "labeler"})
    assert bad.status_code == 422 and "username" in bad.get_json()["fields"]


def test_assignment_queue_review_and_acceptance(team, admin):
    d, ids = team["dataset"]["id"], team["ids"]
    owner, reviewer, lena, leo = team["owner"], team["reviewer"], team["lena"], team["leo"]
    # Evenly, in one statement: 7 unlabeled samples -> 4 and 3, interleaved.
    done = owner.post(f"/api/v1/datasets/{d}/assignments", json={"labelers": ["lena", "leo"]}).get_json()
    assert done == {"matched": 7, "per_labeler": {"lena": 4, "leo": 3}}
    mine = lena.get(f"/api/v1/datasets/{d}/samples", query_string={"assigned_to": "lena"}).get_json()
    assert [s["id"] for s in mine["items"]] == ids[0::2] and all(s["assigned_to"] == "lena" for s in mine["items"])
    assert owner.post(f"/api/v1/datasets/{d}/assignments", json={"labelers": ["rita", "nora"]}).status_code == 422
    # Shares: 2 to 1 over the same samples (a reassignment).
    shared = owner.post(f"/api/v1/datasets/{d}/assignments", json={
        "labelers": ["lena", "leo"], "shares": [2, 1], "filter": {"state": "all"}}).get_json()
    assert shared["per_labeler"] == {"lena": 5, "leo": 2}
    counted = {name: owner.get(f"/api/v1/datasets/{d}/samples", query_string={"assigned_to": name}).get_json()["total"]
               for name in ("lena", "leo")}
    assert counted == {"lena": 5, "leo": 2}
    # Lena's queue walks her open samples; leo may not label hers.
    first = lena.get(f"/api/v1/datasets/{d}/next").get_json()
    assert first["remaining"] == 5
    s = first["sample_id"]
    assert _save(leo, s, [BOX]).status_code == 403
    assert lena.post(f"/api/v1/samples/{s}/submit").status_code == 409  # nothing labeled yet
    assert _save(lena, s, [BOX]).status_code == 200
    submitted = lena.post(f"/api/v1/samples/{s}/submit").get_json()
    assert submitted["review"] == "submitted"
    assert _save(lena, s, [BOX, POLY]).status_code == 403  # handed in: no longer hers to change
    assert lena.get(f"/api/v1/datasets/{d}/next", query_string={"after": s}).get_json()["remaining"] == 4
    # Reject with a reason: back in her queue with the reason; a reason is required.
    assert lena.post(f"/api/v1/samples/{s}/review", json={"decision": "reject", "reason": "x"}).status_code == 403
    no_reason = reviewer.post(f"/api/v1/samples/{s}/review", json={"decision": "reject"})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["fields"]
    rejected = reviewer.post(f"/api/v1/samples/{s}/review", json={"decision": "reject", "reason": "the dog is missing"}).get_json()
    assert (rejected["review"], rejected["review_reason"], rejected["reviewed_by"]) == ("rejected", "the dog is missing", "rita")
    assert owner.get(f"/api/v1/datasets/{d}/samples", query_string={"review": "rejected"}).get_json()["total"] == 1
    assert lena.get(f"/api/v1/datasets/{d}/next").get_json()["remaining"] == 5
    assert _save(lena, s, [BOX, POLY]).status_code == 200
    assert lena.post(f"/api/v1/samples/{s}/submit").status_code == 200
    assert reviewer.post(f"/api/v1/samples/{s}/review", json={"decision": "accept"}).status_code == 422  # a rating is needed
    accepted = reviewer.post(f"/api/v1/samples/{s}/review", json={"decision": "accept", "rating": "B"}).get_json()
    assert (accepted["review"], accepted["review_rating"]) == ("accepted", "B")
    # Leo hands in his two; acceptance draws 2 of the 3 handed in, seeded.
    for t in (x for x in ids if x != s and owner.get(f"/api/v1/samples/{x}").get_json()["assigned_to"] == "leo"):
        assert _save(leo, t, [POLY]).status_code == 200
        assert leo.post(f"/api/v1/samples/{t}/submit").status_code == 200
    check = owner.post(f"/api/v1/datasets/{d}/acceptances", json={"count": 2, "seed": 7})
    assert check.status_code == 201, check.get_json()
    check = check.get_json()
    assert (check["pool"], check["drawn"], len(check["samples"])) == (3, 2, 2)
    again = owner.post(f"/api/v1/datasets/{d}/acceptances", json={"count": 2})
    assert again.status_code == 409
    drawn = [row["sample_id"] for row in check["samples"]]
    base = f"/api/v1/datasets/{d}/acceptances/{check['id']}"
    assert owner.post(f"{base}/samples/{drawn[0]}", json={"verdict": "reject"}).status_code == 422
    owner.post(f"{base}/samples/{drawn[0]}", json={"verdict": "reject", "reason": "sloppy edge"})
    owner.post(f"{base}/samples/{drawn[1]}", json={"verdict": "pass"})
    finished = owner.post(f"{base}/finish", json={"outcome": "pass_rest"}).get_json()
    assert finished["state"] == "finished"
    states = {x: owner.get(f"/api/v1/samples/{x}").get_json() for x in [s, *drawn]}
    assert states[drawn[0]]["review"] == "rejected" and states[drawn[0]]["review_reason"] == "sloppy edge"
    assert states[drawn[1]]["review"] == "accepted"
    report = {row["labeler"]: row for row in finished["report"]}
    assert sum(row["drawn"] for row in report.values()) == 2
    assert sum(row["checked"] for row in report.values()) == 2 and sum(row["rejected"] for row in report.values()) == 1
    for row in report.values():
        assert row["pass_rate"] == row["passed"] / row["checked"]
    stats = {m["username"]: m for m in owner.get(f"/api/v1/datasets/{d}/team").get_json()["members"]}
    assert stats["lena"]["objects"] >= 2 and stats["lena"]["assigned"] == 5
    # Removing a member gives their open samples back to the pool.
    still_open = owner.get(f"/api/v1/datasets/{d}/samples", query_string={"assigned_to": "lena", "review": "open"}).get_json()["total"]
    assert still_open in (4, 5)  # 5 when acceptance drew and rejected her accepted image
    removed = owner.delete(f"/api/v1/datasets/{d}/members/{_uid(admin, 'lena')}").get_json()
    assert removed["returned_to_pool"] == still_open
    assert owner.get(f"/api/v1/datasets/{d}/samples", query_string={"assigned_to": "nobody"}).get_json()["total"] == still_open


def test_history_restores_a_revision_overwritten_after_a_conflict(team):
    d, s = team["dataset"]["id"], team["ids"][0]
    owner, reviewer = team["owner"], team["reviewer"]
    assert _save(owner, s, [BOX]).status_code == 200  # revision 1
    mine = owner.get(f"/api/v1/samples/{s}/annotation").get_json()
    assert _save(reviewer, s, [POLY]).status_code == 200  # revision 2: the reviewer's work
    stale = owner.put(f"/api/v1/samples/{s}/annotation", json={"revision": mine["revision"], "objects": [BOX, POLY]})
    assert stale.status_code == 409
    current = stale.get_json()["current"]["revision"]
    # "Overwrite with mine": the owner saves again on top of the reviewer's revision.
    assert owner.put(f"/api/v1/samples/{s}/annotation", json={"revision": current, "objects": [BOX]}).status_code == 200
    history = owner.get(f"/api/v1/samples/{s}/history").get_json()
    assert [r["revision"] for r in history["items"]] == [3, 2, 1]
    top = history["items"][0]
    assert (top["saved_by"], top["replaced_revision"], top["replaced_by"]) == ("olga", 2, "rita")
    assert [o["label"] for o in history["items"][1]["objects"]] == ["dog"]
    restored = owner.post(f"/api/v1/samples/{s}/history/2/restore", json={"revision": 3})
    assert restored.status_code == 200, restored.get_json()
    body = restored.get_json()
    assert body["revision"] == 4 and [o["label"] for o in body["objects"]] == ["dog"]
    assert [p for p in body["objects"][0]["points"]] == [[1, 1], [30, 1], [30, 30]]
    # The overwrite had deleted rita's dog: it comes back as hers (made when she made it), restored by olga.
    dog = history["items"][1]["objects"][0]
    assert (body["objects"][0]["created_by"], body["objects"][0]["updated_by"]) == ("rita", "olga")
    assert body["objects"][0]["created_at"] == dog["created_at"]
    latest = owner.get(f"/api/v1/samples/{s}/history", query_string={"limit": 1}).get_json()["items"][0]
    assert (latest["tool"], latest["restored_from"]) == ("restore", 2)
    assert owner.post(f"/api/v1/samples/{s}/history/2/restore", json={"revision": 3}).status_code == 409
    assert team["nora"].get(f"/api/v1/samples/{s}/history").status_code == 404
    assert team["nora"].get(f"/api/v1/datasets/{d}/team").status_code == 404


REVIEW_FILTERS = (None, "none", "open", "submitted", "accepted", "rejected")


def _matches(sample, who, review_filter):
    """Whether a sample (as GET /samples/{id} gives it) is one `assigned_to=who&review=review_filter` lists."""
    state = sample["review"]
    in_review = (review_filter is None or state == review_filter or (review_filter == "none" and state is None)
                 or (review_filter == "open" and state in (None, "rejected")))
    return (sample["assigned_to"] or "nobody") == who and in_review


def _agrees_with_the_samples(owner, d, ids):
    """Every assigned_to x review filter lists and counts what the samples themselves say (the
    filters read the assignments' copy of the review state, and a trigger-kept count on PostgreSQL)."""
    truth = {x: owner.get(f"/api/v1/samples/{x}").get_json() for x in ids}
    states = {x: (s["assigned_to"], s["review"]) for x, s in truth.items()}
    for who in ("lena", "leo", "nobody"):
        for review_filter in REVIEW_FILTERS:
            query = {"assigned_to": who, "limit": 100, **({"review": review_filter} if review_filter else {})}
            got = owner.get(f"/api/v1/datasets/{d}/samples", query_string=query).get_json()
            expected = sorted(x for x, s in truth.items() if _matches(s, who, review_filter))
            assert (got["total"], sorted(s["id"] for s in got["items"])) == (len(expected), expected), (who, review_filter, states)


def test_team_filters_follow_every_review_step_assignment_and_deletion(team, admin, bucket):
    d, ids = team["dataset"]["id"], team["ids"]
    owner, reviewer, lena, leo = team["owner"], team["reviewer"], team["lena"], team["leo"]
    owner.post(f"/api/v1/datasets/{d}/assignments", json={"labelers": ["lena", "leo"]})  # lena 4, leo 3
    _agrees_with_the_samples(owner, d, ids)
    theirs = {name: owner.get(f"/api/v1/datasets/{d}/samples", query_string={"assigned_to": name}).get_json()["items"]
              for name in ("lena", "leo")}
    lena_ids, leo_ids = [s["id"] for s in theirs["lena"]], [s["id"] for s in theirs["leo"]]
    for api, mine in ((lena, lena_ids[:3]), (leo, leo_ids[:2])):
        for s in mine:
            assert _save(api, s, [BOX]).status_code == 200
            assert api.post(f"/api/v1/samples/{s}/submit").status_code == 200
    reviewer.post(f"/api/v1/samples/{lena_ids[0]}/review", json={"decision": "accept", "rating": "A"})
    reviewer.post(f"/api/v1/samples/{lena_ids[1]}/review", json={"decision": "reject", "reason": "edge"})
    _agrees_with_the_samples(owner, d, ids)
    # An acceptance check that rejects everything handed in: the assignments follow in one statement.
    check = owner.post(f"/api/v1/datasets/{d}/acceptances", json={"count": 1, "seed": 1}).get_json()
    assert owner.post(f"/api/v1/datasets/{d}/acceptances/{check['id']}/finish", json={"outcome": "reject_all"}).status_code == 200
    _agrees_with_the_samples(owner, d, ids)
    assert owner.get(f"/api/v1/datasets/{d}/samples", query_string={"assigned_to": "leo", "review": "rejected"}).get_json()["total"] == 2
    # Reassigning some to leo (an upsert), handing one back to the pool, deleting one: the counts follow.
    shared = owner.post(f"/api/v1/datasets/{d}/assignments", json={"labelers": ["leo"], "filter": {"assigned_to": "lena", "review": "rejected"}})
    assert shared.get_json()["matched"] == 3
    cleared = owner.post(f"/api/v1/datasets/{d}/assignments/clear", json={"filter": {"assigned_to": "lena"}})
    assert cleared.status_code == 200 and cleared.get_json()["unassigned"] == 1
    deleted = owner.post(f"/api/v1/datasets/{d}/samples/delete", json={"ids": leo_ids[:1]})
    assert deleted.status_code == 200, deleted.get_json()
    left = [x for x in ids if x != leo_ids[0]]
    _agrees_with_the_samples(owner, d, left)
    assert owner.get(f"/api/v1/datasets/{d}/samples", query_string={"assigned_to": "nobody"}).get_json()["total"] == 1
    # Another dataset's review filters see none of this one's rejected images.
    other = admin.post("/api/v1/datasets", json={"name": "other", "input_path": f"s3://{bucket}/other/"}).get_json()["id"]
    for review_filter in ("open", "rejected"):
        assert admin.get(f"/api/v1/datasets/{other}/samples", query_string={"review": review_filter}).get_json()["total"] == 0
