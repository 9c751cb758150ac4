"""Deterministic generated collection in the BAYC spirit: trait layers drawn as cartoon ape busts."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from multiprocessing import Pool
from pathlib import Path

from PIL import Image, ImageDraw

from apeart.core.files import png_bytes, write_bytes
from apeart.ipfs.cid import cid_v0

Colour = tuple[int, int, int]
Box = tuple[float, float, float, float]

SIZE = 631
SUPERSAMPLE = 2
INK: Colour = (24, 20, 22)
WHITE: Colour = (246, 244, 238)
OUTLINE = 6.0  # outline width in 1000-unit canvas coordinates

BACKGROUNDS: dict[str, Colour] = {
    "orange": (240, 157, 78),
    "yellow": (228, 226, 148),
    "aquamarine": (94, 206, 196),
    "blue": (150, 204, 228),
    "purple": (134, 113, 168),
    "gray": (198, 199, 197),
    "army green": (117, 121, 80),
    "new punk blue": (64, 117, 138),
}

# fur name -> (fur colour, lighter face/muzzle colour)
FURS: dict[str, tuple[Colour, Colour]] = {
    "brown": ((126, 80, 50), (214, 170, 124)),
    "dark brown": ((74, 50, 36), (176, 134, 98)),
    "golden brown": ((198, 140, 50), (240, 206, 142)),
    "cream": ((232, 214, 176), (250, 236, 214)),
    "gray": ((128, 128, 130), (196, 192, 186)),
    "robot": ((160, 172, 184), (214, 222, 230)),
    "zombie": ((118, 156, 98), (176, 202, 150)),
    "blue": ((62, 96, 170), (150, 176, 222)),
}

TRAIT_LAYERS: dict[str, tuple[str, ...]] = {
    "background": tuple(BACKGROUNDS),
    "fur": tuple(FURS),
    "clothes": ("none", "white tee", "striped tee", "hoodie", "suit", "hawaiian"),
    "eyes": ("bored", "sleepy", "x eyes", "laser", "sunglasses", "wide"),
    "mouth": ("bored", "grin", "discomfort", "phoneme", "cigarette", "bubblegum"),
    "hat": ("none", "beanie", "cap", "crown", "fez", "headband"),
    "earring": ("none", "silver hoop", "gold stud", "diamond"),
}

HEAD: Box = (260, 125, 740, 740)
TORSO: Box = (140, 770, 860, 1330)
NECK = (395.0, 605.0)
EYES = ((418.0, 398.0), (582.0, 398.0))


def traits_for(token_id: int, seed: int) -> dict[str, str]:
    """Pick one variant per trait layer, deterministically from (seed, token_id)."""
    digest = hashlib.sha256(f"apeart-demo:{seed}:{token_id}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    return {layer: rng.choice(variants) for layer, variants in TRAIT_LAYERS.items()}


class _Pen:
    """ImageDraw in 1000-unit square coordinates with a fixed black outline."""

    def __init__(self, img: Image.Image) -> None:
        self.draw = ImageDraw.Draw(img)
        self.size = img.width
        self.k = img.width / 1000
        self.width = max(1, round(OUTLINE * self.k))

    def _xy(self, pts: Iterable[float]) -> list[float]:
        return [v * self.k for v in pts]

    def _ink(self, outline: bool) -> Colour | None:
        return INK if outline else None

    def ellipse(self, box: Box, fill: Colour | None, outline: bool = True) -> None:
        self.draw.ellipse(self._xy(box), fill=fill, outline=self._ink(outline), width=self.width)

    def chord(self, box: Box, start: float, end: float, fill: Colour, outline: bool = True) -> None:
        self.draw.chord(self._xy(box), start, end, fill=fill, outline=self._ink(outline), width=self.width)

    def arc(self, box: Box, start: float, end: float, width: float = OUTLINE, colour: Colour = INK) -> None:
        self.draw.arc(self._xy(box), start, end, fill=colour, width=max(1, round(width * self.k)))

    def polygon(self, pts: list[float], fill: Colour, outline: bool = True) -> None:
        self.draw.polygon(self._xy(pts), fill=fill, outline=self._ink(outline), width=self.width)

    def rect(self, box: Box, fill: Colour, outline: bool = True, radius: float = 0) -> None:
        self.draw.rounded_rectangle(
            self._xy(box), radius=radius * self.k, fill=fill, outline=self._ink(outline), width=self.width
        )

    def line(self, pts: list[float], width: float = OUTLINE, colour: Colour = INK) -> None:
        self.draw.line(self._xy(pts), fill=colour, width=max(1, round(width * self.k)), joint="curve")

    def dot(self, x: float, y: float, r: float, fill: Colour, outline: bool = True) -> None:
        self.ellipse((x - r, y - r, x + r, y + r), fill, outline)

    def blob(self, boxes: list[Box], fill: Colour) -> None:
        """Union of ellipses with one outer outline: outlined shapes first, then inset fills."""
        for box in boxes:
            self.ellipse(box, fill)
        inset = OUTLINE
        for x0, y0, x1, y1 in boxes:
            self.ellipse((x0 + inset, y0 + inset, x1 - inset, y1 - inset), fill, outline=False)


def _shade(colour: Colour, factor: float) -> Colour:
    r, g, b = (min(255, round(c * factor)) for c in colour)
    return r, g, b


def _draw_fur(pen: _Pen, traits: dict[str, str]) -> None:
    fur, face = FURS[traits["fur"]]
    pen.ellipse(TORSO, fur)
    pen.rect((NECK[0], 600, NECK[1], 820), fur, outline=False)
    for x in NECK:
        pen.line([x, 600, x, 795])
    for x0 in (160, 700):
        pen.ellipse((x0, 330, x0 + 140, 500), fur)
        pen.ellipse((x0 + 30, 365, x0 + 110, 470), face, outline=False)
    pen.ellipse(HEAD, fur)
    pen.blob([(322, 300, 508, 478), (492, 300, 678, 478), (328, 440, 672, 708)], face)
    pen.line([340, 318, 420, 300, 500, 330, 580, 300, 660, 318], width=8, colour=_shade(fur, 0.7))
    pen.dot(478, 548, 11, INK, outline=False)
    pen.dot(522, 548, 11, INK, outline=False)
    if traits["fur"] == "robot":
        for x in (300, 700):
            pen.dot(x, 425, 14, _shade(fur, 0.75))
        pen.line([500, 135, 500, 290], width=5, colour=_shade(fur, 0.6))
    elif traits["fur"] == "zombie":
        for x, y, r in ((350, 230, 26), (640, 260, 18), (600, 190, 12)):
            pen.dot(x, y, r, _shade(fur, 0.78), outline=False)


def _collar(pen: _Pen, fur: Colour) -> None:
    x0, x1 = NECK
    pen.ellipse((x0, 730, x1, 870), fur)
    pen.rect((x0 + OUTLINE / 2, HEAD[3] + OUTLINE, x1 - OUTLINE / 2, 800), fur, outline=False)


def _draw_clothes(pen: _Pen, traits: dict[str, str]) -> None:
    kind = traits["clothes"]
    fur = FURS[traits["fur"]][0]
    if kind == "none":
        return
    base = {
        "white tee": (238, 236, 228),
        "striped tee": (40, 52, 96),
        "hoodie": (120, 124, 132),
        "suit": (36, 36, 44),
        "hawaiian": (40, 170, 160),
    }[kind]
    pen.ellipse(TORSO, base)
    if kind == "striped tee":
        for y in (870, 935):
            half = 340 * (1 - ((y + 18 - 1055) / 265) ** 2) ** 0.5
            pen.rect((500 - half + 12, y, 500 + half - 12, y + 36), WHITE, outline=False)
    elif kind == "hawaiian":
        for x, y in ((290, 900), (400, 960), (620, 950), (720, 905), (520, 1000)):
            for dx, dy in ((-16, 0), (16, 0), (0, -16), (0, 16)):
                pen.dot(x + dx, y + dy, 14, (250, 120, 150), outline=False)
            pen.dot(x, y, 9, (250, 220, 90), outline=False)
    elif kind == "suit":
        pen.polygon([430, 800, 570, 800, 500, 1000], WHITE)
        pen.polygon([485, 850, 515, 850, 525, 960, 500, 990, 475, 960], (190, 40, 50))
        pen.line([430, 800, 390, 1000])
        pen.line([570, 800, 610, 1000])
        return
    if kind == "hoodie":
        pen.ellipse((360, 720, 640, 900), _shade(base, 0.8))
        pen.line([470, 880, 460, 990], width=8, colour=WHITE)
        pen.line([530, 880, 540, 990], width=8, colour=WHITE)
    _collar(pen, fur)


def _lid(traits: dict[str, str]) -> Colour:
    return _shade(FURS[traits["fur"]][1], 0.82)


def _draw_eyes(pen: _Pen, traits: dict[str, str]) -> None:
    kind = traits["eyes"]
    if kind == "sunglasses":
        pen.line([300, 390, 700, 390], width=10)
        for cx, _ in EYES:
            pen.rect((cx - 78, 350, cx + 78, 445), (20, 22, 30), radius=30)
            pen.line([cx - 50, 372, cx - 20, 372], width=8, colour=(200, 210, 230))
        return
    for cx, cy in EYES:
        box = (cx - 54, cy - 44, cx + 54, cy + 44)
        if kind == "bored":
            pen.ellipse(box, WHITE)
            pen.dot(cx, cy + 12, 17, INK, outline=False)
            pen.chord(box, 180, 360, _lid(traits))
            pen.line([cx - 54, cy, cx + 54, cy], width=9)
        elif kind == "sleepy":
            pen.ellipse(box, _lid(traits))
            pen.arc((cx - 40, cy - 30, cx + 40, cy + 24), 20, 160, width=9)
            for dx in (-24, 0, 24):
                pen.line([cx + dx, cy + 26, cx + dx * 1.3, cy + 40], width=5)
        elif kind == "x eyes":
            pen.ellipse(box, WHITE)
            pen.line([cx - 24, cy - 24, cx + 24, cy + 24], width=11)
            pen.line([cx - 24, cy + 24, cx + 24, cy - 24], width=11)
        elif kind == "laser":
            beam_x = 0 if cx < 500 else 1000
            pen.polygon([cx, cy - 16, beam_x, cy - 40, beam_x, cy + 40, cx, cy + 16], (235, 40, 40), outline=False)
            pen.line([cx, cy, beam_x, cy], width=12, colour=(255, 190, 180))
            pen.ellipse(box, (235, 40, 40))
            pen.dot(cx, cy, 20, (255, 240, 200), outline=False)
        else:  # wide
            pen.ellipse((cx - 60, cy - 54, cx + 60, cy + 54), WHITE)
            pen.dot(cx + 6, cy + 4, 12, INK, outline=False)


def _flat_mouth(pen: _Pen) -> None:
    pen.arc((410, 620, 590, 700), 200, 340, width=9)


def _draw_mouth(pen: _Pen, traits: dict[str, str]) -> None:
    kind = traits["mouth"]
    if kind == "bored":
        _flat_mouth(pen)
        pen.arc((460, 652, 540, 690), 200, 340, width=5)
    elif kind == "grin":
        pen.chord((400, 560, 600, 680), 0, 180, WHITE)
        for x in (450, 500, 550):
            pen.line([x, 622, x, 672], width=5)
    elif kind == "discomfort":
        pen.line([410, 650, 445, 630, 480, 655, 520, 630, 555, 655, 590, 635], width=9)
    elif kind == "phoneme":
        pen.ellipse((455, 598, 545, 690), (80, 24, 30))
        pen.chord((470, 640, 530, 684), 0, 180, (226, 110, 120), outline=False)
    elif kind == "cigarette":
        _flat_mouth(pen)
        pen.polygon([560, 642, 700, 670, 696, 692, 556, 664], WHITE)
        pen.polygon([690, 668, 712, 672, 708, 694, 686, 690], (240, 110, 40), outline=False)
        for x, y, r in ((725, 630, 16), (745, 585, 22), (735, 530, 28)):
            pen.dot(x, y, r, (214, 214, 214), outline=False)
    else:  # bubblegum
        _flat_mouth(pen)
        pen.ellipse((430, 605, 570, 735), (246, 142, 190))
        pen.arc((455, 628, 525, 690), 200, 260, width=9, colour=WHITE)


def _draw_hat(pen: _Pen, traits: dict[str, str]) -> None:
    kind = traits["hat"]
    if kind == "beanie":
        pen.dot(500, 75, 32, (245, 245, 240))
        pen.chord((268, 90, 732, 430), 180, 360, (200, 48, 52))
        pen.rect((252, 228, 748, 292), (170, 36, 44), radius=26)
    elif kind == "cap":
        pen.chord((278, 100, 722, 420), 180, 360, (40, 90, 170))
        pen.ellipse((200, 232, 560, 292), (30, 68, 130))
        pen.dot(500, 104, 12, (30, 68, 130))
    elif kind == "crown":
        pts = [330, 250, 330, 110, 400, 180, 450, 90, 500, 170, 550, 90, 600, 180, 670, 110, 670, 250]
        pen.polygon(pts, (240, 190, 50))
        for x, c in ((400, (200, 40, 60)), (500, (40, 110, 210)), (600, (200, 40, 60))):
            pen.dot(x, 220, 16, c)
    elif kind == "fez":
        pen.polygon([400, 95, 600, 95, 640, 250, 360, 250], (180, 30, 40))
        pen.line([500, 95, 590, 140, 610, 210], width=7)
        pen.dot(612, 222, 14, (30, 30, 30), outline=False)
    elif kind == "headband":
        pen.polygon([335, 212, 665, 212, 698, 268, 302, 268], (220, 50, 60))
        pen.line([330, 240, 670, 240], width=6, colour=WHITE)
        pen.polygon([705, 245, 780, 210, 790, 250], (220, 50, 60))
        pen.polygon([705, 255, 770, 290, 750, 320], (220, 50, 60))


def _draw_earring(pen: _Pen, traits: dict[str, str]) -> None:
    kind = traits["earring"]
    if kind == "silver hoop":
        pen.arc((160, 470, 250, 580), 0, 360, width=20)
        pen.arc((165, 475, 245, 575), 0, 360, width=10, colour=(212, 214, 222))
    elif kind == "gold stud":
        pen.dot(205, 488, 22, (240, 190, 50))
        pen.dot(199, 482, 6, (255, 240, 170), outline=False)
    elif kind == "diamond":
        pen.polygon([205, 470, 235, 505, 205, 548, 175, 505], (190, 236, 255))
        pen.polygon([205, 470, 218, 505, 205, 548, 192, 505], (236, 250, 255), outline=False)


def _draw_background(pen: _Pen, traits: dict[str, str]) -> None:
    pen.draw.rectangle((0, 0, pen.size, pen.size), fill=BACKGROUNDS[traits["background"]])


_DRAWERS: dict[str, Callable[[_Pen, dict[str, str]], None]] = {
    "background": _draw_background,
    "fur": _draw_fur,
    "clothes": _draw_clothes,
    "eyes": _draw_eyes,
    "mouth": _draw_mouth,
    "hat": _draw_hat,
    "earring": _draw_earring,
}


def render(traits: dict[str, str], size: int = SIZE) -> Image.Image:
    """Draw the ape for `traits` layer by layer (supersampled 2x) into an RGBA `size` x `size` image."""
    canvas = Image.new("RGB", (size * SUPERSAMPLE, size * SUPERSAMPLE))
    pen = _Pen(canvas)
    for layer in TRAIT_LAYERS:
        _DRAWERS[layer](pen, traits)
    return canvas.resize((size, size), Image.Resampling.LANCZOS).convert("RGBA")


def _make_token(job: tuple[int, int, Path]) -> dict[str, object]:
    token_id, seed, out_dir = job
    traits = traits_for(token_id, seed)
    data = png_bytes(render(traits))
    write_bytes(out_dir / f"{token_id}.png", data)
    digest = hashlib.sha256(data).hexdigest()
    return {"token_id": token_id, "cid": cid_v0(data), "sha256": digest, "bytes": len(data), **traits}


def generate(token_ids: Iterable[int], seed: int, out_dir: Path, workers: int = 2) -> list[dict[str, object]]:
    """Write `<token_id>.png` for each token into `out_dir` and return manifest rows in token order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(int(t), seed, out_dir) for t in token_ids]
    if workers <= 1 or len(jobs) < 2 * workers:
        return [_make_token(job) for job in jobs]
    with Pool(workers) as pool:
        return pool.map(_make_token, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
