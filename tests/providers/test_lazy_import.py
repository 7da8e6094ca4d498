"""An offline job never imports the OpenAI SDK, which costs each job worker about 0.4 s."""

from __future__ import annotations

import subprocess
import sys

OFFLINE_JOB_IMPORTS = """
import sys
import pipeline.run
from pipeline.config import PipelineConfig
from pipeline.models import JobRequest
from pipeline.providers import Providers
from tests.providers.conftest import baseline_analysis

with Providers.from_config(PipelineConfig.from_env({})) as providers:
    assert providers.analyze_brief(JobRequest(brief="A brief of some length."), baseline_analysis()) is None
print("openai" in sys.modules)
"""


def test_offline_job_skips_openai_import() -> None:
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_JOB_IMPORTS], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_scene_plan_names_still_exported() -> None:
    import pipeline.providers as providers
    from pipeline.providers.copy import PlannedShot, ScenePlan

    assert providers.ScenePlan is ScenePlan
    assert providers.PlannedShot is PlannedShot
