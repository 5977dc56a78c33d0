"""A tiny HTML page builder on `dominate`, in the spirit of SPADE's `util/html.py`.

All text goes through dominate, which escapes it, so names with `<`, `&`, quotes or unicode render
as text. Image and link addresses are URL-quoted so file names with spaces, `#` or `?` still resolve.
Rows of images are flex boxes that wrap, so no page is wider than its window (a 1400 px window shows
five 256 px masks a row, then wraps); `add_legend` shows the class colours of the masks.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path, PurePath
from urllib.parse import quote

import dominate
from dominate import tags
from dominate.util import raw

from shape_editor.fileio import atomic_write_text
from shape_editor.labels import LABEL_NAMES, PALETTE

PAGE_CSS = """
body {font-family: sans-serif; margin: 12px; overflow-wrap: break-word}
img {max-width: 100%; height: auto; image-rendering: pixelated}
.row {display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start}
.cell {margin: 0; text-align: center; font-size: 0.85em}
.panel {display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start}
.panel > .metrics {flex: 1 1 520px; max-width: 760px; font-size: 0.85em}
.panel > figure {flex: 0 1 560px; margin: 0; max-width: 100%}
table {border-collapse: collapse}
td, th {border: 1px solid #bbb; padding: 3px 6px; vertical-align: top}
.legend {display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 0.85em; margin: 6px 0}
.swatch {display: inline-block; width: 12px; height: 12px; border: 1px solid #888; margin-right: 4px}
nav {margin: 8px 0}
nav a, nav b {margin-right: 8px}
"""


def url_for(path: str | PurePath) -> str:
    """Quote a path relative to the page for use in `src` / `href` (slashes are kept)."""
    return quote(PurePath(path).as_posix(), safe="/")


def format_value(value: object) -> str:
    """Render a table cell: real numbers with 4 significant digits, None as empty."""
    if value is None:
        return ""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and math.isfinite(value):
        return f"{float(value):.4g}"
    return str(value)


class HTML:
    """One HTML page in `web_dir`, with its images expected under `web_dir/images`."""

    def __init__(self, web_dir: str | Path, title: str, refresh: int = 0) -> None:
        self.web_dir = Path(web_dir)
        self.img_dir = self.web_dir / "images"
        self.img_dir.mkdir(parents=True, exist_ok=True)
        self.doc = dominate.document(title=title)
        with self.doc.head:
            tags.meta(charset="utf-8")
            tags.meta(name="viewport", content="width=device-width, initial-scale=1")
            tags.style(raw(PAGE_CSS))  # our own constant: not escaped, so `>` selectors work
            if refresh > 0:
                tags.meta(http_equiv="refresh", content=str(refresh))

    def add_header(self, text: str, level: int = 3) -> None:
        """Add a heading `<h{level}>`; level is 1..6."""
        if level not in range(1, 7):
            raise ValueError(f"header level must be 1..6, got {level}")
        with self.doc:
            getattr(tags, f"h{level}")(text)

    def add_text(self, text: str) -> None:
        """Add a paragraph of plain text."""
        with self.doc:
            tags.p(text)

    def add_images(
        self, images: list[str], captions: list[str], links: list[str] | None = None, width: int = 256
    ) -> None:
        """Add one wrapping row of images (paths relative to `web_dir`), each with a text caption.

        Each image links to `links[i]` (default: the image itself, for the full-size view).
        """
        links = images if links is None else links
        if not len(images) == len(captions) == len(links):
            raise ValueError(
                f"images, captions and links differ in length: {len(images)}, {len(captions)}, {len(links)}"
            )
        with self.doc:
            with tags.div(cls="row"):
                for image, caption, link in zip(images, captions, links):
                    with tags.figure(cls="cell", style=f"width:{width}px"):
                        with tags.a(href=url_for(link)):
                            tags.img(style=f"width:{width}px", src=url_for(image), alt=caption)
                        tags.figcaption(caption)

    def add_image(self, path: str, caption: str, width: int | None = 512) -> None:
        """Add a single figure (e.g. a plot) with a caption; it links to the full-size file.

        `width=None` shows the file at its own size, shrunk to the window if wider.
        """
        style = "max-width:100%" if width is None else f"width:{width}px"
        with self.doc:
            with tags.figure():
                with tags.a(href=url_for(path)):
                    tags.img(style=style, src=url_for(path), alt=caption)
                tags.figcaption(caption)

    def add_table(self, rows: list[dict[str, object]], caption: str | None = None) -> None:
        """Add a table whose columns are the union of the rows' keys, in first-seen order."""
        with self.doc:
            table(rows, caption)

    def add_panel(
        self,
        rows: list[dict[str, object]],
        figures: list[tuple[str, str]],
        caption: str | None = None,
        width: int = 560,
    ) -> None:
        """A table with figures (`(caption, path)`) beside it; they wrap below it in a narrow window."""
        with self.doc:
            with tags.div(cls="panel"):
                if rows:
                    with tags.div(cls="metrics"):  # a table ignores max-width; its box does not
                        table(rows, caption)
                for figure_caption, path in figures:
                    with tags.figure():
                        with tags.a(href=url_for(path)):
                            tags.img(style=f"width:{width}px", src=url_for(path), alt=figure_caption)
                        tags.figcaption(figure_caption)

    def add_legend(self, names: tuple[str, ...] = LABEL_NAMES) -> None:
        """The colour of every class, as the masks on the page are painted."""
        with self.doc:
            with tags.div(cls="legend"):
                for index, name in enumerate(names):
                    r, g, b = (int(v) for v in PALETTE[index])
                    with tags.span():
                        tags.span(cls="swatch", style=f"background: rgb({r},{g},{b})")
                        tags.span(f"{index} {name}")

    def add_nav(self, pages: list[str], current: int) -> None:
        """Links to the pages of a result split over several files (`current` is this page, 0-based)."""
        if len(pages) < 2:
            return
        with self.doc:
            with tags.nav():
                tags.span("pages:")
                for index, page in enumerate(pages):
                    if index == current:
                        tags.b(str(index + 1))
                    else:
                        tags.a(str(index + 1), href=url_for(page))

    def save(self, filename: str = "index.html") -> Path:
        """Write the page atomically to `web_dir/filename` and return its path."""
        if Path(filename).name != filename or filename in ("", ".", ".."):
            raise ValueError(f"page filename must be a plain file name inside {self.web_dir}, got {filename!r}")
        path = self.web_dir / filename
        atomic_write_text(path, self.doc.render())
        return path


def table(rows: list[dict[str, object]], caption: str | None = None) -> None:
    """A table (inside an open dominate context) whose columns are the rows' keys in first-seen order."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with tags.table():
        if caption is not None:
            tags.caption(caption)
        with tags.tr():
            for column in columns:
                tags.th(column)
        for row in rows:
            with tags.tr():
                for column in columns:
                    tags.td(format_value(row.get(column)))
