"""Write the manifest (path, size, sha256 of every file) a file-list dataset plugin ships.

Run once against a trusted local copy of the dataset; the plugin turns each path into a
URL and translkit verifies every downloaded file against its sha256. The images themselves
are never shipped. For the study's leather ↔ denim set:

    python scripts/dataset_manifest.py ../shared/data/leather_denim \\
        -o plugins/manifests/leather_denim.json

Only files inside the split folders are listed (``trainA testA ...`` by default; READMEs
and other top-level files are not part of the dataset). Paths are sorted by split, then
numerically where the names are numbers, so the file diffs cleanly when regenerated.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

SPLITS = ("trainA", "trainB", "testA", "testB", "testA_truth", "testB_truth")


def _order(rel: str) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", rel)]


def manifest(root: Path, splits: tuple[str, ...] = SPLITS) -> list[dict[str, object]]:
    """One ``{"path", "size", "sha256"}`` per file under ``root``'s split folders."""
    rows = []
    for split in splits:
        folder = root / split
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            rel = path.relative_to(root).as_posix()
            if not path.is_file() or any(p.startswith(".") for p in rel.split("/")):
                continue
            data = path.read_bytes()
            rows.append(
                {"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            )
    rows.sort(key=lambda r: (splits.index(str(r["path"]).split("/")[0]), _order(str(r["path"]))))
    return rows


def render(rows: list[dict[str, object]]) -> str:
    """JSON with one file per line."""
    body = ",\n".join("  " + json.dumps(r, separators=(", ", ": ")) for r in rows)
    return "[\n" + body + "\n]\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="local copy holding the split folders")
    parser.add_argument("-o", "--out", type=Path, required=True, help="manifest to write")
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), help="folders to list")
    args = parser.parse_args()
    rows = manifest(args.root, tuple(args.splits))
    if not rows:
        raise SystemExit(f"no files under {args.root}/{{{','.join(args.splits)}}}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(rows), encoding="utf-8")
    total = sum(int(r["size"]) for r in rows)  # type: ignore[call-overload]
    print(f"wrote {args.out}: {len(rows)} files, {total} bytes")


if __name__ == "__main__":
    main()
