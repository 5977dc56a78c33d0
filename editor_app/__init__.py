"""The interactive mask editor (`python editor.py --shape_name <run>`): a Gradio page over `shape_editor.MaskEditor`.

Modules, each with one job: `history` (the undo/redo list of masks), `engine` (part edits on numpy label
maps), `images` (palette view, overlay, legend, uploads, brush strokes), `render` (the SEAN render worker),
`callbacks` (what every button does, as plain functions), `layout` (the Gradio page) and `options` (flags).
"""
