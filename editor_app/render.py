"""The SEAN side of the editor: paint the current mask with the original photo's style, off the edit path.

`SeanPainter` holds a trained SEAN generator. `RenderWorker` runs it on one background thread and only
ever paints the newest mask submitted: an edit returns at once, and a render that a newer edit made
stale is dropped before it starts (or its result is ignored).
"""

from __future__ import annotations

import argparse
import logging
import queue
import threading
from collections.abc import Callable

import numpy as np
import torch

import models
from shape_editor.masks import labels_to_onehot
from testers.pipeline import resize_nearest_exact
from util.image import tensor_to_image

logger = logging.getLogger(__name__)


class SeanPainter:
    """A trained SEAN generator (`checkpoints/<name>/<which_epoch>_net_G.pth`) as a function of masks.

    Args:
        opt: the options of the SEAN run (its opt.json), `isTrain` False.
        device: where the generator runs.
    """

    def __init__(self, opt: argparse.Namespace, device: torch.device) -> None:
        model = models.create_model(opt)
        model.load_networks(opt.which_epoch, ["G"])
        self.netG = model.netG.to(device).eval()
        self.label_nc, self.device = opt.label_nc, device
        self.size = (opt.crop_size, opt.crop_size)

    def _onehot(self, mask: np.ndarray) -> torch.Tensor:
        labels = torch.from_numpy(np.ascontiguousarray(mask)).long()[None, None].to(self.device)
        return labels_to_onehot(resize_nearest_exact(labels, self.size), self.label_nc)  # (1, C, S, S)

    @torch.inference_mode()
    def __call__(self, mask: np.ndarray, photo: np.ndarray, original: np.ndarray) -> np.ndarray:
        """Paint `mask` [H, W] with the style codes of `photo` [3, H, W] in [-1, 1] and its mask `original`."""
        image = torch.from_numpy(photo)[None].to(self.device)
        image = torch.nn.functional.interpolate(image, size=self.size, mode="bilinear", align_corners=False)
        styles = self.netG.encode_style(image, self._onehot(original))  # (1, C, style_dim)
        generator = torch.Generator(self.device).manual_seed(0)  # the same noise for every render of a face
        return tensor_to_image(self.netG(self._onehot(mask), styles, generator)[0])


class RenderJob:
    """One submitted render; `wait` returns the image, or None when a newer job superseded it."""

    def __init__(self, args: tuple) -> None:
        self.args = args
        self.done = threading.Event()
        self.image: np.ndarray | None = None
        self.error: str | None = None

    def wait(self, timeout: float | None = None) -> np.ndarray | None:
        self.done.wait(timeout)
        if self.error is not None:
            raise RuntimeError(self.error)
        return self.image


class RenderWorker:
    """One daemon thread that paints the newest submitted mask with `paint(mask, photo, original)`."""

    def __init__(self, paint: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> None:
        self.paint = paint
        self.jobs: queue.Queue[RenderJob] = queue.Queue()
        self.latest: RenderJob | None = None
        self.lock = threading.Lock()
        threading.Thread(target=self._loop, daemon=True, name="sean-render").start()

    def submit(self, mask: np.ndarray, photo: np.ndarray, original: np.ndarray) -> RenderJob:
        job = RenderJob((mask, photo, original))
        with self.lock:
            self.latest = job
        self.jobs.put(job)
        return job

    def is_stale(self, job: RenderJob) -> bool:
        with self.lock:
            return job is not self.latest

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            if not self.is_stale(job):
                try:
                    job.image = self.paint(*job.args)
                except Exception as err:  # any failure is reported in the page: it must never kill the worker
                    logger.exception("SEAN render failed")
                    job.error = f"the SEAN render failed: {err}"
            job.done.set()
