"""``mefast magnify`` arguments: a rate given is checked, 0 included; --out is a supported video or a folder."""

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


def _clip(tmp_path):
    clip = tmp_path / "clip"
    clip.mkdir()
    rng = np.random.default_rng(0)
    for t in range(6):
        cv2.imwrite(str(clip / f"img{t + 1}.png"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    return clip


@pytest.mark.parametrize("name", ["x.gif", "x.npy", "x.GIF", "run.2"])
def test_magnify_out_with_an_unsupported_suffix_is_refused(tmp_path, capsys, name):
    """--out x.gif wrote a folder named x.gif holding PNGs: refused before any work, nothing written."""
    out = tmp_path / "o" / name
    assert main(["magnify", str(_clip(tmp_path)), "--alpha", "5", "--out", str(out)]) == 2
    suffix = name[name.rindex(".") :]
    assert _err(capsys) == (
        f"mefast magnify: --out {out}: unsupported video format '{suffix}'; use .mp4/.avi/.mov/.mkv or a folder "
        "(end its name with / if it has a dot)\n"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", ["frames", "frames.v2/"])
def test_magnify_out_folder_gets_one_png_per_frame(tmp_path, name):
    out = tmp_path / "o" / name.rstrip("/")
    arg = f"{out}/" if name.endswith("/") else str(out)  # (a Path drops the trailing slash)
    assert main(["magnify", str(_clip(tmp_path)), "--alpha", "5", "--out", arg]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"frame_{t:05d}.png" for t in range(6)]


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".MKV"])
def test_magnify_out_video_is_a_video_file(tmp_path, suffix):
    out = tmp_path / f"mag{suffix}"
    assert main(["magnify", str(_clip(tmp_path)), "--alpha", "5", "--out", str(out)]) == 0
    assert out.is_file()
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    assert n == 6
