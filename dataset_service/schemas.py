"""The JSON shapes of the API: the only place they live."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from storage.annotations import SOURCES

from .models import LABEL_NAME_MAX, NAME_MAX
from .services.colors import COLOR_RE

NAME = validate.Regexp(
    rf"^[A-Za-z0-9][A-Za-z0-9 _.-]{{0,{NAME_MAX - 1}}}$", error=f"use 1-{NAME_MAX} letters, digits, space, '.', '_' or '-'"
)
COLOR = validate.Regexp(COLOR_RE.pattern, error="must look like '#RRGGBB'")


class StrictSchema(Schema):
    class Meta:
        unknown = EXCLUDE


# --- auth and users ---------------------------------------------------------------------------


class TokenRequest(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class TokenResponse(Schema):
    token = fields.String()
    username = fields.String()
    role = fields.String()


class UserCreate(StrictSchema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$", error="use 1-64 letters, digits, '.', '_' or '-'"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=256))
    role = fields.String(load_default="labeler", validate=validate.OneOf(["admin", "labeler"]))


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
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
    counts = fields.Nested(CountsOut, dump_default=None)


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
    cursor = fields.String(load_default=None, validate=validate.Length(max=4000))
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


class ObjectIn(StrictSchema):
    id = fields.Integer(load_default=None, allow_none=True)
    label = fields.String(required=True, validate=validate.Length(min=1, max=LABEL_NAME_MAX))
    shape = fields.String(load_default="polygon", validate=validate.OneOf(["polygon"]))
    points = fields.List(Point, required=True, validate=validate.Length(min=3, max=10000, error="a polygon needs 3 to 10000 points"))
    source = fields.String(load_default="manual", validate=validate.OneOf(SOURCES))


class AnnotationIn(StrictSchema):
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    objects = fields.List(fields.Nested(ObjectIn), required=True, validate=validate.Length(max=2000))


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


class InferIn(StrictSchema):
    points = fields.List(Point, required=True, validate=validate.Length(equal=4, error="give exactly four extreme points"))


class InferOut(Schema):
    polygons = fields.List(fields.List(fields.List(fields.Float())))
    bbox = fields.List(fields.Float())
    score = fields.Float()
    model = fields.String()
    inference_ms = fields.Float()


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
