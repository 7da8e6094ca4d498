"""Probes that tests run on rendered media with ffmpeg itself, apart from the code under test."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def ebur128(path: Path) -> tuple[float, float]:
    """Return (integrated LUFS, true peak dBTP) as ffmpeg's ebur128 filter reports them."""
    stderr = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-i", str(path), "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr
    summary = stderr[stderr.rfind("Summary:") :]
    integrated = float(re.search(r"I:\s*(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s*(-?[\d.]+) dBFS", summary).group(1))  # type: ignore[union-attr]
    return integrated, peak
