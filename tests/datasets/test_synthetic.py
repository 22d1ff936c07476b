"""The synthetic dataset: deterministic, exact motion, AU directions, labels that follow the AUs."""

from __future__ import annotations

import dataclasses
import filecmp
import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

import mefast
from mefast.datasets import load, synthetic
from mefast.datasets.synthetic._face_motion import AU_MOTIONS, Event, Recording, SubjectStyle, neutral_face
from mefast.testing import endpoint_error, warp_image

SIZE = (64, 56)


# One small dataset, written twice by test_same_seed_same_bytes.
WRITE = {
    "corpora": ("casme2", "samm", "casme3a", "4dme", "smic"),
    "n_subjects": 2,
    "clips_per_subject": 4,
    "size": SIZE,
    "n_frames": (6, 9),
    "seed": 3,
    "label_noise": 0.25,
}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dict[str, tuple[Path, Path]]]:
    out = tmp_path_factory.mktemp("synthetic")
    return out, synthetic.write_synthetic(out, **WRITE)


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_same_seed_same_bytes(written, tmp_path):
    out, paths = written
    again = synthetic.write_synthetic(tmp_path, **WRITE)
    for corpus, (root, sheet) in paths.items():
        root2, sheet2 = again[corpus]
        assert _files(root) == _files(root2)
        match, mismatch, errors = filecmp.cmpfiles(root, root2, [str(p) for p in _files(root)], shallow=False)
        assert not mismatch and not errors, (corpus, mismatch[:3])
        pd.testing.assert_frame_equal(pd.read_excel(sheet, header=None), pd.read_excel(sheet2, header=None))


def test_other_seed_other_data(written, tmp_path):
    _, paths = written
    other = synthetic.write_synthetic(
        tmp_path, corpora=("casme2",), n_subjects=2, clips_per_subject=4, size=SIZE, n_frames=(6, 9), seed=4
    )
    a = json.loads((paths["casme2"][0] / synthetic.TRUTH_FILE).read_text())
    b = json.loads((other["casme2"][0] / synthetic.TRUTH_FILE).read_text())
    assert a["styles"] != b["styles"] and a["recordings"] != b["recordings"]


def test_frames_have_the_size_channels_and_count_asked(written):
    _, paths = written
    for corpus, (root, sheet) in paths.items():
        d = load(corpus, root, sheet)
        image = cv2.imread(str(d.frame_paths[0][0]), cv2.IMREAD_UNCHANGED)
        grey = corpus in ("samm", "4dme")
        assert image.shape == (SIZE if grey else (*SIZE, 3)), corpus
        spans = d.samples["offset"] - d.samples["onset"] + 1
        assert spans.between(6, 9).all()


def _ideal(rec: Recording) -> Recording:
    """The recording without sensor noise and without the illumination gradient (which does not move)."""
    return dataclasses.replace(rec, style=dataclasses.replace(rec.style, noise=0.0, gradient=(0.0, 0.0)))


def test_exact_flow_agrees_with_the_fields(written):
    root = written[1]["casme2"][0]
    truth = synthetic.truth(root)
    sid = truth.samples.at[0, "sample_id"]
    rec = truth.recording(sid)
    onset, apex = int(truth.samples.at[0, "onset"]), int(truth.samples.at[0, "apex"])
    w_on, w_ap = truth.fields(sid, onset, apex)[[0, -1]]
    flow = truth.flow(sid)
    # The neutral point x is at y = x + w_on(x) in the onset frame and moves by w_ap(x) - w_on(x).
    h, w = SIZE
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    py, px = yy + w_on[..., 1], xx + w_on[..., 0]
    got = np.stack(
        [ndimage.map_coordinates(flow[..., c].astype(np.float64), [py, px], order=1, mode="nearest") for c in range(2)],
        -1,
    )
    inner = (slice(4, -4), slice(4, -4))
    np.testing.assert_allclose(got[inner], (w_ap - w_on)[inner], atol=2e-3)
    assert np.abs(flow).max() > 0.2 and rec.first_frame <= onset


def test_rendered_frames_follow_the_exact_flow(written):
    truth = synthetic.truth(written[1]["casme2"][0])
    for i in range(3):
        sid = truth.samples.at[i, "sample_id"]
        rec = _ideal(truth.recording(sid))
        frames = rec.render().astype(np.float32)
        onset, apex = int(truth.samples.at[i, "onset"]), int(truth.samples.at[i, "apex"])
        f0, f1 = frames[onset - rec.first_frame], frames[apex - rec.first_frame]
        flow = rec.flow(onset, apex)
        inner = (slice(6, -6), slice(6, -6))

        def residual(u, f0=f0, f1=f1, inner=inner):  # f1(y + u(y)) should be f0(y) for the exact flow u
            return np.abs(warp_image(f1, u) - f0)[inner].mean()

        exact = residual(flow)
        near_misses = [residual(0.8 * flow), residual(1.2 * flow), residual(flow + 0.2)]
        assert exact < 0.8 * min(near_misses), (sid, exact, near_misses)
        assert exact < residual(np.zeros_like(flow)) / 4


def test_tvl1_recovers_the_synthetic_motion(written):
    truth = synthetic.truth(written[1]["casme2"][0])
    d = load("casme2", *written[1]["casme2"])
    for i in range(2):
        s = d.samples.iloc[i]
        frames = d.read_frames(i, s.onset, s.apex)
        grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (frames[0], frames[-1])]
        exact = truth.flow(s.sample_id)
        est = mefast.tvl1(grey[0], grey[1])
        assert endpoint_error(est, exact, border=6) < 0.5 * endpoint_error(np.zeros_like(exact), exact, border=6)


EXPECTED_DIRECTIONS = {
    # AU: [(landmark, component, sign)] with component 0 = x (right), 1 = y (down)
    1: [(21, 1, -1), (22, 1, -1)],
    2: [(18, 1, -1), (25, 1, -1)],
    4: [(21, 1, +1), (22, 1, +1), (21, 0, +1), (22, 0, -1)],
    5: [(37, 1, -1), (44, 1, -1)],
    6: [(41, 1, -1), (46, 1, -1)],
    7: [(41, 1, -1), (47, 1, -1)],
    9: [(31, 1, -1), (35, 1, -1)],
    10: [(51, 1, -1)],
    12: [(48, 0, -1), (48, 1, -1), (54, 0, +1), (54, 1, -1)],
    14: [(48, 0, -1), (54, 0, +1)],
    15: [(48, 1, +1), (54, 1, +1)],
    17: [(8, 1, -1), (57, 1, -1)],
}


@pytest.mark.parametrize("au", sorted(AU_MOTIONS))
def test_each_au_moves_the_face_as_facs_describes(au):
    size = (96, 96)
    style = SubjectStyle()
    _, lm = neutral_face(size, style)
    rec = Recording(size, style, 0, 9, (Event(0, 4, 8, (au,), (2.0,)),))
    onset, apex, offset = rec.fields([0, 4, 8])
    assert np.abs(onset).max() == 0 and np.abs(offset).max() == 0
    mag = np.sqrt((apex**2).sum(-1))
    assert abs(mag.max() - 2.0) < 0.1  # the amplitude is the largest displacement at the apex
    for k, comp, sign in EXPECTED_DIRECTIONS[au]:
        x, y = np.rint(lm[k]).astype(int)
        value = apex[y, x, comp]
        assert np.sign(value) == sign and abs(value) > 0.2, (au, k, comp, value)


def test_motion_stays_smooth_and_amplitudes_in_range(written):
    for corpus, (root, _) in written[1].items():
        truth = synthetic.truth(root)
        for sid in truth.samples["sample_id"]:
            assert truth.recording(sid).peak_gradient() <= 0.45 + 1e-6
        amps = np.concatenate([np.asarray(a) for a in truth.samples["amplitudes"]])
        assert (amps > 0).all() and (amps <= 3.0).all(), corpus


def test_label_noise_is_exact_and_recorded(written):
    _, paths = written
    for corpus, (root, _sheet) in paths.items():
        t = synthetic.truth(root).samples
        noisy = t["label_noise"]
        expected = 0 if corpus == "smic" else round(0.25 * len(t))
        assert noisy.sum() == expected, corpus
        assert (t.loc[noisy, "emotion"] != t.loc[noisy, "true_emotion"]).all()
        assert (t.loc[~noisy, "emotion"] == t.loc[~noisy, "true_emotion"]).all()


def test_emotions_follow_from_the_aus(tmp_path):
    paths = synthetic.write_synthetic(
        tmp_path,
        corpora=("casme2", "samm", "casme3a"),
        n_subjects=4,
        clips_per_subject=6,
        size=(32, 32),
        n_frames=(3, 4),
        seed=9,
    )
    for corpus, (root, sheet) in paths.items():
        d = load(corpus, root, sheet)
        emotions_of = d.samples.groupby("aus")["emotion"].nunique()
        assert (emotions_of == 1).all(), (corpus, emotions_of[emotions_of > 1])
        assert d.samples["emotion"].nunique() >= 4


def test_parameters_are_checked(tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        synthetic.write_synthetic(tmp_path, corpora=("ckplus",))
    with pytest.raises(ValueError, match="n_frames"):
        synthetic.write_synthetic(tmp_path, n_frames=(2, 5))
    with pytest.raises(ValueError, match="amplitude"):
        synthetic.write_synthetic(tmp_path, amplitude=(2.0, 1.0))
    with pytest.raises(ValueError, match="label_noise"):
        synthetic.write_synthetic(tmp_path, label_noise=1.5)
    with pytest.raises(ValueError, match="size"):
        synthetic.write_synthetic(tmp_path, size=(16, 16))


def test_existing_output_needs_overwrite(tmp_path):
    kw = {"corpora": ("casme2",), "n_subjects": 1, "clips_per_subject": 1, "size": (32, 32), "n_frames": (3, 3)}
    root, _ = synthetic.write_synthetic(tmp_path, **kw)["casme2"]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        synthetic.write_synthetic(tmp_path, **kw)
    (root / "sub01" / "stale").mkdir()
    synthetic.write_synthetic(tmp_path, overwrite=True, **kw)
    assert not (root / "sub01" / "stale").exists()


def test_clip_helpers(written):
    root = written[1]["samm"][0]
    truth = synthetic.truth(root)
    sid = truth.samples.at[1, "sample_id"]
    np.testing.assert_array_equal(synthetic.clip_flow(root, sid), truth.flow(sid))
    fields = synthetic.clip_fields(root, sid)
    s = truth.samples.iloc[1]
    assert fields.shape == (s.offset - s.onset + 1, *SIZE, 2) and fields.dtype == np.float32
    with pytest.raises(KeyError, match="not a sample"):
        truth.flow("samm/999/none")
    with pytest.raises(FileNotFoundError, match="not a synthetic corpus root"):
        synthetic.truth(root.parent)
