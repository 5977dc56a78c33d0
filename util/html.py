"""A tiny HTML page builder on `dominate`, in the spirit of SPADE's `util/html.py`.

All text goes through dominate, which escapes it, so names with `<`, `&`, quotes or unicode render
as text. Image and link addresses are URL-quoted so file names with spaces, `#` or `?` still resolve.
"""
from __future__ import annotations

import math
import numbers
from pathlib import Path, PurePath
from urllib.parse import quote

import dominate
from dominate import tags

from shape_editor.fileio import atomic_write_text


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
        """Add one table row of images (paths relative to `web_dir`), each with a text caption.

        Each image links to `links[i]` (default: the image itself, for the full-size view).
        """
        links = images if links is None else links
        if not len(images) == len(captions) == len(links):
            raise ValueError(
                f"images, captions and links differ in length: {len(images)}, {len(captions)}, {len(links)}"
            )
        with self.doc:
            with tags.table(border=1, style="table-layout: fixed;"):
                with tags.tr():
                    for image, caption, link in zip(images, captions, links):
                        with tags.td(style="word-wrap: break-word; text-align: center; vertical-align: top;"):
                            with tags.p():
                                with tags.a(href=url_for(link)):
                                    tags.img(style=f"width:{width}px", src=url_for(image), alt=caption)
                                tags.br()
                                tags.span(caption)

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
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with self.doc:
            with tags.table(border=1, style="border-collapse: collapse;", cellpadding=4):
                if caption is not None:
                    tags.caption(caption)
                with tags.tr():
                    for column in columns:
                        tags.th(column)
                for row in rows:
                    with tags.tr():
                        for column in columns:
                            tags.td(format_value(row.get(column)))

    def save(self, filename: str = "index.html") -> Path:
        """Write the page atomically to `web_dir/filename` and return its path."""
        if Path(filename).name != filename or filename in ("", ".", ".."):
            raise ValueError(f"page filename must be a plain file name inside {self.web_dir}, got {filename!r}")
        path = self.web_dir / filename
        atomic_write_text(path, self.doc.render())
        return path
