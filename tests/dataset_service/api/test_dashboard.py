"""The dashboard's figures (`GET /datasets/{id}/stats`), counted by the database on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import event

from tests.dataset_service.conftest import make_user
from tests.dataset_service.factories import add_sample, label_sample


def test_the_figures_count_labels_objects_sizes_days_and_labelers(app, admin, dataset):
    make_user(app, "lena")
    ids = [add_sample(app, dataset["id"], f"cats/{i}.png", width=w, height=h)
           for i, (w, h) in enumerate([(100, 80), (400, 600), (3000, 2000), (None, None)])]
    label_sample(app, ids[0], "lena", ["cat", "dog"])
    label_sample(app, ids[1], "admin", ["cat"])
    label_sample(app, ids[2], "lena", ["cat", "cat", "cat"])

    statements, response = counted(app, admin, dataset)
    stats = response.get_json()
    assert response.status_code == 200, stats

    assert stats["samples"] == {"total": 4, "labeled": 3, "unlabeled": 1} and stats["objects"] == 6
    assert stats["labels"] == [{"name": "cat", "color": "#ff0000", "objects": 5, "images": 3},
                               {"name": "dog", "color": stats["labels"][1]["color"], "objects": 1, "images": 1}]
    per_image = {b["bucket"]: b["images"] for b in stats["objects_per_image"]}
    assert per_image == {"0": 1, "1": 1, "2": 1, "3": 1, "4": 0, "5": 0, "6-10": 0, "11-20": 0, "21+": 0}
    sizes = {b["bucket"]: b["images"] for b in stats["image_sizes"]}
    assert sizes == {"1-256": 1, "257-512": 0, "513-1024": 1, "1025-2048": 0, "2049-4096": 1, "4097+": 0, "unknown": 1}
    assert stats["labeled_per_day"] == [{"day": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "images": 3}]
    assert stats["labelers"] == [{"name": "lena", "user": True, "images": 2, "objects": 5},
                                 {"name": "admin", "user": True, "images": 1, "objects": 1}]
    # Grouped in the database: as many statements with three more labeled images.
    for i in range(3):
        label_sample(app, add_sample(app, dataset["id"], f"more/{i}.png"), "lena", ["dog"])
    more, response = counted(app, admin, dataset)
    assert len(more) == len(statements) and response.get_json()["labels"][1]["objects"] == 4


def counted(app, api, dataset):
    """Ask for the figures; return the statements the database got, and the answer."""
    engine, statements = app.extensions["db_engine"], []
    listener = lambda *args: statements.append(args[2])
    event.listen(engine, "before_cursor_execute", listener)
    try:
        return statements, api.get(f"/api/v1/datasets/{dataset['id']}/stats")
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_an_empty_dataset_has_zero_figures_and_an_unknown_one_is_404(admin, dataset):
    stats = admin.get(f"/api/v1/datasets/{dataset['id']}/stats").get_json()
    assert stats["samples"]["total"] == 0 and stats["objects"] == 0 and stats["labeled_per_day"] == [] and stats["labelers"] == []
    assert [label["objects"] for label in stats["labels"]] == [0, 0]
    assert admin.get("/api/v1/datasets/999999/stats").status_code == 404
