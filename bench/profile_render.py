"""Profile where a render spends its time.

    .venv/bin/python -m bench.profile_render                      # seed case, frame drawing only, pyinstrument
    .venv/bin/python -m bench.profile_render --spec SPEC.pickle   # a spec saved by bench.render_bench
    .venv/bin/py-spy record --threads --subprocesses -o render.svg -- .venv/bin/python -m bench.profile_render --mode render --no-profiler

`--mode draw` draws every frame on this thread without encoding, so pyinstrument (which
samples the thread it starts on) sees the whole Python side. `--mode render` runs
render_video with its producer thread and ffmpeg; profile that with py-spy, which samples
every thread and, with --subprocesses, ffmpeg too.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import tempfile
import time
from pathlib import Path

from pipeline.config import PipelineConfig
from pipeline.models import RenderSpec

from bench.cases import CASES

logger = logging.getLogger(__name__)


def _load_spec(args: argparse.Namespace, scratch: Path) -> RenderSpec:
    if args.spec is not None:
        with args.spec.open("rb") as handle:
            spec, _audio = pickle.load(handle)
        return spec  # type: ignore[no-any-return]
    from bench.render_bench import capture_render

    print(f"running the {args.case} job in this process to get its RenderSpec ...", flush=True)
    return capture_render(CASES[args.case], scratch, PipelineConfig.from_env()).spec


def _draw_all(spec: RenderSpec) -> int:
    from pipeline.render import FrameRenderer, frame_count

    renderer = FrameRenderer(spec)
    frames = frame_count(spec)
    for index in range(frames):
        renderer.draw(index)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_render", description="Profile drawing or rendering one video.")
    parser.add_argument("--case", choices=sorted(CASES), default="seed_1080p_30s", help="case whose RenderSpec to profile")
    parser.add_argument("--spec", type=Path, default=None, help="pickled (RenderSpec, audio path) written by bench.render_bench")
    parser.add_argument("--mode", choices=("draw", "render"), default="draw", help="draw frames only, or draw and encode")
    parser.add_argument("--no-profiler", action="store_true", help="run without pyinstrument, for an outside profiler such as py-spy")
    parser.add_argument("--output", type=Path, default=None, help="also write the pyinstrument text report here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="ragnarok-profile-") as scratch:
        spec = _load_spec(args, Path(scratch))
        profiler = None
        if not args.no_profiler:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
            profiler.start()
        cpu_before, started = os.times(), time.perf_counter()
        if args.mode == "draw":
            frames = _draw_all(spec)
        else:
            from pipeline.render import frame_count, render_video

            frames = frame_count(spec)
            render_video(spec, Path(scratch) / "profiled.mp4", audio_path=None, config=PipelineConfig.from_env())
        elapsed = time.perf_counter() - started
        cpu_after = os.times()
        if profiler is not None:
            profiler.stop()
            text = profiler.output_text(unicode=False, color=False, show_all=False)
            print(text)
            if args.output is not None:
                args.output.write_text(text)
    own_cpu = cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system
    child_cpu = cpu_after.children_user + cpu_after.children_system - cpu_before.children_user - cpu_before.children_system
    print(f"{args.mode}: {frames} frames in {elapsed:.2f} s ({frames / elapsed:.1f} fps); CPU {own_cpu:.2f} s here, {child_cpu:.2f} s in ffmpeg")


if __name__ == "__main__":
    main()
