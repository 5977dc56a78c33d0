"""The Gradio page: controls wired to the plain functions of `editor_app.callbacks`.

Every edit runs as its own event and shows the new mask as soon as it is decoded; the download files,
the brush canvas (only while the paint panel is open) and the SEAN render follow in chained steps (`.then`),
so the mask never waits for them.
Bad input never raises into Gradio: `guarded` turns the callbacks' ValueError / FileNotFoundError into the
page's status line (`error: ...`, the command line's wording) and leaves every other output as it was.
"""

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import gradio as gr
import numpy as np

from editor_app import callbacks as cb
from editor_app.images import brush_colour, legend_html, mask_view, photo_view
from editor_app.render import RenderWorker
from shape_editor.attributes import HAIR_ATTRIBUTES, SHAPE_ATTRIBUTES
from shape_editor.cli import error_line, is_file_error
from shape_editor.labels import LABEL_NAMES

GALLERY_SIZE = 24
VIEW_HEIGHT = 320  # px of the mask and render views
CSS = """
.legend {display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 0.85em}
.legend-item {display: inline-flex; align-items: center; gap: 4px}
.swatch {display: inline-block; width: 14px; height: 14px; border: 1px solid #888}
#mask img {image-rendering: pixelated}
"""


def flatten(result: Any) -> list[Any]:
    """A callback's (possibly nested) tuple of `Shown` and extras -> the flat list of output values."""
    if isinstance(result, cb.Shown):
        return list(result)
    if isinstance(result, tuple):
        return [value for item in result for value in flatten(item)]
    return [result]


def page_error(err: BaseException) -> str:
    """The text the command line prints for `err` (`shape_editor.cli`): the `error: ...` line, then any details."""
    line, *details = error_line(err).split("\n")
    return "\n".join([line.rstrip(":"), *details])


def guarded(fn: Callable[..., Any], outputs: int, status: int = 2) -> Callable[..., list[Any]]:
    """Run `fn`; on bad input show `error: <message>` at output `status` and skip every other output."""

    def run(*args: Any) -> list[Any]:
        try:
            return flatten(fn(*args))
        except Exception as err:
            if not isinstance(err, (ValueError, FileNotFoundError)) and not is_file_error(err):
                raise
            values: list[Any] = [gr.skip()] * outputs
            values[status] = page_error(err)
            return values

    return run


def painter_value(session: cb.Session) -> dict[str, Any]:
    """A clean brush canvas over the current mask.

    The background is RGBA, so its bytes (and Gradio's content-addressed cache file) differ from the
    RGB mask view: otherwise this step would rewrite the very file the browser is fetching for the mask.
    """
    view = mask_view(session.history.current.mask)
    opaque = np.full((*view.shape[:2], 1), 255, np.uint8)
    return {"background": np.concatenate([view, opaque], axis=2), "layers": [], "composite": None}


def after_edit(
    ctx: cb.EditorContext, state: cb.Session, painting_open: bool, new_face: bool, session_id: str
) -> list[Any]:
    """The step after an edit: [id download, colour download, canvas, legend, photo].

    The canvas (an ImageEditor, which re-uploads its layers) costs the browser ~300 ms per update, so it
    follows the mask only while its panel is open; the photo is sent only with a new face. Otherwise skipped.
    """
    ids, colour, _ = cb.save_downloads(ctx, state, session_id=session_id)
    canvas_value = painter_value(state) if painting_open else gr.skip()
    photo = (None if state.photo is None else photo_view(state.photo)) if new_face else gr.skip()
    return [ids, colour, canvas_value, legend_html(state.history.current.mask), photo]


def make_brush(class_name: str, size: float) -> gr.Brush:
    """A brush fixed to the class's palette colour."""
    colour = brush_colour(LABEL_NAMES.index(class_name))
    return gr.Brush(colors=[colour], default_color=colour, color_mode="fixed", default_size=int(size))


def brush(class_name: str, size: float) -> gr.ImageEditor:
    return gr.ImageEditor(brush=make_brush(class_name, size))


def build_app(ctx: cb.EditorContext, renderer: RenderWorker | None = None) -> gr.Blocks:
    """The editor page over `ctx`; with `renderer`, a SEAN render of every mask beside it."""
    first, legend_start = cb.load_test_face(ctx, 0)
    with gr.Blocks(title="ShapeVAE mask editor") as app:
        session = gr.State(first.session)
        gr.Markdown("## ShapeVAE mask editor: pick a face, choose parts, edit; undo/redo covers everything")
        status = gr.Markdown(first.status, elem_id="status")
        with gr.Row():
            with gr.Column(scale=2, min_width=280):
                gallery = gr.Gallery(
                    cb.gallery_items(ctx, GALLERY_SIZE),
                    label="test faces (click to load)",
                    columns=4,
                    height=300,
                    allow_preview=False,
                    format="png",
                    elem_id="gallery",
                )
                label_file = gr.File(
                    label="or upload a label map (ids, colour or palette PNG)",
                    type="filepath",
                    height=130,
                    elem_id="label-upload",
                )
                photo_file = gr.File(
                    label="optional photo for the upload", type="filepath", height=130, elem_id="photo-upload"
                )
                load_upload = gr.Button("load the upload", elem_id="load-upload")
            with gr.Column(scale=3, min_width=320):
                mask_image = gr.Image(
                    first.image,
                    label="mask",
                    type="numpy",
                    format="png",
                    interactive=False,
                    height=VIEW_HEIGHT,
                    elem_id="mask",
                    buttons=[],
                )
                overlay = gr.Checkbox(False, label="show changed pixels (vs the previous step)", elem_id="overlay")
                legend = gr.HTML(legend_start)
                with gr.Row():
                    undo = gr.Button("undo", elem_id="undo")
                    redo = gr.Button("redo", elem_id="redo")
                    reset = gr.Button("reset", elem_id="reset")
                ids_path, colour_path, _ = cb.save_downloads(ctx, first.session)
                with gr.Row():
                    download_ids = gr.DownloadButton("mask (id PNG)", ids_path, elem_id="download-ids")
                    download_colour = gr.DownloadButton("mask (colour PNG)", colour_path, elem_id="download-colour")
                    download_photo = gr.DownloadButton(
                        "rendered photo", None, elem_id="download-photo", visible=renderer is not None
                    )
            with gr.Column(scale=3, min_width=320, visible=renderer is not None):
                rendered = gr.Image(
                    label="SEAN render with the original photo's style",
                    type="numpy",
                    interactive=False,
                    height=VIEW_HEIGHT,
                    elem_id="rendered",
                )
                render_status = gr.Markdown("", elem_id="render-status")
                start_photo = None if first.session.photo is None else photo_view(first.session.photo)
                original_photo = gr.Image(
                    start_photo,
                    label="original photo (the style source)",
                    type="numpy",
                    interactive=False,
                    height=VIEW_HEIGHT // 2,
                    elem_id="photo",
                )
        with gr.Row():
            with gr.Column(min_width=320):
                parts = gr.Dropdown(
                    list(LABEL_NAMES[1:]), value=["nose"], multiselect=True, label="parts", elem_id="parts"
                )
                keep = gr.Checkbox(
                    True, label="keep the other parts' pixels (off: the whole mask is decoded)", elem_id="keep"
                )
                seed = gr.Number(0, precision=0, label="seed (repeat any result)", elem_id="seed")
                with gr.Row():
                    generate = gr.Button("generate", variant="primary", elem_id="generate")
                    reconstruct = gr.Button("reconstruct", elem_id="reconstruct")
                strength = gr.Slider(0, 3, 1.0, step=0.05, label="perturb strength", elem_id="strength")
                perturb = gr.Button("perturb", elem_id="perturb")
            with gr.Column(min_width=320):
                target = gr.Number(1, precision=0, label="second face (test index)", elem_id="target")
                alpha = gr.Slider(0, 1, 0.5, step=0.05, label="alpha toward the second face", elem_id="alpha")
                with gr.Row():
                    interpolate = gr.Button("interpolate", elem_id="interpolate")
                    swap = gr.Button("swap", elem_id="swap")
                attribute_name = gr.Dropdown(
                    list(SHAPE_ATTRIBUTES + HAIR_ATTRIBUTES),
                    value="height",
                    label="attribute of the first chosen part",
                    elem_id="attribute",
                )
                attribute_strength = gr.Slider(
                    -3, 3, 0, step=0.25, label="attribute change (std)", elem_id="attribute-strength"
                )
                measured = gr.Markdown("", elem_id="measured")
            with (
                gr.Column(min_width=320),
                gr.Accordion("paint by hand", open=False, elem_id="paint-panel") as paint_panel,
            ):
                paint_class = gr.Dropdown(list(LABEL_NAMES), value="nose", label="brush class", elem_id="brush-class")
                brush_size = gr.Slider(1, 64, 12, step=1, label="brush size", elem_id="brush-size")
                canvas = gr.ImageEditor(
                    painter_value(first.session),
                    type="numpy",
                    image_mode="RGBA",
                    label="paint",
                    format="png",
                    sources=["upload"],
                    transforms=[],
                    layers=False,
                    interactive=True,
                    brush=make_brush("nose", 12),
                    elem_id="canvas",
                )
                with gr.Row():
                    apply_paint = gr.Button("apply the strokes", elem_id="apply-paint")
                    adapt = gr.Button("let the parts adapt", elem_id="adapt")

        shown = [session, mask_image, status]
        painting = gr.State(False)  # the paint panel is open: only then does the canvas follow every edit
        paint_panel.expand(lambda state: (painter_value(state), True), [session], [canvas, painting], queue=False)
        paint_panel.collapse(lambda: False, None, [painting], queue=False)

        def syncer(new_face: bool) -> Callable[..., list[Any]]:
            # Gradio finds the `gr.Request` argument by its annotation, so this is a plain function, not a partial.
            def sync(state: cb.Session, painting_open: bool, request: gr.Request) -> list[Any]:
                return after_edit(ctx, state, painting_open, new_face, request.session_hash or "session")

            return sync

        def render(state: cb.Session, request: gr.Request) -> Iterator[list[Any]]:
            if renderer is None:
                return
            if state.photo is None:
                yield [gr.skip(), "no photo for this mask: upload one to render it", gr.skip()]
                return
            job = renderer.submit(state.history.current.mask, state.photo, state.history.original)
            yield [gr.skip(), "SEAN is rendering the new mask...", gr.skip()]
            try:
                image = job.wait()
            except RuntimeError as err:
                yield [gr.skip(), f"error: {err}", gr.skip()]
                return
            if image is None or renderer.is_stale(job):
                return
            _, _, path = cb.save_downloads(ctx, state, image, request.session_hash or "session")
            yield [photo_view(image), "rendered", path]

        def wire(
            event: Any,
            fn: Callable[..., Any],
            inputs: list[Any],
            outputs: list[Any],
            guard: bool = True,
            new_face: bool = False,
        ) -> None:
            # Off the queue: an edit answers in one HTTP round trip instead of the queue's join + event stream.
            # A click while the previous edit's chain is still running is run after it, not dropped.
            chain = event(
                guarded(fn, len(outputs)) if guard else fn,
                inputs,
                outputs,
                show_progress="hidden",
                queue=False,
                trigger_mode="always_last",
            )
            chain = chain.then(
                syncer(new_face),
                [session, painting],
                [download_ids, download_colour, canvas, legend, original_photo],
                show_progress="hidden",
            )
            if renderer is not None:
                chain.then(render, [session], [rendered, render_status, download_photo], concurrency_limit=None)

        wire(generate.click, partial(cb.generate, ctx), [session, parts, seed, keep, overlay], shown + [seed])
        wire(perturb.click, partial(cb.perturb, ctx), [session, parts, strength, seed, keep, overlay], shown + [seed])
        wire(
            strength.release,
            partial(cb.perturb, ctx, slider=True),
            [session, parts, strength, seed, keep, overlay],
            shown + [seed],
        )
        wire(reconstruct.click, partial(cb.reconstruct, ctx), [session, overlay], shown)
        wire(
            adapt.click,
            lambda s, o: cb.reconstruct(ctx, s, o, "let the parts adapt (VAE pass)"),
            [session, overlay],
            shown,
        )
        wire(interpolate.click, partial(cb.blend, ctx), [session, parts, target, alpha, keep, overlay], shown)
        wire(alpha.release, partial(cb.blend, ctx), [session, parts, target, alpha, keep, overlay], shown)
        wire(
            swap.click,
            lambda s, p, t, k, o: cb.blend(ctx, s, p, t, 1.0, k, o),
            [session, parts, target, keep, overlay],
            shown,
        )
        wire(
            attribute_strength.release,
            partial(cb.attribute, ctx),
            [session, parts, attribute_name, attribute_strength, keep, overlay],
            shown + [measured],
        )
        wire(apply_paint.click, cb.paint, [session, canvas, paint_class, overlay], shown)
        wire(undo.click, cb.undo, [session, overlay], shown)
        wire(redo.click, cb.redo, [session, overlay], shown)
        wire(reset.click, cb.reset, [session, overlay], shown)
        load_face = guarded(partial(cb.load_test_face, ctx), len(shown) + 1)

        def select_face(overlay_on: bool, evt: gr.SelectData) -> list[Any]:
            return load_face(evt.index, overlay_on)

        wire(gallery.select, select_face, [overlay], shown + [legend], guard=False, new_face=True)
        wire(
            load_upload.click,
            partial(cb.load_uploaded, ctx),
            [label_file, photo_file, overlay],
            shown + [legend],
            new_face=True,
        )
        overlay.change(lambda s, o: cb.view(s, o), [session, overlay], [mask_image], show_progress="hidden")
        for control in (paint_class, brush_size):
            control.change(brush, [paint_class, brush_size], [canvas], show_progress="hidden")
    return app


def launch(app: gr.Blocks, host: str, port: int, **kwargs: Any) -> None:
    """Serve on `host:port` only: no share link, no analytics (the caller sets GRADIO_ANALYTICS_ENABLED)."""
    app.launch(server_name=host, server_port=port, share=False, css=CSS, footer_links=[], **kwargs)
