"""One training epoch of the dual-branch network next to the single-branch ResNet-18 (issue 14).

256 in-memory samples at the paper's input size (3 x 224 x 224: amplified apex, On-A, Off-A), the paper's
settings (AdamW, batch 128, Region Replacing, flips, erasing, WSCL for the dual-branch model) on 2 torch
threads: ``dualbranch`` (db + all) and ``singlebranch`` (sb, the same ResNet-18 with SA on the whole face).
Reported: seconds per epoch, milliseconds per sample and the projected time of the paper's LOSO run (100
epochs per fold, each fold training on the corpus minus one subject: CASME II 5-class 246 samples / 26
subjects, SAMM 136 / 27), i.e. ``100 * epoch_time_per_sample * sum over folds of the training-set size``.

Run: ``python -m pytest benchmarks/train/test_dualbranch.py --benchmark-enable --benchmark-only -q``.
Disabled (CI's smoke run), each variant trains one epoch on 4 samples at 32 x 32.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mefast.train.data import ArraySource
from mefast.train.dualbranch import DualBranchConfig, DualBranchTrainer

pytestmark = pytest.mark.timeout(1200)

# (samples, subjects) of the paper's 5-class LOSO runs; a fold trains on all but one subject's samples,
# so the summed training-set size over folds is samples * (subjects - 1).
LOSO = {"casme2": (246, 26), "samm": (136, 27)}


@pytest.mark.parametrize("variant", ["singlebranch", "dualbranch"])
def test_dualbranch_epoch(benchmark, report, smoke, variant):
    n, size = (4, 32) if smoke else (256, 224)
    rng = np.random.default_rng(0)
    src = ArraySource(
        {
            "amplified": rng.integers(0, 256, (n, size, size), dtype=np.uint8),
            "on_a": rng.random((n, size, size), dtype=np.float32),
            "off_a": rng.random((n, size, size), dtype=np.float32),
        }
    )
    au = (rng.random((n, 12)) < 0.2).astype(np.uint8)
    y = np.arange(n) % 5
    cfg = DualBranchConfig(epochs=1, input_size=size, device="cpu", threads=2)
    trainer = DualBranchTrainer(variant, src, n_outputs=5, config=cfg, au_names=[f"AU{i}" for i in range(1, 13)])
    before = torch.get_num_threads()
    benchmark.pedantic(trainer.fit, args=(np.arange(n), y), kwargs={"au": au}, rounds=1, iterations=1)
    assert np.isfinite(trainer.history_[-1]["loss"]) and torch.get_num_threads() == before
    stats = getattr(benchmark, "stats", None)
    epoch = stats.stats.median if stats is not None else float("nan")
    per_sample = epoch / n
    projected = {
        f"loso_{corpus}_h": 100 * per_sample * samples * (subjects - 1) / 3600
        for corpus, (samples, subjects) in LOSO.items()
    }
    report(
        "train-dualbranch-epoch",
        f"{variant}, 3x{size}x{size}, {n} samples, batch 128",
        benchmark,
        baseline=variant == "singlebranch",
        samples=n,
        ms_per_sample=1000 * per_sample,
        threads=2,
        **projected,
    )
