"""Rows made directly, for tests that should not depend on sync."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import select

from dataset_service.models import Sample, User
from dataset_service.services import datasets, labels, sample_objects


def add_sample(app, dataset_id: int, key: str, created_at: datetime | None = None, width: int = 100, height: int = 80) -> int:
    """Insert a sample row (no object needs to exist in the store)."""
    with app.extensions["db_sessionmaker"]() as session:
        sample = Sample(
            dataset_id=dataset_id, key=key, size=123, etag="e" + key, width=width, height=height,
            created_at=created_at or datetime.now(timezone.utc), labeled=False, revision=0,
        )
        session.add(sample)
        session.commit()
        return sample.id


def label_sample(app, sample_id: int, username: str, label_names: list[str]) -> None:
    """Give a sample one square object per label, authored by a user, without touching the store."""
    from dataset_service.models import AnnotationObject

    with app.extensions["db_sessionmaker"]() as session:
        sample = session.get(Sample, sample_id)
        user = session.scalar(select(User).where(User.username == username))
        by_name = labels.labels_by_name(session, sample.dataset_id)
        for name in label_names:
            session.add(AnnotationObject(
                sample_id=sample.id, label_id=by_name[name].id, shape="polygon", points=[[1, 1], [10, 1], [10, 10]],
                source="manual", created_by_id=user.id, updated_by_id=user.id,
            ))
        session.flush()
        sample_objects.index_sample(session, sample, sample_objects.load_objects(session, sample.id))
        session.commit()


def add_dataset(app, bucket: str, owner: str = "admin", prefix: str = "cats/") -> int:
    """Create a dataset over `s3://bucket/prefix` with the labels cat (red) and dog, as `owner`."""
    with app.extensions["db_sessionmaker"]() as session:
        user = session.scalar(select(User).where(User.username == owner))
        dataset = datasets.create_dataset(session, {
            "name": f"cats-{uuid.uuid4().hex[:6]}", "input_path": f"s3://{bucket}/{prefix}", "output_path": f"s3://{bucket}/out/",
            "labels": [{"name": "cat", "color": "#ff0000"}, {"name": "dog"}],
        }, user)
        session.commit()
        return dataset.id


def dataset_obj(app, dataset_id: int):
    with app.extensions["db_sessionmaker"]() as session:
        return datasets.get_dataset(session, dataset_id)
