"""``mefast magnify --fs``: a rate given is checked, 0 included."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mefast.cli import main


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


@pytest.mark.parametrize("fs", ["0", "-30", "nan"])
def test_magnify_fs_zero_is_refused_like_a_negative_rate(tmp_path, capsys, fs):
    clip = tmp_path / "clip"
    clip.mkdir()
    rng = np.random.default_rng(0)
    for t in range(6):
        cv2.imwrite(str(clip / f"img{t + 1}.png"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    out = tmp_path / "mag"
    args = ["magnify", str(clip), "--alpha", "5", "--fs", fs, "--temporal", "butter", "--fl", ".5", "--fh", "3"]
    assert main([*args, "--out", str(out)]) == 2
    assert _err(capsys) == f"mefast magnify: --fs must be a positive frame rate in Hz, got {float(fs)}\n"
    assert not out.exists()
