"""Facts about the machine a benchmark ran on, recorded next to its figures."""

from __future__ import annotations

import datetime
import logging
import os
import platform
import subprocess
import sys

import psutil

logger = logging.getLogger(__name__)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ffmpeg_version() -> str:
    try:
        output = subprocess.run(["ffmpeg", "-hide_banner", "-version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return output.splitlines()[0] if output else "unknown"


def describe_machine() -> dict[str, object]:
    """Return the CPU count and model, memory, OS, Python and ffmpeg versions, load and the time now (UTC)."""
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "ffmpeg": _ffmpeg_version(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }
