"""Draw the widget's logos in the sizes amoCRM asks for (contracts/amocrm.md 1.1): python make_logos.py."""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

IMAGES = Path(__file__).resolve().parent.parent / "images"
# name: (width, height, with the word mark)
SIZES = {
    "logo_min.png": (84, 84, False),
    "logo_small.png": (108, 108, False),
    "logo.png": (130, 100, False),
    "logo_medium.png": (240, 84, True),
    "logo_main.png": (400, 272, True),
}
BLUE, INK = (76, 139, 245), (49, 57, 66)
SCALE = 4  # draw large, then downsample: smooth edges without antialiasing support in ImageDraw
FONT_FILES = ["/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"]


def font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def mark(draw: ImageDraw.ImageDraw, left: int, top: int, side: int) -> None:
    """A rounded tile with four rising instalment bars: a plan paid off step by step."""
    draw.rounded_rectangle((left, top, left + side, top + side), radius=side // 5, fill=BLUE)
    bar = side // 9
    base = top + side * 3 // 4
    for index, height in enumerate((0.2, 0.32, 0.44, 0.56)):
        x = left + side * 2 // 9 + index * (bar + bar * 2 // 3)
        shade = "white" if index < 3 else (214, 230, 255)
        draw.rounded_rectangle((x, base - int(side * height), x + bar, base), radius=bar // 3, fill=shade)


def logo(width: int, height: int, word: bool) -> Image.Image:
    canvas = Image.new("RGBA", (width * SCALE, height * SCALE), (255, 255, 255, 0))
    draw = ImageDraw.Draw(canvas)
    if not word:
        side = int(min(width, height) * SCALE * 0.86)
        mark(draw, (width * SCALE - side) // 2, (height * SCALE - side) // 2, side)
        return canvas.resize((width, height), Image.LANCZOS)
    side = int(height * SCALE * (0.7 if width / height < 2 else 0.62))
    if width / height < 2:  # the big logo: tile above, word mark below
        mark(draw, (width * SCALE - side) // 2, int(height * SCALE * 0.1), side)
        text_font = font(int(height * SCALE * 0.14))
        box = draw.textbbox((0, 0), "PayPlan", font=text_font)
        draw.text(((width * SCALE - box[2]) // 2, int(height * SCALE * 0.78)), "PayPlan", font=text_font, fill=INK)
    else:
        top = (height * SCALE - side) // 2
        mark(draw, top, top, side)
        text_font = font(int(height * SCALE * 0.34))
        box = draw.textbbox((0, 0), "PayPlan", font=text_font)
        draw.text((top * 2 + side, (height * SCALE - box[3]) // 2 - box[1] // 2), "PayPlan", font=text_font, fill=INK)
    return canvas.resize((width, height), Image.LANCZOS)


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    for name, (width, height, word) in SIZES.items():
        logo(width, height, word).save(IMAGES / name, optimize=True)


if __name__ == "__main__":
    main()
