"""Frame-level checks of the procedural visuals: styles, motion, palette, end card, captions, glyphs."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont

from pipeline.errors import StageError
from pipeline.fonts import font_for
from pipeline.models import CaptionCue, CaptionLayout, RenderSpec
from pipeline.render import FrameRenderer
from pipeline.styles import STYLES, get_style
from pipeline.visual_canvas import Planes, Sprite, hex_to_rgb
from pipeline.visual_samples import caption_layout_for, sample_spec
from pipeline.visual_text import has_glyph, printable_text, wrap_text
from pipeline.visual_colour import contrast
from pipeline.visual_layout import overlaps, worst_contrast
from pipeline.visual_motifs import motif_for
from pipeline.visuals import FrameLayout, SceneVisual

SMALL = (640, 360)
STYLE_NAMES = sorted(STYLES)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _frames(spec: RenderSpec, times: list[float]) -> list[np.ndarray]:
    renderer = FrameRenderer(spec)
    return [renderer.frame_at(t).astype(np.int16) for t in times]


def _edge_density(frame: np.ndarray) -> float:
    luma = frame.mean(axis=2)
    return float(np.abs(np.diff(luma, axis=0)).mean() + np.abs(np.diff(luma, axis=1)).mean())


def _pixels_near(frames: list[np.ndarray], colour: str, tolerance: float) -> int:
    target = np.array(hex_to_rgb(colour), np.int16)
    return sum(int((np.abs(frame - target).sum(axis=2) <= tolerance).sum()) for frame in frames)


def _with_cues(spec: RenderSpec, cues: tuple[CaptionCue, ...], layout: CaptionLayout | None = None) -> RenderSpec:
    return dataclasses.replace(spec, cues=cues, caption_layout=layout or spec.caption_layout)


def _blank_cue(spec: RenderSpec, layout: CaptionLayout | None = None) -> RenderSpec:
    """Return the spec with one cue that has no lines: the same layout as with captions, but nothing drawn."""
    return _with_cues(spec, (CaptionCue(0.0, spec.duration, "", ()),), layout)


def _diff_box(first: np.ndarray, second: np.ndarray) -> tuple[int, int, int, int] | None:
    changed = np.argwhere(np.abs(first.astype(np.int16) - second.astype(np.int16)).max(axis=2) > 0)
    if changed.size == 0:
        return None
    (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0)
    return int(left), int(top), int(right), int(bottom)


@pytest.fixture(scope="module")
def style_frames() -> dict[str, list[np.ndarray]]:
    times = [0.5, 2.0, 4.0, 6.5, 9.0, 11.5]
    return {name: _frames(sample_spec(name, duration=12.0, size=SMALL), times) for name in STYLE_NAMES}


def test_six_styles_available() -> None:
    assert {"cyberpunk", "minimal", "corporate", "playful", "luxury", "cinematic"} <= set(STYLES)


def test_style_aliases_and_unknown() -> None:
    assert get_style("Neon").name == "cyberpunk"
    assert get_style(" LUXURY ").name == "luxury"
    with pytest.raises(ValueError, match="unknown; use one of"):
        get_style("vaporwave-deluxe")


def test_unknown_style_raises_stage_error() -> None:
    spec = dataclasses.replace(sample_spec("minimal", duration=4.0, size=SMALL), style="no-such-style")
    with pytest.raises(StageError, match="render failed: style 'no-such-style'"):
        FrameRenderer(spec)


def test_styles_differ_pairwise(style_frames: dict[str, list[np.ndarray]]) -> None:
    means = {name: np.mean([frame.mean(axis=(0, 1)) for frame in frames], axis=0) for name, frames in style_frames.items()}
    edges = {name: np.mean([_edge_density(frame) for frame in frames]) for name, frames in style_frames.items()}
    for first, second in itertools.combinations(STYLE_NAMES, 2):
        colour_distance = float(np.linalg.norm(means[first] - means[second]))
        edge_ratio = max(edges[first], edges[second]) / max(1e-6, min(edges[first], edges[second]))
        assert colour_distance > 12 or edge_ratio > 1.3, f"{first} and {second} look alike: colour distance {colour_distance:.1f}, edge ratio {edge_ratio:.2f}"


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_every_scene_keeps_moving(style: str) -> None:
    spec = sample_spec(style, duration=12.0, size=SMALL, captions=False)
    renderer = FrameRenderer(spec)
    for scene in spec.storyboard.scenes:
        # Sample the second half of each scene, after the title finished animating in.
        times = [scene.start + scene.duration * fraction for fraction in (0.5, 0.62, 0.74)]
        frames = [renderer.frame_at(t).astype(np.int16) for t in times]
        for earlier, later in zip(frames, frames[1:]):
            changed = (np.abs(later - earlier).max(axis=2) > 6).mean()
            assert changed > 0.0005, f"{style} scene {scene.index} is frozen ({changed:.5f} of pixels changed)"


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_palette_colours_appear(style: str, style_frames: dict[str, list[np.ndarray]]) -> None:
    palette = sample_spec(style).palette
    frames = style_frames[style]
    assert _pixels_near(frames, palette.primary, 45) > 150, f"{style}: primary {palette.primary} barely appears"
    assert _pixels_near(frames, palette.accent, 45) > 150, f"{style}: accent {palette.accent} barely appears"


def _scene_visuals(spec: RenderSpec) -> list[SceneVisual]:
    kit = get_style(spec.style)
    layout = FrameLayout.for_spec(spec, kit)
    return [SceneVisual(spec, scene, kit, layout, seed=spec.seed + scene.index) for scene in spec.storyboard.scenes]


def _title_ink(visual: SceneVisual, t: float) -> np.ndarray:
    """Draw only the title on a plain ground at scene-local time t and return the mask of inked pixels."""
    assert visual.title is not None
    ground = _ground(visual)
    planes = Planes.solid(visual.layout.width, visual.layout.height, ground)
    visual.title.draw(planes, t)
    return np.abs(planes.to_rgb().astype(np.int16) - ground).max(axis=2) > 40


def _ground(visual: SceneVisual) -> tuple[int, int, int]:
    """Return black, or white for the dark minimal titles, so every part of a title (and its glint) stands out."""
    return (255, 255, 255) if visual.kit.name == "minimal" else (0, 0, 0)


def _settled_ink(visual: SceneVisual) -> np.ndarray:
    """Return the ink mask of every title line blended fully in place: the title once it has finished."""
    assert visual.title is not None
    ground = _ground(visual)
    planes = Planes.solid(visual.layout.width, visual.layout.height, ground)
    # Word and letter-spacing motions end on their own sprites, not the line sprites.
    title = visual.title
    final = title.words or [versions[-1] for versions in title.tracked] or title.lines
    for placed in final:
        placed.sprite.blend_into(planes, placed.x, placed.y)
    return np.abs(planes.to_rgb().astype(np.int16) - ground).max(axis=2) > 40


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_title_animates_in(style: str) -> None:
    spec = sample_spec(style, duration=12.0, size=SMALL, captions=False)
    visual = _scene_visuals(spec)[0]
    early, settled = _title_ink(visual, 0.15), _settled_ink(visual)
    assert settled.sum() > 500, f"{style}: the title is missing once settled"
    assert early.sum() < settled.sum() * 0.8, f"{style}: the title does not animate in"


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_end_card_differs_from_scenes(style: str) -> None:
    spec = sample_spec(style, duration=12.0, size=SMALL, captions=False)
    renderer = FrameRenderer(spec)
    end = renderer.frame_at(11.5).astype(np.int16)
    assert spec.storyboard.scenes[-1].kind == "end_card"
    for t in (1.5, 5.5, 7.5):
        assert np.abs(end - renderer.frame_at(t)).mean() > 3.0, f"{style}: end card looks like the scene at {t} s"
    # The call-to-action button or type sits below the brand in the middle of the frame.
    middle = end[int(SMALL[1] * 0.2) : int(SMALL[1] * 0.8), int(SMALL[0] * 0.2) : int(SMALL[0] * 0.8)]
    assert _edge_density(middle) > _edge_density(end) * 0.8


def test_frames_are_deterministic() -> None:
    spec = sample_spec("cyberpunk", duration=6.0, size=SMALL)
    first, second = FrameRenderer(spec), FrameRenderer(spec)
    for t in (0.3, 1.0, 2.05, 3.9, 5.8):
        assert first.frame_at(t).tobytes() == second.frame_at(t).tobytes()


@pytest.mark.parametrize("seed", [-1, 0, 2**70])
def test_any_integer_seed_renders(seed: int) -> None:
    spec = dataclasses.replace(sample_spec("cinematic", duration=4.0, size=SMALL), seed=seed)
    assert FrameRenderer(spec).frame_at(2.0).shape == (SMALL[1], SMALL[0], 3)


def test_seed_changes_frames() -> None:
    spec = sample_spec("playful", duration=6.0, size=SMALL)
    other = dataclasses.replace(spec, seed=spec.seed + 1)
    assert FrameRenderer(spec).frame_at(2.0).tobytes() != FrameRenderer(other).frame_at(2.0).tobytes()


@pytest.mark.parametrize("transition", ["crossfade", "wipe", "slide", "zoom", "glitch", "cut"])
def test_transition_mixes_both_scenes(transition: str) -> None:
    spec = sample_spec("corporate", duration=6.0, size=SMALL, scenes=2, captions=False)
    scenes = spec.storyboard.scenes
    spec = dataclasses.replace(spec, storyboard=dataclasses.replace(spec.storyboard, scenes=(dataclasses.replace(scenes[0], transition=transition), scenes[1])))
    renderer = FrameRenderer(spec)
    boundary = scenes[1].start
    before = renderer.frame_at(boundary - 0.4).astype(np.int16)
    middle = renderer.frame_at(boundary).astype(np.int16)
    after = renderer.frame_at(boundary + 0.4).astype(np.int16)
    if transition == "cut":
        assert np.abs(middle - after).mean() < np.abs(middle - before).mean()
        return
    assert np.abs(middle - before).mean() > 2.0
    assert np.abs(middle - after).mean() > 2.0


# ---------------------------------------------------------------- captions


def _wrap_for_box(text: str, layout: CaptionLayout) -> tuple[str, ...]:
    font = ImageFont.truetype(str(layout.font_path), layout.font_size, index=layout.font_index)
    return tuple(wrap_text(text, font, layout.box[2] * 0.9))


@pytest.mark.parametrize("platform", ["youtube_1080p", "tiktok"])
@pytest.mark.parametrize(
    "text",
    [
        "Our brand new smart lamp wakes you gently every single morning with a natural sunrise, "
        "sixteen million colours and eighty percent less power than ordinary bulbs today",
        "Visit https://www.brightly-smart-lamps-example.com/offers/spring-sale-2025-now today",
    ],
    ids=["25_words", "60_char_token"],
)
def test_captions_stay_inside_box(platform: str, text: str) -> None:
    base = sample_spec("cyberpunk", platform, duration=2.0, scenes=1, captions=False)
    layout = base.caption_layout
    lines = _wrap_for_box(text, layout)
    assert len(lines) >= 2
    with_cue = FrameRenderer(_with_cues(base, (CaptionCue(0.0, 2.0, text, lines),))).frame_at(1.0)
    without = FrameRenderer(_blank_cue(base)).frame_at(1.0)
    box = _diff_box(with_cue, without)
    assert box is not None, "the caption drew nothing"
    left, top, right, bottom = box
    bx, by, bw, bh = layout.box
    assert bx <= left, f"caption starts at x={left}, left of the box {layout.box}"
    assert right < bx + bw, f"caption ends at x={right}, right of the box {layout.box}"
    assert by <= top, f"caption starts at y={top}, above the box {layout.box}"
    assert bottom < by + bh, f"caption ends at y={bottom}, below the box {layout.box}"
    # Every line is drawn: the block is at least as tall as the lines at their size.
    assert bottom - top >= len(lines) * layout.font_size


def test_caption_too_wide_shrinks_not_clips() -> None:
    base = sample_spec("corporate", "instagram", duration=2.0, scenes=1, captions=False, size=SMALL)
    long_line = "An unwrapped caption line that is far too wide for the caption box"
    renderer = FrameRenderer(_with_cues(base, (CaptionCue(0.0, 2.0, long_line, (long_line,)),)))
    box = _diff_box(renderer.frame_at(1.0), FrameRenderer(_blank_cue(base)).frame_at(1.0))
    assert box is not None
    bx, by, bw, bh = base.caption_layout.box
    assert bx <= box[0]
    assert box[2] < bx + bw


def test_cjk_caption_draws_real_glyphs() -> None:
    text = "认识明亮智能灯"
    base = sample_spec("minimal", duration=2.0, scenes=1, captions=False, size=(960, 540))
    cjk_face = font_for(text)
    cjk_layout = caption_layout_for(960, 540, base.preset.safe_margins, text)
    latin_layout = dataclasses.replace(cjk_layout, font_path=DEJAVU, font_index=0)
    cue = (CaptionCue(0.0, 2.0, text, (text,)),)
    plain = FrameRenderer(_blank_cue(base, cjk_layout)).frame_at(1.0)
    with_cjk = FrameRenderer(_with_cues(base, cue, cjk_layout)).frame_at(1.0)
    # A layout naming a Latin-only font still gets CJK glyphs, through the fallback face.
    with_fallback = FrameRenderer(_with_cues(base, cue, latin_layout)).frame_at(1.0)
    assert _diff_box(with_cjk, plain) is not None
    assert with_fallback.tobytes() == with_cjk.tobytes()
    font = cjk_face.load(40)
    assert all(has_glyph(font, char) for char in text)
    # The .notdef box is never drawn: a caption of unmapped characters leaves the frame untouched.
    tofu = "\U0010fffd" * 4
    with_tofu = FrameRenderer(_with_cues(base, (CaptionCue(0.0, 2.0, tofu, (tofu,)),), cjk_layout)).frame_at(1.0)
    assert with_tofu.tobytes() == plain.tobytes()


def test_emoji_left_out_cleanly() -> None:
    base = sample_spec("playful", duration=2.0, scenes=1, captions=False, size=SMALL)
    with_emoji = "Big sale 🔥🔥 50% off! 👍🏽"
    without_emoji = "Big sale 50% off!"
    first = FrameRenderer(_with_cues(base, (CaptionCue(0.0, 2.0, with_emoji, (with_emoji,)),))).frame_at(1.0)
    second = FrameRenderer(_with_cues(base, (CaptionCue(0.0, 2.0, without_emoji, (without_emoji,)),))).frame_at(1.0)
    assert first.tobytes() == second.tobytes()
    font = ImageFont.truetype(str(DEJAVU), 40)
    assert printable_text("Don't miss Joe's 5 deals ❤️", font) == "Don't miss Joe's 5 deals ❤"


def test_caption_box_outside_frame_rejected() -> None:
    base = sample_spec("minimal", duration=2.0, scenes=1, size=SMALL)
    layout = dataclasses.replace(base.caption_layout, box=(700, 400, 100, 50))
    with pytest.raises(ValueError, match="caption_layout.box"):
        FrameRenderer(_with_cues(base, base.cues, layout))


# ---------------------------------------------------------------- canvas primitives


def test_planes_round_trip_colour() -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[...] = (212, 175, 55)
    back = Planes.from_rgb(rgb).to_rgb()
    assert np.abs(back.astype(int) - rgb).max() <= 2


def test_sprite_blend_clips_at_frame_edges() -> None:
    frame = Planes.solid(64, 32, "#000000")
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[...] = (255, 255, 255, 255)
    sprite = Sprite(rgba)
    for x, y in ((-5, -5), (60, 28), (-20, 0), (100, 100)):
        sprite.blend_into(frame, x, y)
    assert frame.y[0, 0] == 235
    assert frame.y[31, 63] == 235
    assert frame.y[16, 32] == 16


def test_sprite_blend_opacity_is_proportional() -> None:
    frame = Planes.solid(16, 16, "#000000")
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[...] = (255, 255, 255, 255)
    Sprite(rgba).blend_into(frame, 0, 0, opacity=0.5)
    assert abs(int(frame.y[8, 8]) - (16 + 235) // 2) <= 1


# ---------------------------------------------------------------- scene inputs


def test_scene_image_shows_and_moves(tmp_path: Path) -> None:
    from PIL import Image

    still = np.zeros((300, 400, 3), np.uint8)
    still[:, :, 0] = 230
    still[::20, :, 1] = 230
    Image.fromarray(still).save(tmp_path / "still.png")
    spec = sample_spec("corporate", duration=6.0, scenes=2, size=SMALL, captions=False)
    with_image = dataclasses.replace(spec, scene_images={0: tmp_path / "still.png"})
    renderer = FrameRenderer(with_image)
    first, later = renderer.frame_at(1.0).astype(np.int16), renderer.frame_at(1.6).astype(np.int16)
    plain = FrameRenderer(spec).frame_at(1.0).astype(np.int16)
    assert first[..., 0].mean() > plain[..., 0].mean() + 20, "the scene image is not visible"
    assert np.abs(later - first).mean() > 0.5, "the scene image does not move"


def test_visual_direction_adds_motif() -> None:
    spec = sample_spec("minimal", duration=4.0, scenes=1, size=SMALL, captions=False)
    scene = spec.storyboard.scenes[0]

    def frame_with(direction: str) -> np.ndarray:
        storyboard = dataclasses.replace(spec.storyboard, scenes=(dataclasses.replace(scene, kind="scene", visual_direction=direction),))
        return FrameRenderer(dataclasses.replace(spec, storyboard=storyboard)).frame_at(2.0).astype(np.int16)

    plain = frame_with("a plain product shot")
    assert np.abs(frame_with("city skyline at night") - plain).mean() > 1.0
    assert np.abs(frame_with("gentle ocean waves") - plain).mean() > 0.2


LONG_TITLE = "Think about every single morning you have ever woken up tired, late and grumpy, and then think again"
PORTRAIT = (360, 640)


def _with_titles(spec: RenderSpec, text: str) -> RenderSpec:
    scenes = tuple(scene if scene.kind == "end_card" else dataclasses.replace(scene, on_screen_text=text) for scene in spec.storyboard.scenes)
    return dataclasses.replace(spec, storyboard=dataclasses.replace(spec.storyboard, scenes=scenes))


def _mask_of(box: tuple[int, int, int, int], width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    mask[max(0, box[1]) : max(0, box[3]), max(0, box[0]) : max(0, box[2])] = True
    return mask


def _draw(visual: SceneVisual, t: float) -> np.ndarray:
    planes = Planes.empty(visual.layout.width, visual.layout.height)
    visual.draw(planes, t)
    return planes.to_rgb().astype(np.int16)


@pytest.mark.parametrize("size", [SMALL, PORTRAIT])
@pytest.mark.parametrize("style", STYLE_NAMES)
def test_decorations_clear_of_text(style: str, size: tuple[int, int]) -> None:
    spec = sample_spec(style, platform="tiktok" if size == PORTRAIT else "youtube_1080p", duration=12.0, size=size)
    for visual in _scene_visuals(spec):
        text_boxes = list(visual.text_boxes)
        if visual.brand_box is not None:
            text_boxes.append(visual.brand_box)
        assert text_boxes, f"{style} scene {visual.scene.index}: no text boxes laid out"
        for decoration in visual.decoration_boxes():
            for text_box in text_boxes:
                assert not overlaps(decoration, text_box), f"{style} scene {visual.scene.index}: decoration {decoration} overlaps text {text_box}"


@pytest.mark.parametrize("style", ["minimal", "playful"])
def test_end_card_shapes_leave_text_alone(style: str) -> None:
    """Render the end card with and without its moving shapes: they change no pixel inside a text box."""
    spec = sample_spec(style, platform="tiktok", duration=12.0, size=PORTRAIT)
    visual = _scene_visuals(spec)[-1]
    assert visual.scene.kind == "end_card"
    width, height = visual.layout.width, visual.layout.height
    text_mask = np.zeros((height, width), bool)
    for box in visual.text_boxes:
        text_mask |= _mask_of(box, width, height)
    decorated = [_draw(visual, t) for t in (0.3, 0.9, 1.4, 1.9)]
    shapes = [element for element in visual.backdrop.elements if hasattr(element, "reach")]
    assert shapes, f"{style}: the end card has no shapes to test"
    visual.backdrop.elements = [element for element in visual.backdrop.elements if not hasattr(element, "reach")]
    plain = [_draw(visual, t) for t in (0.3, 0.9, 1.4, 1.9)]
    for with_shapes, without in zip(decorated, plain):
        changed = np.abs(with_shapes - without).max(axis=2) > 0
        assert changed.any(), f"{style}: the shapes draw nothing"
        assert not (changed & text_mask).any(), f"{style}: a shape reaches into the brand or call to action"


@pytest.mark.parametrize("size", [SMALL, PORTRAIT])
@pytest.mark.parametrize("style", STYLE_NAMES)
def test_brand_label_contrast(style: str, size: tuple[int, int]) -> None:
    spec = sample_spec(style, duration=12.0, size=size, captions=False)
    for visual in _scene_visuals(spec)[:-1]:
        assert visual.brand_box is not None and visual.brand_colour is not None
        t = visual.scene.duration * 0.5
        x0, y0, x1, y1 = visual.brand_box
        frame = _draw(visual, t)[y0:y1, x0:x1].reshape(-1, 3)
        planes = Planes.empty(visual.layout.width, visual.layout.height)
        visual.backdrop.draw(planes, t)
        under = planes.to_rgb()[y0:y1, x0:x1]
        if visual.brand_backing is None:
            assert worst_contrast(visual.brand_colour, under) >= 4.5, f"{style} scene {visual.scene.index}: label {visual.brand_colour} on {under.reshape(-1, 3).mean(axis=0)}"
        glyph = np.abs(frame - np.array(visual.brand_colour)).max(axis=1) <= 24
        assert glyph.sum() >= 15, f"{style} scene {visual.scene.index}: the brand label is not drawn"
        surround = frame[np.abs(frame - np.array(visual.brand_colour)).max(axis=1) > 60]
        ratios = [contrast(visual.brand_colour, tuple(int(v) for v in pixel)) for pixel in surround]
        assert np.median(ratios) >= 4.5, f"{style} scene {visual.scene.index}: label contrast {np.median(ratios):.2f}"


@pytest.mark.parametrize("size", [SMALL, PORTRAIT])
@pytest.mark.parametrize("style", STYLE_NAMES)
def test_long_title_capped_and_clear(style: str, size: tuple[int, int]) -> None:
    spec = _with_titles(sample_spec(style, duration=12.0, size=size), LONG_TITLE)
    kit = get_style(style)
    width, height = size
    cap = 3 if height > width else 2
    floor = max(12, int(min(size) * kit.title_scale * 0.6))
    for visual in _scene_visuals(spec)[:-1]:
        title = visual.title
        assert title is not None
        assert len(title.lines) <= cap, f"{style} scene {visual.scene.index}: {len(title.lines)} title lines"
        assert title.size >= floor, f"{style} scene {visual.scene.index}: title size {title.size} under the floor {floor}"
        x0, y0, x1, y1 = title.bounds
        assert 0 <= x0 and x1 <= width and 0 <= y0 and y1 <= height, f"{style}: title {title.bounds} leaves the frame"
        caption = spec.caption_layout.box
        assert not overlaps(title.bounds, (caption[0], caption[1], caption[0] + caption[2], caption[1] + caption[3])), f"{style}: title runs into the captions"
        if style == "cyberpunk":
            assert y1 < int(height * 0.58), f"cyberpunk title {title.bounds} reaches the horizon line"


@pytest.mark.parametrize("duration", [1.2, 2.07, 3.0])
@pytest.mark.parametrize("style", STYLE_NAMES)
def test_title_finishes_by_mid_scene(style: str, duration: float) -> None:
    spec = sample_spec(style, duration=duration * 3, scenes=3, size=SMALL, captions=False)
    spec = _with_titles(spec, "Think about your mornings again")
    for visual in _scene_visuals(spec)[:-1]:
        assert visual.title is not None
        deadline = min(0.35 * visual.scene.duration, 1.2)
        assert visual.title.finished_at <= deadline + 1e-6, f"{style}: title finishes at {visual.title.finished_at:.2f} s, after {deadline:.2f} s"
        settled = _settled_ink(visual)
        shown = _title_ink(visual, visual.scene.duration * 0.5)
        covered = (settled & shown).sum() / settled.sum()
        assert covered >= 0.97, f"{style}: only {covered:.0%} of the title shows at mid-scene"


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_consecutive_scenes_differ(style: str) -> None:
    spec = sample_spec(style, duration=15.0, size=SMALL, captions=False)
    visuals = _scene_visuals(spec)[:-1]
    width, height = SMALL
    for first, second in zip(visuals, visuals[1:]):
        assert first.title is not None and second.title is not None
        outside = ~(_mask_of(first.title.bounds, width, height) | _mask_of(second.title.bounds, width, height))
        difference = np.abs(_draw(first, 1.25) - _draw(second, 1.25)).max(axis=2)[outside]
        assert difference.mean() > 6.0, f"{style} scenes {first.scene.index} and {second.scene.index} look alike outside the title ({difference.mean():.1f})"
        assert first.placement != second.placement


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_every_style_renders_deterministically(style: str) -> None:
    spec = sample_spec(style, duration=8.0, scenes=4, size=SMALL)
    first, second = FrameRenderer(spec), FrameRenderer(spec)
    for t in (1.0, 3.0, 5.0, 7.0):
        assert first.frame_at(t).tobytes() == second.frame_at(t).tobytes(), f"{style}: frame at {t} s differs between renders"


@pytest.mark.parametrize("direction", ["server racks pulsing with light", "a dashboard lighting up", "a parcel landing on a doorstep", "steam rising from a coffee cup"])
def test_visual_direction_picks_motif(direction: str) -> None:
    expected = {"server": "racks", "dashboard": "dashboard", "parcel": "parcel", "steam": "cup"}
    assert motif_for(direction, 0) == next(kind for word, kind in expected.items() if word in direction)


@pytest.mark.parametrize("style", ["minimal", "corporate", "cinematic"])
def test_painted_sun_clear_of_title(style: str) -> None:
    """Render the backdrop with and without a sun in the direction: the sun's pixels miss the title box."""
    spec = sample_spec(style, duration=12.0, size=SMALL, captions=False)
    scenes = spec.storyboard.scenes

    def visual_with(direction: str) -> SceneVisual:
        scene = dataclasses.replace(scenes[1], on_screen_text="Tired of harsh alarms every morning?", visual_direction=direction)
        changed = dataclasses.replace(spec, storyboard=dataclasses.replace(spec.storyboard, scenes=(scenes[0], scene, *scenes[2:])))
        return _scene_visuals(changed)[1]

    sunny, plain = visual_with("soft sunrise light"), visual_with("a plain product shot")
    assert sunny.title is not None
    title_mask = _mask_of(sunny.title.bounds, *SMALL)
    sun_seen = 0
    for t in (0.0, 0.7, 1.4, 2.0):
        first, second = Planes.empty(*SMALL), Planes.empty(*SMALL)
        sunny.backdrop.draw(first, t)
        plain.backdrop.draw(second, t)
        sun = np.abs(first.to_rgb().astype(np.int16) - second.to_rgb()).max(axis=2) > 30
        sun_seen += int(sun.sum())
        assert not (sun & title_mask).any(), f"{style}: the sun shows behind the title at {t} s"
    assert sun_seen > 1000, f"{style}: no sun painted"
