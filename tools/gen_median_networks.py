"""Generate the median selection networks of csrc/include/mefast/median_networks.hpp.

The median of a k x k window (k = 3 or 5) is computed by comparator networks applied across SIMD lanes. The
filter sorts each window column first (columns are shared by neighbouring outputs), so every network here starts
from sorted lists: it is Batcher's odd-even merge sort on blocks of 2**m wires, each block holding one sorted list
(padded with +inf), reduced to the comparators that can influence the wanted ranks and then to those that ever
exchange anything on inputs made of sorted lists. Every network is checked exhaustively by the 0-1 principle.

* ``k3_*``, ``k5_*``: one output, the middle rank of the k sorted columns (the 3x3 filter; the CUDA kernel's 3x3
  and 5x5 filters, one thread per output).
* ``k5_shared_*``, ``k5_select_*``: the CPU's 5x5 filter computes two neighbouring outputs at once, whose windows
  share four columns. Their 20 values are sorted far enough to give ranks 7..12 (``k5_shared``): the 7 values
  below rank 7 are below both medians and the 7 above rank 12 above them, whatever the fifth column holds, so each
  median is the middle (rank 5) of those 6 values and its own fifth column, 11 values (``k5_select``): 51 + 2 x 10
  comparators for two outputs against 2 x 82 for two one-output networks.

Run: python tools/gen_median_networks.py > csrc/include/mefast/median_networks.hpp
"""

from __future__ import annotations

import itertools

import numpy as np


def batcher(n: int) -> list[tuple[int, int]]:
    """Odd-even merge sort comparators for n = 2**m wires, as (lo, hi) pairs."""
    pairs: list[tuple[int, int]] = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


def blocked_network(sizes: list[int], targets: list[int]) -> tuple[list[tuple[int, int]], dict[int, int]]:
    """Comparators after which the given ranks of the union of sorted lists sit on known wires.

    Batcher's sort of ``len(sizes)`` blocks of 2**m wires, block i holding the sorted list i (``sizes[i]`` values,
    the rest +inf), reduced to the comparators that feed the wires of ``targets`` (ranks). Wires are numbered list
    by list (list 0's values first). Returns the comparators and ``{rank: wire}``.
    """
    b = 1 << (max(sizes) - 1).bit_length()
    n = b * (1 << (len(sizes) - 1).bit_length())
    first = np.cumsum([0, *sizes])
    label: list[int | None] = [None] * n  # physical wire -> logical wire (None: +inf)
    for i, s in enumerate(sizes):
        for j in range(s):
            label[i * b + j] = int(first[i]) + j
    ops: list[tuple[int, int]] = []
    for lo, hi in batcher(n):
        a, c = label[lo], label[hi]
        if c is None:
            continue
        if a is None:  # +inf on lo only: a swap, applied to the labels
            label[lo], label[hi] = c, None
            continue
        ops.append((a, c))
    outs = {t: label[t] for t in targets}
    needed = set(outs.values())
    kept: list[tuple[int, int]] = []
    for a, c in reversed(ops):
        if a in needed or c in needed:
            kept.append((a, c))
            needed |= {a, c}
    kept.reverse()
    return kept, outs  # type: ignore[return-value]


def sorted_list_inputs(sizes: list[int]) -> np.ndarray:
    """All 0-1 inputs made of sorted lists of the given sizes, concatenated."""
    per = [[np.array([0] * (s - z) + [1] * z, dtype=bool) for z in range(s + 1)] for s in sizes]
    return np.array([np.concatenate(c) for c in itertools.product(*per)])


def build_merge(sizes: list[int], targets: list[int]) -> tuple[list[tuple[int, int]], list[int]]:
    """A pruned blocked_network, checked exhaustively: its target ranks' wires, in the order of ``targets``."""
    ops, outs = blocked_network(sizes, targets)
    tests = sorted_list_inputs(sizes)
    _, swaps = run(ops, tests)
    ops = [op for op, s in zip(ops, swaps, strict=True) if s]
    res, _ = run(ops, tests)
    ranked = np.sort(tests, axis=1)
    for t in targets:
        assert np.array_equal(res[:, outs[t]], ranked[:, t])
    return ops, [outs[t] for t in targets]


SHARED_RANKS = list(range(7, 13))  # of the 20 shared values: the 7 below and the 7 above are outside both medians


def build_pair5() -> tuple[list[tuple[int, int]], list[int], list[tuple[int, int]], int]:
    """The two-output 5x5 networks (see the module docstring), checked end to end on 6 sorted 0-1 columns."""
    shared, shared_out = build_merge([5, 5, 5, 5], SHARED_RANKS)
    select, (select_out,) = build_merge([len(SHARED_RANKS), 5], [5])
    tests = sorted_list_inputs([5] * 6)  # columns x-2 .. x+3, column-major
    res, _ = run(shared, tests[:, 5:25])
    middle = res[:, shared_out]
    for extra, window in ((tests[:, 0:5], tests[:, 0:25]), (tests[:, 25:30], tests[:, 5:30])):
        out, _ = run(select, np.concatenate([middle, extra], axis=1))
        assert np.array_equal(out[:, select_out], window.sum(axis=1) > 12)
    return shared, shared_out, select, select_out


def run(ops, x):
    """Apply the compare-exchange ``ops`` to each 0-1 row of ``x``; also say which ops ever swapped."""
    x = x.copy()
    swaps = []
    for a, b in ops:
        lo = np.minimum(x[:, a], x[:, b])
        hi = np.maximum(x[:, a], x[:, b])
        swaps.append(bool(np.any(x[:, a] > x[:, b])))
        x[:, a], x[:, b] = lo, hi
    return x, swaps


def build(k: int) -> tuple[list[tuple[int, int]], int]:
    """The one-output median network of a ``k x k`` window (k sorted columns) and its output wire."""
    ops, (out,) = build_merge([k] * k, [k * k // 2])
    return ops, out


def _flat(ops: list[tuple[int, int]]) -> str:
    return ", ".join(f"{a}, {b}" for a, b in ops)


def main() -> None:
    """Print the C++ header with the one-output 3x3 and 5x5 networks and the two-output 5x5 ones (to stdout)."""
    print("// Generated by tools/gen_median_networks.py; do not edit.")
    print("// Median selection networks over k*k wires laid out column-major (wire = col*k + row), valid")
    print("// when each column is sorted ascending beforehand. Each pair (a, b) puts min in a, max in b.")
    print("#pragma once\n\nnamespace mefast::median_net {\n")
    for k in (3, 5):  # one output per network: the CUDA kernel's 3x3 and 5x5, the CPU's 3x3
        ops, out = build(k)
        flat = _flat(ops)
        print(f"constexpr int k{k}_size = {len(ops)};")
        print(f"constexpr int k{k}_out = {out};")
        print(f"constexpr unsigned char k{k}_pairs[{2 * len(ops)}] = {{{flat}}};\n")
    shared, shared_out, select, select_out = build_pair5()
    print("// Two neighbouring 5x5 outputs: k5_shared on the 20 values of their 4 shared columns (wire = col*5 + row),")
    print("// which leaves ranks 7..12 on the wires k5_shared_out; then, per output, k5_select on those 6 (wires 0..5)")
    print("// and the output's own fifth column (wires 6..10), which leaves the median on k5_select_out.")
    print(f"constexpr int k5_shared_size = {len(shared)};")
    print(f"constexpr unsigned char k5_shared_out[{len(shared_out)}] = {{{', '.join(map(str, shared_out))}}};")
    print(f"constexpr unsigned char k5_shared_pairs[{2 * len(shared)}] = {{{_flat(shared)}}};")
    print(f"constexpr int k5_select_size = {len(select)};")
    print(f"constexpr int k5_select_out = {select_out};")
    print(f"constexpr unsigned char k5_select_pairs[{2 * len(select)}] = {{{_flat(select)}}};\n")
    print("}  // namespace mefast::median_net")


if __name__ == "__main__":
    main()
