"""One background image per scene from an image model (images.generate, base64 responses).

Images are all-or-nothing: when any scene's image fails, the caller falls back to
procedural visuals for every scene, so a commercial never mixes the two looks.
End cards get no image because the renderer draws them from the brand and palette.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from pathlib import Path

import openai
from PIL import Image, UnidentifiedImageError

from pipeline.models import BriefAnalysis, PlatformPreset, ProgressCallback, Storyboard, silent_progress
from pipeline.providers.base import ModelProvider
from pipeline.providers.client import ProviderError

logger = logging.getLogger(__name__)

# Sizes by orientation; DALL-E 3 has its own wide and tall sizes.
SIZES = {"landscape": "1536x1024", "portrait": "1024x1536", "square": "1024x1024"}
DALL_E_3_SIZES = {"landscape": "1792x1024", "portrait": "1024x1792", "square": "1024x1024"}


def image_size_for(model: str, preset: PlatformPreset, configured: str = "") -> str:
    """Return the configured size, or the model's size closest to the preset's orientation."""
    if configured:
        return configured
    if preset.width > preset.height:
        orientation = "landscape"
    elif preset.height > preset.width:
        orientation = "portrait"
    else:
        orientation = "square"
    return (DALL_E_3_SIZES if model == "dall-e-3" else SIZES)[orientation]


def scene_prompt(analysis: BriefAnalysis, visual_direction: str) -> str:
    """Write the image prompt for one scene: its direction, the style and palette, and no text."""
    return (
        f"{visual_direction}. Background image for a {analysis.style} video commercial for "
        f"{analysis.brand} ({analysis.product}), {analysis.tone} mood, colour palette "
        f"{', '.join(analysis.palette.as_list())}. No text, letters, logos or watermarks."
    )


class ImageProvider(ModelProvider):
    """Generates scene background images through images.generate."""

    use = "image"

    def generate(
        self,
        stage: str,
        analysis: BriefAnalysis,
        storyboard: Storyboard,
        preset: PlatformPreset,
        output_dir: Path,
        *,
        progress: ProgressCallback = silent_progress,
    ) -> dict[int, Path]:
        """Write one PNG per scene under `output_dir` and return {scene index: path}."""
        size = image_size_for(self.model, preset, self._settings.image_size)
        scenes = [scene for scene in storyboard.scenes if scene.kind == "scene"]
        deadline = self._policy.deadline()
        output_dir.mkdir(parents=True, exist_ok=True)
        paths: dict[int, Path] = {}
        for done, scene in enumerate(scenes, start=1):
            direction = scene.visual_direction or scene.on_screen_text or scene.narration
            image = self._generate_one(stage, scene_prompt(analysis, direction), size, deadline)
            path = output_dir / f"scene_{scene.index:02d}.png"
            image.save(path, format="PNG")
            paths[scene.index] = path
            progress(stage, done / len(scenes), f"generated image {done} of {len(scenes)}")
        return paths

    def _generate_one(self, stage: str, prompt: str, size: str, deadline: float) -> Image.Image:
        # gpt-image models always return base64 and reject response_format.
        gpt_image = self.model.startswith("gpt-image")
        response = self._policy.call(
            stage,
            lambda timeout: self._client.images.generate(
                model=self.model,
                prompt=prompt,
                size=size,
                n=1,
                quality="medium" if gpt_image else openai.omit,
                response_format=openai.omit if gpt_image else "b64_json",
                timeout=timeout,
            ),
            deadline=deadline,
        )
        self._meter.add_images(stage, self.model, size, 1)
        data = response.data[0].b64_json if response.data else None
        if not data:
            raise ProviderError(stage, self._policy.provider, "returned no base64 image (b64_json)")
        try:
            image = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
            image.load()
        except (binascii.Error, UnidentifiedImageError, OSError) as error:
            raise ProviderError(stage, self._policy.provider, f"returned an unreadable image: {error}") from None
        return image.convert("RGB")
