"""The dataset page's state in the URL: tab, filter bar and page, read with the API's schema."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from ..errors import form_errors
from ..schemas import SampleQuery
from ..services.filters import QUERY_ARGS, SampleFilter

PAGE_SIZES = (20, 50, 100)
# URL parameters that make up the filter: the API's, less those the filter bar has not (a folder
# is typed in `path`; the page has no sort order). `page` and `limit` are paging, not filtering.
FILTER_PARAMS = tuple(arg for arg in QUERY_ARGS.values() if arg not in ("dir", "order"))
# Parameters the filter bar passes to the API's schema as they are.
PLAIN_PARAMS = ("state", "label_op", "labeled_by")


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


def read_state(args: MultiDict, folder: str = "") -> ListState:
    """Read the page state from URL arguments; bad values are reported, not raised.

    `folder` is the key prefix of the dataset's input path: a folder typed in the filter bar is
    taken inside it.
    """
    state = ListState(MultiDict([(k, v) for k, v in args.items(multi=True) if v != ""]))
    state.page = _positive_int(args.get("page"), 1)
    limit = _positive_int(args.get("limit"), PAGE_SIZES[0])
    state.limit = limit if limit in PAGE_SIZES else PAGE_SIZES[0]
    state.cursor = args.get("cursor") or None
    try:
        state.filter = read_filter(state.args, folder)
    except ValidationError as exc:
        state.errors = form_errors(exc)
    return state


def read_filter(args: MultiDict, folder: str = "") -> SampleFilter:
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
    path = (args.get("path") or "").strip()
    if path.endswith("/"):
        data["dir"] = path if path.startswith(folder) else folder + path.lstrip("/")
    elif path:
        data["path"] = path
    return SampleFilter.from_args(SampleQuery().load(data))


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
