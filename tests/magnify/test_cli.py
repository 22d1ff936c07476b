"""``mefast magnify``: folder or video in, PNG frames or an .mp4 out, equal to the API's result."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import mefast
from mefast.cli import main
from mefast.data import face_image
from mefast.testing import smooth_field, warp_image


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    face = cv2.resize(face_image(), (72, 80), interpolation=cv2.INTER_AREA)
    field = smooth_field(80, 72, 0.5, seed=2)
    folder = tmp_path_factory.mktemp("clip")
    frames = []
    for t in range(6):
        img = np.clip(np.rint(warp_image(face, field * t / 5)), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"img{t + 1}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        frames.append(img)
    return folder, np.stack(frames)


def test_folder_to_frames_equals_the_api(clip_dir, tmp_path, capsys):
    folder, frames = clip_dir
    out = tmp_path / "mag"
    assert main(["magnify", str(folder), "--alpha", "4", "--method", "eulerian", "--out", str(out)]) == 0
    assert "magnified 6 frames" in capsys.readouterr().out
    written = np.stack([cv2.cvtColor(cv2.imread(str(out / f"frame_{t:05d}.png")), cv2.COLOR_BGR2RGB) for t in range(6)])
    np.testing.assert_array_equal(written, mefast.magnify(frames, 4))


def test_two_frame_method_to_mp4(clip_dir, tmp_path):
    folder, frames = clip_dir
    out = tmp_path / "mag.mp4"
    assert (
        main(["magnify", str(folder), "--alpha", "3", "--method", "lagrangian", "--out", str(out), "--fs", "25"]) == 0
    )
    cap = cv2.VideoCapture(str(out))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = cap.read()
    cap.release()
    assert ok and n == 6 and first.shape == (80, 72, 3)
    # lossy codec: the first frame (the onset, unchanged) is close to the input
    assert np.abs(cv2.cvtColor(first, cv2.COLOR_BGR2RGB).astype(int) - frames[0]).mean() < 6


def test_bad_input_gives_a_message_and_exit_2(clip_dir, tmp_path, capsys):
    assert main(["magnify", str(tmp_path / "nothing"), "--alpha", "3", "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["magnify", str(empty), "--alpha", "3", "--out", str(tmp_path / "o")]) == 2
    assert "no image files" in capsys.readouterr().err
    folder, _ = clip_dir
    assert main(["magnify", str(folder), "--alpha", "3", "--method", "learned", "--out", str(tmp_path / "o")]) == 2
    assert "needs weights=" in capsys.readouterr().err


def test_float_npy_frames_are_written_as_0_255(clip_dir, tmp_path, capsys):
    """A float .npy in [0, 1] (mefast's video convention) magnifies in float and is written scaled to 0-255, not
    cast (which truncated every value to 0: black frames)."""
    _, frames = clip_dir
    clip = frames.astype(np.float32) / 255
    src = tmp_path / "clip.npy"
    np.save(src, clip)
    out = tmp_path / "mag"
    assert main(["magnify", str(src), "--alpha", "4", "--method", "eulerian-2frame", "--out", str(out)]) == 0
    written = np.stack([cv2.cvtColor(cv2.imread(str(out / f"frame_{t:05d}.png")), cv2.COLOR_BGR2RGB) for t in range(6)])
    want = np.clip(np.rint(mefast.magnify(clip, 4, "eulerian-2frame").astype(np.float64) * 255), 0, 255)
    np.testing.assert_array_equal(written, want.astype(np.uint8))
    np.save(src, clip * 2)
    assert main(["magnify", str(src), "--alpha", "4", "--out", str(out)]) == 2
    assert "in [0, 1]" in capsys.readouterr().err


def test_grey_of_a_float64_npy_clip(clip_dir, tmp_path):
    """--grey on a float64 .npy (NumPy's default dtype) converts to grey, as for uint8 frames."""
    _, frames = clip_dir
    src = tmp_path / "clip64.npy"
    np.save(src, frames.astype(np.float64) / 255)
    out = tmp_path / "grey"
    assert main(["magnify", str(src), "--alpha", "3", "--grey", "--method", "eulerian-2frame", "--out", str(out)]) == 0
    first = cv2.imread(str(out / "frame_00000.png"), cv2.IMREAD_UNCHANGED)
    want = cv2.cvtColor(frames[0].astype(np.float32) / 255, cv2.COLOR_RGB2GRAY)
    assert first.ndim == 2 or np.array_equal(first[..., 0], first[..., 1])
    grey = first if first.ndim == 2 else first[..., 0]
    assert np.abs(grey.astype(np.float64) - want * 255).max() <= 1
