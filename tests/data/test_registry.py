import pytest

import data
from data.base_dataset import BaseDataset
from data.celebamaskhq_dataset import CelebAMaskHQDataset
from data.custom_dataset import CustomDataset
from data.synthetic_dataset import SyntheticDataset


def test_modes_are_found_by_file_name():
    assert data.available_dataset_modes() == ["celebamaskhq", "custom", "synthetic"]
    assert data.find_dataset_using_name("celebamaskhq") is CelebAMaskHQDataset
    assert data.find_dataset_using_name("custom") is CustomDataset
    assert data.find_dataset_using_name("synthetic") is SyntheticDataset
    assert all(issubclass(data.find_dataset_using_name(m), BaseDataset) for m in data.available_dataset_modes())


@pytest.mark.parametrize("name", ["celeba", "base", "labels", "../celebamaskhq", "Synthetic"])
def test_unknown_mode_lists_the_available_ones(name):
    with pytest.raises(ValueError, match=r"unknown --dataset_mode .*available: celebamaskhq, custom, synthetic"):
        data.find_dataset_using_name(name)


def test_option_setters_add_each_dataset_flags(make_opt):
    assert make_opt("custom").label_dir is None and make_opt("custom").label_order == "standard"
    assert make_opt("celebamaskhq").no_pairing_check is False
    opt = make_opt("synthetic")
    assert (opt.synthetic_size, opt.synthetic_test_size, opt.synthetic_seed) == (2000, 200, 0)
    assert not hasattr(make_opt("synthetic"), "label_dir")


def test_create_dataset_phase_overrides_opt_phase(make_opt, caplog):
    opt = make_opt("synthetic", synthetic_size=5, synthetic_test_size=3)
    with caplog.at_level("INFO", logger="data"):
        train = data.create_dataset(opt)
        test = data.create_dataset(opt, phase="test")
    assert (train.phase, len(train)) == ("train", 5) and (test.phase, len(test)) == ("test", 3)
    assert opt.phase == "train"
    assert "of size 3" in caplog.text
