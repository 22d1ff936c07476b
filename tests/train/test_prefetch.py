"""Read-ahead of the next batch (make_loader with num_workers=0): same tensors in the same order, reads overlapped."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.store import MEStore  # noqa: E402
from mefast.train import ArraySource, FlowDataset, StoreSource, make_loader  # noqa: E402
from mefast.train.transforms import input_transforms  # noqa: E402


def _memory(path) -> ArraySource:
    store = MEStore.open(path, mode="r")
    return ArraySource({"flow": store.read("flow", slice(None)), "strain": store.read("strain", slice(None))})


class _Spy(StoreSource):
    """A store source that records which thread read which rows of which array."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[tuple[str, str, tuple[int, ...]]] = []

    def _read(self, name, rows):
        self.log.append((threading.current_thread().name, name, tuple(np.asarray(rows).tolist())))
        return super()._read(name, rows)


def _epoch(source, rows, *, transform: bool, batch_size: int = 8, num_workers: int = 0) -> list:
    tf = input_transforms(16, train=True) if transform else None
    ds = FlowDataset(source, rows, inputs=("flow", "strain"), transform=tf, with_positions=True)
    torch.manual_seed(0)
    return list(make_loader(ds, batch_size=batch_size, shuffle=True, seed=4, num_workers=num_workers))


@pytest.mark.parametrize("cache_bytes", [2**30, 0])
@pytest.mark.parametrize("transform", [False, True])
def test_read_ahead_batches_equal_in_memory(flow_store_path, cache_bytes, transform):
    """Every batch (inputs and positions) equals the in-memory source's, in the same order, and was read ahead."""
    rows = np.arange(len(MEStore.open(flow_store_path, mode="r")))[::-1].copy()
    spy = _Spy(flow_store_path, cache_bytes=cache_bytes)
    got = _epoch(spy, rows, transform=transform)
    want = _epoch(_memory(flow_store_path), rows, transform=transform)
    assert len(got) == len(want) == -(-len(rows) // 8)
    for (x, p), (y, q) in zip(got, want, strict=True):
        assert torch.equal(p, q) and x.dtype == torch.float32 and torch.equal(x, y)
    # every batch's flow and strain came from the background thread, batch after batch in the sampler's order
    assert {t for t, _, _ in spy.log} == {"mefast-prefetch_0"}
    flows = [r for _, name, r in spy.log if name == "flow"]
    assert flows == [tuple(rows[p.numpy()].tolist()) for _, p in want]
    assert spy._pending == []
    # a second epoch: served from the decoded-row cache on the calling thread, no read-ahead (without a cache:
    # read ahead from the store again)
    n_reads = len(spy.log)
    again = _epoch(spy, rows, transform=transform)
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(again, want, strict=True))
    ahead = "mefast-prefetch_0"
    assert {t for t, _, _ in spy.log[n_reads:]} == ({threading.main_thread().name} if cache_bytes else {ahead})
    assert spy._pending == []


def test_read_of_other_rows_drops_the_prefetch(flow_store_path):
    """Rows read without a matching prefetch are read in place, after the array's pending prefetches finish."""
    src = StoreSource(flow_store_path, cache_bytes=0)
    mem = _memory(flow_store_path)
    src.prefetch("flow", [0, 1, 2])
    src.prefetch("flow", [3, 4])
    src.prefetch("strain", [5])
    np.testing.assert_array_equal(src.read("flow", np.array([3, 4])), mem.read("flow", np.array([3, 4])))
    assert [(n, r.tolist()) for n, r, _ in src._pending] == [("strain", [5])]  # flow's older prefetch dropped too
    np.testing.assert_array_equal(src.read("strain", np.array([6, 7])), mem.read("strain", np.array([6, 7])))
    assert src._pending == []
    src.prefetch("flow", [1, 2])
    np.testing.assert_array_equal(src.read("flow", np.array([2, 1])), mem.read("flow", np.array([2, 1])))
    assert src._pending == []


def test_prefetch_leaves_bad_rows_to_read(flow_store_path):
    src = StoreSource(flow_store_path)
    n = len(src.store)
    src.prefetch("flow", [0, n])
    src.prefetch("nope", [0])
    assert src._pending == []
    with pytest.raises(IndexError):
        src.read("flow", np.array([0, n]))


def test_source_pickles_after_prefetch(flow_store_path):
    src = StoreSource(flow_store_path)
    src.prefetch("flow", [0, 1])
    copy = pickle.loads(pickle.dumps(src))
    assert copy._pending == [] and copy._ahead is None
    np.testing.assert_array_equal(copy.read("flow", np.array([1, 0])), src.read("flow", np.array([1, 0])))


def test_workers_read_without_read_ahead(flow_store_path):
    """With DataLoader workers the main process announces nothing (the workers read their own batches)."""
    rows = np.arange(len(MEStore.open(flow_store_path, mode="r")))
    spy = _Spy(flow_store_path)
    ds = FlowDataset(spy, rows, inputs=("flow", "strain"))
    assert getattr(make_loader(ds, batch_size=8, shuffle=True, seed=0).sampler, "dataset", None) is ds
    loader = make_loader(ds, batch_size=8, shuffle=True, seed=0, num_workers=1)
    assert isinstance(loader.sampler, torch.utils.data.BatchSampler)


@pytest.fixture(scope="module")
def flow_only_path(tmp_path_factory):
    """A store with flow and no strain: the strain input is computed from the flow."""
    from mefast.train.synthetic import AU_NAMES, synthetic_flow_samples

    meta, au, flows = synthetic_flow_samples(datasets=["casme2"], n_subjects=3, clips_per_subject=6, size=16, seed=7)
    path = tmp_path_factory.mktemp("prefetch") / "flow_only.zarr"
    store = MEStore.create(path, meta, au=au, au_names=AU_NAMES, arrays={"flow": ((2, 16, 16), "float32")})
    for i in range(len(meta)):
        store.write_sample(i, {"flow": flows[i]})
        store.mark_done(i)
    return path


@pytest.mark.parametrize("inputs", [("flow", "strain"), ("strain", "flow")])
@pytest.mark.parametrize("cache_bytes", [2**30, 0])
def test_strain_from_flow_reads_the_flow_once_per_batch(flow_only_path, inputs, cache_bytes):
    """One read of the flow per batch (read ahead), none left pending, batches equal the in-memory source's."""
    flows = MEStore.open(flow_only_path, mode="r").read("flow", slice(None))
    rows = np.arange(len(flows))
    spy = _Spy(flow_only_path, cache_bytes=cache_bytes)
    got = list(make_loader(FlowDataset(spy, rows, inputs=inputs, with_positions=True), batch_size=5, shuffle=True))
    mem = FlowDataset(ArraySource({"flow": flows}), rows, inputs=inputs, with_positions=True)
    want = list(make_loader(mem, batch_size=5, shuffle=True))
    for (x, p), (y, q) in zip(got, want, strict=True):
        assert torch.equal(p, q) and torch.equal(x, y)
    assert [r for _, _, r in spy.log] == [tuple(p.tolist()) for _, p in want]  # once per batch, in order
    assert {(t, name) for t, name, _ in spy.log} == {("mefast-prefetch_0", "flow")}
    assert spy._pending == []


def test_no_read_ahead_reads_on_the_calling_thread(flow_store_path):
    """read_ahead=False: the same batches, every read on the caller's thread, no background thread started."""
    rows = np.arange(len(MEStore.open(flow_store_path, mode="r")))
    spy = _Spy(flow_store_path, cache_bytes=0)
    ds = FlowDataset(spy, rows, inputs=("flow", "strain"), with_positions=True)
    got = list(make_loader(ds, batch_size=8, shuffle=True, seed=2, read_ahead=False))
    mem = FlowDataset(_memory(flow_store_path), rows, with_positions=True)
    want = list(make_loader(mem, batch_size=8, shuffle=True, seed=2))
    assert all(torch.equal(x, y) and torch.equal(p, q) for (x, p), (y, q) in zip(got, want, strict=True))
    assert len(spy.log) == 2 * len(want) and {t for t, _, _ in spy.log} == {threading.current_thread().name}
    assert spy._ahead is None and spy._pending == []


def _returns_within(fn, seconds: float = 30.0):
    """fn() run on a daemon thread: its result, or a test failure when it has not returned in ``seconds``."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still blocked after {seconds} s"
    return out[0]


def test_forked_child_drops_the_parents_prefetches(flow_store_path):
    """In a forked child (simulated: another recorded pid) a read neither waits on the parent's read-ahead nor
    on a lock the parent's thread held; it reads the store itself."""
    from concurrent.futures import Future

    src = StoreSource(flow_store_path, cache_bytes=2**30)
    want = src.read("flow", np.array([2, 3]))
    never: Future = Future()  # the parent's read-ahead: its thread does not exist in the child, it never finishes
    src._pending.append(("flow", np.array([2, 3]), never))
    src._lock.acquire()  # held by the parent's thread at the fork, never released in the child
    src._pid = -1  # the process that opened the store (and queued the read) is not this one
    got = _returns_within(lambda: src.read("flow", np.array([2, 3])))
    np.testing.assert_array_equal(got, want)
    assert src._pending == [] and not never.done()
    # after the reset, read-ahead works again in the child, on a thread of its own
    src.prefetch("flow", [4, 5, 6])
    assert len(src._pending) == 1 and src._ahead is not None
    rows = np.array([4, 5, 6])
    np.testing.assert_array_equal(src.read("flow", rows), _memory(flow_store_path).read("flow", rows))
    assert src._pending == []
    src.close()


def test_close_ends_the_read_ahead_thread(flow_store_path):
    src = StoreSource(flow_store_path, cache_bytes=0)
    src.prefetch("flow", [0, 1])
    src.prefetch("strain", [2])
    ahead = src._ahead
    src.close()
    assert ahead is not None and src._ahead is None and src._pending == []
    with pytest.raises(RuntimeError, match="shutdown"):
        ahead.submit(print)  # the executor is shut down
    src.close()  # twice: nothing more
    mem = _memory(flow_store_path)
    np.testing.assert_array_equal(src.read("flow", np.array([0, 1])), mem.read("flow", np.array([0, 1])))
    src.prefetch("flow", [3])  # a new thread
    assert src._ahead is not None and src._ahead is not ahead
    np.testing.assert_array_equal(src.read("flow", np.array([3])), mem.read("flow", np.array([3])))
    # in a forked child close drops the parent's read-ahead without waiting for it
    from concurrent.futures import Future

    live = src._ahead
    src._pending.append(("flow", np.array([4]), Future()))
    src._pid = -1
    _returns_within(src.close)
    assert src._pending == [] and src._ahead is None
    live.shutdown()  # (this process's thread: the simulated child left it alone)
