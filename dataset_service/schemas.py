"""The JSON shapes of the API: the only place they live."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from storage.annotations import SOURCES
from storage.annotations.geometry import number_text

from .models import LABEL_NAME_MAX, NAME_MAX
from .passwords import PASSWORD_MAX, PASSWORD_MIN, password_problem
from .services.colors import COLOR_RE
from .services.filters import CURSOR_MAX_CHARS
from .services.users import ROLES, username_problem
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


class SampleQuery(PageArgs):
    state = fields.String(load_default="all", validate=validate.OneOf(["all", "unlabeled", "labeled"]))
    label = CommaList(fields.String(), load_default=list)
    label_op = fields.String(load_default="or", validate=validate.OneOf(["or", "and"]))
    created = fields.String(load_default=None, validate=validate.OneOf(["1d", "1m"]))
    created_from = fields.AwareDateTime(load_default=None, default_timezone=None)
    created_to = fields.AwareDateTime(load_default=None, default_timezone=None)
    path = fields.String(load_default=None, validate=validate.Length(min=1, max=1000))
    dir = fields.String(load_default=None, validate=[validate.Length(min=1, max=1000), validate.Regexp(r".*/$", error="must end with '/'")])
    labeled_by = fields.String(load_default=None, validate=validate.Length(min=1, max=NAME_MAX))
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


class Polygon(fields.List):
    """A polygon's points, open: a last point that repeats the first (a closed ring, as other tools
    send it) is dropped, compared as the XML writes coordinates, before the length is checked."""

    def _deserialize(self, value, attr, data, **kwargs) -> list:
        points = super()._deserialize(value, attr, data, **kwargs)
        if len(points) > 1 and [number_text(v) for v in points[0]] == [number_text(v) for v in points[-1]]:
            return points[:-1]
        return points


class ObjectIn(StrictSchema):
    id = fields.Integer(load_default=None, allow_none=True)
    label = fields.String(required=True, validate=validate.Length(min=1, max=LABEL_NAME_MAX))
    shape = fields.String(load_default="polygon", validate=validate.OneOf(["polygon"]))
    points = Polygon(Point, required=True, validate=validate.Length(min=3, max=10000, error="a polygon needs 3 to 10000 points"))
    source = fields.String(load_default="manual", validate=validate.OneOf(SOURCES))


MAX_SAVE_POINTS = 100_000  # one save's points in all: 40 objects of 10,000 points took an API thread 39 s


class AnnotationIn(StrictSchema):
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**31 - 1))  # a 32-bit column
    objects = fields.List(fields.Nested(ObjectIn), required=True, validate=validate.Length(max=2000))

    @pre_load
    def limit_points(self, data, **kwargs):
        """Refuse more than MAX_SAVE_POINTS points in all, counted before any point is read."""
        objects = data.get("objects") if isinstance(data, dict) else None
        if isinstance(objects, list):
            total = sum(len(o["points"]) for o in objects if isinstance(o, dict) and isinstance(o.get("points"), list))
            if total > MAX_SAVE_POINTS:
                raise ValidationError(f"{total} points in all; a save may hold at most {MAX_SAVE_POINTS}", "objects")
        return data


class ObjectOut(Schema):
    id = fields.Integer()
    label = fields.Function(lambda o: o.label.name)
    shape = fields.String()
    points = fields.List(fields.List(fields.Float()))
    source = fields.String()
    created_by = fields.Function(lambda o: o.created_by.username if o.created_by else o.imported_by)
    created_at = fields.DateTime()
    updated_by = fields.Function(lambda o: o.updated_by.username if o.updated_by else o.imported_by)
    updated_at = fields.DateTime()


class AnnotationOut(Schema):
    revision = fields.Integer()
    objects = fields.List(fields.Nested(ObjectOut))
    saved_by = fields.String(allow_none=True)
    saved_at = fields.DateTime(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)


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


class InferIn(StrictSchema):
    points = fields.List(Point, required=True, validate=validate.Length(equal=4, error="give exactly four extreme points"))


class InferOut(Schema):
    polygons = fields.List(fields.List(fields.List(fields.Float())))
    bbox = fields.List(fields.Float())
    score = fields.Float()
    model = fields.String()
    inference_ms = fields.Float()


class UploadIn(StrictSchema):
    files = fields.List(Upload(), required=True, validate=validate.Length(min=1), metadata={"description": "JPG, PNG or BMP images"})


class UploadOut(Schema):
    items = fields.List(fields.Nested(SampleOut))


# --- jobs -----------------------------------------------------------------------------------


class JobOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    dataset_id = fields.Integer()
    status = fields.String()
    stage = fields.String(allow_none=True)
    progress = fields.Dict()
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


class JobEnvelope(Schema):
    job = fields.Nested(JobOut)


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


class ExportEnvelope(Schema):
    export = fields.Nested(ExportOut)
    job = fields.Nested(JobOut)
