"""Exit 0 when an HTTP health endpoint answers 200: the images' HEALTHCHECK and the compose file's.

`healthcheck [URL]`; without a URL, http://127.0.0.1:$PORT/healthz (PORT is the port gunicorn
binds in both images). Only the standard library: no curl or wget in a slim image.
"""
from __future__ import annotations

import os
import sys
import urllib.request


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else f"http://127.0.0.1:{os.environ.get('PORT', '8080')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:  # refused, timed out, or an HTTP error status
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
