import argparse
from dataclasses import dataclass

import pytest

from util.config import config_from_flags


@dataclass(frozen=True)
class Small:
    size: int
    name: str = "x"


def test_fields_come_from_flags_of_the_same_name_unless_given():
    opt = argparse.Namespace(size=3, name="a", other=True)
    assert config_from_flags(Small, opt) == Small(3, "a")
    assert config_from_flags(Small, opt, name="b") == Small(3, "b")


def test_a_missing_flag_is_named():
    with pytest.raises(AttributeError, match="Small needs the flags --name"):
        config_from_flags(Small, argparse.Namespace(size=3))
