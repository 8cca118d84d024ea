"""A small client for the inference worker: bounded time, clear errors."""
from __future__ import annotations

from typing import Any

import requests

from ..errors import DomainError, Invalid, Unavailable


class BadGateway(DomainError):
    status, code = 502, "inference_failed"


def extreme_points(worker_url: str, uri: str, points: list[list[float]], timeout_s: float, token: str = "") -> dict[str, Any]:
    """Return the worker's polygons for an image URI and four extreme points; send `token` as the bearer."""
    try:
        response = requests.post(
            f"{worker_url.rstrip('/')}/v1/extreme-points",
            json={"image": {"uri": uri}, "points": points},
            headers=_auth_headers(token),
            timeout=(min(3.0, timeout_s), timeout_s),
        )
    except requests.Timeout:
        raise Unavailable(f"The inference worker did not answer within {timeout_s:g} s; try again.") from None
    except requests.ConnectionError:
        raise Unavailable(f"The inference worker at {worker_url} is not reachable; try again later.") from None
    return _result(response)


def _auth_headers(token: str) -> dict[str, str]:
    """Return the Authorization header of the worker's shared secret (none when it is not set)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def _result(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    message = body.get("message") or f"the worker answered HTTP {response.status_code}"
    if response.status_code == 200:
        return body
    if response.status_code == 400:
        raise Invalid(f"points: {message}", {"points": [message]})
    if response.status_code == 401:
        raise BadGateway("The inference worker refused this service's token: WORKER_TOKEN differs between the two.")
    if response.status_code in (502, 503, 504):
        raise Unavailable(f"The inference worker is busy or cannot read the image: {message}")
    raise BadGateway(f"The inference worker failed: {message}")
