"""Frame renderer and H.264 encoder: draws every frame of a RenderSpec and pipes it to ffmpeg.

Frames are composed in yuv420p (see pipeline.visual_canvas), so ffmpeg receives exactly
what libx264 encodes and does no colour conversion. A producer thread draws frames
(numpy releases the GIL in its large operations) while the main thread writes them into
a pipe enlarged to 1 MiB, and ffmpeg encodes on the remaining CPU.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from pipeline.config import PipelineConfig
from pipeline.errors import StageError
from pipeline.media import run_ffmpeg
from pipeline.models import PlatformPreset, ProgressCallback, RenderSpec, Scene, silent_progress
from pipeline.styles import StyleKit, get_style
from pipeline.visual_canvas import Planes, blend_colour_rect, colour_yuv, crossfade
from pipeline.visual_captions import CaptionTrack
from pipeline.visuals import FrameLayout, SceneVisual

logger = logging.getLogger(__name__)

FFMPEG = "/usr/bin/ffmpeg"
_F_SETPIPE_SZ = 1031
_PIPE_BYTES = 1 << 20
# Scenes kept built at once: the current one and its neighbour during a transition.
_SCENE_CACHE = 2
_STDERR_TAIL = 2000


class FrameTap(Protocol):
    """An observer given each frame right after it is drawn, on the drawing thread, before it goes to the encoder.

    Frames arrive in order. The planes are reused for later frames as soon as `see` returns, so a
    tap that keeps a frame must copy it.
    """

    def see(self, index: int, frame: Planes) -> None: ...


def _validate(spec: RenderSpec) -> StyleKit:
    preset = spec.preset
    if preset.width % 2 or preset.height % 2 or preset.width < 16 or preset.height < 16:
        raise StageError("render", f"preset size {preset.width}x{preset.height} is invalid; width and height must be even and at least 16")
    if preset.fps <= 0:
        raise StageError("render", f"preset fps {preset.fps!r} is invalid; use a positive frame rate such as 30")
    if not math.isfinite(spec.duration) or spec.duration <= 0:
        raise StageError("render", f"duration {spec.duration!r} is invalid; give a positive number of seconds")
    if not spec.storyboard.scenes:
        raise StageError("render", "storyboard has no scenes; the storyboard stage must produce at least one")
    for scene in spec.storyboard.scenes:
        if not scene.duration > 0:
            raise StageError("render", f"scene {scene.index} has duration {scene.duration!r}; every scene must be longer than zero")
    try:
        return get_style(spec.style)
    except ValueError as error:
        raise StageError("render", str(error)) from None


def frame_count(spec: RenderSpec) -> int:
    """Return the number of frames of the video: the duration rounded to whole frames, at least one."""
    return max(1, int(round(spec.duration * spec.preset.fps)))


class FrameRenderer:
    """Draws the frames of one RenderSpec; the same spec always gives identical frames."""

    def __init__(self, spec: RenderSpec) -> None:
        self.spec = spec
        self.kit = _validate(spec)
        self.width, self.height, self.fps = spec.preset.width, spec.preset.height, spec.preset.fps
        self.layout = FrameLayout.for_spec(spec, self.kit)
        self.scenes: tuple[Scene, ...] = tuple(sorted(spec.storyboard.scenes, key=lambda scene: scene.start))
        self.captions = CaptionTrack(spec.cues, spec.caption_layout, self.kit, spec.palette, self.width, self.height)
        self._built: OrderedDict[int, SceneVisual] = OrderedDict()
        self._frame = Planes.empty(self.width, self.height)
        self._other = Planes.empty(self.width, self.height)
        self._mixed = Planes.empty(self.width, self.height)
        # numpy seeds must be non-negative; any int the spec carries maps to one, the same each time.
        self.seed = spec.seed % (1 << 63)
        rng = np.random.default_rng(self.seed)
        self._grain: NDArray[np.uint8] | None = None
        if self.kit.grain:
            # Signed grain stored as uint8 two's complement: luma stays within 16..235, so adding it
            # with uint8 wrap-around equals a saturating signed add.
            noise = rng.normal(0.0, self.kit.grain / 2.0, (self.height + 64, self.width + 64)).clip(-self.kit.grain, self.kit.grain)
            self._grain = np.rint(noise).astype(np.int8).view(np.uint8)

    # ------------------------------------------------------------ scenes and transitions

    def _scene_at(self, t: float) -> int:
        for index, scene in enumerate(self.scenes):
            if t < scene.start + scene.duration:
                return index
        return len(self.scenes) - 1

    def _visual(self, index: int) -> SceneVisual:
        visual = self._built.get(index)
        if visual is None:
            scene = self.scenes[index]
            started = time.perf_counter()
            visual = SceneVisual(self.spec, scene, self.kit, self.layout, seed=(self.seed * 1009 + index * 7919) % (1 << 63))
            logger.debug("built scene %d (%s) in %.3f s", scene.index, scene.kind, time.perf_counter() - started)
            self._built[index] = visual
            while len(self._built) > _SCENE_CACHE:
                self._built.popitem(last=False)
        else:
            self._built.move_to_end(index)
        return visual

    def _transition_length(self, outgoing: Scene, incoming: Scene) -> float:
        if outgoing.transition == "cut":
            return 0.0
        limit = 0.3 if outgoing.transition == "glitch" else 0.6
        return min(limit, 0.3 * outgoing.duration, 0.3 * incoming.duration)

    def _draw_scenes(self, frame: Planes, t: float, index: int) -> None:
        scene = self.scenes[index]
        self._visual(index).draw(frame, t - scene.start)
        # Transitions straddle each boundary: half before, half after.
        if index + 1 < len(self.scenes):
            following = self.scenes[index + 1]
            length = self._transition_length(scene, following)
            boundary = following.start
            if length > 0 and t >= boundary - length / 2:
                self._visual(index + 1).draw(self._other, t - following.start)
                self._transition(frame, self._other, scene.transition, (t - (boundary - length / 2)) / length, t)
                return
        if index > 0:
            previous = self.scenes[index - 1]
            length = self._transition_length(previous, scene)
            if length > 0 and t < scene.start + length / 2:
                self._other.copy_from(frame)
                self._visual(index - 1).draw(frame, t - previous.start)
                self._transition(frame, self._other, previous.transition, (t - (scene.start - length / 2)) / length, t)

    def _transition(self, frame: Planes, incoming: Planes, kind: str, progress: float, t: float) -> None:
        """Mix `incoming` into `frame` (the outgoing scene) at `progress` 0..1, writing into `frame`."""
        progress = max(0.0, min(1.0, progress))
        eased = progress * progress * (3.0 - 2.0 * progress)
        width, height = self.width, self.height
        if kind == "wipe":
            edge = int(width * eased) & ~1
            if edge > 0:
                frame.window(0, 0, edge, height).copy_from(incoming.window(0, 0, edge, height))
            blend_colour_rect(frame, edge - 4, 0, edge + 4, height, colour_yuv(self.spec.palette.accent), 0.9 if 0 < edge < width else 0.0)
        elif kind == "slide":
            shift = int(width * eased) & ~1
            if 0 < shift < width:
                self._mixed.window(0, 0, width - shift, height).copy_from(frame.window(shift, 0, width - shift, height))
                self._mixed.window(width - shift, 0, shift, height).copy_from(incoming.window(0, 0, shift, height))
                frame.copy_from(self._mixed)
            elif shift >= width:
                frame.copy_from(incoming)
        elif kind == "zoom":
            _zoom_into(self._mixed, frame, 1.0 + 0.35 * eased)
            crossfade(frame, self._mixed, incoming, eased)
        elif kind == "glitch":
            self._glitch_mix(frame, incoming, progress, t)
        else:
            crossfade(frame, frame, incoming, eased)

    def _glitch_mix(self, frame: Planes, incoming: Planes, progress: float, t: float) -> None:
        rng = np.random.default_rng((self.seed, int(round(t * self.fps))))
        if progress >= 0.5:
            frame.copy_from(incoming)
        bands = rng.integers(4, 9)
        for _ in range(int(bands)):
            top = int(rng.integers(0, self.height - 8)) & ~1
            band = int(rng.integers(self.height // 60, self.height // 10) + 2) & ~1
            source = incoming if rng.random() < progress else frame
            shift = int(rng.integers(-self.width // 12, self.width // 12)) & ~1
            _shifted_band(frame, source, top, band, shift)

    # ------------------------------------------------------------ overlays on the finished picture

    def _glitch_accent(self, frame: Planes, index: int) -> None:
        """Short bursts of displaced bands and chroma shift, a few times per scene (cyberpunk)."""
        group = index // 3
        rng = np.random.default_rng((self.seed, group))
        if rng.random() > 0.06:
            return
        for _ in range(int(rng.integers(2, 5))):
            top = int(rng.integers(0, self.height - 8)) & ~1
            band = int(rng.integers(self.height // 90, self.height // 20) + 2) & ~1
            shift = int(rng.integers(-self.width // 30, self.width // 30)) & ~1
            _shifted_band(frame, frame, top, band, shift)
            chroma = frame.u[top // 2 : (top + band) // 2]
            chroma[...] = np.roll(chroma, int(rng.integers(4, 16)), axis=1)

    def _overlays(self, frame: Planes, index: int, t: float) -> None:
        if self.kit.glitch_accents:
            self._glitch_accent(frame, index)
        if self._grain is not None:
            rng = np.random.default_rng((self.seed, index, 1))
            dy, dx = (int(value) for value in rng.integers(0, 64, 2))
            frame.y += self._grain[dy : dy + self.height, dx : dx + self.width]
        if self.layout.letterbox:
            bar = self.layout.letterbox
            blend_colour_rect(frame, 0, 0, self.width, bar, (16, 128, 128), 1.0)
            blend_colour_rect(frame, 0, self.height - bar, self.width, self.height, (16, 128, 128), 1.0)
        self.captions.draw(frame, t)

    # ------------------------------------------------------------ public drawing

    def draw(self, index: int, frame: Planes | None = None) -> Planes:
        """Draw frame `index` into `frame` (by default the renderer's own buffer, valid until the next call) and return it."""
        t = index / self.fps
        frame = self._frame if frame is None else frame
        self._draw_scenes(frame, t, self._scene_at(t))
        self._overlays(frame, index, t)
        return frame

    def frame_at(self, t: float) -> NDArray[np.uint8]:
        """Return the frame shown at time t as an (H, W, 3) uint8 RGB array."""
        index = min(frame_count(self.spec) - 1, max(0, int(round(t * self.fps))))
        return self.draw(index).to_rgb()

    def frame_planes_at(self, t: float) -> Planes:
        """Return a copy of the yuv420p planes of the frame at time t."""
        index = min(frame_count(self.spec) - 1, max(0, int(round(t * self.fps))))
        drawn = self.draw(index)
        copy = Planes.empty(self.width, self.height)
        copy.copy_from(drawn)
        return copy


def _shifted_band(frame: Planes, source: Planes, top: int, band: int, shift: int) -> None:
    """Copy rows top..top+band from `source` into `frame`, shifted sideways by `shift` pixels."""
    for plane, origin, scale in ((frame.y, source.y, 1), (frame.u, source.u, 2), (frame.v, source.v, 2)):
        rows = slice(top // scale, (top + band) // scale)
        plane[rows] = np.roll(origin[rows], shift // scale, axis=1)


def _zoom_into(dst: Planes, src: Planes, scale: float) -> None:
    """Write `src` scaled up by `scale` about its centre into `dst` (nearest neighbour)."""
    for out, plane in ((dst.y, src.y), (dst.u, src.u), (dst.v, src.v)):
        height, width = plane.shape
        rows = ((np.arange(height) - height / 2) / scale + height / 2).astype(np.intp)
        cols = ((np.arange(width) - width / 2) / scale + width / 2).astype(np.intp)
        np.take(plane[rows], cols, axis=1, out=out)


# ---------------------------------------------------------------- encoding


def _encoder_command(spec: RenderSpec, config: PipelineConfig, audio_path: Path | None, target: Path, frames: int) -> list[str]:
    preset = spec.preset
    video_seconds = frames / preset.fps
    command = [
        FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{preset.width}x{preset.height}", "-r", str(preset.fps),
        "-color_range", "tv", "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
        "-i", "pipe:0",
    ]  # fmt: skip
    if audio_path is not None:
        command += ["-i", str(audio_path)]
    command += [
        "-map", "0:v:0",
        "-c:v", "libx264", "-preset", config.x264_preset, "-crf", str(config.x264_crf),
        "-pix_fmt", "yuv420p", "-vf", "setsar=1",
        "-color_range", "tv", "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
    ]  # fmt: skip
    if audio_path is not None:
        command += ["-map", "1:a:0", *_audio_encoder_args(preset, video_seconds)]
    command += ["-t", f"{video_seconds:.6f}", "-movflags", "+faststart", "-f", "mp4", str(target)]
    return command


def _audio_encoder_args(preset: PlatformPreset, seconds: float) -> list[str]:
    # ffmpeg's default "twoloop" AAC coder, not its "fast" one: on one test mix fast took a third
    # of the CPU but raised the true peak by 0.7 dB (twoloop: 0.2 dB). Perceptual noise
    # substitution, which codes noisy bands as synthetic noise to save bits, is off: on one mix
    # it put a click of 0.4 of full scale into the first second. Pad with silence, then trim, so
    # the audio stream lasts exactly as long as the video.
    return [
        "-c:a", "aac", "-aac_pns", "0", "-b:a", preset.audio_bitrate, "-ar", "48000",
        "-af", f"apad=whole_dur={seconds:.6f},atrim=end={seconds:.6f},asetpts=N/SR/TB",
    ]  # fmt: skip


def encode_soundtrack(audio_path: Path, out_path: Path, *, spec: RenderSpec) -> Path:
    """Encode a soundtrack to AAC in an MP4 container, padded or trimmed to the video's exact length.

    This runs while the frames render, so `mux` only has to copy both streams afterwards.
    """
    if not Path(audio_path).is_file():
        raise StageError("render", f"audio file {str(audio_path)!r} does not exist; the mix stage must write it first")
    seconds = frame_count(spec) / spec.preset.fps
    run_ffmpeg(
        ["-i", str(audio_path), "-map", "0:a:0", "-vn", *_audio_encoder_args(spec.preset, seconds), "-f", "mp4", str(out_path)],
        stage="render",
    )
    return out_path


def mux(video_path: Path, soundtrack_path: Path, out_path: Path) -> Path:
    """Put a silent MP4 and an encoded soundtrack into one MP4, both streams copied, moov atom first."""
    run_ffmpeg(
        [
            "-i", str(video_path), "-i", str(soundtrack_path),
            "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
            "-movflags", "+faststart", "-f", "mp4", str(out_path),
        ],
        stage="render",
    )  # fmt: skip
    return out_path


def _likely_cause(stderr: str) -> str:
    text = stderr.lower()
    causes = (
        ("no space left", "the disk is full; free space in the output directory"),
        ("permission denied", "the output directory is not writable"),
        ("invalid data found", "the audio file is not a valid audio file; check the mix stage output"),
        ("does not contain any stream", "the audio file has no audio stream"),
        ("no such file", "an input or output path does not exist"),
        ("unknown encoder", "this ffmpeg build lacks libx264 or aac; install Debian's ffmpeg package"),
        ("matches no streams", "the audio file has no audio stream"),
    )
    for needle, cause in causes:
        if needle in text:
            return cause
    return "ffmpeg rejected the input or options; see its message above"


def _fail(stderr: str, returncode: int | None) -> StageError:
    tail = stderr.strip()[-_STDERR_TAIL:] or "(no output)"
    return StageError("render", f"ffmpeg exited with status {returncode}: {tail}. Likely cause: {_likely_cause(stderr)}")


def render_video(
    spec: RenderSpec,
    out_path: Path,
    *,
    audio_path: Path | None,
    config: PipelineConfig,
    progress: ProgressCallback = silent_progress,
    taps: Sequence[FrameTap] = (),
) -> Path:
    """Draw every frame of `spec` and encode it to an H.264 MP4 at `out_path`, with AAC audio if given.

    The video has round(duration * fps) frames; the audio is padded or trimmed to the same length.
    Each of `taps` sees every frame as it is drawn. Raises StageError("render", ...) on invalid
    input or encoder failure.
    """
    renderer = FrameRenderer(spec)
    if audio_path is not None and not Path(audio_path).is_file():
        raise StageError("render", f"audio file {str(audio_path)!r} does not exist; the mix stage must write it before rendering")
    out_path = Path(out_path)
    if not out_path.parent.is_dir():
        raise StageError("render", f"output directory {str(out_path.parent)!r} does not exist; create it first")
    frames = frame_count(spec)
    partial = out_path.with_name(f".{out_path.stem}.rendering.mp4")
    command = _encoder_command(spec, config, audio_path, partial, frames)
    logger.info("rendering %d frames at %dx%d %d fps in style %s", frames, renderer.width, renderer.height, renderer.fps, renderer.kit.name)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stderr_file:
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=stderr_file)
        except OSError as error:
            raise StageError("render", f"cannot start {FFMPEG}: {error}; install Debian's ffmpeg package") from error
        assert process.stdin is not None
        try:
            fcntl.fcntl(process.stdin.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
        except OSError:
            logger.debug("could not enlarge the encoder pipe; continuing with the default size")
        try:
            _pump(renderer, frames, process.stdin.fileno(), progress, taps)
        except BrokenPipeError:
            process.stdin = None
            process.wait()
            stderr_file.seek(0)
            partial.unlink(missing_ok=True)
            raise _fail(stderr_file.read().decode("utf-8", "replace"), process.returncode) from None
        except BaseException:
            process.kill()
            process.wait()
            partial.unlink(missing_ok=True)
            raise
        process.stdin.close()
        returncode = process.wait()
        if returncode != 0:
            stderr_file.seek(0)
            partial.unlink(missing_ok=True)
            raise _fail(stderr_file.read().decode("utf-8", "replace"), returncode)
    os.replace(partial, out_path)
    elapsed = time.perf_counter() - started
    logger.info("rendered %s: %d frames in %.2f s (%.1f fps)", out_path.name, frames, elapsed, frames / max(elapsed, 1e-9))
    progress("render", 1.0, f"encoded {frames} frames")
    return out_path


def _pump(renderer: FrameRenderer, frames: int, fd: int, progress: ProgressCallback, taps: Sequence[FrameTap]) -> None:
    """Draw frames in a worker thread and write them to `fd` from this thread."""
    # Frames are drawn straight into packed yuv420p buffers, so nothing is copied before the write.
    buffers = [Planes.empty(renderer.width, renderer.height) for _ in range(3)]
    free: queue.Queue[int] = queue.Queue()
    ready: queue.Queue[int | BaseException | None] = queue.Queue()
    for slot in range(len(buffers)):
        free.put(slot)
    stop = threading.Event()

    def produce() -> None:
        try:
            for index in range(frames):
                slot = free.get()
                if stop.is_set():
                    return
                renderer.draw(index, buffers[slot])
                for tap in taps:
                    tap.see(index, buffers[slot])
                ready.put(slot)
            ready.put(None)
        except BaseException as error:  # handed to the writer, which re-raises it
            ready.put(error)

    worker = threading.Thread(target=produce, name="frame-producer", daemon=True)
    worker.start()
    step = max(1, frames // 50)
    written = 0
    try:
        while True:
            item = ready.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            packed = buffers[item].packed()
            assert packed is not None
            view = memoryview(packed.data)
            while view:
                view = view[os.write(fd, view) :]
            free.put(item)
            written += 1
            if written % step == 0:
                progress("render", written / frames * 0.99, f"frame {written} of {frames}")
    finally:
        stop.set()
        free.put(0)
        worker.join()
