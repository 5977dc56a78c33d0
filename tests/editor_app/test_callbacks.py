"""The editor's callbacks as plain functions: edits, history, painting, uploads, downloads and bad input."""

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

import editor
from shape_editor.labels import PALETTE, STANDARD_TO_BISENET, colorize
from editor_app import callbacks as cb
from editor_app.engine import keep_other_parts
from editor_app.history import History
from editor_app.images import mask_view, photo_view, view_scale
from editor_app.layout import after_edit
from editor_app.options import EditorOptions
from editor_app.render import RenderWorker, SeanPainter
from tests.editor_app.conftest import SIZE, editor_argv

NOSE = 2


@pytest.fixture(scope="module")
def ctx(editor_runs):
    opt = EditorOptions().parse(editor_argv(editor_runs))
    context, renderer = editor.build_context(opt, torch.device("cpu"))
    assert renderer is None  # no --name: no SEAN
    return context


@pytest.fixture
def session(ctx):
    return cb.load_test_face(ctx, 0)[0].session


def test_history_undo_redo_reset_and_slider_entries():
    a, b, c = (np.full((2, 2), v, np.uint8) for v in (0, 1, 2))
    history = History.start(a, "start").push(b, "b").push(c, "slider 1", key=("s",)).push(b, "slider 2", key=("s",))
    assert len(history.entries) == 3 and history.current.note == "slider 2"  # the slider replaced its own entry
    assert np.array_equal(history.base_for(("s",)), b) and np.array_equal(history.base_for(("t",)), b)
    undone = history.undo().undo()
    assert np.array_equal(undone.current.mask, a) and not undone.can_undo and undone.can_redo
    assert np.array_equal(undone.redo().current.mask, b)
    assert np.array_equal(undone.push(c, "new").entries[-1].mask, c) and not undone.push(c, "new").can_redo
    reset = history.reset()
    assert np.array_equal(reset.current.mask, a) and np.array_equal(reset.undo().current.mask, b)


def test_generate_repeats_with_its_seed_and_moves_only_the_part(ctx, session):
    shown, next_seed = cb.generate(ctx, session, ["nose"], 5)
    again, _ = cb.generate(ctx, session, ["nose"], 5)
    before, after = session.history.current.mask, shown.session.history.current.mask
    assert next_seed == 6 and np.array_equal(after, again.session.history.current.mask)
    changed = before != after
    assert changed.any(), "a generated nose should differ from the original"
    assert np.all((before == NOSE) | (after == NOSE) | ~changed)  # only pixels entering or leaving the nose
    assert "generate nose (seed 5)" in shown.status and shown.image.shape == (SIZE * view_scale(SIZE),) * 2 + (3,)


def test_whole_mask_decodes_match_the_mask_editor(ctx, session):
    mask = session.history.current.mask
    labels = torch.from_numpy(mask).long()[None, None]
    recon = ctx.engine.editor.reconstruct(labels).masks[0, 0].numpy()
    assert np.array_equal(cb.reconstruct(ctx, session).session.history.current.mask, recon)
    target, _, _ = cb.dataset_face(ctx, 1)
    swapped = ctx.engine.editor.swap(labels, torch.from_numpy(target).long()[None, None], [NOSE]).masks[0, 0].numpy()
    shown = cb.blend(ctx, session, ["nose"], 1, 1.0)
    assert np.array_equal(shown.session.history.current.mask, keep_other_parts(mask, swapped, [NOSE]))
    assert "swap in the nose of test 1" in shown.status


def test_perturb_slider_restarts_from_the_mask_before_it(ctx, session):
    first, seed = cb.perturb(ctx, session, ["nose", "mouth"], 0.5, 3, slider=True)
    second, _ = cb.perturb(ctx, first.session, ["nose", "mouth"], 2.0, 3, slider=True)
    direct, next_seed = cb.perturb(ctx, session, ["nose", "mouth"], 2.0, 3)  # the button
    assert (seed, next_seed) == (3, 4) and len(second.session.history.entries) == 2
    assert np.array_equal(second.session.history.current.mask, direct.session.history.current.mask)
    pressed_again, _ = cb.perturb(ctx, direct.session, ["nose", "mouth"], 2.0, next_seed)
    assert len(pressed_again.session.history.entries) == 3  # the button always makes a new step


def test_attribute_slider_reports_the_measured_change(ctx, session):
    shown, measured = cb.attribute(ctx, session, ["skin"], "width", 2.0, keep_others=False)
    assert measured.startswith("asked +2.00 std, measured ") and "skin width" in measured
    assert shown.session.history.current.note == "skin width +2.00 std"


def test_paint_undo_and_overlay(ctx, session):
    factor = view_scale(SIZE)
    layer = np.zeros((SIZE * factor, SIZE * factor, 4), np.uint8)
    layer[10 * factor : 14 * factor, 20 * factor : 30 * factor] = (
        255,
        0,
        0,
        255,
    )  # a stroke over rows 10-13, cols 20-29
    shown = cb.paint(session, {"background": None, "layers": [layer], "composite": None}, "hat", overlay=True)
    mask = shown.session.history.current.mask
    assert np.all(mask[10:14, 20:30] == 14)
    before = session.history.current.mask
    assert np.array_equal(mask[:10], before[:10]) and np.array_equal(mask[14:], before[14:])
    painted_view = shown.image[::factor, ::factor]
    assert np.array_equal(painted_view[12, 25], PALETTE[14])  # changed pixels keep their colour in the overlay
    assert not np.array_equal(painted_view[40, 5], colorize(before)[40, 5])  # unchanged ones are faded
    assert np.array_equal(cb.undo(shown.session).session.history.current.mask, before)
    with pytest.raises(ValueError, match="nothing painted"):
        cb.paint(session, {"background": None, "layers": [], "composite": None}, "hat")


@pytest.mark.parametrize("kind", ["ids", "colour", "palette", "bisenet"])
def test_upload_reads_every_label_format(ctx, tmp_path, kind):
    mask, _, _ = cb.dataset_face(ctx, 2)
    path = tmp_path / "upload.png"
    if kind == "ids":
        Image.fromarray(mask).save(path)
    elif kind == "colour":
        Image.fromarray(colorize(mask)).save(path)
    elif kind == "palette":
        image = Image.fromarray(mask, mode="P")
        image.putpalette(PALETTE.flatten().tolist())
        image.save(path)
    else:
        Image.fromarray(STANDARD_TO_BISENET[mask]).save(path)
        ctx = ctx._replace(opt=type(ctx.opt)(**{**vars(ctx.opt), "label_order": "bisenet"}))
    shown, legend = cb.load_uploaded(ctx, str(path), None)
    assert np.array_equal(shown.session.history.current.mask, mask) and "nose" in legend


def test_bad_input_raises_the_loaders_messages(ctx, session, tmp_path):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(ValueError, match="cannot read image .*corrupt.png"):
        cb.load_uploaded(ctx, str(corrupt), None)
    out_of_range = tmp_path / "ids.png"
    Image.fromarray(np.full((SIZE, SIZE), 40, np.uint8)).save(out_of_range)
    with pytest.raises(ValueError, match=r"label values \[40\] are outside \[0, 19\)"):
        cb.load_uploaded(ctx, str(out_of_range), None)
    wide = tmp_path / "wide.png"
    Image.fromarray(np.zeros((SIZE, 2 * SIZE, 3), np.uint8)).save(wide)
    Image.fromarray(np.zeros((SIZE, SIZE), np.uint8)).save(tmp_path / "square.png")
    with pytest.raises(ValueError, match="another aspect ratio"):
        cb.load_uploaded(ctx, str(tmp_path / "square.png"), str(wide))
    Image.fromarray(np.zeros((SIZE, 2 * SIZE), np.uint8)).save(tmp_path / "wide_ids.png")
    with pytest.raises(ValueError, match=rf"wide_ids.png: the label map is {2 * SIZE}x{SIZE}.*would squash it"):
        cb.load_uploaded(ctx, str(tmp_path / "wide_ids.png"), None)
    for call, message in [
        (lambda: cb.generate(ctx, session, [], 0), "no part chosen"),
        (lambda: cb.generate(ctx, session, ["background"], 0), "background is not an editable"),
        (lambda: cb.generate(ctx, session, ["nose"], -1), "seed -1"),
        (lambda: cb.blend(ctx, session, ["nose"], 99, 0.5), "test face 99 does not exist"),
        (lambda: cb.load_uploaded(ctx, None, None), "no label map uploaded"),
    ]:
        with pytest.raises(ValueError, match=message):
            call()


def test_downloads_hold_the_current_mask(ctx, session):
    edited = cb.generate(ctx, session, ["nose"], 1)[0].session
    ids, colour, photo = cb.save_downloads(ctx, edited, np.zeros((SIZE, SIZE, 3), np.uint8), "tab")
    mask = edited.history.current.mask
    assert np.array_equal(np.asarray(Image.open(ids)), mask)
    assert np.array_equal(np.asarray(Image.open(colour)), colorize(mask)) and photo.is_file()


def test_options_and_command_line_errors(editor_runs, capsys):
    with pytest.raises(ValueError, match="--shape_name is required"):
        EditorOptions().parse(["--checkpoints_dir", str(editor_runs)])
    with pytest.raises(ValueError, match="--name shape is a shapevae run"):
        EditorOptions().parse(editor_argv(editor_runs, "--name", "shape"))
    opt = EditorOptions().parse(editor_argv(editor_runs, "--label_order", "bisenet", "--port", "7999"))
    assert (opt.label_order, opt.port, opt.host, opt.crop_size, opt.sean) == ("bisenet", 7999, "127.0.0.1", SIZE, False)
    with pytest.raises(SystemExit) as exit_info:
        editor.main(["--shape_name", "missing", "--checkpoints_dir", str(editor_runs)])
    assert exit_info.value.code == 2 and capsys.readouterr().err.startswith("error: ")
    with pytest.raises(SystemExit) as exit_info:
        editor.main(editor_argv(editor_runs, "--port", "70000"))
    err = capsys.readouterr().err
    assert (
        exit_info.value.code == 2 and err == "error: 70000 is out of range (--port): give an integer from 1 to 65535\n"
    )


def test_help_needs_no_trained_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no checkpoints/ here
    with pytest.raises(SystemExit) as exit_info:
        editor.main(["--help"])
    assert exit_info.value.code == 0 and "--shape_name" in capsys.readouterr().out and not list(tmp_path.iterdir())


def test_dataroot_replaces_the_runs_synthetic_faces(editor_runs, tmp_path):
    labels = tmp_path / "data" / "test" / "labels"
    labels.mkdir(parents=True)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[20:40, 24:40] = NOSE
    Image.fromarray(mask).save(labels / "28000.png")
    opt = EditorOptions().parse(editor_argv(editor_runs, "--dataroot", str(tmp_path / "data")))
    context, _ = editor.build_context(opt, torch.device("cpu"))
    shown, _ = cb.load_test_face(context, 0)
    assert np.array_equal(shown.session.history.current.mask, mask) and shown.session.name == "test 0 28000"


def test_sean_render_paints_only_the_newest_mask(editor_runs):
    opt = EditorOptions().parse(editor_argv(editor_runs, "--name", "sean"))
    context, renderer = editor.build_context(opt, torch.device("cpu"))
    mask, photo, _ = cb.dataset_face(context, 0)
    assert isinstance(renderer, RenderWorker) and photo is not None
    painter = SeanPainter(opt, torch.device("cpu"))
    image = painter(mask, photo, mask)
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
    stale, newest = renderer.submit(mask, photo, mask), renderer.submit(mask, photo, mask)
    assert newest.wait(30) is not None and renderer.is_stale(stale)


def test_the_page_shows_the_command_lines_error_text():
    from editor_app.layout import guarded
    from shape_editor.cli import error_line
    from shape_editor.errors import UserError

    def failing(err):
        def fn():
            raise err

        return fn

    for err in (
        UserError("labels out of range", "mask.png", "give ids below 19"),
        FileNotFoundError(2, "No such file or directory", "gone.png"),
    ):
        shown = guarded(failing(err), outputs=3)()
        assert shown[2] == error_line(err) and shown[2].startswith("error: ")
    with pytest.raises(KeyError):  # a bug is not bad input: it is not hidden in the status line
        guarded(failing(KeyError("bug")), outputs=3)()


def test_a_square_upload_of_another_size_is_resized_like_the_test_set(ctx, tmp_path):
    mask, _, _ = cb.dataset_face(ctx, 2)
    big = Image.fromarray(mask).resize((2 * SIZE, 2 * SIZE), Image.Resampling.NEAREST)
    big.save(tmp_path / "big.png")
    shown, _ = cb.load_uploaded(ctx, str(tmp_path / "big.png"), None)
    assert np.array_equal(shown.session.history.current.mask, mask)


def test_after_an_edit_the_canvas_follows_only_while_its_panel_is_open(ctx, session):
    edited = cb.generate(ctx, session, ["nose"], 1)[0].session
    ids, colour, canvas, legend, photo = after_edit(ctx, edited, True, False, "tab")
    mask = edited.history.current.mask
    assert np.array_equal(np.asarray(Image.open(ids)), mask) and "nose" in legend
    assert np.array_equal(canvas["background"][..., :3], mask_view(mask)) and canvas["layers"] == []
    assert photo == gr.skip()  # the same face: its photo is not sent again
    closed = after_edit(ctx, edited, False, True, "tab")
    assert closed[2] == gr.skip()  # the panel is closed: the canvas is left as it is
    if edited.photo is None:  # a new face: its photo (or its absence) is sent
        assert closed[4] is None
    else:
        assert np.array_equal(closed[4], photo_view(edited.photo))
