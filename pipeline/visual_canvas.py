"""Frame buffers in planar YUV 4:2:0 and the integer blending the renderer draws with.

Frames are composed directly in the encoder's pixel format (BT.709, limited
range, 4:2:0), so no per-frame colour conversion runs in Python or in ffmpeg,
and every per-frame operation touches half the bytes an RGB frame would.
Alpha blending commutes with the affine RGB-to-YUV map, so blending planes
gives the same picture as blending RGB and converting afterwards.
Layers are built once with Pillow and float32 numpy; per frame only uint8 and
uint16 operations run, on the regions that change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

logger = logging.getLogger(__name__)

U8 = NDArray[np.uint8]
U16 = NDArray[np.uint16]

# BT.709 luma weights; chroma scale factors follow from them.
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """Parse "#rrggbb" (or "rrggbb") into an (r, g, b) tuple; raise ValueError naming the value."""
    text = colour.strip().lstrip("#")
    if len(text) != 6:
        raise ValueError(f"colour {colour!r} is invalid; use the form '#rrggbb'")
    try:
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        raise ValueError(f"colour {colour!r} is invalid; use the form '#rrggbb'") from None


# Rows give Y, U, V (limited range, before the 16/128 offsets) from RGB in 0..255.
_RGB_TO_YUV = np.array(
    [
        [_KR, _KG, _KB],
        [-_KR / (2.0 * (1.0 - _KB)), -_KG / (2.0 * (1.0 - _KB)), 0.5],
        [0.5, -_KG / (2.0 * (1.0 - _KR)), -_KB / (2.0 * (1.0 - _KR))],
    ],
    dtype=np.float32,
) * np.array([[219.0], [224.0], [224.0]], dtype=np.float32) / 255.0


_LUMA_FIXED = tuple(np.uint32(round(float(weight) * 65536.0)) for weight in _RGB_TO_YUV[0])


def rgb_to_yuv_float(rgb: NDArray[np.generic]) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Convert RGB in 0..255 (shape (..., 3)) to BT.709 limited-range Y, U, V as float32."""
    # Per-channel sums: numpy's matmul on an (N, 3) x (3, 3) product is many times slower here.
    red = rgb[..., 0].astype(np.float32)
    green = rgb[..., 1].astype(np.float32)
    blue = rgb[..., 2].astype(np.float32)
    planes = []
    for row, offset in zip(_RGB_TO_YUV, (16.0, 128.0, 128.0)):
        plane = red * row[0]
        plane += green * row[1]
        plane += blue * row[2]
        plane += np.float32(offset)
        planes.append(plane)
    return planes[0], planes[1], planes[2]


def colour_yuv(colour: str | tuple[int, int, int]) -> tuple[int, int, int]:
    """Return the (y, u, v) bytes of one RGB colour."""
    rgb = hex_to_rgb(colour) if isinstance(colour, str) else colour
    y, u, v = rgb_to_yuv_float(np.array(rgb, dtype=np.float32))
    return int(round(float(y))), int(round(float(u))), int(round(float(v)))


def _downsample(plane: NDArray[np.float32]) -> NDArray[np.float32]:
    """Average 2x2 blocks of a plane whose sides are even."""
    total = plane[0::2, 0::2] + plane[1::2, 0::2]
    total += plane[0::2, 1::2]
    total += plane[1::2, 1::2]
    total *= np.float32(0.25)
    return total


def _to_u8(plane: NDArray[np.floating[Any]]) -> U8:
    result: U8 = np.clip(np.rint(plane), 0, 255).astype(np.uint8)
    return result


class Planes:
    """One picture as three uint8 planes: Y at full size, U and V at half width and height."""

    __slots__ = ("height", "width", "y", "u", "v")

    def __init__(self, y: U8, u: U8, v: U8) -> None:
        if y.shape[0] % 2 or y.shape[1] % 2:
            raise ValueError(f"picture size {y.shape[1]}x{y.shape[0]} must be even on both sides for 4:2:0")
        self.y, self.u, self.v = y, u, v
        self.height, self.width = y.shape

    @classmethod
    def empty(cls, width: int, height: int) -> Planes:
        """Allocate zeroed planes as views of one contiguous yuv420p buffer (see `packed`)."""
        size = width * height
        buffer = np.zeros(size * 3 // 2, np.uint8)
        return cls(
            buffer[:size].reshape(height, width),
            buffer[size : size * 5 // 4].reshape(height // 2, width // 2),
            buffer[size * 5 // 4 :].reshape(height // 2, width // 2),
        )

    def packed(self) -> U8 | None:
        """Return the contiguous yuv420p buffer behind planes made by `empty`, or None for other planes."""
        base = self.y.base
        if isinstance(base, np.ndarray) and self.u.base is base and self.v.base is base and base.size == self.width * self.height * 3 // 2:
            return base
        return None

    @classmethod
    def from_rgb(cls, rgb: NDArray[np.uint8]) -> Planes:
        """Convert an (H, W, 3) uint8 RGB array with even sides.

        Luma is computed in 16.16 fixed point at full size. Chroma comes from the 2x2 box average,
        which Pillow computes in C and which is all that 4:2:0 keeps.
        """
        height, width = rgb.shape[:2]
        luma = rgb[..., 0] * _LUMA_FIXED[0]
        luma += rgb[..., 1] * _LUMA_FIXED[1]
        luma += rgb[..., 2] * _LUMA_FIXED[2]
        luma += (16 << 16) + (1 << 15)
        luma >>= 16
        half = np.asarray(Image.fromarray(rgb).resize((width // 2, height // 2), Image.Resampling.BOX))
        _, u, v = rgb_to_yuv_float(half)
        return cls(luma.astype(np.uint8), _to_u8(u), _to_u8(v))

    @classmethod
    def solid(cls, width: int, height: int, colour: str | tuple[int, int, int]) -> Planes:
        planes = cls.empty(width, height)
        planes.fill(colour_yuv(colour))
        return planes

    def fill(self, yuv: tuple[int, int, int]) -> None:
        self.y.fill(yuv[0])
        self.u.fill(yuv[1])
        self.v.fill(yuv[2])

    def copy_from(self, other: Planes) -> None:
        np.copyto(self.y, other.y)
        np.copyto(self.u, other.u)
        np.copyto(self.v, other.v)

    def window(self, x: int, y: int, width: int, height: int) -> Planes:
        """Return a view of a width x height region at (x, y); x and y are rounded down to even."""
        x -= x % 2
        y -= y % 2
        return Planes(
            self.y[y : y + height, x : x + width],
            self.u[y // 2 : (y + height) // 2, x // 2 : (x + width) // 2],
            self.v[y // 2 : (y + height) // 2, x // 2 : (x + width) // 2],
        )

    def to_rgb(self) -> U8:
        """Convert to an (H, W, 3) uint8 RGB array, upsampling chroma by pixel repetition."""
        luma = (self.y.astype(np.float32) - 16.0) / 219.0
        cb = np.repeat(np.repeat((self.u.astype(np.float32) - 128.0) / 224.0, 2, 0), 2, 1)
        cr = np.repeat(np.repeat((self.v.astype(np.float32) - 128.0) / 224.0, 2, 0), 2, 1)
        red = luma + 2.0 * (1.0 - _KR) * cr
        blue = luma + 2.0 * (1.0 - _KB) * cb
        green = (luma - _KR * red - _KB * blue) / _KG
        rgb = np.stack([red, green, blue], axis=-1) * np.float32(255.0)
        return _to_u8(rgb)

    def write_into(self, buffer: U8) -> None:
        """Copy the planes, in yuv420p order, into a flat buffer of width*height*3/2 bytes."""
        size = self.width * self.height
        quarter = size // 4
        np.copyto(buffer[:size].reshape(self.height, self.width), self.y)
        np.copyto(buffer[size : size + quarter].reshape(self.height // 2, self.width // 2), self.u)
        np.copyto(buffer[size + quarter :].reshape(self.height // 2, self.width // 2), self.v)


def _alpha_256(alpha: NDArray[np.floating[Any]]) -> U16:
    """Map alpha in 0..1 to integer weights 0..256, so that a weight of 256 copies the source exactly."""
    weights: U16 = np.rint(np.clip(alpha, 0.0, 1.0) * 256.0).astype(np.uint16)
    return weights


@dataclass(frozen=True)
class _PlaneLayer:
    """A source plane and its alpha weights (0..256); 3 bytes per pixel, so many sprites fit in memory."""

    values: U8
    alpha: U16


def _plane_layer(values: NDArray[np.floating[Any]], alpha: NDArray[np.floating[Any]]) -> _PlaneLayer:
    return _PlaneLayer(_to_u8(values), _alpha_256(alpha))


def _blend_plane(dst: U8, layer: _PlaneLayer, top: int, left: int, opacity: int, visible_width: int) -> None:
    """Blend the first `visible_width` columns of `layer` into `dst` at (left, top), clipped to `dst`."""
    height, width = layer.alpha.shape
    width = min(width, visible_width)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + height, dst.shape[0]), min(left + width, dst.shape[1])
    if y1 <= y0 or x1 <= x0:
        return
    src = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
    region = dst[y0:y1, x0:x1]
    alpha = layer.alpha[src]
    if opacity < 256:
        alpha = alpha * np.uint16(opacity)
        alpha >>= 8
    # dst*(256-a) + src*a never exceeds 255*256, so uint16 cannot overflow.
    work = region * (256 - alpha)
    work += layer.values[src] * alpha
    work >>= 8
    region[...] = work


class Sprite:
    """An RGBA picture converted once into YUV planes with alpha weights, ready to blend anywhere."""

    __slots__ = ("width", "height", "_y", "_u", "_v")

    def __init__(self, rgba: NDArray[np.generic]) -> None:
        height, width = rgba.shape[:2]
        pad_bottom, pad_right = height % 2, width % 2
        if pad_bottom or pad_right:
            rgba = np.pad(rgba, ((0, pad_bottom), (0, pad_right), (0, 0)))
        self.height, self.width = rgba.shape[:2]
        pixels = rgba.astype(np.float32)
        alpha = pixels[..., 3] / 255.0
        y, u, v = rgb_to_yuv_float(pixels[..., :3])
        self._y = _plane_layer(y, alpha)
        # Chroma of a 2x2 block is the alpha-weighted mean, so edges do not bleed the colour under transparency.
        alpha_half = _downsample(alpha)
        safe = np.maximum(alpha_half, np.float32(1e-6))
        self._u = _plane_layer(_downsample(u * alpha) / safe, alpha_half)
        self._v = _plane_layer(_downsample(v * alpha) / safe, alpha_half)

    @classmethod
    def from_image(cls, image: Image.Image) -> Sprite:
        return cls(np.asarray(image.convert("RGBA")))

    def blend_into(
        self, frame: Planes, x: int, y: int, opacity: float = 1.0, visible_width: int | None = None
    ) -> None:
        """Blend the sprite with its top-left corner at (x, y); parts outside the frame are clipped.

        `visible_width` keeps only that many columns from the left, for type-on reveals.
        """
        weight = int(round(min(opacity, 1.0) * 256))
        shown = self.width if visible_width is None else max(0, visible_width)
        if weight <= 0 or shown <= 0:
            return
        _blend_plane(frame.y, self._y, y, x, weight, shown)
        _blend_plane(frame.u, self._u, y // 2, x // 2, weight, (shown + 1) // 2)
        _blend_plane(frame.v, self._v, y // 2, x // 2, weight, (shown + 1) // 2)

    def glint(self, frame: Planes, x: int, y: int, centre: float, half_width: float, yuv: tuple[int, int, int], strength: float) -> None:
        """Brighten the sprite's own pixels towards `yuv` in a soft vertical band, a light sweeping over metal.

        `centre` and `half_width` are in sprite columns; the band's weight falls off linearly to zero.
        """
        first = max(0, int(centre - half_width)) & ~1
        last = min(self.width, int(centre + half_width) + 2)
        if last <= first:
            return
        columns = np.arange(first, last, dtype=np.float32)
        weights = np.clip(1.0 - np.abs(columns - centre) / max(half_width, 1.0), 0.0, 1.0) * strength
        for plane, layer, value, scale in ((frame.y, self._y, yuv[0], 1), (frame.u, self._u, yuv[1], 2), (frame.v, self._v, yuv[2], 2)):
            band = np.rint(weights[::scale] * 256).astype(np.uint16)
            top, left = y // scale, x // scale + first // scale
            alpha = layer.alpha[:, first // scale : first // scale + band.size] * band
            alpha >>= 8
            source = _PlaneLayer(np.full(alpha.shape, value, np.uint8), alpha)
            _blend_plane(plane, source, top, left, 256, alpha.shape[1])


def blend_colour_rect(
    frame: Planes, x0: int, y0: int, x1: int, y1: int, yuv: tuple[int, int, int], opacity: float
) -> None:
    """Blend a solid rectangle (luma coordinates, clipped to the frame) with uniform opacity."""
    weight = int(round(max(0.0, min(1.0, opacity)) * 256))
    x0, y0 = max(x0, 0) & ~1, max(y0, 0) & ~1
    x1, y1 = min(x1, frame.width), min(y1, frame.height)
    if weight <= 0 or x1 <= x0 or y1 <= y0:
        return
    for plane, value, scale in ((frame.y, yuv[0], 1), (frame.u, yuv[1], 2), (frame.v, yuv[2], 2)):
        region = plane[y0 // scale : (y1 + scale - 1) // scale, x0 // scale : (x1 + scale - 1) // scale]
        if weight >= 256:
            region.fill(value)
            continue
        work = region.astype(np.uint16)
        work *= 256 - weight
        work += value * weight
        work >>= 8
        region[...] = work


def crossfade(dst: Planes, first: Planes, second: Planes, amount: float) -> None:
    """Write first*(1-amount) + second*amount into dst, in uint16."""
    weight = int(round(max(0.0, min(1.0, amount)) * 256))
    for out, a, b in ((dst.y, first.y, second.y), (dst.u, first.u, second.u), (dst.v, first.v, second.v)):
        work = a.astype(np.uint16)
        work *= 256 - weight
        work += b.astype(np.uint16) * np.uint16(weight)
        work >>= 8
        out[...] = work
