"""A local HTTP file server for download tests (127.0.0.1 only; never the internet).

It serves ``files`` (URL path -> bytes) with HTTP Range support and records every request.
Faults on demand: ``drop_after`` bytes sends only that much of a body and then drops the
connection (``drops`` times); ``corrupt`` paths are served with their bytes flipped;
``ranges=False`` ignores Range headers; ``fail_first`` answers 500 that many times;
``slow`` sleeps between chunks (so a client can be killed mid-transfer).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    path: str
    range: str | None
    status: int
    sent: int = 0


@dataclass
class FileServer:
    files: dict[str, bytes]
    drop_after: int | None = None
    drops: int = 1
    corrupt: set[str] = field(default_factory=set)
    ranges: bool = True
    fail_first: int = 0
    slow: float = 0.0
    requests: list[Request] = field(default_factory=list)

    def __enter__(self) -> FileServer:
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    def url(self, path: str) -> str:
        return self.base + path

    def sent_for(self, path: str) -> int:
        return sum(r.sent for r in self.requests if r.path == path)

    def body(self, path: str) -> bytes:
        data = self.files[path]
        return bytes(b ^ 0xFF for b in data) if path in self.corrupt else data


def refused_url(path: str = "x.bin") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            path = self.path.lstrip("/")
            rng = self.headers.get("Range")
            record = Request(path, rng, 200)
            with server._lock:
                server.requests.append(record)
                failing = server.fail_first > 0
                server.fail_first -= int(failing)
                dropping = server.drop_after is not None and server.drops > 0
                server.drops -= int(dropping)
            if failing or path not in server.files:
                record.status = 500 if failing else 404
                self._empty(record.status)
                return
            data = server.body(path)
            start = 0
            if rng and server.ranges:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    record.status = 416
                    self._empty(416, {"Content-Range": f"bytes */{len(data)}"})
                    return
                record.status = 206
            self.send_response(record.status)
            self.send_header("Content-Length", str(len(data) - start))
            if record.status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            body = data[start:]
            if dropping:
                body = body[: server.drop_after]
            self._send(body, record)
            if dropping:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

        def _send(self, body: bytes, record: Request) -> None:
            step = 256 if server.slow else 1 << 16
            try:
                for i in range(0, len(body), step):
                    self.wfile.write(body[i : i + step])
                    self.wfile.flush()
                    record.sent += len(body[i : i + step])
                    if server.slow:
                        time.sleep(server.slow)
            except (BrokenPipeError, ConnectionResetError):  # the client went away
                self.close_connection = True

        def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
