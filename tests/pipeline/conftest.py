"""Fixtures shared by the pipeline tests."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from mefast.data import face_image
from mefast.datasets import Dataset

SHIFTED_FRAME = (48, 40)  # (H, W): frames that already are face crops (align="none")
SHIFTED_T = 3


@pytest.fixture(scope="module")
def shifted_clips(tmp_path_factory) -> Dataset:
    """Three 3-frame clips of the astronaut face shifted by a pixel per frame, as PNG files, AU1 each."""
    root = tmp_path_factory.mktemp("tiny")
    face = cv2.resize(face_image(), (SHIFTED_FRAME[1], SHIFTED_FRAME[0]), interpolation=cv2.INTER_AREA)
    rows, numbers, paths = [], [], []
    for i in range(3):
        folder = root / f"s{i}"
        folder.mkdir()
        clip = []
        for t in range(1, SHIFTED_T + 1):
            p = folder / f"img{t}.png"
            cv2.imwrite(str(p), cv2.cvtColor(np.roll(face, t + i, axis=1), cv2.COLOR_RGB2BGR))
            clip.append(p)
        rows.append({"sample_id": f"tiny/s{i}/EP01", "dataset": "tiny", "subject": f"s{i}", "clip": "EP01",
                     "onset": 1, "apex": 2, "offset": SHIFTED_T, "n_frames": SHIFTED_T, "emotion": "surprise",
                     "aus": "1"})  # fmt: skip
        numbers.append(list(range(1, SHIFTED_T + 1)))
        paths.append(clip)
    return Dataset(name="tiny", root=root, samples=pd.DataFrame(rows), frame_numbers=numbers, frame_paths=paths,
                   au_names=("AU1",))  # fmt: skip
