"""Model registry: `--model X` imports `models/X_model.py` and uses its class `XModel` (any case)."""

from __future__ import annotations

import argparse
from typing import Callable

from models.base_model import BaseModel
from util.registry import find_class


def find_model_using_name(name: str) -> type[BaseModel]:
    return find_class("models", "model", name, BaseModel)


def get_option_setter(name: str) -> Callable[[argparse.ArgumentParser, bool], argparse.ArgumentParser]:
    return find_model_using_name(name).modify_commandline_options


def get_option_defaults(name: str) -> Callable[[argparse.Namespace], dict]:
    return find_model_using_name(name).option_defaults


def create_model(opt: argparse.Namespace) -> BaseModel:
    return find_model_using_name(opt.model).from_opt(opt)
