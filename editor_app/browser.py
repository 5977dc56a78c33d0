"""Driving the editor page from a real Chromium (Playwright), for the browser tests and the latency benchmark.

Nothing is downloaded: Playwright drives the system Chromium (Debian's `chromium` package) through
`executable_path`, found at $SHAPEVAE_CHROMIUM, on the PATH or at /usr/bin/chromium.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from shape_editor.labels import color_to_ids

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WINDOW = {"width": 1400, "height": 1000}

# Act on `selector` (click it, or set a range slider to `value` and release it) and resolve with the
# milliseconds until the status line changed (the edit's outputs arrived) and the mask image is loaded and
# decoded: what the user sees, measured inside the page.
ACT_AND_TIME = """
async ([selector, value, timeout]) => {
  const status = () => document.querySelector('#status [data-testid="markdown"]').innerText;
  const before = status();
  const element = document.querySelector(selector);
  if (value !== null) {  // drag the slider first; the edit starts when it is released
    element.value = String(value);
    element.dispatchEvent(new Event('input', {bubbles: true}));
    await new Promise(r => setTimeout(r, 50));
  }
  const start = performance.now();
  if (value === null) element.click(); else element.dispatchEvent(new PointerEvent('pointerup', {bubbles: true}));
  while (status() === before) {
    if (performance.now() - start > timeout) return null;
    await new Promise(r => setTimeout(r, 2));
  }
  while (performance.now() - start < timeout) {
    const img = document.querySelector('#mask img');  // Gradio may swap the element: look it up each time
    if (img && img.complete && img.naturalWidth > 0) {
      try { await img.decode(); return performance.now() - start; } catch (e) { /* replaced while decoding */ }
    }
    await new Promise(r => setTimeout(r, 2));
  }
  return null;
}
"""


def find_chromium() -> str | None:
    """The Chromium binary to drive, or None when there is none."""
    for candidate in (os.environ.get("SHAPEVAE_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def launch_chromium(playwright: Any) -> Any:
    """A headless Chromium that never reaches the network on its own."""
    executable = find_chromium()
    if executable is None:
        raise FileNotFoundError(
            "no Chromium found: install Debian's chromium (apt-get install -y chromium) or set SHAPEVAE_CHROMIUM"
        )
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def free_port() -> int:
    """A localhost port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


STATUS = '#status [data-testid="markdown"]'  # the status line's text, without Gradio's progress timer


def status_text(page: Any) -> str:
    return page.inner_text(STATUS)


def click_and_time(page: Any, selector: str, timeout_ms: float = 30000) -> float:
    """Click `selector`; milliseconds until the new mask is shown (TimeoutError when it never is)."""
    return act_and_time(page, selector, None, timeout_ms)


def slide_and_time(page: Any, selector: str, value: float, timeout_ms: float = 30000) -> float:
    """Set the range input `selector` to `value` and release it; milliseconds until the new mask is shown."""
    return act_and_time(page, selector, value, timeout_ms)


def act_and_time(page: Any, selector: str, value: float | None, timeout_ms: float) -> float:
    elapsed = page.evaluate(ACT_AND_TIME, [selector, value, timeout_ms])
    if elapsed is None:
        raise TimeoutError(f"{selector} showed no new mask within {timeout_ms:.0f} ms")
    return float(elapsed)


def shown_image(page: Any, selector: str = "#mask img", attempts: int = 5) -> np.ndarray:
    """The image the page shows in `selector`, fetched like the browser did: uint8 RGB [H, W, 3].

    A fetch that a busy server aborts is retried (the page may also have moved on to a newer image).
    """
    from playwright.sync_api import Error

    def fetch() -> np.ndarray:
        body = page.request.get(page.get_attribute(selector, "src")).body()
        return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))

    for _ in range(attempts - 1):
        try:
            return fetch()
        except (Error, OSError):
            page.wait_for_timeout(200)
    return fetch()


def shown_mask(page: Any, factor: int) -> np.ndarray:
    """The shown mask decoded back to ids (the view is the palette scaled up by `factor`): uint8 [H, W]."""
    ids, unknown = color_to_ids(shown_image(page)[::factor, ::factor])
    if unknown.any():
        raise ValueError(f"{int(unknown.sum())} shown pixels are not palette colours (is the overlay on?)")
    return ids
