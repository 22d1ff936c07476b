"""Docstring sections that many public functions share, written once: the calling convention's ``device``.

A docstring holds ``{{name}}`` alone on a line where the section ``name`` goes; :func:`fill_doc` puts the section
there, indented as the marker. An unknown name fails at import, so a section cannot silently go missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

__all__ = ["SECTIONS", "fill_doc"]

F = TypeVar("F", bound=Callable[..., object])

SECTIONS: dict[str, str] = {
    # Kernels of the C++ core, registered for every backend (mefast._backend.kernels).
    "device_core": """\
device : {"cpu", "cuda", "auto"}
    Where to compute: ``"auto"`` runs on the GPU when one is visible (:func:`mefast.has_cuda`), else on the CPU;
    ``"cuda"`` raises ``CudaUnavailableError`` without a CUDA build or a visible GPU.""",
    # Numba kernels, CPU only (mefast._backend.require_cpu).
    "device_numba": """\
device : {"cpu", "auto"}
    The Numba kernel runs on the CPU; ``"cuda"`` raises ``CudaUnavailableError``.""",
    # The block descriptors of a clip (LBP-SIP, LBP-MOP, 3DHOG, HIGO).
    "raises_clip_blocks": """\
Raises
------
ShapeError
    A clip that is not (T, H, W) / (T, H, W, 3), holds NaN, infinity or values beyond the float32 range, or is
    too small for its blocks: one without a centre voxel (the message names the axis or the radius).
ValueError
    An invalid parameter (named in the message).""",
}

_MARKER = re.compile(r"^([ \t]*)\{\{(\w+)\}\}[ \t]*$", re.MULTILINE)


def fill_doc(fn: F) -> F:
    """Replace each ``{{name}}`` line of ``fn``'s docstring by ``SECTIONS[name]``, indented as the marker.

    Raises
    ------
    KeyError
        A marker names no section.
    """
    if fn.__doc__:  # None under ``python -OO``

        def section(match: re.Match[str]) -> str:
            indent, name = match.group(1), match.group(2)
            return "\n".join(indent + line if line else line for line in SECTIONS[name].splitlines())

        fn.__doc__ = _MARKER.sub(section, fn.__doc__)
    return fn
