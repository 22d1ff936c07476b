"""What preprocess records in a store and how a resume compares it: stores of older versions stay resumable."""

from __future__ import annotations

import dataclasses
import re

import pytest

import mefast
from mefast import MEStore, StoreError
from mefast.datasets import Dataset
from mefast.pipeline import PreprocessOptions, preprocess

FRAME = (48, 40)  # (H, W): frames that already are face crops (align="none")
T = 3


@pytest.fixture(scope="module")
def tiny(shifted_clips) -> Dataset:
    return shifted_clips  # tests/pipeline/conftest.py


#: MDMO's flow parameters before the presets were retuned (its default then, recorded as preset "fast"): a preset
#: still, under another name.
OLD_FAST = mefast.TVL1Params(presmooth_sigma=0.8, scale_step=0.5, pyramid_smoothing=True, median_filtering=1,
                             nscales=3, warps=2, inner_iterations=15, outer_iterations=1, epsilon=0.02,
                             adapt_scales=True)  # fmt: skip


def test_stores_made_before_decode_and_warm_start_resume_with_the_old_behaviour(tiny, tmp_path):
    """A store written before ``decode``, ``mdmo_warm_start`` and ``device`` existed has no keys for them: it was
    made as ``decode="full"``, ``mdmo_warm_start=False`` and ``device="cpu"`` make one, and resumes with those.
    Likewise its TV-L1 values lack the fields added since (``finest_warps``, ``gamma_finest_level``), whose
    defaults do what the core did before them. The preset names recorded next to the TV-L1 values are labels
    of the table of the version that wrote them; the values are compared."""
    assert OLD_FAST in mefast.TVL1_PRESETS.values() and mefast.TVL1_PRESETS["fast"] != OLD_FAST
    path = tmp_path / "old.zarr"
    opts = PreprocessOptions(crop_size=FRAME, align="none", mdmo_flow=OLD_FAST, decode="full", mdmo_warm_start=False)
    light = {"features": "flow", "size": (32, 32), "n_jobs": 1, "progress": False}
    assert preprocess(tiny, path, options=opts, **light).complete
    st = MEStore.open(path, "r+")
    params = st.attrs["parameters"]
    del params["options"]["decode"], params["options"]["mdmo_warm_start"]  # as an older version wrote it
    del params["options"]["device"]
    params["options"]["mdmo_flow"]["preset"] = "fast"
    for flow in ("flow", "mdmo_flow"):
        for name in mefast.flow.TVL1_ADDED_FIELDS:
            del params["options"][flow][name]
    st.update_attrs(parameters=params)
    st.mark_undone(2)
    report = preprocess(tiny, path, options=opts, **light)
    assert (report.computed, report.skipped, report.failures) == (1, len(tiny) - 1, [])
    # the missing keys stand for the old behaviour, not for any value: other options are refused, by name
    for changed, diff in (
        ({"decode": "reduced"}, "options.decode: 'full' -> 'reduced'"),
        ({"mdmo_warm_start": True}, "options.mdmo_warm_start: False -> True"),
        ({"mdmo_flow": OLD_FAST.replace(warps=3)}, "options.mdmo_flow.warps: 2 -> 3"),
        ({"flow": mefast.TVL1_PRESETS["accurate"].replace(finest_warps=1)}, "options.flow.finest_warps: 0 -> 1"),
    ):
        with pytest.raises(StoreError, match=re.escape(diff)):
            preprocess(tiny, path, options=dataclasses.replace(opts, **changed), **light)
    assert MEStore.open(path).attrs["parameters"] == params  # and the record is left as it was
