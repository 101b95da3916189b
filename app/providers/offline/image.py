"""The offline PNG: a seeded gradient and shapes with the prompt as a caption, and its size."""

from __future__ import annotations

import colorsys
import io
import random
import textwrap
from typing import Any, Mapping

from PIL import Image, ImageDraw, ImageFont

from app.toolkit import ProviderRequestError

MAX_IMAGE_SIDE = 2048
MIN_IMAGE_SIDE = 16


def image_size(params: Mapping[str, Any]) -> tuple[int, int]:
    """The width and height ``params`` ask for (``width``/``height`` or ``size`` as ``WxH``), clamped."""
    width, height = params.get("width", 512), params.get("height", 512)
    if isinstance(params.get("size"), str) and "x" in params["size"].lower():
        width, _, height = params["size"].lower().partition("x")
    try:
        width, height = int(width), int(height)
    except (TypeError, ValueError):
        raise ProviderRequestError("An image's width and height must be whole numbers of pixels.",
                                   {"width": str(width), "height": str(height)}) from None
    if width < 1 or height < 1:
        raise ProviderRequestError("An image's width and height must be at least one pixel.",
                                   {"width": width, "height": height})
    return (max(MIN_IMAGE_SIDE, min(width, MAX_IMAGE_SIDE)), max(MIN_IMAGE_SIDE, min(height, MAX_IMAGE_SIDE)))


def _colour(rng: random.Random) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.35, 0.75), rng.uniform(0.55, 0.95))
    return round(red * 255), round(green * 255), round(blue * 255)


def render_image(prompt: str, width: int, height: int, seed: int) -> bytes:
    """A PNG for the prompt: a seeded gradient and shapes, with the prompt as a caption."""
    rng = random.Random(seed)
    size = (width, height)
    mask = Image.linear_gradient("L").resize(size)
    image = Image.composite(Image.new("RGB", size, _colour(rng)), Image.new("RGB", size, _colour(rng)), mask)
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    short = min(width, height)
    for _ in range(rng.randint(6, 14)):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randint(max(2, short // 14), max(3, short // 3))
        fill = (*_colour(rng), rng.randint(60, 160))
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        box = (x - radius, y - radius, x + radius, y + radius)
        if shape == "ellipse":
            draw.ellipse(box, fill=fill)
        elif shape == "rectangle":
            draw.rectangle(box, fill=fill)
        else:
            draw.polygon([(x + rng.randint(-radius, radius), y + rng.randint(-radius, radius)) for _ in range(3)],
                         fill=fill)
    caption = " ".join(prompt.split())
    if caption and height >= 48:
        font_size = max(10, short // 24)
        font = ImageFont.load_default(size=font_size)
        lines = textwrap.wrap(caption, width=max(8, int(width * 0.9 / (font_size * 0.55))))[:3]
        line_height = round(font_size * 1.3)
        band_top = height - line_height * len(lines) - font_size
        draw.rectangle((0, band_top, width, height), fill=(0, 0, 0, 130))
        for index, line in enumerate(lines):
            draw.text((round(width * 0.05), band_top + font_size // 2 + index * line_height), line,
                      fill=(255, 255, 255, 235), font=font)
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
