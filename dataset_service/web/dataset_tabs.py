"""The dataset page's other tabs: Versions (publish, set as current, compare, export, import a
manifest), Dashboard and Team (members, their figures, assignment, acceptance). Each is a page of
its own over the REST API, drawn by its script.

`SECTIONS` is the tab bar every dataset page shows: one more tab is one more entry and its view.
"""
from __future__ import annotations

from flask import Blueprint, render_template

from ..access import Action, actions_of, may, page_role, requires
from ..auth import current_user
from ..db_session import db
from ..models import DATASET_ROLES
from ..services import acceptance, datasets

blp = Blueprint("dataset_tabs", __name__)

# (endpoint, name) of each tab of a dataset's pages, in order.
SECTIONS = [("datasets.show", "Images"), ("dataset_tabs.versions", "Versions"), ("dataset_tabs.dashboard", "Dashboard"),
            ("dataset_tabs.team", "Team")]


def render_tab(template: str, dataset_id: int, **data):
    """Render a tab: the dataset, what the viewer may do there, and both (with `data`) for the tab's script."""
    dataset = datasets.get_dataset(db(), dataset_id)
    can = actions_of(page_role())
    return render_template(template, dataset=dataset, can=can, page_data={"datasetId": dataset.id, "can": can, **data})


@blp.get("/datasets/<int:dataset_id>/versions")
@requires(Action.VIEW)
def versions(dataset_id: int):
    """Show the dataset's versions: publish, the list with progress, set as current, compare, export, import."""
    return render_tab("datasets/versions.html", dataset_id)


@blp.get("/datasets/<int:dataset_id>/dashboard")
@requires(Action.VIEW)
def dashboard(dataset_id: int):
    """Show the dataset's figures as charts (from `GET /api/v1/datasets/{id}/stats`)."""
    return render_tab("datasets/dashboard.html", dataset_id)


@blp.get("/datasets/<int:dataset_id>/team")
@requires(Action.VIEW)
def team(dataset_id: int):
    """Show the team: members and roles, their figures and saves per day; for owners, assignment and acceptance."""
    latest = acceptance.latest(db(), dataset_id) if may(page_role(), Action.MANAGE) else None
    return render_tab("datasets/team.html", dataset_id, me=current_user().username, roles=list(DATASET_ROLES),
                      acceptanceId=latest.id if latest else None)
