"""Hostile inputs for the fuzz tests: valid seed files in many formats and modes, the
mutations the world applies to them (truncation, bit flips, lying headers), and a way to
call the demo's ASGI app in-process (no socket, no HTTP library)."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from hypothesis import strategies as st
from PIL import Image, ImageFile

from translkit.data.io import MAX_PIXELS


def _save(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _noise(w: int, h: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(mode)


def _palette_with_transparency() -> bytes:
    img = _noise(20, 12).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return _save(img, "PNG", transparency=3)


def _sixteen_bit() -> bytes:
    arr = (np.arange(24 * 10, dtype=np.uint16).reshape(10, 24) * 250).astype(np.uint16)
    return _save(Image.fromarray(arr), "PNG")


def _frames(fmt: str) -> bytes:
    frames = [_noise(18, 14, seed=i) for i in range(3)]
    if fmt == "GIF":
        frames = [f.convert("P") for f in frames]
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:])


def _exif_jpeg(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _save(_noise(24, 16, seed=orientation), "JPEG", exif=exif.tobytes())


#: Valid files, by name: every format translkit lists, and the odd modes real sets carry.
SEEDS: dict[str, bytes] = {
    "png rgb": _save(_noise(24, 16), "PNG"),
    "png rgba": _save(_noise(20, 20, "RGBA"), "PNG"),
    "png palette+transparency": _palette_with_transparency(),
    "png gray": _save(_noise(16, 24, "L"), "PNG"),
    "png 1-bit": _save(_noise(17, 9, "1"), "PNG"),
    "png 16-bit": _sixteen_bit(),
    "jpeg rgb": _save(_noise(32, 24), "JPEG", quality=85),
    "jpeg cmyk": _save(_noise(24, 24, "CMYK"), "JPEG"),
    "jpeg gray progressive": _save(_noise(24, 20, "L"), "JPEG", progressive=True),
    "jpeg exif 6": _exif_jpeg(6),
    "webp": _save(_noise(24, 16), "WEBP"),
    "webp lossless rgba": _save(_noise(16, 16, "RGBA"), "WEBP", lossless=True),
    "tiff rgb": _save(_noise(20, 12), "TIFF"),
    "tiff cmyk deflate": _save(_noise(16, 16, "CMYK"), "TIFF", compression="tiff_adobe_deflate"),
    "tiff 16-bit": _save(Image.fromarray(np.full((8, 8), 40000, np.uint16)), "TIFF"),
    "tiff multi-frame": _frames("TIFF"),
    "gif animated": _frames("GIF"),
    "bmp": _save(_noise(12, 10), "BMP"),
    "ppm": _save(_noise(10, 10), "PPM"),
}

#: What files of each format begin with (random tails behind them reach the decoders).
MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\x00\x00\x00\x00WEBPVP8 ",
         b"II*\x00", b"MM\x00*", b"GIF89a", b"BM", b"P6\n"]  # fmt: skip


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int, mode: int = 0) -> bytes:
    """A valid-looking PNG (right CRCs) declaring ``width``×``height``, with a tiny body."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    body = zlib.compress(b"\x00" * 4096)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", body)
        + (_png_chunk(b"IEND", b""))
    )


def gif_bomb(width: int, height: int) -> bytes:
    """A small GIF whose screen and frame declare ``width``×``height`` (≤ 65535 each)."""
    data = bytearray(SEEDS["gif animated"])
    data[6:10] = struct.pack("<HH", width, height)
    frame = data.index(b"\x2c")  # the first image descriptor
    data[frame + 5 : frame + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def jpeg_bomb(width: int, height: int) -> bytes:
    """The RGB seed JPEG with its SOF marker declaring ``width``×``height``."""
    data = bytearray(SEEDS["jpeg rgb"])
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


side = st.integers(min_value=1, max_value=2**31 - 1)
#: Images declaring more than MAX_PIXELS from a small file, in three formats.
bombs = st.one_of(
    st.tuples(side, side).filter(lambda s: s[0] * s[1] > MAX_PIXELS).map(lambda s: png_bomb(*s)),
    st.tuples(st.integers(13_000, 65_535), st.integers(14_000, 65_535)).map(lambda s: gif_bomb(*s)),
    st.tuples(st.integers(13_000, 65_535), st.integers(14_000, 65_535)).map(
        lambda s: jpeg_bomb(*s)
    ),
)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A seed file truncated at a random offset, bit-flipped at random places, or both."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    flips = draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 7)), max_size=8))
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


#: Everything the world sends: random bytes (with and without a format's magic), damaged
#: files, decompression bombs, zero-size files and untouched seeds.
hostile_files = st.one_of(
    st.tuples(st.sampled_from(MAGIC), st.binary(max_size=600)).map(lambda t: t[0] + t[1]),
    damaged(),
    bombs,
    st.just(b""),
    st.sampled_from(sorted(SEEDS)).map(SEEDS.__getitem__),
)


@contextmanager
def decoded_sizes() -> Iterator[list[tuple[int, int]]]:
    """Record the size of every image PIL decodes in the block (to prove bombs never are)."""
    seen: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> Any:
        seen.append(self.size)
        return original(self)

    ImageFile.ImageFile.load = load  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        ImageFile.ImageFile.load = original  # type: ignore[method-assign]


def asgi_post(app: Any, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of one POST through ``app`` in-process."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = [{"type": "http.request", "body": body, "more_body": False}]
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return sent.pop(0) if sent else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return out["status"], out["headers"], out["body"]
