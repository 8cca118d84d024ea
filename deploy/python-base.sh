#!/bin/sh
# The first step of both images: Python 3.11 with venv, the virtualenv /opt/venv, and the user the
# processes run as. A python:3.11-slim base has Python already; a bare Debian bookworm (made by
# deploy/base-image.sh where no registry can be reached) gets it from Debian's packages.
set -eu

if ! command -v python3 >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates
  rm -rf /var/lib/apt/lists/*
fi
python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is needed, not {sys.version}"'
python3 -m venv /opt/venv

# uid and gid 10001: the chart's podSecurityContext runs the pods as them.
groupadd --system --gid 10001 app
useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/dataset-service --create-home --shell /usr/sbin/nologin app
