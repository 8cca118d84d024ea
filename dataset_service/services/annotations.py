"""Labeling a sample: read its objects, save a new set with authorship, write the sibling XML.

Every shape is saved as itself, with its own rules (`storage.annotations.geometry`: a box's min
below its max, a line's two ends apart, a polygon's 3 distinct points, a circle's positive radius,
everything inside the image, and still so on the whole-pixel grid of the file); a closed polygon is
stored open, a box given by two corners is stored as its four. A field an object is sent without
keeps its stored value, and an object whose fields all equal the stored ones keeps its attribution.

A save reads and writes each row once: the labels and the sample's objects are read once, the
revision is claimed with one conditional UPDATE (which locks the row), the objects are written,
the indexes derived from them are written from the objects in hand (`sample_objects`), the XML
file is written from the same objects (`annotation_files`), and the sample row gets the rest of
its changes in one more UPDATE.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from storage.annotations import AnnotationError, Shape, object_problem
from storage.annotations.geometry import box_from_corners, open_on_grid, part_box, part_on_grid, writable
from storage.annotations.model import BadGeometry
from storage.factory import StoreSettings

from ..errors import Conflict, Invalid, NotFound
from ..models import AnnotationObject, Dataset, Label, Sample, User, utcnow
from . import revisions
from .annotation_files import write_sibling_xml
from .colors import to_rgb
from .image_probe import DEFAULT_MAX_PIXELS, UndecodableImage, probe_image
from .input_folder import InputFolder, input_folder
from .labels import labels_by_name
from .object_fields import DEFAULTS, codec_object, file_view
from .sample_objects import index_sample, load_objects


@dataclass
class SampleAnnotation:
    """A sample's objects at one revision, with who saved it last."""

    revision: int
    objects: list[AnnotationObject]
    saved_by: str | None = None
    saved_at: datetime | None = None
    width: int | None = None
    height: int | None = None
    file: dict[str, Any] | None = None  # the sibling XML's own fields (`object_fields.file_view`)
    warning: str | None = None  # what importing the sibling XML left out or overrode


def get_annotation(session: Session, sample: Sample, objects: list[AnnotationObject] | None = None) -> SampleAnnotation:
    """Return the sample's current annotation (from `objects` when the caller holds them, as a save does)."""
    if objects is None:
        return _read_annotation(session, sample.id)
    return SampleAnnotation(
        revision=sample.revision,
        objects=objects,
        saved_by=sample.saved_by.username if sample.saved_by else None,
        saved_at=sample.saved_at,
        width=sample.width,
        height=sample.height,
        file=file_view(sample.depth, sample.xml_header),
        warning=sample.xml_warning,
    )


def _read_annotation(session: Session, sample_id: int) -> SampleAnnotation:
    """Read the revision and the objects (with their labels and authors) in one statement, so that
    both come from one snapshot: read in two under READ COMMITTED, a save committing in between
    paired revision N with the objects of N+1."""
    saved_by = aliased(User)
    rows = session.execute(
        select(Sample.revision, Sample.saved_at, Sample.width, Sample.height, Sample.depth, Sample.xml_header, Sample.xml_warning,
               saved_by.username, AnnotationObject)
        .select_from(Sample)
        .outerjoin(saved_by, saved_by.id == Sample.saved_by_id)
        .outerjoin(AnnotationObject, AnnotationObject.sample_id == Sample.id)
        .where(Sample.id == sample_id)
        .order_by(AnnotationObject.id)
        .execution_options(populate_existing=True)  # objects this session holds get this snapshot's values too
    ).all()
    if not rows:
        raise NotFound(f"Sample {sample_id} does not exist.")
    first = rows[0]
    objects = [row.AnnotationObject for row in rows if row.AnnotationObject is not None]
    return SampleAnnotation(first.revision, objects, first.username, first.saved_at, first.width, first.height,
                            file_view(first.depth, first.xml_header), first.xml_warning)


def ensure_size(session: Session, folder: InputFolder, sample: Sample, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Return the sample's image size, reading the image header once if it is not known yet (its depth too)."""
    if sample.width is None or sample.height is None:
        try:
            sample.width, sample.height, depth = probe_image(folder.store, folder.bucket, sample.key, sample.size, max_pixels)
            sample.depth = sample.depth if sample.xml_header else depth
        except UndecodableImage as exc:
            raise Invalid(f"The sample's image cannot be read: {exc}.") from None
    return sample.width, sample.height


def save_annotation(
    session: Session, dataset: Dataset, sample: Sample, revision: int, objects: list[dict[str, Any]], user: User, settings: StoreSettings,
    max_pixels: int = DEFAULT_MAX_PIXELS, tool: str = "api", restored_from: int | None = None,
    authors: list[revisions.Authorship] | None = None,
) -> SampleAnnotation:
    """Replace the sample's objects if `revision` is current; write the sibling XML; keep the
    save in the sample's history (`revisions`); flush. `authors` (a restore's, one per object)
    names who made each object that comes back new."""
    folder = input_folder(dataset, settings)
    width, height = ensure_size(session, folder, sample, max_pixels)
    labels = labels_by_name(session, dataset.id)
    existing = {o.id: o for o in load_objects(session, sample.id)}
    wanted = _validate(objects, labels, existing, width, height)
    _claim_revision(session, sample, revision)
    now = utcnow()
    before = revisions.compact(list(existing.values()))
    replaced_by_id, replaced_at = sample.saved_by_id, sample.saved_at
    saved = _apply(session, sample, wanted, existing, user, now, authors)
    index_sample(session, sample, saved)
    sample.saved_by, sample.saved_at = user, now
    try:
        sample.xml_etag = write_sibling_xml(folder, sample, saved)
    except AnnotationError as exc:  # what the checks above let through: still the client's input
        raise Invalid(f"The objects cannot be written as an XML file: {exc.problem}.", {"objects": [exc.problem]}) from None
    sample.xml_stale, sample.xml_warning = False, None  # a person saw the objects and saved them
    # Last: its INSERT flushes the sample's changes above as one UPDATE.
    revisions.record_save(session, sample, before, saved, user, tool, revision, replaced_by_id, replaced_at, restored_from)
    session.flush()
    return get_annotation(session, sample, saved)


@dataclass
class Wanted:
    """One object of a save, checked: its label, the object it updates (None: a new one), and the
    values it sets (its shape always; the other fields the client sent)."""

    label: Label
    current: AnnotationObject | None
    values: dict[str, Any]


def _validate(objects: list[dict[str, Any]], labels: dict[str, Label], existing: dict[int, AnnotationObject],
              width: int, height: int) -> list[Wanted]:
    """Check every object against its shape's rules and the image; raise Invalid naming each bad
    object by index (`objects.<i>.<field>`) and its problem."""
    errors: dict[str, list[str]] = {}
    wanted = []
    for index, obj in enumerate(objects):
        name = f"object {index} ({obj['label']!r})"
        label, current = labels.get(obj["label"]), existing.get(obj["id"]) if obj.get("id") is not None else None
        if label is None:
            errors[f"objects.{index}.label"] = [f"{name}: unknown label '{obj['label']}'"]
            continue
        try:
            values = {**_shape_values(obj, current, width, height), **_attribute_values(obj, width, height)}
        except _Bad as exc:
            errors[f"objects.{index}.{exc.field}"] = [f"{name}: {exc}"]
            continue
        problem = object_problem(codec_object(_Row(values, current), label.name, to_rgb(label.color), None, None), width, height)
        if problem is not None:
            errors[f"objects.{index}"] = [f"{name}: {problem}"]
            continue
        wanted.append(Wanted(label, current, values))
    if errors:
        raise Invalid("Some objects are not valid: " + "; ".join(f"{k}: {v[0]}" for k, v in errors.items()), errors)
    return wanted


class _Bad(ValueError):
    """A field of one object breaks a rule."""

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field


def _shape_values(obj: dict[str, Any], current: AnnotationObject | None, width: int, height: int) -> dict[str, Any]:
    """Return the object's shape, points and radius as stored: a polygon open, a box as its 4
    corners; an object sent without `shape` keeps its stored one (a new one is a polygon)."""
    shape = obj.get("shape") or (current.shape if current is not None else "polygon")
    points = [(float(x), float(y)) for x, y in obj["points"]]
    radius = None
    if shape == "circle":
        radius = obj.get("radius", current.radius if current is not None and current.shape == "circle" else None)
    try:
        if shape == "polygon":
            points = open_on_grid(points)
        elif shape == "bndbox":
            points = box_from_corners(points)
        writable(Shape(shape, points, radius), width, height)
    except BadGeometry as exc:
        raise _Bad("points", str(exc)) from None
    return {"shape": shape, "points": [[x, y] for x, y in points], "radius": radius}


ATTRIBUTES = ("source", "pose", "truncated", "occluded", "difficult", "confidence")


def _attribute_values(obj: dict[str, Any], width: int, height: int) -> dict[str, Any]:
    """Return the attributes the client sent, as stored (an empty map or list as None)."""
    values = {name: obj[name] for name in ATTRIBUTES if name in obj}
    if "properties" in obj:
        values["properties"] = dict(obj["properties"]) or None
    if "parts" in obj:
        for part in obj["parts"]:
            box = (part["xmin"], part["ymin"], part["xmax"], part["ymax"])
            try:
                part_on_grid(part_box(box, width, height), width, height)
            except BadGeometry as exc:
                raise _Bad("parts", f"part {part['name']!r}: {exc}") from None
        values["parts"] = [dict(part) for part in obj["parts"]] or None
    return values


class _Row:
    """An object as it will be stored: the values sent over the stored ones, for the XML check."""

    def __init__(self, values: dict[str, Any], current: AnnotationObject | None):
        stored = {name: getattr(current, name) for name in DEFAULTS} if current is not None else dict(DEFAULTS)
        self.__dict__.update({**stored, "source": current.source if current is not None else "manual",
                              "created_at": None, "updated_at": None, **values})


def _claim_revision(session: Session, sample: Sample, revision: int) -> None:
    """Bump the revision only if it is still the one the client read; the row stays locked till
    commit. The new revision is set on the loaded sample without reading it back."""
    result = session.execute(
        update(Sample).where(Sample.id == sample.id, Sample.revision == revision).values(revision=Sample.revision + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(sample)
        current = get_annotation(session, sample)
        who = current.saved_by or "someone"
        when = current.saved_at.isoformat() if current.saved_at else "earlier"
        raise Conflict(
            f"This image was saved by {who} at {when} (revision {current.revision}); your copy is revision {revision}.",
            {"revision": [f"stale: the current revision is {current.revision}"]},
            {"current": current},
        )
    # The UPDATE already wrote it: tell the session so, rather than writing or reading it again.
    set_committed_value(sample, "revision", revision + 1)


def _apply(
    session: Session, sample: Sample, wanted: list[Wanted], existing: dict[int, AnnotationObject], user: User, now: datetime,
    authors: list[revisions.Authorship] | None = None,
) -> list[AnnotationObject]:
    """Make the sample's stored objects the given ones, keeping the ids (and authorship) of those
    the client sent back, and the attribution of those it did not change; return them in a
    stable order, ids assigned."""
    left = dict(existing)
    saved: list[AnnotationObject] = []
    for index, item in enumerate(wanted):
        current = left.pop(item.current.id, None) if item.current is not None else None
        if current is None:
            made = authors[index] if authors is not None else None  # a restored object: made by its first author
            author = {"created_by": user, "created_at": now} if made is None else {
                "created_by_id": made.created_by_id, "imported_by": made.imported_by, "created_at": made.created_at or now}
            current = AnnotationObject(
                sample_id=sample.id, label=item.label, **{**DEFAULTS, "source": "manual", **item.values},
                **author, updated_by=user, updated_at=now,
            )
            session.add(current)
        elif current.label_id != item.label.id or any(getattr(current, name) != value for name, value in item.values.items()):
            current.label = item.label
            for name, value in item.values.items():
                setattr(current, name, value)
            current.updated_by, current.updated_at = user, now
        saved.append(current)
    if left:
        session.execute(delete(AnnotationObject).where(AnnotationObject.id.in_(list(left))))
    session.flush()
    return sorted(saved, key=lambda o: o.id)
