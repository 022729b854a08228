"""Draw simple product pictures for the demo data (no files shipped in the repo).

Each category gets its own colours and motif, so the storefront looks like a
shop of real, different goods. The result goes through the same upload
pipeline (core.images) as a photo a member uploads.
"""
import io
import random

from PIL import Image, ImageDraw, ImageFilter

PALETTES = {
    "fungi": ((61, 43, 31), (139, 94, 60), (30, 20, 14)),
    "dried_vegetables": ((244, 196, 48), (230, 126, 34), (120, 80, 20)),
    "grains": ((236, 214, 160), (196, 160, 90), (120, 90, 40)),
    "fruit": ((250, 210, 180), (220, 60, 50), (60, 120, 50)),
    "nuts": ((222, 196, 160), (150, 100, 60), (90, 60, 30)),
    "tea": ((200, 230, 190), (60, 120, 60), (30, 70, 30)),
    "wine": ((250, 235, 235), (110, 20, 40), (60, 10, 20)),
    "honey": ((255, 236, 170), (240, 170, 30), (150, 90, 10)),
    "spices": ((250, 220, 200), (200, 50, 30), (110, 30, 20)),
    "handicraft": ((230, 220, 210), (70, 110, 160), (160, 60, 60)),
}


def draw_product_picture(category: str, seed: int, size=(900, 900)) -> bytes:
    rng = random.Random(seed)
    light, main, dark = PALETTES.get(category, PALETTES["grains"])
    image = Image.new("RGB", size, light)
    draw = ImageDraw.Draw(image)
    w, h = size
    for y in range(h):  # soft vertical gradient, lighter at the top
        t = y / h
        draw.line([(0, y), (w, y)], fill=tuple(int(light[i] * (1 - t * 0.35)) for i in range(3)))
    draw.ellipse([w * 0.1, h * 0.62, w * 0.9, h * 0.95], fill=tuple(int(c * 0.8) for c in light))
    MOTIFS.get(category, _scatter)(draw, rng, w, h, main, dark)
    image = image.filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def _scatter(draw, rng, w, h, main, dark):
    for _ in range(60):
        x, y, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.45, 0.85) * h, rng.uniform(0.02, 0.05) * w
        draw.ellipse([x - r, y - r * 0.8, x + r, y + r * 0.8], fill=main, outline=dark)


def _fungi(draw, rng, w, h, main, dark):
    for _ in range(14):  # crinkled ear shapes
        x, y = rng.uniform(0.2, 0.8) * w, rng.uniform(0.35, 0.8) * h
        r = rng.uniform(0.07, 0.13) * w
        draw.pieslice([x - r, y - r, x + r, y + r], rng.randint(0, 90), rng.randint(200, 340), fill=dark)
        draw.arc([x - r * 0.7, y - r * 0.7, x + r * 0.7, y + r * 0.7], 0, 300, fill=main, width=6)


def _lily(draw, rng, w, h, main, dark):
    for _ in range(9):
        cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.3, 0.75) * h
        for k in range(6):
            angle = k * 60 + rng.randint(0, 20)
            dx, dy = (0.09 * w, 0.03 * w) if angle % 120 < 60 else (0.03 * w, 0.09 * w)
            draw.ellipse([cx - dx, cy - dy, cx + dx, cy + dy], fill=main, outline=dark)
        draw.ellipse([cx - 12, cy - 12, cx + 12, cy + 12], fill=dark)


def _bottle(draw, rng, w, h, main, dark):
    for i, x in enumerate((0.3, 0.55)):
        left = x * w
        draw.rectangle([left, 0.35 * h, left + 0.18 * w, 0.85 * h], fill=dark)
        draw.rectangle([left + 0.06 * w, 0.18 * h, left + 0.12 * w, 0.36 * h], fill=dark)
        draw.rectangle([left + 0.02 * w, 0.5 * h, left + 0.16 * w, 0.65 * h], fill=(240, 230, 210))
        draw.rectangle([left + 0.04 * w, 0.55 * h, left + 0.14 * w, 0.58 * h], fill=main)
    draw.polygon([(0.72 * w, 0.85 * h), (0.78 * w, 0.6 * h), (0.9 * w, 0.6 * h), (0.86 * w, 0.85 * h)], fill=main)


def _leaves(draw, rng, w, h, main, dark):
    for _ in range(25):
        x, y = rng.uniform(0.2, 0.8) * w, rng.uniform(0.3, 0.85) * h
        r = rng.uniform(0.04, 0.08) * w
        draw.ellipse([x - r, y - r / 2.5, x + r, y + r / 2.5], fill=main, outline=dark, width=3)
        draw.line([x - r, y, x + r, y], fill=dark, width=2)


def _jar(draw, rng, w, h, main, dark):
    draw.rounded_rectangle([0.3 * w, 0.3 * h, 0.7 * w, 0.85 * h], radius=40, fill=main, outline=dark, width=8)
    draw.rectangle([0.33 * w, 0.22 * h, 0.67 * w, 0.31 * h], fill=dark)
    draw.rectangle([0.36 * w, 0.5 * h, 0.64 * w, 0.65 * h], fill=(250, 245, 230))


MOTIFS = {"fungi": _fungi, "dried_vegetables": _lily, "wine": _bottle, "tea": _leaves, "honey": _jar}
