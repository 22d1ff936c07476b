"""Hand-crafted micro-expression descriptors: LBP-TOP and TIM (C++ core), Bi-WOOF and MDMO (Numba).

Nothing here knows about datasets or stores: arrays in, arrays out.
"""

from __future__ import annotations

__all__: list[str] = []
