"""A pipeline double whose video is several MiB, so downloads span many ReadArtifact chunks.

Used as RAGNAROK_PIPELINE_ENTRY="tests.gateway.large_video_pipeline:run_job".
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from pipeline.models import JobOutput, JobReporter, JobRequest
from tests.support import pipeline_double


def run_job(request: JobRequest, workdir: Path, config: Any, reporter: JobReporter) -> JobOutput:
    output = pipeline_double.run_job(request, workdir, config, reporter)
    # Lossless x264 of a busy test pattern: about 1 MiB per second at this size.
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=5",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=5",
         "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         str(output.video_path)],
        check=True,
    )
    return output
