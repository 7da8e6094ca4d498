"""The test pipeline double with one more marker, for machines where a tiny disk cannot be mounted.

    #enospc  write part of a file in the render stage, then fail that write with
             ENOSPC ("No space left on device"), as a full disk would

Every other brief runs tests/support/pipeline_double.py unchanged. Select it with
RAGNAROK_PIPELINE_ENTRY=tests.reliability.fault_pipeline:run_job.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from pipeline.models import JobOutput, JobReporter, JobRequest
from tests.support import pipeline_double

PARTIAL_FRAMES = "frames.raw"


def run_job(request: JobRequest, workdir: Path, config: Any, reporter: JobReporter) -> JobOutput:
    if "#enospc" not in request.brief:
        return pipeline_double.run_job(request, workdir, config, reporter)
    reporter.progress("script", 10.0, "script written")
    reporter.progress("render", 60.0, "writing frames")
    target = workdir / PARTIAL_FRAMES
    with target.open("wb") as frames:
        frames.write(b"\0" * 4096)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
