"""A network asked to train on an input the store lacks is refused with stack_inputs' ValueError, not a KeyError."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from mefast.cli import main  # noqa: E402
from mefast.store import MEStore  # noqa: E402
from mefast.train import ArraySource, StoreSource, stack_inputs  # noqa: E402
from mefast.train.data import flow_channels  # noqa: E402
from mefast.train.synthetic import synthetic_flow_samples  # noqa: E402


def _biwoof_store(path):
    """A synthetic CASME II store holding a descriptor and no flow (as ``preprocess --features biwoof`` makes)."""
    meta, au, _ = synthetic_flow_samples(datasets=("casme2",), n_subjects=3, clips_per_subject=3, size=8)
    st = MEStore.create(
        path, meta, au=au, au_names=[f"AU{i}" for i in range(au.shape[1])], arrays={"biwoof": ((6,), "float32")}
    )
    for i in range(len(meta)):
        st.write_sample(i, {"biwoof": np.full(6, i, np.float32)})
        st.mark_done(i)
    return st


@pytest.mark.parametrize("inputs", [("flow", "strain"), ("flow",), ("strain",), ("frames",)])
def test_flow_channels_refuses_missing_inputs_as_stack_inputs_does(tmp_path, inputs):
    st = _biwoof_store(tmp_path / "b.zarr")
    for src in (StoreSource(st), ArraySource({"biwoof": np.zeros((9, 6), np.float32)})):
        for rows in ([0, 1], []):
            with pytest.raises(ValueError) as got:
                flow_channels(src, rows, inputs)
            with pytest.raises(ValueError) as want:
                stack_inputs(src, [0, 1], inputs)
            assert str(got.value) == str(want.value)
            assert f"the input {inputs[0]!r} is not in the store, which has ['biwoof']" == str(got.value)


def test_flow_channels_still_counts_strain_computed_from_flow():
    src = ArraySource({"flow": np.zeros((3, 2, 4, 4), np.float32)})
    assert flow_channels(src, [0], ("flow", "strain")) == ((0,), (1,))
    assert flow_channels(src, [], ("flow", "strain")) == ((0,), (1,))


def test_evaluate_a_network_on_a_store_without_flow_exits_2_with_one_line(tmp_path, capsys):
    _biwoof_store(tmp_path / "b.zarr")
    args = ["evaluate", "--store", str(tmp_path / "b.zarr"), "--protocol", "loso", "--model", "sssnet"]
    assert main([*args, "--epochs", "1", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err == "mefast evaluate: the input 'flow' is not in the store, which has ['biwoof']\n"
