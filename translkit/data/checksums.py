"""SHA-256 of files, and the trust-on-first-use record of downloads without a known hash.

Some sources publish no checksum (Zhu et al.'s CycleGAN archives). The first successful
download of such a URL has its hash and size recorded in ``checksums.json`` under the
translkit cache folder (``$TRANSLKIT_CACHE`` or ``~/.cache/translkit``); every later
download of it must match, so a changed or corrupted file is noticed.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from translkit.cache import cache_dir
from translkit.errors import DataError
from translkit.fileio import write_text_atomic

__all__ = ["TrustStore", "is_sha256", "sha256_of"]

_HEX = frozenset("0123456789abcdef")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_sha256(text: object) -> bool:
    return isinstance(text, str) and len(text) == 64 and set(text) <= _HEX


class TrustStore:
    """``checksums.json``: URL → the sha256 and size of its first download."""

    FILE = "checksums.json"

    def __init__(self, folder: Path | None = None) -> None:
        self.path = (folder or cache_dir()) / self.FILE

    def _read(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise DataError(
                f"{self.path} is unreadable ({err}); fix or delete it (it only holds "
                "checksums recorded on first download)"
            ) from None
        if not isinstance(data, dict):
            raise DataError(f"{self.path} must hold a JSON object; fix or delete it")
        return data

    def recorded(self, url: str) -> str | None:
        """The sha256 recorded for ``url``, or ``None`` on first use."""
        entry = self._read().get(url)
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        return sha if is_sha256(sha) else None

    def record(self, url: str, sha256: str, size: int) -> None:
        """Remember ``url``'s hash (after the first download was verified usable)."""
        data = self._read()
        data[url] = {
            "sha256": sha256,
            "size": size,
            "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_text_atomic(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def mismatch_message(self, url: str, expected: str, got: str) -> str:
        return (
            f"{url} has sha256 {got}, not {expected} as recorded on its first download in "
            f"{self.path}: the file changed on the server or was corrupted on the way. "
            f"Nothing was installed; if the change is expected, delete its entry from {self.path}"
        )
