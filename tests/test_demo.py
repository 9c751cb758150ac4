"""Tests for the generated demo collection."""

from __future__ import annotations

import hashlib
import io
import struct

from PIL import Image

from apeart.collection.demo import BACKGROUNDS, TRAIT_LAYERS, generate, png_bytes, render, traits_for
from apeart.ipfs.cid import cid_v0


def _png_chunk_types(data: bytes) -> list[bytes]:
    pos, types = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        types.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return types


def test_layers_in_drawing_order() -> None:
    assert list(TRAIT_LAYERS)[:2] == ["background", "fur"]
    assert {"clothes", "eyes", "mouth", "hat", "earring"} <= set(TRAIT_LAYERS)
    assert TRAIT_LAYERS["background"] == tuple(BACKGROUNDS)
    assert all(len(set(variants)) == len(variants) >= 4 for variants in TRAIT_LAYERS.values())


def test_traits_deterministic_and_varied() -> None:
    first = [traits_for(t, seed=7) for t in range(64)]
    assert first == [traits_for(t, seed=7) for t in range(64)]
    assert first != [traits_for(t, seed=8) for t in range(64)]
    for layer, variants in TRAIT_LAYERS.items():
        seen = {traits[layer] for traits in first}
        assert seen <= set(variants)
        assert len(seen) >= min(4, len(variants)), (layer, seen)
    assert len({tuple(traits.values()) for traits in first}) == 64


def test_render_size_mode_and_background() -> None:
    for name, rgb in BACKGROUNDS.items():
        traits = {**traits_for(3, seed=0), "background": name, "eyes": "laser"}  # beams reach the side edges
        img = render(traits)
        assert img.size == (631, 631) and img.mode == "RGBA"
        for corner in ((0, 0), (630, 0), (0, 630), (630, 630)):
            assert img.getpixel(corner) == (*rgb, 255)
        assert len(img.getcolors(maxcolors=1 << 20)) > 50  # a drawn character, not a flat fill


def test_png_bytes_identical_and_metadata_free() -> None:
    a = png_bytes(render(traits_for(11, seed=1)))
    b = png_bytes(render(traits_for(11, seed=1)))
    assert a == b
    assert _png_chunk_types(a)[0] == b"IHDR" and set(_png_chunk_types(a)) == {b"IHDR", b"IDAT", b"IEND"}
    assert a != png_bytes(render(traits_for(12, seed=1)))
    decoded = Image.open(io.BytesIO(a))
    assert decoded.size == (631, 631) and decoded.mode == "RGBA"
    tagged = Image.open(io.BytesIO(a))
    tagged.info["icc_profile"] = b"not written"
    assert png_bytes(tagged) == a


def test_generate_manifest_matches_files(tmp_path) -> None:
    rows = generate([5, 2, 9], seed=3, out_dir=tmp_path, workers=1)
    assert [row["token_id"] for row in rows] == [5, 2, 9]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2.png", "5.png", "9.png"]
    for row in rows:
        data = (tmp_path / f"{row['token_id']}.png").read_bytes()
        assert row["cid"] == cid_v0(data) and row["cid"].startswith("Qm")
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert row["bytes"] == len(data)
        assert {k: row[k] for k in TRAIT_LAYERS} == traits_for(row["token_id"], seed=3)


def test_generate_pool_matches_serial(tmp_path) -> None:
    tokens = list(range(8))
    serial = generate(tokens, seed=0, out_dir=tmp_path / "serial", workers=1)
    pooled = generate(tokens, seed=0, out_dir=tmp_path / "pooled", workers=2)
    assert serial == pooled
    again = generate(tokens, seed=0, out_dir=tmp_path / "serial", workers=2)
    assert again == serial
    assert sorted(p.name for p in (tmp_path / "serial").iterdir()) == sorted(f"{t}.png" for t in tokens)
