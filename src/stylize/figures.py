"""Labelled panels (the paper's Figures 1 and 3) drawn with Pillow."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

# The paper's Figure 3 rows: style layer sets A-E; columns: alpha/beta.
PAPER_ROWS: tuple[tuple[str, ...], ...] = (
    ("conv1_1",),
    ("conv1_1", "conv2_1"),
    ("conv1_1", "conv2_1", "conv3_1"),
    ("conv1_1", "conv2_1", "conv3_1", "conv4_1"),
    ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
)
PAPER_RATIOS: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2)
FIGURE1_CONTENT_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def row_label(k: int) -> str:
    return chr(ord("A") + k)


def panel(cells: list[list[Image.Image]], row_labels: list[str], column_labels: list[str], title: str = "",
          gap: int = 6) -> Image.Image:
    """A grid of equally sized cells with a label left of each row and above each column."""
    w = max(c.width for row in cells for c in row)
    h = max(c.height for row in cells for c in row)
    font_size = max(12, min(w, h) // 14)
    font, title_font = _font(font_size), _font(int(font_size * 1.3))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def text_size(text, f):
        box = probe.textbbox((0, 0), text, font=f)
        return box[2] - box[0], box[3] - box[1]

    left = max([text_size(t, font)[0] for t in row_labels] + [0]) + 2 * gap
    top_title = text_size(title, title_font)[1] + 2 * gap if title else 0
    top = top_title + max([text_size(t, font)[1] for t in column_labels] + [0]) + 2 * gap
    cols = max(len(r) for r in cells)
    canvas = Image.new("RGB", (left + cols * (w + gap) + gap, top + len(cells) * (h + gap) + gap), "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((gap, gap), title, fill="black", font=title_font)
    for j, label in enumerate(column_labels):
        tw, _ = text_size(label, font)
        draw.text((left + j * (w + gap) + (w - tw) // 2, top_title + gap), label, fill="black", font=font)
    for i, row in enumerate(cells):
        y = top + i * (h + gap)
        if i < len(row_labels):
            _, th = text_size(row_labels[i], font)
            draw.text((gap, y + (h - th) // 2), row_labels[i], fill="black", font=font)
        for j, cell in enumerate(row):
            canvas.paste(cell, (left + j * (w + gap) + (w - cell.width) // 2, y + (h - cell.height) // 2))
    return canvas
