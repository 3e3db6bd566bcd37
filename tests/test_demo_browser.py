"""``translkit demo`` in a real browser: headless Chromium (Debian's) driven by Playwright.

The demo runs as ``translkit demo RUN_DIR --port 0`` in a subprocess on 127.0.0.1; the
browser uploads a non-square picture and a text file, downloads the result and takes a
screenshot. Skipped cleanly without Chromium or the ``playwright`` package.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS
from demo_support import start_demo, stop_process, tiny_run_dir
from PIL import Image

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed"),
]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    run = tiny_run_dir(tmp_path_factory.mktemp("browser-run"))
    proc, url = start_demo(str(run), "--device", "cpu")
    yield url
    stop_process(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, demo_url: str):
    context = browser.new_context(viewport={"width": 1100, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.goto(demo_url)
    page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    yield page
    context.close()


def _picture(path: Path, width: int, height: int) -> Path:
    y, x = np.mgrid[0:height, 0:width]
    arr = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=-1)
    Image.fromarray(arr.astype(np.uint8)).save(path)
    return path


def test_a_picture_is_translated_at_its_size_and_downloaded(page, tmp_path: Path) -> None:
    model = page.inner_text("#model")
    for shown in ("tiny-run", "cyclegan", "resnet_6blocks", "cpu"):
        assert shown in model
    assert "fp32" in model or "bf16" in model  # the precision auto chose on this machine
    options = page.eval_on_selector_all("#direction option", "els => els.map(e => e.value)")
    assert options == ["a2b", "b2a"]
    page.select_option("#direction", "b2a")
    picture = _picture(tmp_path / "jacket.png", 56, 36)
    page.set_input_files("#file", str(picture))
    page.wait_for_selector(".pair.done", timeout=120_000)
    shown = page.eval_on_selector(
        ".pair.done .output img", "img => [img.naturalWidth, img.naturalHeight, img.width]"
    )
    assert shown == [56, 36, 56]  # the output is displayed at the input's own size
    with page.expect_download() as info:
        page.click(".pair.done a.download")
    download = info.value
    assert download.suggested_filename == "jacket-b2a.png"
    saved = tmp_path / "result.png"
    download.save_as(saved)
    result = Image.open(saved).convert("RGB")
    assert result.size == (56, 36)
    assert not np.array_equal(np.asarray(result), np.asarray(Image.open(picture).convert("RGB")))


def test_a_text_file_shows_the_servers_error_on_the_page(page, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("this is not a picture\n")
    page.set_input_files("#file", str(text))
    page.wait_for_selector("#errors li", timeout=60_000)
    message = page.inner_text("#errors")
    assert "notes.txt" in message and "not an image the demo can read" in message
    assert page.locator(".pair").count() == 0


def test_examples_translate_and_the_page_is_not_blank(page, tmp_path: Path) -> None:
    assert page.locator("#examples .example").count() == 3  # a2b: testA's three images
    page.click("#examples .example >> nth=1")
    page.wait_for_selector(".pair.done", timeout=120_000)
    size = page.eval_on_selector(".pair.done .output img", "i => [i.naturalWidth, i.naturalHeight]")
    assert size == [40, 32]
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(float)
    assert pixels.shape[1] == 1100 and pixels.std() > 20  # not a blank page
    header = pixels[:30].reshape(-1, 3).mean(axis=0)
    assert header[2] > header[0] and header.mean() < 120  # the dark blue title bar is drawn
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200  # text, images


def test_a_scaled_down_translation_is_shown_at_the_inputs_size(browser, tmp_path: Path) -> None:
    """With --resize (a model's input size), the smaller output is shown enlarged beside its
    input, and the caption says how large it really is; the download is the real size."""
    proc, url = start_demo(str(tiny_run_dir(tmp_path / "run")), "--device", "cpu", "--resize", "24")
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='true']", timeout=60_000)
        assert "shorter side of 24 px" in page.inner_text("#model")
        page.set_input_files("#file", str(_picture(tmp_path / "coat.png", 56, 36)))
        page.wait_for_selector(".pair.done", timeout=120_000)
        page.wait_for_function("document.querySelector('.pair.done .output img').style.width")
        shown = page.eval_on_selector(
            ".pair.done .output img", "img => [img.naturalWidth, img.naturalHeight, img.width]"
        )
        assert shown == [37, 24, 56]
        assert "37×24 px, shown enlarged" in page.inner_text(".pair.done .output figcaption")
    finally:
        context.close()
        stop_process(proc)
