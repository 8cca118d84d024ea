"""The dataset page's state in the URL: tab, filter bar and page, read with the API's schema."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from storage.uris import ObjectURI

from ..errors import form_errors
from ..schemas import SampleFilterIn, SampleQuery
from ..services.filters import QUERY_ARGS, SampleFilter

PAGE_SIZES = (20, 50, 100)
# URL parameters that make up the filter: the API's, less those the filter bar has not (a folder
# is typed in `path`; the page has no sort order). `page` and `limit` are paging, not filtering.
FILTER_PARAMS = tuple(arg for arg in QUERY_ARGS.values() if arg not in ("dir", "order"))
# Parameters the filter bar passes to the API's schema as they are.
PLAIN_PARAMS = ("state", "label_op", "labeled_by", "assigned_to", "review")
URI = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclass
class ListState:
    """What the dataset page shows: the filter, the page, and any errors in the filter bar."""

    args: MultiDict
    filter: SampleFilter = field(default_factory=SampleFilter)
    page: int = 1
    limit: int = PAGE_SIZES[0]
    # Where "Next" left off: paging on by cursor stays an index range however deep it goes.
    cursor: str | None = None
    errors: dict[str, Any] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def url_args(self, **changes: Any) -> str:
        """Return the query string of this state with some parameters changed (None drops one).

        The cursor belongs to one page only: it is dropped unless given.
        """
        args = MultiDict(self.args)
        args.poplist("cursor")
        for name, value in changes.items():
            args.poplist(name)
            if value is None:
                continue
            for item in value if isinstance(value, list | tuple) else [value]:
                args.add(name, item)
        pairs = [(k, v) for k, v in args.items(multi=True) if v not in ("", None)]
        return urlencode(pairs)

    def filter_args(self) -> str:
        """Return the query string of the filter alone (carried to the labeling page)."""
        args = MultiDict([(k, v) for k, v in self.args.items(multi=True) if k in FILTER_PARAMS and v])
        return urlencode(list(args.items(multi=True)))


def read_state(args: MultiDict, root: ObjectURI | None = None) -> ListState:
    """Read the page state from URL arguments; bad values are reported, not raised.

    `root` is the dataset's input path: a folder typed in the filter bar is taken inside it, and a
    pasted URI of its bucket is read as a key.
    """
    state = ListState(MultiDict([(k, v) for k, v in args.items(multi=True) if v != ""]))
    state.page = _positive_int(args.get("page"), 1)
    limit = _positive_int(args.get("limit"), PAGE_SIZES[0])
    state.limit = limit if limit in PAGE_SIZES else PAGE_SIZES[0]
    state.cursor = args.get("cursor") or None
    try:
        state.filter = read_filter(state.args, root)
    except ValidationError as exc:
        state.errors = form_errors(exc)
    return state


def read_filter(args: MultiDict, root: ObjectURI | None = None) -> SampleFilter:
    """Turn the filter bar's parameters into the service's filter, through the API's schema."""
    data: dict[str, Any] = {"label": args.getlist("label")}
    for name in PLAIN_PARAMS:
        if args.get(name):
            data[name] = args[name]
    created = args.get("created")
    if created in ("1d", "1m"):
        data["created"] = created
    elif created == "range":
        if args.get("created_from"):
            data["created_from"] = _day_start(args["created_from"])
        if args.get("created_to"):
            data["created_to"] = _day_end(args["created_to"])
    data.update(_path_filter((args.get("path") or "").strip(), root))
    return SampleFilter.from_args(SampleQuery().load(data))


def api_filter(f: SampleFilter) -> dict[str, Any]:
    """Return a filter as the API's JSON filter (`SampleFilterIn`): the Team tab assigns the
    Images tab's filter with it."""
    values = {arg: getattr(f, name) for name, arg in QUERY_ARGS.items() if name != "order"}
    return SampleFilterIn().dump({arg: value for arg, value in values.items() if value not in (None, [])})


def _path_filter(path: str, root: ObjectURI | None) -> dict[str, str]:
    """Read the "File name or path" box: a folder ends with '/' and is taken inside the input path;
    anything else is a part of the key. A pasted URI (`s3://bucket/folder/`, copied from the
    object store's console) names a key of the dataset's bucket."""
    folder = root.key if root else ""
    if URI.match(path):
        key = _key_of(path, root)
        if key == "" or (key.endswith("/") and folder.startswith(key)):  # the input path, or a folder above it
            return {}
        if key.endswith("/") and not key.startswith(folder):
            raise ValidationError({"path": [f"{path} is outside the input path {root}"]})
        path = key
    if path.endswith("/"):
        return {"dir": path if path.startswith(folder) else folder + path.lstrip("/")}
    return {"path": path} if path else {}


def _key_of(uri: str, root: ObjectURI | None) -> str:
    """Return the key a URI names in the dataset's bucket; another bucket is an error."""
    bucket = str(ObjectURI(root.scheme, root.bucket, "")) if root else None
    if bucket is None or not uri.lower().startswith(bucket.lower()):
        raise ValidationError({"path": [f"{uri} is not in this dataset's bucket{f' ({bucket})' if bucket else ''}"]})
    return uri[len(bucket):]


def page_numbers(current: int, pages: int, around: int = 2) -> list[int | None]:
    """Return the page numbers a pager shows: the first, the last and those around the current
    one, None where a run of pages is left out (1 … 4 5 [6] 7 8 … 20)."""
    shown = sorted({1, pages, *range(max(current - around, 1), min(current + around, pages) + 1)})
    numbers: list[int | None] = []
    for n in shown:
        if numbers and n - numbers[-1] > 2:
            numbers.append(None)
        elif numbers and n - numbers[-1] == 2:
            numbers.append(n - 1)  # a gap of one page shows that page rather than "…"
        numbers.append(n)
    return numbers


def _day_start(day: str) -> str:
    """A custom range's first day starts at midnight UTC."""
    return f"{day}T00:00:00+00:00" if len(day) == 10 else day


def _day_end(day: str) -> str:
    """A custom range's last day is included whole."""
    return f"{day}T23:59:59.999999+00:00" if len(day) == 10 else day


def _positive_int(value: str | None, default: int) -> int:
    try:
        number = int(value or default)
    except ValueError:
        return default
    return number if number >= 1 else default
