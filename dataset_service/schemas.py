"""The JSON shapes of the API: the only place they live."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from storage.annotations import SOURCES, text_problem

from .models import DATASET_ROLES, LABEL_NAME_MAX, NAME_MAX, RATINGS
from .passwords import PASSWORD_MAX, PASSWORD_MIN, password_problem
from .services.colors import COLOR_RE
from .services.filters import CURSOR_MAX_CHARS, REVIEW_FILTERS
from .services.jobs import STAGE_STATES, progress_of
from .services.users import ROLES, username_problem
from .services.version_diff import CHANGES
from .services.versions import EXPORT_FORMATS, NAME_RULE

NAME = validate.Regexp(
    rf"^[A-Za-z0-9][A-Za-z0-9 _.-]{{0,{NAME_MAX - 1}}}$", error=f"use 1-{NAME_MAX} letters, digits, space, '.', '_' or '-'"
)
COLOR = validate.Regexp(COLOR_RE.pattern, error="must look like '#RRGGBB'")


INT64_MAX = 2**63 - 1  # ids and offsets are 64-bit in the database (a 32-bit column says so on its own field)
INT64 = validate.Range(min=-INT64_MAX - 1, max=INT64_MAX, error="must be a 64-bit integer, from {min} to {max}")


def storable_text(value: object) -> None:
    """Refuse text the database cannot store: a NUL character (PostgreSQL) or a lone surrogate (not UTF-8)."""
    if not isinstance(value, str):  # a String field that loads to something else (fields.UUID)
        return
    if "\x00" in value:
        raise ValidationError("must not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("must be valid Unicode text (no lone surrogates)") from None


def hold_to_database_limits(field: fields.Field) -> None:
    """Add the database's limits to an integer or text field, and to the fields a list or dict holds."""
    if isinstance(field, fields.Integer):
        field.validators = [*field.validators, INT64]  # a new list: copied fields share the old one
    elif isinstance(field, fields.String):
        field.validators = [*field.validators, storable_text]
    inner = [getattr(field, "inner", None), getattr(field, "key_field", None), getattr(field, "value_field", None)]
    for contained in [*inner, *getattr(field, "tuple_fields", ())]:
        if contained is not None:
            hold_to_database_limits(contained)


class StrictSchema(Schema):
    """An input: unknown fields are dropped, and every integer and text field, however nested, is held
    to what the database stores (so a 20-digit id or a NUL byte is a 422 naming it, not a driver error)."""

    class Meta:
        unknown = EXCLUDE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        hold_to_database_limits(field_obj)


# --- auth and users ---------------------------------------------------------------------------


class TokenRequest(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class TokenResponse(Schema):
    token = fields.String()
    username = fields.String()
    role = fields.String()


def rule(problem: Callable[[str], str | None]) -> Callable[[str], None]:
    """Turn a rule that says what is wrong with a value (None: nothing) into a field validator."""

    def check(value: str) -> None:
        if (reason := problem(value)) is not None:
            raise ValidationError(reason)

    return check


USERNAME_DOC = f"1-{NAME_MAX} letters, digits, '.', '_' or '-'; taken as given (never stripped)"
PASSWORD_DOC = f"{PASSWORD_MIN}-{PASSWORD_MAX} characters, not all one character, not a common password"


class UserCreate(StrictSchema):
    username = fields.String(required=True, validate=rule(username_problem), metadata={"description": USERNAME_DOC})
    password = fields.String(required=True, load_only=True, validate=rule(password_problem), metadata={"description": PASSWORD_DOC})
    role = fields.String(load_default="labeler", validate=validate.OneOf(ROLES))


class UserUpdate(StrictSchema):
    active = fields.Boolean(metadata={"description": "false: the user cannot log in and its tokens and sessions end"})
    password = fields.String(load_only=True, validate=rule(password_problem), metadata={"description": PASSWORD_DOC})


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()


# --- datasets and labels ----------------------------------------------------------------------


class LabelIn(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    color = fields.String(validate=COLOR, load_default=None)


class LabelUpdate(StrictSchema):
    name = fields.String(validate=NAME)
    color = fields.String(validate=COLOR)


class LabelDeleteArgs(StrictSchema):
    force = fields.Boolean(load_default=False)


class LabelOut(Schema):
    id = fields.Integer()
    name = fields.String()
    color = fields.String()


class DatasetCreate(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    input_path = fields.String(required=True, validate=validate.Length(min=6, max=1000))
    output_path = fields.String(load_default=None, validate=validate.Length(min=6, max=1000))
    labels = fields.List(fields.Nested(LabelIn), load_default=list)

    @validates_schema
    def unique_labels(self, data, **kwargs):
        names = [label["name"] for label in data.get("labels", [])]
        if len(names) != len(set(names)):
            raise ValidationError("label names must be unique", "labels")


class DatasetUpdate(StrictSchema):
    name = fields.String(validate=NAME)
    description = fields.String(validate=validate.Length(max=2000))
    input_path = fields.String(validate=validate.Length(min=6, max=1000))
    output_path = fields.String(validate=validate.Length(min=6, max=1000))


class CountsOut(Schema):
    total = fields.Integer()
    labeled = fields.Integer()
    unlabeled = fields.Integer()
    per_label = fields.Dict(keys=fields.String(), values=fields.Integer())
    xml_stale = fields.Integer(metadata={"description": "XML files a label change made stale, not yet rewritten"})


class DatasetOut(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    input_path = fields.String()
    output_path = fields.String()
    labels = fields.List(fields.Nested(LabelOut))
    created_by = fields.Function(lambda d: d.created_by.username if d.created_by else None)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    counts = fields.Nested(CountsOut, dump_default=None, allow_none=True, metadata={"description": "null in lists: counting is per dataset"})


class PageArgs(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class DatasetList(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(DatasetOut))


# --- samples ---------------------------------------------------------------------------------


class CommaList(fields.List):
    """A repeatable query parameter that also accepts comma-separated values."""

    def _deserialize(self, value, attr, data, **kwargs):
        items = value if isinstance(value, list) else [value]
        split = [part.strip() for item in items for part in str(item).split(",") if part.strip()]
        return super()._deserialize(split, attr, data, **kwargs)


class SampleFilterIn(StrictSchema):
    """The sample list's filters (as query arguments, or as a JSON object in an assignment)."""

    state = fields.String(load_default="all", validate=validate.OneOf(["all", "unlabeled", "labeled"]))
    label = CommaList(fields.String(), load_default=list)
    label_op = fields.String(load_default="or", validate=validate.OneOf(["or", "and"]))
    created = fields.String(load_default=None, validate=validate.OneOf(["1d", "1m"]))
    created_from = fields.AwareDateTime(load_default=None, default_timezone=None)
    created_to = fields.AwareDateTime(load_default=None, default_timezone=None)
    path = fields.String(load_default=None, validate=validate.Length(min=1, max=1000))
    dir = fields.String(load_default=None, validate=[validate.Length(min=1, max=1000), validate.Regexp(r".*/$", error="must end with '/'")])
    labeled_by = fields.String(load_default=None, validate=validate.Length(min=1, max=NAME_MAX))
    assigned_to = fields.String(load_default=None, validate=validate.Length(min=1, max=NAME_MAX), metadata={
        "description": "a username, or `nobody` for the samples given to no one"})
    review = fields.String(load_default=None, validate=validate.OneOf(REVIEW_FILTERS), metadata={
        "description": "`none`: never submitted for review; `open`: still its labeler's work (never submitted, or rejected)"})


class SampleQuery(PageArgs, SampleFilterIn):
    cursor = fields.String(load_default=None, validate=validate.Length(max=CURSOR_MAX_CHARS), metadata={"description": "a `next_cursor` or `prev_cursor`"})
    order = fields.String(load_default="key", validate=validate.OneOf(["key", "created", "-created"]))

    @validates_schema
    def one_paging(self, data, **kwargs):
        if data.get("cursor") and data.get("offset"):
            raise ValidationError("use either offset or cursor, not both", "cursor")


class SampleOut(Schema):
    id = fields.Integer()
    key = fields.String()
    uri = fields.String()
    size = fields.Integer()
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    state = fields.Function(lambda s: "labeled" if s.labeled else "unlabeled")
    labels = fields.List(fields.String())
    labeled_by = fields.List(fields.String())
    labeled_at = fields.DateTime(allow_none=True)
    revision = fields.Integer()
    error = fields.String(allow_none=True)
    warning = fields.String(attribute="xml_warning", allow_none=True, metadata={
        "description": "what importing the sibling XML left out or overrode (a wrong <size>, objects outside the image); gone once saved"})
    assigned_to = fields.String(allow_none=True, metadata={"description": "the labeler the sample is given to"})
    review = fields.String(attribute="review_state", allow_none=True, metadata={
        "description": "submitted, accepted or rejected; null: never submitted for review"})
    review_reason = fields.String(allow_none=True, metadata={"description": "why a reviewer rejected it"})
    review_rating = fields.String(allow_none=True)
    reviewed_by = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)


class SampleList(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(SampleOut))
    next_cursor = fields.String(allow_none=True, metadata={"description": "pass as `cursor` for the next page"})
    prev_cursor = fields.String(allow_none=True, metadata={"description": "pass as `cursor` for the previous page"})


class DeleteSamples(StrictSchema):
    ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1)), required=True, validate=validate.Length(min=1, max=1000))
    delete_source = fields.Boolean(load_default=False)


class DeletedOut(Schema):
    deleted = fields.Integer()


# --- annotations ----------------------------------------------------------------------------

Point = fields.List(fields.Float(allow_nan=False), validate=validate.Length(equal=2, error="a point is [x, y]"))
MAX_SHAPE_POINTS = 10_000  # one shape's points
MAX_SAVE_POINTS = 100_000  # one save's points in all: 40 objects of 10,000 points took an API thread 39 s
TEXT_MAX = 1000  # characters of a pose, a property's key or value, a part's name


def xml_text(empty_ok: bool = False) -> Callable[[str], None]:
    """A validator refusing text the XML file could not give back as it is (the codec's rule)."""
    return rule(lambda value: text_problem(value, empty_ok))


class EmptyIfNone(fields.Dict):
    """A map dumped as {} when the row holds none."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value or {}, attr, obj, **kwargs)


class ListOrEmpty(fields.List):
    """A list dumped as [] when the row holds none."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value or [], attr, obj, **kwargs)


class PartIn(StrictSchema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=TEXT_MAX), xml_text()])
    xmin = fields.Float(required=True, allow_nan=False)
    ymin = fields.Float(required=True, allow_nan=False)
    xmax = fields.Float(required=True, allow_nan=False)
    ymax = fields.Float(required=True, allow_nan=False)


class PartOut(Schema):
    """A VOC part of an object (e.g. a person's head): a name and a box."""

    name = fields.String()
    xmin, ymin, xmax, ymax = fields.Float(), fields.Float(), fields.Float(), fields.Float()


def points_field(low: int, high: int, description: str, **kwargs) -> fields.List:
    wanted = f"exactly {low}" if low == high else f"{low} to {high}"
    return fields.List(Point, validate=validate.Length(min=low, max=high, error=f"needs {wanted} points"),
                       metadata={"description": description}, **kwargs)


class ObjectIn(StrictSchema):
    """What every shape of object carries in a save. A field left out keeps the object's stored value
    (its default for a new object), so a client that does not know a field never resets it."""

    id = fields.Integer(load_default=None, allow_none=True, metadata={"description": "the object's id as GET gave it; none: a new object"})
    label = fields.String(required=True, validate=validate.Length(min=1, max=LABEL_NAME_MAX))
    points = points_field(1, MAX_SHAPE_POINTS, "[x, y] pixels", required=True)
    source = fields.String(validate=validate.OneOf(SOURCES), metadata={"description": "default for a new object: manual"})
    pose = fields.String(validate=[validate.Length(min=1, max=TEXT_MAX), xml_text()], metadata={"description": "default Unspecified"})
    truncated = fields.Boolean()
    occluded = fields.Boolean()
    difficult = fields.Boolean()
    confidence = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(min=0, max=1))
    properties = fields.Dict(
        keys=fields.String(validate=[validate.Length(min=1, max=TEXT_MAX), xml_text()]),
        values=fields.String(validate=[validate.Length(max=TEXT_MAX), xml_text(empty_ok=True)]),
        validate=rule(lambda value: None if len(value) <= 100 else "at most 100 properties"),
        metadata={"description": "free attributes, key -> value, any language; at most 100", "maxProperties": 100},
    )
    parts = fields.List(fields.Nested(PartIn), validate=validate.Length(max=100), metadata={"description": "VOC parts: a name and a box each"})


class ObjectOut(Schema):
    """What every shape of object carries, with who made it and when."""

    id = fields.Integer()
    label = fields.Function(lambda o: o.label.name, metadata={"type": "string"})
    points = fields.List(fields.List(fields.Float()), metadata={"description": "[x, y] pixels"})
    source = fields.String(validate=validate.OneOf(SOURCES))
    pose = fields.String()
    truncated = fields.Boolean()
    occluded = fields.Boolean()
    difficult = fields.Boolean()
    confidence = fields.Float(allow_none=True)
    properties = EmptyIfNone(keys=fields.String(), values=fields.String())
    parts = ListOrEmpty(fields.Nested(PartOut))
    extra_shapes = ListOrEmpty(fields.Dict(), metadata={
        "description": "read only: further shape elements the file's object carried ({shape, points, radius}), written back as they are"})
    created_by = fields.Function(lambda o: o.created_by.username if o.created_by else o.imported_by, metadata={"type": "string", "nullable": True})
    created_at = fields.DateTime()
    updated_by = fields.Function(lambda o: o.updated_by.username if o.updated_by else o.imported_by, metadata={"type": "string", "nullable": True})
    updated_at = fields.DateTime()


def shape_schemas(kind: str, points: tuple[int, int, str], circle: bool = False,
                  stored: tuple[int, int, str] | None = None) -> tuple[type[Schema], type[Schema]]:
    """Make the input and output schema of one shape: the common fields, `shape` fixed to its name,
    the points it takes (and a circle's radius)."""
    name = {"bndbox": "Box", "dashed": "Dashed", "polyline": "Polyline"}.get(kind, kind.capitalize())
    shape_doc = {"metadata": {"description": f"`{kind}`"}}
    extra_in: dict[str, fields.Field] = {}
    extra_out: dict[str, fields.Field] = {}
    if circle:
        extra_in["radius"] = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False),
                                          metadata={"exclusiveMinimum": True})
        extra_out["radius"] = fields.Float()
    made_in = ObjectIn.from_dict({
        "shape": fields.String(required=True, validate=validate.OneOf([kind]), **shape_doc),
        "points": points_field(*points, required=True), **extra_in,
    }, name=f"{name}In")
    made_out = ObjectOut.from_dict({
        "shape": fields.String(required=True, validate=validate.OneOf([kind]), **shape_doc),
        "points": fields.List(fields.List(fields.Float()), validate=validate.Length(min=(stored or points)[0], max=(stored or points)[1]),
                              metadata={"description": (stored or points)[2]}), **extra_out,
    }, name=f"{name}Out")
    return made_in, made_out


# Each shape's schemas: the points it takes in a save (its rule beyond the count: `storage.annotations.geometry`).
SHAPE_SCHEMAS = {
    "polygon": shape_schemas("polygon", (3, MAX_SHAPE_POINTS, "3 or more distinct points, open (a last point repeating the first is dropped)")),
    "bndbox": shape_schemas("bndbox", (2, 4, "two opposite corners, or the 4 corners clockwise from the top left (as GET gives them); min < max"),
                            stored=(4, 4, "the 4 corners clockwise from the top left")),
    "point": shape_schemas("point", (1, 1, "the point")),
    "line": shape_schemas("line", (2, 2, "its two ends, apart")),
    "polyline": shape_schemas("polyline", (2, MAX_SHAPE_POINTS, "2 or more points")),
    "dashed": shape_schemas("dashed", (2, MAX_SHAPE_POINTS, "a dashed line: 2 or more points")),
    "circle": shape_schemas("circle", (1, 1, "its centre"), circle=True),
}


class ShapeUnion(fields.Field):
    """An object of any shape, read and written by the schema its `shape` names (the OpenAPI
    document: oneOf the shapes' schemas, discriminated by `shape`). An object sent without `shape`
    (an older client) keeps its stored shape, or is a polygon when new."""

    def __init__(self, schemas: dict[str, type[Schema]], fallback: type[Schema] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.schemas, self.fallback = schemas, fallback

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else self.schemas[value.shape]().dump(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object")
        shape = value.get("shape")
        if shape is None and self.fallback is not None:
            return self.fallback().load(value)
        if not isinstance(shape, str) or shape not in self.schemas:
            raise ValidationError({"shape": [f"must be one of: {', '.join(self.schemas)}"]})
        return self.schemas[shape]().load(value)


class AnnotationIn(StrictSchema):
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**31 - 1))  # a 32-bit column
    objects = fields.List(
        ShapeUnion({kind: pair[0] for kind, pair in SHAPE_SCHEMAS.items()}, fallback=ObjectIn), required=True,
        validate=validate.Length(max=2000),
    )

    @pre_load
    def limit_points(self, data, **kwargs):
        """Refuse more than MAX_SAVE_POINTS points in all, counted before any point is read."""
        objects = data.get("objects") if isinstance(data, dict) else None
        if isinstance(objects, list):
            total = sum(len(o["points"]) for o in objects if isinstance(o, dict) and isinstance(o.get("points"), list))
            if total > MAX_SAVE_POINTS:
                raise ValidationError(f"{total} points in all; a save may hold at most {MAX_SAVE_POINTS}", "objects")
        return data


class FileOut(Schema):
    """The sibling XML file's own fields, kept as imported (read only)."""

    folder = fields.String()
    source = fields.Dict(keys=fields.String(), values=fields.String())
    segmented = fields.Boolean()
    depth = fields.Integer(allow_none=True, metadata={"description": "the image's channels; none: unknown"})


class AnnotationOut(Schema):
    revision = fields.Integer()
    objects = fields.List(ShapeUnion({kind: pair[1] for kind, pair in SHAPE_SCHEMAS.items()}))
    saved_by = fields.String(allow_none=True)
    saved_at = fields.DateTime(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    file = fields.Nested(FileOut, metadata={"description": "read only"})
    warning = fields.String(allow_none=True, metadata={"description": "what importing the sibling XML left out or overrode; gone once saved"})


class ErrorExtras(Schema):
    """What an error answer carries besides `error`, `message` and `fields`."""

    current = fields.Nested(AnnotationOut, metadata={"description": "a stale revision's 409: the annotation saved since"})


class Error(ErrorExtras):
    """Every error answer (the OpenAPI document's `Error`): a code, a message and the fields at fault."""

    class Meta:
        unknown = INCLUDE  # an error may carry more, e.g. a label's `samples` when it is in use

    error = fields.String(required=True, metadata={"description": "a code: invalid, not_found, conflict, try_again, database_unavailable..."})
    message = fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    field_errors = fields.Dict(
        data_key="fields", required=True, metadata={"description": "the messages by input field (`_schema`: the input as a whole); may be empty"}
    )


Click = fields.List(fields.Float(allow_nan=False), validate=validate.Length(equal=3, error="a click is [x, y, 1] (object) or [x, y, 0] (not)"))


class InferIn(StrictSchema):
    """Four extreme points or a box, and the correction clicks made since, in order."""

    points = fields.List(Point, validate=validate.Length(equal=4, error="give exactly four extreme points"))
    box = fields.List(fields.Float(allow_nan=False), validate=validate.Length(equal=4, error="a box is [xmin, ymin, xmax, ymax]"))
    clicks = fields.List(Click, validate=validate.Length(max=200), metadata={"description": "[x, y, 1|0] pixels: 1 the object, 0 not"})

    @validates_schema
    def one_prompt(self, data, **kwargs):
        if ("points" in data) == ("box" in data):
            raise ValidationError("give either four extreme points or a box", "points")
        if any(c[2] not in (0, 1) for c in data.get("clicks", [])):
            raise ValidationError("a click's third value must be 1 (object) or 0 (not the object)", "clicks")


class InferOut(Schema):
    polygons = fields.List(fields.List(fields.List(fields.Float())))
    bbox = fields.List(fields.Float())
    score = fields.Float()
    low_confidence = fields.Boolean(metadata={"description": "the score says there is no clear object here"})
    model = fields.String()
    inference_ms = fields.Float()


class UploadIn(StrictSchema):
    files = fields.List(Upload(), required=True, validate=validate.Length(min=1), metadata={"description": "JPG, PNG or BMP images"})


class UploadOut(Schema):
    items = fields.List(fields.Nested(SampleOut))


# --- jobs -----------------------------------------------------------------------------------


class StageOut(Schema):
    """One step of a job."""

    name = fields.String(metadata={"description": "as the job's `stage` reads while the step runs"})
    state = fields.String(validate=validate.OneOf(STAGE_STATES))
    done = fields.Integer(metadata={"description": "work done: items (images, files, samples) or, for a step of one piece, 0 or 1"})
    total = fields.Integer(allow_none=True, metadata={"description": "work in all; null while not known (a listing's length is known when it ends)"})


class ProgressOut(Schema):
    """A job's progress, the same shape for every kind: its steps in order, and the one running now."""

    stage = fields.String(allow_none=True, metadata={"description": "the step running now; null while queued and once ended"})
    done = fields.Integer(allow_none=True, metadata={"description": "the running step's work done"})
    total = fields.Integer(allow_none=True, metadata={"description": "the running step's work in all; null while not known"})
    stages = fields.List(fields.Nested(StageOut))


class JobProgress(fields.Nested):
    """The job's progress, made from its stored counters by `services.jobs.progress_of`."""

    def get_value(self, obj, attr, accessor=None, default=None):
        return progress_of(obj)


class JobOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    dataset_id = fields.Integer()
    status = fields.String()
    stage = fields.String(allow_none=True)
    progress = JobProgress(ProgressOut)
    counts = fields.Dict()
    errors = fields.List(fields.Dict())
    error = fields.String(allow_none=True)
    created_by = fields.Function(lambda j: j.created_by.username if j.created_by else None)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    duration_s = fields.Method("duration")

    def duration(self, job):
        if job.started_at is None:
            return None
        end = job.finished_at or datetime.now(timezone.utc)
        return round((end - job.started_at).total_seconds(), 3)


class JobList(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(JobOut))


# --- versions and exports -------------------------------------------------------------------


class VersionCreate(StrictSchema):
    name = fields.String(
        load_default=None, validate=validate.Regexp(NAME_RULE.pattern, error="use 1-64 letters, digits, '-' or '_'"),
        metadata={"description": "unique in the dataset; default the next of V001, V002, ..."},
    )
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    train_ratio = fields.Float(
        load_default=None, allow_none=True, allow_nan=False, validate=validate.Range(min=0, max=1),
        metadata={"description": "the share of samples whose manifest usage is TRAIN (the rest EVAL), split by key; none: no split"},
    )


class VersionCounts(Schema):
    samples = fields.Integer(attribute="sample_count")
    labeled = fields.Integer(attribute="labeled_count")
    objects = fields.Integer(attribute="object_count")
    added = fields.Integer(attribute="added_count", metadata={"description": "samples not in the previous version"})
    modified = fields.Integer(attribute="modified_count", metadata={"description": "samples changed since the previous version"})
    deleted = fields.Integer(attribute="deleted_count", metadata={"description": "samples of the previous version no longer there"})


class Grouped(fields.Nested):
    """A nested schema dumped from the object itself: some of its attributes grouped under one key."""

    def get_value(self, obj, attr, accessor=None, default=None):
        return obj


class VersionLabelOut(Schema):
    name = fields.String()
    color = fields.String()


class VersionOut(Schema):
    id = fields.Integer()
    dataset_id = fields.Integer()
    name = fields.String()
    description = fields.String()
    train_ratio = fields.Float(allow_none=True)
    state = fields.String(metadata={"description": "creating, normal, failed or deleting"})
    error = fields.String(allow_none=True)
    counts = Grouped(VersionCounts)
    label_stats = fields.Dict(metadata={"description": "per label: the samples carrying it and its objects"})
    labels = fields.List(fields.Nested(VersionLabelOut), metadata={"description": "the label list; a label's index in masks is its position + 1"})
    previous_id = fields.Integer(allow_none=True)
    folder_uri = fields.String()
    manifest_uri = fields.String()
    created_by = fields.Function(lambda v: v.created_by.username if v.created_by else None)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    is_current = fields.Boolean(metadata={"description": "the version the working state was last made equal to (by its publish or set as current)"})
    autosave = fields.Boolean(metadata={"description": "published by a set as current, holding the working state it replaced"})


class VersionEnvelope(Schema):
    version = fields.Nested(VersionOut)
    job = fields.Nested(JobOut)


class VersionList(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(VersionOut))


class ExportCreate(StrictSchema):
    format = fields.String(required=True, validate=validate.OneOf(EXPORT_FORMATS))


class ExportOut(Schema):
    id = fields.Integer()
    version_id = fields.Integer()
    format = fields.String()
    folder_uri = fields.String()
    created_at = fields.DateTime()
    job_id = fields.Integer(allow_none=True)
    status = fields.Function(lambda e: e.job.status if e.job else None, metadata={"description": "its job's: downloadable once completed"})


class ExportEnvelope(Schema):
    export = fields.Nested(ExportOut)
    job = fields.Nested(JobOut)


class ExportList(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(ExportOut))


class DiffArgs(PageArgs):
    to = fields.String(
        required=True, validate=validate.Regexp(r"^(working|[0-9]{1,19})$", error="a version id, or 'working'"),
        metadata={"description": "the version to compare with (its id), or `working`: the working state"},
    )
    change = fields.String(load_default=None, validate=validate.OneOf(CHANGES), metadata={"description": "list only these samples"})


class ObjectChangeOut(Schema):
    id = fields.Integer()
    label = fields.String(allow_none=True)
    shape = fields.String()
    created_by = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class ChangedObjectOut(ObjectChangeOut):
    before_label = fields.String(allow_none=True)
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields", metadata={"description": "what changed: label, points, shape, ..."})


class SampleObjectsOut(Schema):
    added = fields.List(fields.Nested(ObjectChangeOut))
    removed = fields.List(fields.Nested(ObjectChangeOut))
    changed = fields.List(fields.Nested(ChangedObjectOut))


class SampleChangeOut(Schema):
    key = fields.String()
    change = fields.String(metadata={"description": "added, deleted or changed"})
    from_sample_id = fields.Integer(allow_none=True)
    to_sample_id = fields.Integer(allow_none=True)
    objects = Grouped(SampleObjectsOut)


class DiffCounts(Schema):
    added = fields.Integer()
    deleted = fields.Integer()
    changed = fields.Integer()


class DiffOut(Schema):
    source = fields.String(data_key="from", metadata={"description": "the version compared"})
    target = fields.String(data_key="to", metadata={"description": "the version it is compared with, or working"})
    counts = fields.Nested(DiffCounts)
    total = fields.Integer(metadata={"description": "the samples the list pages over"})
    items = fields.List(fields.Nested(SampleChangeOut))


# --- the dataset dashboard and manifest imports ----------------------------------------------


class LabelFigures(Schema):
    name = fields.String()
    color = fields.String()
    objects = fields.Integer(metadata={"description": "objects carrying the label"})
    images = fields.Integer(metadata={"description": "images with at least one object carrying it"})


class Bucket(Schema):
    bucket = fields.String(metadata={"description": "the range: '3', '6-10', '21+', 'unknown'"})
    images = fields.Integer()


class DayFigure(Schema):
    day = fields.String(metadata={"description": "YYYY-MM-DD (UTC)"})
    images = fields.Integer(metadata={"description": "images last labeled that day"})


class LabelerFigures(Schema):
    name = fields.String(allow_none=True, metadata={"description": "the user, or the author an imported file named; null: unknown"})
    user = fields.Boolean(metadata={"description": "a user of this service (else a name from an imported file)"})
    images = fields.Integer(metadata={"description": "images holding an object they created or last edited"})
    objects = fields.Integer(metadata={"description": "objects they created"})


class DashboardOut(Schema):
    samples = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "total, labeled, unlabeled"})
    objects = fields.Integer()
    labels = fields.List(fields.Nested(LabelFigures))
    objects_per_image = fields.List(fields.Nested(Bucket))
    image_sizes = fields.List(fields.Nested(Bucket), metadata={"description": "by the longer side, in pixels"})
    labeled_per_day = fields.List(fields.Nested(DayFigure))
    labelers = fields.List(fields.Nested(LabelerFigures))


class ImportCreate(StrictSchema):
    manifest = fields.String(
        required=True, validate=validate.Length(min=6, max=1100),
        metadata={"description": "the manifest's URI, e.g. s3://bucket/path/V001.manifest"},
    )


class ImportOut(Schema):
    id = fields.Integer()
    dataset_id = fields.Integer()
    manifest_uri = fields.String()
    created_by = fields.Function(lambda i: i.created_by.username if i.created_by else None)
    created_at = fields.DateTime()
    job_id = fields.Integer(allow_none=True)


class ImportEnvelope(Schema):
    import_ = fields.Nested(ImportOut, data_key="import", attribute="import")
    job = fields.Nested(JobOut)


# --- team: members, assignment, review, history, acceptance ------------------------------------


class MemberIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX))
    role = fields.String(required=True, validate=validate.OneOf(DATASET_ROLES))


class MemberUpdate(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(DATASET_ROLES))


class MemberOut(Schema):
    user_id = fields.Integer()
    username = fields.Function(lambda m: m.user.username, metadata={"type": "string"})
    role = fields.String()
    added_at = fields.DateTime()


class MemberList(Schema):
    items = fields.List(fields.Nested(MemberOut))


class MemberRemoved(Schema):
    returned_to_pool = fields.Integer(metadata={"description": "the member's open samples given back to no one"})


class AssignIn(StrictSchema):
    labelers = fields.List(fields.String(validate=validate.Length(min=1, max=NAME_MAX)), required=True,
                           validate=validate.Length(min=1, max=500), metadata={"description": "usernames of members who label"})
    shares = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=1_000_000)), load_default=None,
                         metadata={"description": "one whole number per labeler (default: even)"})
    filter = fields.Nested(SampleFilterIn, load_default=lambda: {"state": "unlabeled", "assigned_to": "nobody"}, metadata={
        "description": "which samples, as the sample list's filters; default: unlabeled ones given to no one"})


class UnassignIn(StrictSchema):
    filter = fields.Nested(SampleFilterIn, required=True)


class AssignedOut(Schema):
    matched = fields.Integer()
    per_labeler = fields.Dict(keys=fields.String(), values=fields.Integer())


class UnassignedOut(Schema):
    unassigned = fields.Integer()


class NextArgs(StrictSchema):
    after = fields.Integer(load_default=None, metadata={"description": "the sample just done: the next one after it"})


class NextOut(Schema):
    sample_id = fields.Integer(allow_none=True, metadata={"description": "null: nothing left"})
    remaining = fields.Integer(metadata={"description": "open samples in the queue, counted up to 1000 (1000: at least that many)"})


class ReviewIn(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["accept", "reject"]))
    rating = fields.String(load_default=None, validate=validate.OneOf(RATINGS), metadata={"description": "required to accept"})
    reason = fields.String(load_default=None, validate=validate.Length(max=2000), metadata={"description": "required to reject"})


class RevisionOut(Schema):
    revision = fields.Integer()
    saved_by = fields.Function(lambda r: r.saved_by.username if r.saved_by else None, metadata={"type": "string", "nullable": True})
    saved_at = fields.DateTime()
    tool = fields.String(metadata={"description": "api, page, restore, or import (the state before the first save we kept)"})
    replaced_revision = fields.Integer(allow_none=True)
    replaced_by = fields.Function(lambda r: r.replaced_by.username if r.replaced_by else None, metadata={"type": "string", "nullable": True})
    restored_from = fields.Integer(allow_none=True)
    objects = fields.List(fields.Dict(), metadata={"description": "the objects of that revision, with who made them"})


class RevisionList(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(RevisionOut))


class RestoreIn(StrictSchema):
    revision = fields.Integer(required=True, validate=validate.Range(min=0, max=2**31 - 1),
                              metadata={"description": "the sample's current revision (as a save sends it)"})


class AcceptanceIn(StrictSchema):
    rate = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(min=0, max=1, min_inclusive=False))
    count = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=100_000))
    seed = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=0, max=2**31 - 1))


class CheckIn(StrictSchema):
    verdict = fields.String(required=True, validate=validate.OneOf(["pass", "reject"]))
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))


class FinishIn(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(["pass_all", "reject_all", "pass_rest"]))


class DrawnOut(Schema):
    sample_id = fields.Integer()
    labeler = fields.String(allow_none=True)
    rating = fields.String(allow_none=True)
    verdict = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    checked_at = fields.DateTime(allow_none=True)


class LabelerReportOut(Schema):
    labeler = fields.String(allow_none=True)
    drawn = fields.Integer()
    checked = fields.Integer()
    passed = fields.Integer()
    rejected = fields.Integer()
    pass_rate = fields.Float(allow_none=True)
    average_rating = fields.Float(allow_none=True, metadata={"description": "A = 4 ... D = 1"})


class AcceptanceOut(Schema):
    id = fields.Integer()
    state = fields.String()
    seed = fields.Integer()
    pool = fields.Integer()
    drawn = fields.Integer()
    outcome = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    samples = fields.List(fields.Nested(DrawnOut))
    report = fields.List(fields.Nested(LabelerReportOut))


class TeamMemberStats(Schema):
    username = fields.String()
    role = fields.String(allow_none=True)
    images = fields.Integer()
    objects = fields.Integer()
    assigned = fields.Integer()
    open = fields.Integer()
    submitted = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.Integer()


class DaySaves(Schema):
    day = fields.String()
    username = fields.String()
    saves = fields.Integer()


class TeamStatsOut(Schema):
    members = fields.List(fields.Nested(TeamMemberStats))
    per_day = fields.List(fields.Nested(DaySaves))
