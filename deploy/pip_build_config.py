"""Give pip inside an image build the settings pip has on this machine, for a mirror or a proxy.

`python3 deploy/pip_build_config.py DIR` writes DIR/pip.conf from `pip config list` (every file and
PIP_* variable pip reads here) and prints the buildah `--volume` options that mount it as the
build's /etc/pip.conf, with each local file and folder it names, read-only. Files (a CA bundle,
constraints) are mounted under /run/pip/ so they shadow nothing the image installs, such as its
own /etc/ssl/certs; folders (a wheelhouse, a `.../simple` index with the files beside it) at their
own paths. Nothing is printed when pip has no settings here: the build then uses PyPI as it is.
"""
from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

SETTING = re.compile(r"^(?P<section>[^.]*)\.(?P<key>[^=]+)='(?P<value>.*)'$")
LOCAL = re.compile(r"^(?:file://)?(/\S*)$")


def settings() -> dict[tuple[str, str], str]:
    """Return pip's effective settings here, {(section, key): value}; PIP_* variables as global."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False).stdout
    found = {}
    for line in listed.splitlines():
        if match := SETTING.match(line.strip()):
            section = "global" if match["section"] in (":env:", "") else match["section"]
            found[(section, match["key"])] = match["value"]
    return found


def localize(value: str, volumes: dict[str, str]) -> str:
    """Rewrite the local paths in a setting for the build, recording what to mount where."""
    words = []
    for word in value.split():
        path = Path(match[1]) if (match := LOCAL.match(word)) else None
        if path is None or not path.exists():
            words.append(word)
        elif path.is_file():
            inside = f"/run/pip/{path.name}"
            volumes[str(path)] = inside
            words.append(word.replace(str(path), inside))
        else:  # an index's `simple/` pages link to the files beside it: mount their parent
            folder = str(path.parent if path.name == "simple" else path)
            volumes[folder] = folder
            words.append(word)
    return " ".join(words)


def main(out_dir: str) -> None:
    found = settings()
    if not found:
        return
    volumes: dict[str, str] = {}
    config = configparser.ConfigParser(interpolation=None)
    for (section, key), value in sorted(found.items()):
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, key, localize(value, volumes))
    conf = Path(out_dir) / "pip.conf"
    with conf.open("w") as f:
        config.write(f)
    volumes[str(conf)] = "/etc/pip.conf"
    for source, target in volumes.items():
        print(f"--volume={source}:{target}:ro")


if __name__ == "__main__":
    main(sys.argv[1])
