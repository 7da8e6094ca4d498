"""The whole pipeline end to end: real stages, real encodes, probed outputs, progress and failures."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pipeline.run as run_module
from pipeline import platforms
from pipeline.brief import analyze_brief
from pipeline.config import PipelineConfig
from pipeline.errors import StageError
from pipeline.models import JobOutput, JobRequest, PlatformPreset, Voiceover
from pipeline.music import synthesize_music
from pipeline.run import ProgressTracker, job_seed, run_job
from pipeline.script import speech_seconds_available, write_script
from pipeline.visual_samples import sample_spec
from pipeline.voice import select_voice, synthesize_voiceover
from tests.support.media import ebur128

SMALL = PlatformPreset("test_small", 640, 360, 30, (0.05, 0.05, 0.08, 0.05))
TINY = PlatformPreset("test_tiny", 320, 180, 30, (0.05, 0.05, 0.08, 0.05))
SEED_BRIEF = (
    "Create a 30-second commercial for Barrios A2I, an AI automation company. Target audience: B2B SaaS "
    "founders and marketing directors. Highlight how AI automation gives startups enterprise-grade "
    "infrastructure. Tone: bold, innovative, cyberpunk aesthetic with cosmic cyan and neon amber colors."
)
STAGES = ("analyze", "script", "voice", "storyboard", "captions", "music", "render", "thumbnail", "quality_check")
# Stages that run on worker threads beside the main line, so their reports interleave with it.
BACKGROUND_STAGES = ("music", "mix")


class RecordingReporter:
    """JobReporter that keeps every report, from any thread."""

    def __init__(self) -> None:
        self.progress_reports: list[tuple[str, float, str]] = []
        self.warnings: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def progress(self, stage: str, percent: float, message: str = "") -> None:
        with self._lock:
            self.progress_reports.append((stage, percent, message))

    def warning(self, stage: str, message: str) -> None:
        with self._lock:
            self.warnings.append((stage, message))


@pytest.fixture(autouse=True)
def small_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(platforms.PRESETS, SMALL.name, SMALL)
    monkeypatch.setitem(platforms.PRESETS, TINY.name, TINY)


def probe(path: Path) -> dict[str, object]:
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(output)


def decodes_cleanly(path: Path) -> bool:
    done = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    return done.returncode == 0 and not done.stderr.strip()


def srt_texts(path: Path) -> list[str]:
    blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
    return [" ".join(block.split("\n")[2:]) for block in blocks]


def assert_progress_valid(reporter: RecordingReporter) -> None:
    percents = [percent for _, percent, _ in reporter.progress_reports]
    assert percents, "no progress was reported"
    assert all(later >= earlier for earlier, later in zip(percents, percents[1:])), percents
    assert percents[0] >= 0
    assert percents[-1] < 100


def test_run_job_end_to_end(tmp_path: Path) -> None:
    brief = "Don't miss Joe's 5 deals on 2025's best laptop for students. Big sale 🔥🔥 50% off! Tone: playful and fun."
    reporter = RecordingReporter()
    workdir = tmp_path / "job dir ü"
    output = run_job(JobRequest(brief=brief, duration_seconds=15, platform=SMALL.name, seed=5), workdir, PipelineConfig(), reporter)

    for path in (output.video_path, output.thumbnail_path, output.srt_path, output.vtt_path):
        assert path.is_file()
        assert path.resolve().is_relative_to(workdir.resolve())
    # Intermediate files are removed once the video passed its checks.
    assert not (workdir / "work").exists()
    info = probe(output.video_path)
    streams = {stream["codec_type"]: stream for stream in info["streams"]}  # type: ignore[index]
    assert streams["video"]["codec_name"] == "h264"
    assert (streams["video"]["width"], streams["video"]["height"]) == (640, 360)
    assert streams["audio"]["codec_name"] == "aac"
    assert abs(float(info["format"]["duration"]) - 15.0) <= 1 / 30  # type: ignore[index]
    assert decodes_cleanly(output.video_path)

    assert -15.0 <= float(output.details["integrated_lufs"]) <= -13.0  # type: ignore[arg-type]
    assert float(output.details["true_peak_dbtp"]) <= -1.0  # type: ignore[arg-type]
    assert output.cost_usd == 0.0
    assert output.duration_seconds == pytest.approx(15.0, abs=1 / 30)
    assert set(STAGES) <= set(output.stage_seconds)
    assert all(seconds >= 0 for seconds in output.stage_seconds.values())

    stages_seen = list(dict.fromkeys(stage for stage, _, _ in reporter.progress_reports))
    main_line = [stage for stage in STAGES if stage not in BACKGROUND_STAGES]
    assert [stage for stage in stages_seen if stage in main_line] == main_line
    assert set(BACKGROUND_STAGES) <= set(stages_seen)
    render_steps = [report for report in reporter.progress_reports if report[0] == "render"]
    assert len(render_steps) >= 5, "the render stage should report several steps"
    assert_progress_valid(reporter)

    # Captions show the script as written: apostrophes and digits kept, emoji left out.
    captions = " ".join(srt_texts(output.srt_path))
    written = re.sub(r"\s+", " ", re.sub("[\U0001f300-\U0001faff]", "", output.script)).strip()
    assert captions == written
    assert len(output.storyboard.scenes) >= 2
    assert all(scene.duration > 0 for scene in output.storyboard.scenes)

    # The thumbnail is a frame of the end card (brand and call to action), at the video's size.
    end_card = output.storyboard.scenes[-1]
    assert end_card.kind == "end_card"
    with Image.open(output.thumbnail_path) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.size == (640, 360)
        thumbnail_pixels = np.asarray(thumbnail.convert("RGB"), dtype=np.float32)
    end_frame = decode_frame(output.video_path, end_card.start + min(end_card.duration * 0.6, 2.5), (640, 360))
    hook_frame = decode_frame(output.video_path, 1.0, (640, 360))
    assert np.abs(thumbnail_pixels - end_frame).mean() < 8
    assert np.abs(thumbnail_pixels - hook_frame).mean() > np.abs(thumbnail_pixels - end_frame).mean()


def decode_frame(video: Path, seconds: float, size: tuple[int, int]) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(video), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(size[1], size[0], 3).astype(np.float32)


def test_run_job_concurrent_identical_requests(tmp_path: Path) -> None:
    request = JobRequest(brief="Launch week for Nimbus Notes, the calm note app for busy teams.", duration_seconds=15, platform=TINY.name)
    reporters = [RecordingReporter() for _ in range(4)]

    def one(number: int) -> JobOutput:
        return run_job(request, tmp_path / f"job{number}", PipelineConfig(), reporters[number])

    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(one, range(4)))

    videos = [output.video_path.resolve() for output in outputs]
    assert len(set(videos)) == 4
    for number, output in enumerate(outputs):
        assert output.video_path.resolve().is_relative_to((tmp_path / f"job{number}").resolve())
        info = probe(output.video_path)
        kinds = [stream["codec_type"] for stream in info["streams"]]  # type: ignore[index]
        assert kinds.count("audio") == 1
        assert decodes_cleanly(output.video_path)
        assert_progress_valid(reporters[number])


def test_run_job_names_failed_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crash = RuntimeError("engine crashed")

    def broken_voice(*args: object, **kwargs: object) -> None:
        raise crash

    monkeypatch.setattr(run_module, "synthesize_voiceover", broken_voice)
    reporter = RecordingReporter()
    with pytest.raises(StageError) as caught:
        run_job(JobRequest(brief="A bright new coffee brand.", duration_seconds=15, platform=SMALL.name), tmp_path, PipelineConfig(), reporter)
    assert caught.value.stage == "voice"
    assert "engine crashed" in str(caught.value)
    assert caught.value.__cause__ is crash
    assert_progress_valid(reporter)
    assert reporter.progress_reports[-1][0] == "voice"


def test_run_job_keeps_stage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_mix(*args: object, **kwargs: object) -> None:
        raise StageError("mix", "the mixed soundtrack is silent")

    monkeypatch.setattr(run_module, "mix_audio", failing_mix)
    reporter = RecordingReporter()
    with pytest.raises(StageError) as caught:
        run_job(JobRequest(brief="A bright new coffee brand.", duration_seconds=15, platform=SMALL.name), tmp_path, PipelineConfig(), reporter)
    assert caught.value.stage == "mix"
    assert str(caught.value) == "mix failed: the mixed soundtrack is silent"
    # The failed mix stops the render early instead of after every frame is drawn.
    render_fractions = [percent for stage, percent, _ in reporter.progress_reports if stage == "render"]
    assert max(render_fractions) < 80
    assert not (tmp_path / "output" / "commercial.mp4").exists()


def test_run_job_passes_reporter_errors(tmp_path: Path) -> None:
    class LeaseLost(Exception):
        pass

    class StoppingReporter(RecordingReporter):
        def progress(self, stage: str, percent: float, message: str = "") -> None:
            if stage == "voice":
                raise LeaseLost("lease lost")
            super().progress(stage, percent, message)

    with pytest.raises(LeaseLost):
        run_job(JobRequest(brief="A bright new coffee brand.", duration_seconds=15, platform=SMALL.name), tmp_path, PipelineConfig(), StoppingReporter())


def test_run_job_rejects_unknown_platform(tmp_path: Path) -> None:
    with pytest.raises(StageError, match="unknown platform 'betamax'"):
        run_job(JobRequest(brief="A brand.", platform="betamax"), tmp_path, PipelineConfig(), RecordingReporter())


def test_job_seed_stable() -> None:
    first = JobRequest(brief="Same brief")
    assert job_seed(first) == job_seed(JobRequest(brief="Same brief"))
    assert job_seed(first) != job_seed(JobRequest(brief="Other brief"))
    assert job_seed(JobRequest(brief="Same brief", seed=42)) == 42
    assert 0 <= job_seed(first) < 2**31


def test_progress_tracker_monotonic_below_100() -> None:
    reporter = RecordingReporter()
    tracker = ProgressTracker(reporter, {"a": 1.0, "b": 3.0})
    tracker.report("b", 0.5)
    tracker.report("a", 1.0)  # an earlier stage reporting late must not move progress back
    tracker.report("b", 2.0)
    percents = [percent for _, percent, _ in reporter.progress_reports]
    assert percents == sorted(percents)
    assert percents[-1] == 99.0


class ThreadRecordingReporter(RecordingReporter):
    """RecordingReporter that also keeps the thread each progress report came from."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def progress(self, stage: str, percent: float, message: str = "") -> None:
        self.threads.add(threading.get_ident())
        super().progress(stage, percent, message)


def test_run_job_reports_background_stages(tmp_path: Path) -> None:
    reporter = ThreadRecordingReporter()
    request = JobRequest(brief="A short ad for Brightside, a bakery in the old town.", duration_seconds=15,
                         platform="instagram")

    output = run_job(request, tmp_path, PipelineConfig(), reporter)

    messages = [message for _, _, message in reporter.progress_reports]
    for name in ("music started", "music done", "mix started", "mix done"):
        assert messages.count(name) == 1, (name, messages)
    position = {message: index for index, message in enumerate(messages)}
    # Music runs alongside the voice and the mix alongside the render, so each starts before that stage ends.
    assert position["music started"] < position["voice done"]
    assert position["mix started"] < position["render done"]
    assert position["music started"] < position["music done"] < position["mix started"]
    assert position["mix started"] < position["mix done"] < position["thumbnail started"]
    for message in ("music started", "music done", "mix started", "mix done"):
        assert reporter.progress_reports[position[message]][0] == message.split()[0]
    assert reporter.threads == {threading.get_ident()}
    assert {"music", "mix"} <= set(output.stage_seconds)
    assert_progress_valid(reporter)


def test_progress_tracker_keeps_every_thread_report() -> None:
    reporter = RecordingReporter()
    tracker = ProgressTracker(reporter, {"a": 1.0})
    for fraction, message in ((0.25, "first"), (0.5, "second")):
        worker = threading.Thread(target=tracker.report, args=("a", fraction, message))
        worker.start()
        worker.join()
    tracker.report("background", 1.0, "unweighted")

    assert reporter.progress_reports == [("a", 24.75, "first"), ("a", 49.5, "second"), ("background", 49.5, "unweighted")]


def test_progress_tracker_defers_other_threads() -> None:
    reporter = RecordingReporter()
    tracker = ProgressTracker(reporter, {"a": 1.0})
    worker = threading.Thread(target=tracker.report, args=("a", 0.5, "from a thread"))
    worker.start()
    worker.join()
    assert reporter.progress_reports == []
    tracker.flush()
    assert reporter.progress_reports == [("a", 49.5, "from a thread")]


def test_seed_brief_youtube_30s(tmp_path: Path) -> None:
    reporter = RecordingReporter()
    request = JobRequest(brief=SEED_BRIEF, duration_seconds=30, platform="youtube_1080p", style="cyberpunk", voice_style="professional")
    output = run_job(request, tmp_path, PipelineConfig(), reporter)
    info = probe(output.video_path)
    streams = {stream["codec_type"]: stream for stream in info["streams"]}  # type: ignore[index]
    assert (streams["video"]["width"], streams["video"]["height"]) == (1920, 1080)
    assert abs(float(info["format"]["duration"]) - 30.0) <= 1 / 30  # type: ignore[index]
    assert -15.0 <= float(output.details["integrated_lufs"]) <= -13.0  # type: ignore[arg-type]
    assert output.style == "cyberpunk"
    assert "Barrios A2I" in output.script
    assert_progress_valid(reporter)


@pytest.fixture(scope="module")
def brightly_audio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Voiceover, Path, Path]:
    """The voiceover and music bed of the README's example brief, and a scratch directory."""
    folder = tmp_path_factory.mktemp("brightly")
    request = JobRequest(
        brief="A 30-second ad for Brightly, the smart lamp that wakes you gently",
        duration_seconds=30, platform="tiktok", style="playful", voice_style="warm",
    )
    seed = job_seed(request)
    analysis = analyze_brief(request)
    voice = select_voice(analysis.voice_style, analysis.language)
    script = write_script(analysis, duration_seconds=30.0, words_per_minute=float(voice.words_per_minute), seed=seed)
    voiceover = synthesize_voiceover(script, voice, folder, seed=seed, max_duration=speech_seconds_available(30.0))
    music = synthesize_music(analysis.style, duration=30.0, seed=seed, out_path=folder / "music.wav")
    return voiceover, music, folder


def test_example_soundtrack_within_peak(brightly_audio: tuple[Voiceover, Path, Path]) -> None:
    # AAC encoding once took this mix from -1.5 dBTP to 0.0 dBTP, with a click in its first second.
    voiceover, music, folder = brightly_audio
    spec = sample_spec("playful", "tiktok", duration=30.0, scenes=2)
    mix, soundtrack = run_module.mix_and_encode(
        voiceover, music, spec, mix_path=folder / "mix.wav", soundtrack_path=folder / "soundtrack.m4a"
    )
    integrated, peak = ebur128(soundtrack)
    assert peak <= run_module.SOUNDTRACK_PEAK_DBTP
    assert abs(integrated - (-14.0)) <= 0.5
    assert mix.true_peak_dbtp <= -1.5


def test_soundtrack_limited_lower_until_peak_fits(
    brightly_audio: tuple[Voiceover, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A limit far below what the first encode reaches makes the mix thread limit lower and encode again.
    voiceover, music, folder = brightly_audio
    monkeypatch.setattr(run_module, "SOUNDTRACK_PEAK_DBTP", -4.0)
    spec = sample_spec("playful", "tiktok", duration=30.0, scenes=2)
    mix, soundtrack = run_module.mix_and_encode(
        voiceover, music, spec, mix_path=folder / "low.wav", soundtrack_path=folder / "low.m4a"
    )
    integrated, peak = ebur128(soundtrack)
    assert peak <= -4.0
    assert mix.true_peak_dbtp < -4.0
    assert abs(integrated - (-14.0)) <= 1.0
