"""Product pictures made here, with no network: a deterministic SVG per product (its category's colour and
pictogram, its brand and name), for products that bring no photo. The importer refers to them from a
product's `images` (`generated_url`); `GET /media/products/{handle}.svg` draws them from the catalog."""

from __future__ import annotations

import textwrap
import zlib
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 800, 600
URL_PREFIX = "/media/products/"

# (words in a category's name, background, ink, pictogram): the first match wins
_PICTOGRAMS = {
    "headphones": (
        '<path d="M40 128v-28a60 60 0 0 1 120 0v28" fill="none" stroke-width="14" stroke-linecap="round"/>'
        '<rect x="26" y="108" width="34" height="62" rx="12"/><rect x="140" y="108" width="34" height="62" rx="12"/>'
    ),
    "bottle": (
        '<rect x="82" y="28" width="36" height="26" rx="4"/><path d="M88 54h24v18l18 18v84a12 12 0 0 1-12 12H82'
        'a12 12 0 0 1-12-12V90l18-18z"/>'
    ),
    "house": '<path d="M30 100 100 38l70 62" fill="none" stroke-width="14" stroke-linecap="round" stroke-linejoin="round"/>'
    '<path d="M52 96h96v76H116v-44H84v44H52z"/>',
    "cup": (
        '<path d="M40 84h100v50a40 40 0 0 1-40 40H80a40 40 0 0 1-40-40z"/>'
        '<path d="M140 98h12a22 22 0 0 1 0 44h-14" fill="none" stroke-width="12"/>'
        '<path d="M72 30c-10 12 10 20 0 34M104 30c-10 12 10 20 0 34" fill="none" stroke-width="8" stroke-linecap="round"/>'
    ),
    "shirt": '<path d="M70 30 30 52l16 34 20-8v92h68V78l20 8 16-34-40-22c-4 14-16 22-30 22S74 44 70 30z"/>',
    "notebook": (
        '<rect x="46" y="26" width="100" height="148" rx="8"/>'
        '<path d="M66 62h60M66 88h60M66 114h40" stroke-width="8" stroke-linecap="round" stroke="#fff"/>'
        '<path d="M160 40l14 14-54 94-20 8 4-22z"/>'
    ),
    "tent": '<path d="M100 30 20 170h160z"/><path d="M100 92 74 170h52z" fill="#fff" fill-opacity=".55"/>',
    "shoe": (
        '<path d="M22 132c0-24 6-58 20-70l30 18c10 6 22 8 34 4l22 28c18 4 40 8 48 18 6 8 4 22-6 22H32'
        'c-6 0-10-6-10-20z"/><path d="M24 150h152" stroke="#fff" stroke-width="6"/>'
    ),
    "blocks": '<rect x="28" y="100" width="66" height="66" rx="8"/><rect x="106" y="100" width="66" height="66" rx="8"/>'
    '<rect x="67" y="30" width="66" height="66" rx="8"/>',
    "box": '<path d="M100 24 170 60v80l-70 36-70-36V60z"/><path d="M30 60l70 36 70-36M100 96v80" fill="none" '
    'stroke="#fff" stroke-opacity=".6" stroke-width="6"/>',
}
_CATEGORIES = [
    (("audio", "headphone", "sound"), "#e0e7ff", "#3730a3", "headphones"),
    (("beauty", "care", "skin"), "#fce7f3", "#9d174d", "bottle"),
    (("home", "living", "decor"), "#fef3c7", "#92400e", "house"),
    (("kitchen", "coffee", "cook"), "#ffedd5", "#9a3412", "cup"),
    (("apparel", "clothing", "fashion", "wear"), "#ede9fe", "#5b21b6", "shirt"),
    (("office", "desk", "stationery"), "#e0f2fe", "#075985", "notebook"),
    (("outdoor", "camping", "hiking"), "#dcfce7", "#166534", "tent"),
    (("running", "fitness", "sport"), "#ccfbf1", "#115e59", "shoe"),
    (("toy", "game", "kids"), "#fee2e2", "#991b1b", "blocks"),
]
_OTHER_COLOURS = [
    ("#f1f5f9", "#334155"),
    ("#ecfccb", "#3f6212"),
    ("#fae8ff", "#86198f"),
    ("#e2e8f0", "#1e293b"),
]


def generated_url(handle: str) -> str:
    return f"{URL_PREFIX}{handle}.svg"


def _style(category: str) -> tuple[str, str, str]:
    words = category.lower()
    for keys, background, ink, pictogram in _CATEGORIES:
        if any(key in words for key in keys):
            return background, ink, pictogram
    background, ink = _OTHER_COLOURS[zlib.crc32(words.encode()) % len(_OTHER_COLOURS)]
    return background, ink, "box"


def product_svg(name: str, brand: str = "", category: str = "") -> str:
    """The picture: the same text always gives the same bytes."""
    background, ink, pictogram = _style(category)
    lines = textwrap.wrap(" ".join(name.split()), width=24)[:2] or [""]
    if len(textwrap.wrap(" ".join(name.split()), width=24)) > 2:
        lines[-1] = lines[-1][:22].rstrip() + "…"
    first_line_y = 470 if len(lines) == 1 else 450
    text = "".join(
        f'<text x="400" y="{first_line_y + 46 * n}" font-size="40" font-weight="700" text-anchor="middle">'
        f"{escape(line)}</text>"
        for n, line in enumerate(lines)
    )
    label = escape(f"{brand} {name}".strip(), {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{background}"/>'
        f'<circle cx="400" cy="230" r="150" fill="#ffffff" fill-opacity=".55"/>'
        f'<g transform="translate(300 130)" fill="{ink}" stroke="{ink}" stroke-width="0">{_PICTOGRAMS[pictogram]}</g>'
        f'<g fill="{ink}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">'
        + (
            f'<text x="400" y="{first_line_y - 52}" font-size="26" text-anchor="middle" letter-spacing="2" '
            f'fill-opacity=".8">{escape(brand.upper()[:40])}</text>'
            if brand
            else ""
        )
        + text
        + "</g></svg>"
    )
