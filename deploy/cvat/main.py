"""The CVAT interactor's nuclio handler: CVAT's request goes to the inference worker, its answer comes back.

All mapping (points, box, clicks -> the worker's prompt; outline -> CVAT's `points` and `mask`)
lives in the worker (`inference_worker/peers/cvat.py`), so this file only forwards.
"""

import json
import os

import requests

TIMEOUT_S = 30


def init_context(context):
    context.user_data.session = requests.Session()
    context.user_data.url = os.environ.get("WORKER_URL", "http://inference:8090").rstrip("/") + "/cvat/interactor"
    token = os.environ.get("WORKER_TOKEN", "")
    context.user_data.headers = {"Authorization": f"Bearer {token}"} if token else {}


def handler(context, event):
    body = event.body if isinstance(event.body, dict) else json.loads(event.body)
    answer = context.user_data.session.post(context.user_data.url, json=body, headers=context.user_data.headers, timeout=TIMEOUT_S)
    return context.Response(body=answer.text, headers={}, content_type="application/json", status_code=answer.status_code)
