"""A small client for the inference worker: bounded time, clear errors."""
from __future__ import annotations

from typing import Any

import requests

from ..errors import DomainError, Invalid, Unavailable


class BadGateway(DomainError):
    status, code = 502, "inference_failed"


def outline(worker_url: str, uri: str, prompt: dict[str, Any], timeout_s: float, token: str = "") -> dict[str, Any]:
    """Return the worker's polygons for an image URI and a prompt: four extreme `points` or a
    `box`, with optional correction `clicks`; send `token` as the bearer."""
    path, body = ("/v1/box", {"box": prompt["box"]}) if "box" in prompt else ("/v1/extreme-points", {"points": prompt["points"]})
    if prompt.get("clicks"):
        body["clicks"] = [[x, y, int(label)] for x, y, label in prompt["clicks"]]
    try:
        response = requests.post(
            f"{worker_url.rstrip('/')}{path}",
            json={"image": {"uri": uri}, **body},
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
        field = _field_of(body.get("error", ""))
        raise Invalid(f"{field}: {message}", {field: [message]})
    if response.status_code == 401:
        raise BadGateway("The inference worker refused this service's token: WORKER_TOKEN differs between the two.")
    if response.status_code in (502, 503, 504):
        raise Unavailable(f"The inference worker is busy or cannot read the image: {message}")
    raise BadGateway(f"The inference worker failed: {message}")


def _field_of(code: str) -> str:
    """Return the request field a worker's 400 code is about (its codes name it: invalid_clicks, box_outside_image...)."""
    return next((field for field in ("clicks", "box") if field.rstrip("s") in code), "points")
