"""The job progress contract: every kind's steps, in order, with their state and figures (no database)."""
import pytest

from dataset_service.models import Job
from dataset_service.schemas import JobOut
from dataset_service.services.jobs import STAGES, initial, progress_of


def job(kind: str, status: str, stage: str | None, **progress: int) -> Job:
    return Job(kind=kind, dataset_id=1, status=status, stage=stage, progress=progress, counts={}, errors=[])


def figures(progress: dict) -> list[tuple]:
    return [(s["name"], s["state"], s["done"], s["total"]) for s in progress["stages"]]


def test_a_sync_shows_each_step_true_while_it_runs():
    listing = progress_of(job("sync", "running", "listing", listed=4000, xml_found=12, xml_read=3))
    assert (listing["stage"], listing["done"], listing["total"]) == ("listing", 4000, None)  # no end known yet
    assert figures(listing) == [("listing", "running", 4000, None), ("importing", "waiting", 3, 12),
                                ("reading image sizes", "waiting", 0, 0)]
    sizes = progress_of(job("sync", "running", "reading image sizes", listed=4000, xml_found=12, xml_read=12, to_size=3988, size_read=800))
    assert (sizes["stage"], sizes["done"], sizes["total"]) == ("reading image sizes", 800, 3988)
    assert figures(sizes)[0] == ("listing", "done", 4000, 4000)  # a listing that ended knows its length
    assert [s["state"] for s in sizes["stages"]] == ["done", "done", "running"]


def test_queued_failed_and_completed_jobs():
    assert [s["state"] for s in progress_of(job("publish", "queued", None))["stages"]] == ["waiting"] * 3
    failed = progress_of(job("publish", "failed", "writing files", total=10, written=4))
    assert figures(failed) == [("snapshot", "done", 1, 1), ("writing files", "failed", 4, 10), ("writing the manifest", "waiting", 0, 1)]
    assert failed["stage"] is None and failed["total"] is None  # nothing runs any more
    done = progress_of(job("version-delete", "completed", None, deleted=7))
    assert figures(done) == [("deleting files", "done", 7, 7)]


def test_set_current_shows_its_xml_rewrite_and_autosave_as_its_own_steps():
    progress = progress_of(job("set-current", "running", "autosave: writing files", xml_total=5, xml_processed=5, autosave_total=9, autosave_written=2))
    assert figures(progress) == [
        ("restoring", "done", 1, 1), ("XML files: writing", "done", 5, 5), ("autosave: snapshot", "done", 1, 1),
        ("autosave: writing files", "running", 2, 9), ("autosave: writing the manifest", "waiting", 0, 1)]


@pytest.mark.parametrize("kind", sorted(STAGES))
def test_every_kind_starts_with_the_counters_its_steps_read_and_dumps_the_documented_shape(kind):
    progress, _ = initial(kind)
    counters = {c for s in STAGES[kind] for c in (s.done, s.total) if c}
    assert set(progress) == counters
    dumped = JobOut().dump(job(kind, "queued", None, **progress))["progress"]
    assert set(dumped) == {"stage", "done", "total", "stages"} and len(dumped["stages"]) == len(STAGES[kind])
    assert all(set(s) == {"name", "state", "done", "total"} for s in dumped["stages"])


def test_the_openapi_document_describes_the_progress(client):
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert spec["JobOut"]["properties"]["progress"]["$ref"].endswith("/ProgressOut")
    assert set(spec["ProgressOut"]["properties"]) == {"stage", "done", "total", "stages"}
    assert spec["StageOut"]["properties"]["state"]["enum"] == ["waiting", "running", "done", "failed"]
    assert spec["StageOut"]["properties"]["total"]["nullable"] is True
