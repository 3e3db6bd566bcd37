"""Make docs/images/demo.png: the demo page after one photo was translated.

    python docs/images/demo_screenshot.py leather_denim --upload data/leather_denim/testA/X.jpg
    python docs/images/demo_screenshot.py runs/quickstart [-o docs/images/demo.png]

Starts ``translkit demo SOURCE --port 0`` on 127.0.0.1 (a run directory, checkpoint or
pretrained model's name), drives headless Chromium (Debian's ``chromium``) with
Playwright, drops ``--upload PHOTO`` on the page (without it: clicks the second a2b
test-set example of a run directory), waits for the result, screenshots the page and
stores it as a palette PNG (small enough to commit).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

# the tests' offline Chromium and their demo subprocess, rather than copies of them
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from browser_support import CHROMIUM, CHROMIUM_ARGS
from demo_support import start_demo, stop_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", metavar="SOURCE")
    parser.add_argument("--upload", type=Path, help="translate this photo (default: an example)")
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).with_name("demo.png"))
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("headless Chromium is not installed (Debian: apt install chromium)")
    proc, url = start_demo(args.run_dir, "--device", "cpu")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 940})
            page.goto(url)
            page.wait_for_selector("body[data-ready='true']")
            if args.upload:
                page.set_input_files("#file", str(args.upload))
            else:
                page.click("#examples .example >> nth=1")
            page.wait_for_selector(".pair.done", timeout=120_000)
            shot = args.output.with_suffix(".raw.png")
            page.screenshot(path=str(shot))
            browser.close()
    finally:
        stop_process(proc)
    Image.open(shot).convert("RGB").quantize(colors=256).save(args.output, optimize=True)
    shot.unlink()
    print(f"wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
