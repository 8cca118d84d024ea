"""The dataset page's URL state: read through the API's schema, written back for links."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from dataset_service.errors import Invalid, form_errors
from dataset_service.schemas import SampleQuery
from dataset_service.services.filters import QUERY_ARGS, SampleFilter
from dataset_service.web.query import FILTER_PARAMS, page_numbers, read_state
from dataset_service.web.wording import error_lines
from storage.uris import parse_uri


def state(query: str, root: str = "s3://bucket/cats/"):
    pairs = [tuple(part.split("=", 1)) for part in query.split("&") if part]
    return read_state(MultiDict(pairs), parse_uri(root))


def test_empty_query_is_everything_first_page():
    s = state("")
    assert (s.filter.state, s.filter.labels, s.page, s.limit, s.offset, s.errors) == ("all", [], 1, 20, 0, {})


def test_a_folder_is_taken_inside_the_input_path_and_a_name_is_a_substring():
    assert state("path=a/b/").filter.dir == "cats/a/b/"
    assert state("path=cats/a/").filter.dir == "cats/a/"
    assert (state("path=one.png").filter.path, state("path=one.png").filter.dir) == ("one.png", None)


def test_a_pasted_uri_of_the_dataset_bucket_is_read_as_a_key():
    assert state("path=s3://bucket/cats/a/").filter.dir == "cats/a/"
    assert state("path=S3://bucket/cats/a/one.png").filter.path == "cats/a/one.png"
    assert state("path=s3://bucket/cats/").filter == SampleFilter()  # the input path itself: every image
    assert state("path=s3://bucket/").filter == SampleFilter()
    assert "outside the input path s3://bucket/cats/" in state("path=s3://bucket/dogs/").errors["path"][0]
    assert "not in this dataset's bucket (s3://bucket/)" in state("path=s3://other/cats/").errors["path"][0]


def test_filter_errors_name_the_fields_as_the_filter_bar_labels_them():
    errors = state("created=range&created_from=2026-13-40&labeled_by=" + "x" * 65).errors
    lines = error_lines(errors)
    assert any(line.startswith("Created from: ") for line in lines) and any(line.startswith("Labeled by: ") for line in lines)
    assert error_lines({"created_from": ["must not be after created_to"]}) == ["Created from: must not be after Created to"]
    assert error_lines({"_schema": "bad input"}) == ["Filter: bad input"]


def test_pager_numbers_show_the_ends_and_the_pages_around():
    assert page_numbers(1, 1) == [1]
    assert page_numbers(6, 20) == [1, None, 4, 5, 6, 7, 8, None, 20]
    assert page_numbers(4, 7) == [1, 2, 3, 4, 5, 6, 7]  # a gap of one page shows the page
    assert page_numbers(20, 20) == [1, None, 18, 19, 20]


def test_custom_range_takes_whole_days_in_utc_and_only_when_chosen():
    f = state("created=range&created_from=2026-03-01&created_to=2026-03-02").filter
    assert f.created_from == datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert f.created_to == datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert state("created=1d&created_from=2026-03-01").filter.created_from is None
    assert state("created=1m").filter.created == "1m"


def test_labels_repeat_and_combine():
    f = state("label=cat&label=dog&label_op=and").filter
    assert (f.labels, f.label_op) == (["cat", "dog"], "and")


def test_bad_values_are_reported_not_raised():
    assert "state" in state("state=maybe").errors
    assert "labeled_by" in state("labeled_by=" + "x" * 65).errors
    s = state("page=-3&limit=7")
    assert (s.page, s.limit) == (1, 20)


def test_links_change_one_parameter_and_keep_the_rest():
    s = state("state=labeled&label=cat&label=dog&page=3&path=&cursor=abc")
    assert s.cursor == "abc"
    assert s.url_args(page=4) == "state=labeled&label=cat&label=dog&page=4"
    assert s.url_args(page=4, cursor="def") == "state=labeled&label=cat&label=dog&page=4&cursor=def"
    assert s.url_args(state=None, page=None) == "label=cat&label=dog"
    assert s.filter_args() == "state=labeled&label=cat&label=dog"


def test_the_api_and_the_page_build_the_filter_from_the_same_schema_arguments():
    assert set(QUERY_ARGS.values()) <= set(SampleQuery().fields)
    assert set(FILTER_PARAMS) == set(QUERY_ARGS.values()) - {"dir", "order"}
    parsed = SampleQuery().load({
        "state": "labeled", "label": "cat,dog", "label_op": "and", "created": "1d", "created_from": "2026-03-01T00:00:00+00:00",
        "created_to": "2026-03-02T00:00:00+00:00", "path": "one", "dir": "cats/a/", "labeled_by": "lena", "order": "-created",
    })
    f = SampleFilter.from_args(parsed)
    assert (f.state, f.labels, f.label_op, f.created, f.path, f.dir, f.labeled_by, f.order) == (
        "labeled", ["cat", "dog"], "and", "1d", "one", "cats/a/", "lena", "-created"
    )
    assert (f.created_from.day, f.created_to.day) == (1, 2)
    assert SampleFilter.from_args(SampleQuery().load({})) == SampleFilter()


def test_form_errors_key_messages_by_field():
    assert form_errors(ValidationError("bad input")) == {"_schema": ["bad input"]}
    assert form_errors(ValidationError({"state": ["bad"]})) == {"state": ["bad"]}
    assert form_errors(Invalid("label: unknown label(s) x.", {"label": ["unknown label: x"]})) == {"label": ["unknown label: x"]}
    assert form_errors(Invalid("Nothing to show.")) == {"_schema": ["Nothing to show."]}
