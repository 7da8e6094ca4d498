#!/usr/bin/env bash
# Install everything Ragnarok needs on a Debian or Ubuntu machine: system packages
# (ffmpeg, espeak-ng, CJK fonts) when missing, then a virtual environment in .venv
# with the project and its development tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

system_packages=(ffmpeg espeak-ng fonts-dejavu-core fonts-noto-cjk)
missing=()
for package in "${system_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "Missing system packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
echo "Setup done: .venv is ready."
