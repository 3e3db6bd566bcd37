"""The demo's web server: one static page and a small JSON/PNG API (Starlette + uvicorn).

Routes: ``GET /`` (the page, its script and style), ``GET /api/info`` (the model and the
limits), ``GET /api/examples/{direction}/{index}`` (example images held in memory) and
``POST /api/translate/{direction}`` (the request body is the image; the answer is a PNG
of the same size, or a 4xx JSON ``{"error": ...}`` the page shows).

Safe by default: uploads are read into memory only (no client-supplied name or path ever
reaches the filesystem), capped in bytes and in pixels (checked from the header before
decoding), and translated one at a time under a lock with a bounded waiting line.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from translkit.data.io import load_rgb
from translkit.demo.model import load_demo_model, load_examples
from translkit.errors import DataError, TranslkitError
from translkit.inference.files import translate_image
from translkit.inference.translate import Translator
from translkit.registry import Registries

__all__ = [
    "LOOPBACK_HOSTS",
    "Limits",
    "UploadRejected",
    "create_app",
    "header_size",
    "run_demo",
    "serve",
    "translate_upload",
]

#: Seconds a "busy" answer (503) asks the client to wait before trying again.
RETRY_AFTER_S = 1
#: Host names a loopback-bound demo answers to (guards against DNS rebinding).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/demo.js": ("demo.js", "text/javascript; charset=utf-8"),
    "/demo.css": ("demo.css", "text/css; charset=utf-8"),
}
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class Limits:
    """What one upload may be, and how many uploads may be in the translator's queue
    (the one being translated included) before more are answered "busy" (HTTP 503)."""

    max_bytes: int = 25 * 2**20
    max_pixels: int = 4096 * 4096
    max_queue: int = 8

    def as_dict(self) -> dict[str, int]:
        return {
            "max_bytes": self.max_bytes,
            "max_pixels": self.max_pixels,
            "max_queue": self.max_queue,
        }


class UploadRejected(TranslkitError):
    """An upload the demo refuses; ``status`` is the HTTP status the page receives and
    ``headers`` any it needs (``Retry-After`` on "busy")."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def _megapixels(n: int) -> str:
    return f"{n / 1e6:.1f} MP"


def header_size(data: bytes, max_pixels: int) -> tuple[int, int]:
    """``(width, height)`` from the image header, refusing non-images and oversized ones."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except Image.DecompressionBombError:
        width = height = max_pixels + 1  # PIL refuses it outright: far over any limit
    except Exception:  # any decoder's error (also its own bugs) means: not readable
        raise UploadRejected(
            415, "this file is not an image the demo can read (use PNG, JPEG, WebP, BMP, TIFF)"
        ) from None
    if width * height > max_pixels:
        raise UploadRejected(
            413,
            f"image is {width}×{height} ({_megapixels(width * height)}), over the demo's "
            f"limit of {_megapixels(max_pixels)}; downscale it, or restart the demo with a "
            "larger --max-pixels",
        )
    return width, height


def translate_upload(translator: Translator, data: bytes, resize: int = 0) -> bytes:
    """Decode an upload (any mode → RGB, EXIF applied), scale it down to a shorter side of
    ``resize`` pixels (0: keep its size), translate it, encode it as PNG."""
    try:
        img = load_rgb(io.BytesIO(data), name="the uploaded file")
    except DataError as err:
        raise UploadRejected(422, str(err)) from None
    try:
        out = translate_image(translator, img, resize=resize)
    except Exception as err:  # e.g. out of memory: say so, as JSON (never a bare 500)
        first = str(err).splitlines()[0] if str(err).strip() else type(err).__name__
        raise UploadRejected(500, f"translation failed: {first}") from None
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


def _too_big(max_bytes: int) -> UploadRejected:
    return UploadRejected(
        413,
        f"upload is larger than the demo's limit of {max_bytes / 2**20:.1f} MiB; "
        "restart the demo with a larger --max-upload-mb to accept it",
    )


def _refuse_declared_size(request: Request, max_bytes: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_big(max_bytes)


async def _read_upload(request: Request, max_bytes: int) -> bytes:
    _refuse_declared_size(request, max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_big(max_bytes)
        chunks.append(chunk)
    if size == 0:
        raise UploadRejected(400, "the upload is empty: send the image file as the request body")
    return b"".join(chunks)


class _Queue:
    """One translation at a time; at most ``limit`` uploads admitted at once (being
    received, waiting, or translated), so memory is bounded by ``limit`` × the upload
    limit however many clients connect. Beyond that: 503 "busy" with ``Retry-After``."""

    def __init__(self, limit: int) -> None:
        self.lock = asyncio.Lock()
        self.limit = limit
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> Any:
        if self.waiting >= self.limit:
            raise UploadRejected(
                503,
                f"the demo is busy ({self.waiting} images in its queue); try again shortly",
                {"Retry-After": str(RETRY_AFTER_S)},
            )
        self.waiting += 1
        try:
            yield
        finally:
            self.waiting -= 1

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker thread, one at a time (call inside :meth:`slot`)."""
        async with self.lock:
            return await run_in_threadpool(fn, *args)


def _json(obj: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(obj, status_code=status, headers={"X-Content-Type-Options": "nosniff"})


class _Routes:
    """The page and the API over one model's translators."""

    def __init__(
        self,
        translators: dict[str, Translator],
        info: dict[str, Any],
        examples: dict[str, list[bytes]],
        limits: Limits,
    ) -> None:
        self.translators = translators
        self.info = info
        self.examples = examples
        self.limits = limits
        self.queue = _Queue(limits.max_queue)
        static = resources.files("translkit.demo").joinpath("static")
        self.pages = {
            route: (static.joinpath(name).read_bytes(), kind)
            for route, (name, kind) in _STATIC.items()
        }

    def routes(self) -> list[Route]:
        return [
            *(Route(path, self.page) for path in _STATIC),
            Route("/api/info", self.api_info),
            Route("/api/examples/{direction}/{index:int}", self.api_example),
            Route("/api/translate/{direction}", self.api_translate, methods=["POST"]),
        ]

    async def page(self, request: Request) -> Response:
        body, kind = self.pages[request.url.path]
        headers = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff"}
        return Response(body, media_type=kind, headers=headers)

    async def api_info(self, request: Request) -> Response:
        counts = {d: len(self.examples.get(d, [])) for d in self.translators}
        return _json({"model": self.info, "limits": self.limits.as_dict(), "examples": counts})

    async def api_example(self, request: Request) -> Response:
        direction, index = request.path_params["direction"], request.path_params["index"]
        found = self.examples.get(direction, [])
        if direction not in self.translators or index >= len(found):
            raise UploadRejected(404, f"no example {direction}/{index}")
        return Response(found[index], media_type="image/png")

    async def api_translate(self, request: Request) -> Response:
        direction = request.path_params["direction"]
        if direction not in self.translators:
            have = ", ".join(self.translators)
            raise UploadRejected(404, f"this model has no {direction} direction (it has {have})")
        _refuse_declared_size(request, self.limits.max_bytes)
        started = time.perf_counter()
        async with self.queue.slot():
            data = await _read_upload(request, self.limits.max_bytes)
            width, height = header_size(data, self.limits.max_pixels)
            png = await self.queue.run(
                translate_upload, self.translators[direction], data, self.info.get("resize", 0)
            )
        headers = {
            "X-Translkit-Seconds": f"{time.perf_counter() - started:.3f}",  # waiting included
            "X-Translkit-Size": f"{width}x{height}",
            "X-Content-Type-Options": "nosniff",
        }
        return Response(png, media_type="image/png", headers=headers)


def create_app(
    translators: dict[str, Translator],
    info: dict[str, Any],
    *,
    examples: dict[str, list[bytes]] | None = None,
    limits: Limits = Limits(),
    allowed_hosts: list[str] | tuple[str, ...] = LOOPBACK_HOSTS,
) -> Starlette:
    """The demo as an ASGI app (serve it with :func:`serve` or any ASGI server).

    :param translators: one per direction, from
        :func:`~translkit.demo.model.load_demo_model`.
    :param info: the model's description, shown on the page.
    :param examples: PNG bytes per direction, shown as clickable examples.
    :param allowed_hosts: ``Host`` headers answered (``("*",)``: any).
    """
    routes = _Routes(translators, info, examples or {}, limits)
    return Starlette(
        routes=routes.routes(),
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))],
        exception_handlers={UploadRejected: _rejected, HTTPException: _http_error},
    )


async def _rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UploadRejected)
    response = _json({"error": str(exc)}, exc.status)
    response.headers.update(exc.headers)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _json({"error": exc.detail}, exc.status_code)


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as err:
        sock.close()
        raise TranslkitError(
            f"cannot listen on {host}:{port} ({err.strerror or err}); pick another --port "
            "(0: any free port) or --host"
        ) from None
    sock.listen(64)
    return sock


def serve(app: Starlette, host: str, port: int, *, on_ready: Callable[[str], None]) -> None:
    """Serve ``app`` until Ctrl-C (or SIGTERM); ``on_ready`` gets the URL once listening.

    Port 0 picks a free port; the URL names the one chosen.
    """
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    config = uvicorn.Config(
        app, log_level="warning", timeout_graceful_shutdown=5, lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    with _stop_on_signals(server):
        on_ready(f"http://{shown}:{bound}/")
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()


@contextlib.contextmanager
def _stop_on_signals(server: uvicorn.Server) -> Iterator[None]:
    """Ctrl-C or SIGTERM asks ``server`` to stop, also before and after uvicorn's own
    handlers are installed (uvicorn re-raises the signal it handled once it is done)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_demo(
    source: str | Path,
    registries: Registries,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    limits: Limits = Limits(),
    echo: Callable[[str], None] = lambda line: print(line, flush=True),
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    **model_options: Any,
) -> None:
    """Load ``source`` (see :func:`~translkit.demo.model.load_demo_model`, which gets
    ``model_options``) and serve the demo on ``host:port`` until Ctrl-C."""
    translators, info = load_demo_model(source, registries, **model_options)
    examples = load_examples(source, list(translators), max_pixels=limits.max_pixels)
    if is_loopback(host):
        hosts: tuple[str, ...] = LOOPBACK_HOSTS
    else:
        hosts = ("*",)
        warn(
            f"warning: listening on {host} makes the demo reachable from other machines; "
            "anyone who can reach it can upload images to it"
        )
    app = create_app(translators, info, examples=examples, limits=limits, allowed_hosts=hosts)
    where = f"{info['name']} ({', '.join(translators)}, {info['device']})"
    serve(app, host, port, on_ready=lambda url: echo(f"translkit demo: {where} at {url}"))
    echo("translkit demo: stopped")
