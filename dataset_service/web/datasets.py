"""Dataset pages: the list, the create form, and one dataset with its counts, filters and grid."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from ..access import Action, actions_of, admin_required, page_role, requires, visible_datasets
from ..auth import current_user, login_required
from ..db_session import commit, db
from ..errors import DomainError, form_errors
from ..schemas import DatasetCreate
from ..services import datasets, members, samples
from ..services.colors import distinct_color
from ..services.input_folder import input_root
from .forms import DatasetForm
from .page_data import labels_with_counts
from .query import PAGE_SIZES, api_filter, read_state

blp = Blueprint("datasets", __name__)

DATASETS_PER_PAGE = 50
PALETTE = [distinct_color(i) for i in range(24)]  # the colours new label rows start with


@blp.get("/")
@login_required
def index():
    """List the datasets the viewer belongs to (admins: all), newest first, a page at a time, with their counts."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    offset = (page - 1) * DATASETS_PER_PAGE
    total, items = datasets.list_datasets(db(), DATASETS_PER_PAGE, offset, visible_datasets(current_user()))
    counts = {d.id: datasets.dataset_counts(db(), d) for d in items}
    pages = max((total + DATASETS_PER_PAGE - 1) // DATASETS_PER_PAGE, 1)
    return render_template("datasets/index.html", total=total, items=items, counts=counts, page=page, pages=pages)


@blp.route("/datasets/new", methods=["GET", "POST"])
@admin_required
def new():
    """Show the create form; create the dataset through the API's schema and service (admins)."""
    form = DatasetForm()
    labels = _label_rows()
    errors: dict = {}
    if form.validate_on_submit():
        try:
            data = DatasetCreate().load(_form_data(form, labels))
            dataset = datasets.create_dataset(db(), data, current_user(), current_app.config["SERVICE"].allow_file_datasets)
            commit()
            return redirect(url_for("datasets.show", dataset_id=dataset.id))
        except (ValidationError, DomainError) as exc:
            errors = form_errors(exc)
    status = 422 if errors else 200
    return render_template(
        "datasets/new.html", form=form, labels=labels or [{"name": "", "color": ""}], errors=errors, palette=PALETTE,
    ), status


def _label_rows() -> list[dict]:
    names = request.form.getlist("label_name")
    colors = request.form.getlist("label_color")
    rows = [{"name": n.strip(), "color": (colors[i] if i < len(colors) else "").strip()} for i, n in enumerate(names)]
    return [row for row in rows if row["name"]]


def _form_data(form: DatasetForm, labels: list[dict]) -> dict:
    data = {
        "name": (form.name.data or "").strip(),
        "description": form.description.data or "",
        "input_path": (form.input_path.data or "").strip(),
        "labels": [{"name": row["name"], **({"color": row["color"]} if row["color"] else {})} for row in labels],
    }
    if (form.output_path.data or "").strip():
        data["output_path"] = form.output_path.data.strip()
    return data


@blp.get("/datasets/<int:dataset_id>")
@requires(Action.VIEW)
def show(dataset_id: int):
    """Show one dataset: counts, sync, tabs, the filter bar, the work queues and a page of thumbnails."""
    dataset = datasets.get_dataset(db(), dataset_id)
    counts = datasets.dataset_counts(db(), dataset)
    state = read_state(request.args, input_root(dataset))
    page = None
    if not state.errors:
        try:
            offset = 0 if state.cursor else state.offset
            page = samples.list_samples(db(), dataset, state.filter, state.limit, offset, state.cursor)
        except DomainError as exc:
            state.errors = form_errors(exc)
    return render_template(
        "datasets/show.html", dataset=dataset, counts=counts, state=state, page=page, page_sizes=PAGE_SIZES,
        label_colors={label.name: label.color for label in dataset.labels}, labels_data=labels_with_counts(dataset, counts),
        max_image_bytes=current_app.config["SERVICE"].max_image_bytes, can=actions_of(page_role()),
        members=sorted(m.user.username for m in members.list_members(db(), dataset_id)),
        api_filter=None if state.errors else api_filter(state.filter),
    )
