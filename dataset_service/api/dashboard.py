"""The dataset dashboard's figures."""
from __future__ import annotations

from ..access import Action
from ..db_session import db
from ..schemas import DashboardOut
from ..services import dashboard, datasets
from .blueprint import Blueprint

blp = Blueprint("dashboard", __name__, description="The dataset dashboard")


@blp.get("/datasets/<int:dataset_id>/stats")
@blp.allow(Action.VIEW)
@blp.response(200, DashboardOut)
def dataset_stats(dataset_id):
    """Return the dataset's figures, counted by the database: objects and images per label, objects
    per image, image sizes, images labeled per day, and each labeler's images and objects."""
    return dashboard.dashboard(db(), datasets.get_dataset(db(), dataset_id))
