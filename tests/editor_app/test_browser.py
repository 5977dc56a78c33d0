"""The editor in a real Chromium: load, generate, perturb, paint, undo, bad upload, download, SEAN render.

The app runs in this process on a free localhost port; Playwright drives the system Chromium. Screenshots
of every step are kept under results/editor_tests/ (not committed).
"""

import re

import numpy as np
import pytest
from PIL import Image

import editor
from editor_app import callbacks as cb
from editor_app.browser import (
    STATUS,
    click_and_time,
    free_port,
    shown_mask,
    status_text,
)
from editor_app.images import view_scale
from tests.editor_app.conftest import SHOTS, SIZE, editor_argv

NOSE, FACTOR = 2, view_scale(SIZE)


def serve(checkpoints, *extra):
    return editor.start(editor_argv(checkpoints, "--port", str(free_port()), *extra), block=False)


@pytest.fixture(scope="module")
def server(editor_runs):
    app, context, url = serve(editor_runs)
    yield context, url
    app.close()


@pytest.fixture(scope="module")
def tab(browser, server):
    """One page for the module: loading Gradio's front end is the slowest step of these tests."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    local = (server[1], "blob:" + server[1], "data:")
    page.requests_elsewhere = []  # anything the page asks of another host (checked by the last test)
    page.on(
        "request",
        lambda request: None if request.url.startswith(local) else page.requests_elsewhere.append(request.url),
    )
    page.goto(server[1])
    page.wait_for_selector("#mask img")
    yield page
    page.close()


@pytest.fixture
def page(tab):
    """The tab on a fresh session of test face 0, the overlay off."""
    tab.locator("#overlay input").uncheck()
    tab.locator("#gallery .thumbnail-item").nth(0).click()
    wait_status(tab, "step 0 of 0)")  # a new session: a one-entry history
    return tab


def wait_status(page, text):
    page.wait_for_function(
        "([selector, t]) => document.querySelector(selector).innerText.includes(t)", arg=[STATUS, text], timeout=60000
    )


def mask_becomes(page, expected):
    """Whether the shown mask is `expected` within 10 s (an image can follow its status line by a moment)."""
    for _ in range(100):
        if np.array_equal(shown_mask(page, FACTOR), expected):
            return True
        page.wait_for_timeout(100)
    return False


def settled_mask(page, before):
    """The shown mask once it differs from `before` by the pixel count the status line reports."""
    changed = int(re.search(r"\((\d+) pixels changed", status_text(page))[1])
    for _ in range(100):
        mask = shown_mask(page, FACTOR)
        if int((mask != before).sum()) == changed:
            return mask
        page.wait_for_timeout(100)
    raise AssertionError(f"the shown mask never differed from the previous one by the {changed} pixels reported")


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_load_a_face_and_generate_a_nose_near_the_nose(page, server):
    context, _ = server
    face0 = shown_mask(page, FACTOR)
    page.locator("#gallery .thumbnail-item").nth(1).click()
    wait_status(page, "loaded test 1")
    before = cb.dataset_face(context, 1)[0]
    assert mask_becomes(page, before) and not np.array_equal(before, face0)
    page.fill("#seed input", "3")
    elapsed = click_and_time(page, "#generate")
    wait_status(page, "generate nose (seed 3)")
    after = settled_mask(page, before)
    shot(page, "generate_nose")
    changed = np.argwhere(before != after)
    assert len(changed), "the generated nose should change the mask"
    nose = np.argwhere(before == NOSE)
    distance = np.sqrt(((changed[:, None] - nose[None]) ** 2).sum(-1)).min(1)  # to the nearest original nose pixel
    assert np.mean(distance <= SIZE / 4) > 0.9 and distance.max() <= 3 * SIZE / 8, distance.max()
    assert page.input_value("#seed input") == "4" and elapsed < 30000


def test_perturb_slider_then_overlay(page):
    slider = page.locator("#strength input[type=range]")
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + box["height"] / 2)
    wait_status(page, "perturb nose by")
    page.locator("#overlay input").check()
    page.wait_for_timeout(300)
    shot(page, "perturb_overlay")
    with pytest.raises(ValueError, match="not palette colours"):  # the faded overlay is shown, not the palette
        shown_mask(page, FACTOR)


def test_paint_a_stroke_and_undo_it(page):
    before = shown_mask(page, FACTOR)
    with page.expect_response(lambda response: "/run/predict" in response.url):  # the canvas gets the mask
        page.locator("#paint-panel").get_by_text("paint by hand").click()  # the canvas is in a closed panel
    page.wait_for_timeout(300)  # and draws it, before the stroke
    page.locator("#canvas").scroll_into_view_if_needed()
    page.locator("#canvas button[aria-label='Brush']").first.click()
    canvas = page.locator("#canvas canvas").first
    box = canvas.bounding_box()
    y = box["y"] + 0.2 * box["height"]
    page.mouse.move(box["x"] + 0.3 * box["width"], y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(box["x"] + (0.3 + 0.04 * step) * box["width"], y)
    page.mouse.up()
    page.click("#apply-paint")
    wait_status(page, "paint nose")
    painted = settled_mask(page, before)
    shot(page, "paint_stroke")
    new_nose = (painted == NOSE) & (before != NOSE)
    assert new_nose.sum() > 10 and np.argwhere(new_nose)[:, 0].max() < SIZE / 2  # a stroke across the upper half
    assert np.all((painted == before) | new_nose)
    page.click("#undo")
    wait_status(page, "loaded test 0")
    assert mask_becomes(page, before)


def test_corrupt_upload_shows_the_error_and_the_app_keeps_working(page):
    page.set_input_files(
        "#label-upload input[type=file]",
        files=[{"name": "corrupt.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\nbroken"}],
    )
    page.wait_for_timeout(500)
    page.click("#load-upload")
    wait_status(page, "error: cannot read image")
    shot(page, "corrupt_upload")
    assert "corrupt.png" in status_text(page)
    page.click("#generate")
    wait_status(page, "generate nose (seed ")


def test_download_the_mask_as_shown(page, tmp_path):
    click_and_time(page, "#generate")
    wait_status(page, "generate nose")
    page.wait_for_timeout(500)  # the download buttons follow the mask in a chained step
    with page.expect_download() as download:
        page.click("#download-ids")
    path = tmp_path / "ids.png"
    download.value.save_as(path)
    assert np.array_equal(np.asarray(Image.open(path)), shown_mask(page, FACTOR))


def test_the_page_never_leaves_localhost(tab):
    assert tab.requests_elsewhere == []  # after every test above: no fonts, analytics or CDN requests


def test_sean_render_follows_the_edit(browser, editor_runs):
    app, _, url = serve(editor_runs, "--name", "sean")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#mask img")
        click_and_time(page, "#generate")
        page.wait_for_function("document.querySelector('#render-status').innerText.includes('rendered')", timeout=60000)
        page.wait_for_function(
            "() => { const i = document.querySelector('#rendered img');"
            " return i && i.complete && i.naturalWidth >= 64; }",
            timeout=60000,
        )
        page.locator("#rendered").scroll_into_view_if_needed()
        shot(page, "sean_render")
    finally:
        app.close()
