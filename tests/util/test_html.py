import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from util.html import HTML, format_value, url_for
from util.image import save_image

NASTY = ["a b.png", "visage été.png", "x#1?.png", "<i>&'q\".png"]


class _PageParser(HTMLParser):
    """Collects every `src`/`href` and the page's visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value for name, value in attrs if name in ("src", "href") and value is not None]

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def parse_page(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def assert_links_resolve(page: Path) -> list[Path]:
    """Every src/href of the page names an existing file inside the page's folder; returns them."""
    files = [(page.parent / unquote(link)).resolve() for link in parse_page(page).links]
    for file in files:
        assert file.is_file(), file
        assert page.parent.resolve() in file.parents
    return files


def test_page_links_nasty_names_and_escapes_text(tmp_path) -> None:
    page = HTML(tmp_path / "web", "title <script>alert(1)</script> & 'q'")
    images = []
    for name in NASTY:
        save_image(np.zeros((4, 4, 3), np.uint8), page.img_dir / name)
        images.append(f"images/{name}")
    page.add_header("<script>evil()</script>")
    page.add_text('Tom & "Jerry" <b>')
    page.add_images(images, [Path(i).stem for i in images[:-1]] + ["<script>x()</script>"], width=64)
    path = page.save()
    assert path == tmp_path / "web" / "index.html"
    files = assert_links_resolve(path)
    assert len(files) == 2 * len(NASTY)  # every image and its link
    assert {f.name for f in files} == set(NASTY)
    raw = path.read_text(encoding="utf-8")
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    assert "<b>" not in raw and "<i>" not in raw
    text = parse_page(path).text
    assert 'Tom & "Jerry" <b>' in text and "<script>evil()</script>" in text
    assert "visage été" in text and "<script>x()</script>" in text


def test_url_for_quotes_special_characters() -> None:
    assert url_for("images/a b#?.png") == "images/a%20b%23%3F.png"
    assert url_for("images/é.png") == "images/%C3%A9.png"


def test_add_table_columns_and_formatting(tmp_path) -> None:
    page = HTML(tmp_path, "t")
    page.add_table([{"epoch": 1, "mIoU": 70.3123}, {"epoch": 2, "acc": 0.923949, "mIoU": None}], caption="m")
    cells = re.findall(r"<t[hd]>(.*?)</t[hd]>", page.save().read_text())
    assert cells == ["epoch", "mIoU", "acc", "1", "70.31", "", "2", "", "0.9239"]
    assert format_value(np.float32(0.5)) == "0.5" and format_value(float("nan")) == "nan"


def test_add_image_refresh_and_validation(tmp_path) -> None:
    save_image(np.zeros((4, 4, 3), np.uint8), tmp_path / "plot 1.png")
    page = HTML(tmp_path, "t", refresh=5)
    page.add_image("plot 1.png", "a plot")
    path = page.save("other.html")
    assert (tmp_path / "images").is_dir()
    assert len(assert_links_resolve(path)) == 2
    assert 'http-equiv="refresh"' in path.read_text() and "<figcaption>a plot</figcaption>" in path.read_text()
    with pytest.raises(ValueError, match="plain file name"):
        page.save("../index.html")
    with pytest.raises(ValueError, match="level"):
        page.add_header("x", level=7)
    with pytest.raises(ValueError, match="differ in length"):
        page.add_images(["a.png"], [])


def test_save_overwrites_without_temp_files(tmp_path) -> None:
    for title in ("first", "second"):
        page = HTML(tmp_path, title)
        page.save()
    assert "second" in (tmp_path / "index.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "index.html"]
