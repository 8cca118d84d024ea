"""What the pages hand their scripts, where two pages hand the same."""
from __future__ import annotations

from ..models import Dataset
from ..services.datasets import DatasetCounts


def labels_with_counts(dataset: Dataset, counts: DatasetCounts) -> list[dict]:
    """The dataset's labels, each with how many samples carry it (for the label list's confirmations)."""
    return [
        {"id": label.id, "name": label.name, "color": label.color, "samples": counts.per_label.get(label.name, 0)}
        for label in dataset.labels
    ]
