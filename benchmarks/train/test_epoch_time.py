"""Epoch time of every registered network on 2 CPU threads, so users can plan runs (issue 15).

One training epoch (forward, backward, Adam step, flip/resize/min-max transforms) over in-memory samples
at each model's own input size (flow + strain 128 x 128 resized to the model's side; TIM frames 10 x 128 x 128
for the video networks), batch 32, ``torch.set_num_threads(2)``: 64 samples for the shallow networks (median of
two epochs after a warm-up one), 16 for the ResNets and video networks (one epoch; minutes on a shared CPU).
Reported: seconds per epoch,
milliseconds per sample, and the implied epoch time on CD6ME's 2031 clips. The registry is consulted once per
fit (to build the network), never inside the loop.

Run: ``python -m pytest benchmarks/train/test_epoch_time.py --benchmark-enable --benchmark-only -q``. Disabled
(CI's smoke run), the shallow networks train one epoch on 4 samples; the ResNets and video networks are skipped
there (tests/train/test_model_params.py trains each of them one step).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mefast.train import ArraySource, TrainConfig, Trainer, available_models, get_model

CD6ME_CLIPS = 2031
pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def n_samples(smoke):
    return 4 if smoke else 64


DEEP_SAMPLES = 16


@pytest.fixture(scope="module")
def source(n_samples):
    rng = np.random.default_rng(0)
    flow = rng.normal(size=(n_samples, 2, 128, 128)).astype(np.float32)
    strain = rng.random((n_samples, 128, 128), dtype=np.float32)
    frames = rng.integers(0, 256, (n_samples, 10, 128, 128), dtype=np.uint8)
    return ArraySource({"flow": flow, "strain": strain, "frames": frames})


@pytest.mark.parametrize("name", available_models())
def test_epoch_time(benchmark, report, source, n_samples, smoke, name):
    if name.startswith(("dualbranch", "singlebranch")):
        pytest.skip("the dual-branch variants train with their own loop: benchmarks/train/test_dualbranch.py")
    lacking = set(get_model(name).input.arrays) - set(source.features)
    if lacking:
        pytest.skip(f"reads {sorted(lacking)}, which this benchmark does not synthesise")
    if smoke and get_model(name).input.resizable:
        pytest.skip("deep network: timed only with --benchmark-enable")
    deep = get_model(name).input.resizable
    n = DEEP_SAMPLES if deep and not smoke else n_samples
    before = torch.get_num_threads()
    config = TrainConfig(epochs=1, batch_size=32, lr=1e-3, device="cpu", threads=2)
    y = np.arange(n) % 3
    trainer = Trainer(name, source, n_outputs=3, multilabel=False, config=config)
    rows = np.arange(n)
    rounds, warmup = (1, 0) if deep else (2, 1)
    benchmark.pedantic(trainer.fit, args=(rows, y), rounds=rounds, iterations=1, warmup_rounds=warmup)
    assert np.isfinite(trainer.history_[-1]["loss"]) and torch.get_num_threads() == before
    stats = getattr(benchmark, "stats", None)
    per_epoch = stats.stats.median if stats is not None else float("nan")
    entry = get_model(name)
    report(
        "train-epoch-time",
        f"{entry.title} ({name}), input {'x'.join(map(str, entry.input.shape))}",
        benchmark,
        baseline=name == "sssnet",
        samples=n,
        ms_per_sample=1000 * per_epoch / n,
        cd6me_epoch_s=per_epoch / n * CD6ME_CLIPS,
        threads=2,
    )
