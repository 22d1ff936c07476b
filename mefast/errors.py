"""Exceptions raised by mefast.

Every error subclasses :class:`MefastError` and the builtin it refines, so ``except ValueError`` keeps
working for callers that do not know mefast's hierarchy.
"""

from __future__ import annotations

__all__ = [
    "AnnotationError",
    "CudaUnavailableError",
    "FaceNotFoundError",
    "FrameRangeError",
    "FrameReadError",
    "LabelLeakError",
    "MefastError",
    "ProtocolError",
    "ShapeError",
    "StoreError",
]


class MefastError(Exception):
    """Base class of every mefast error."""


class ShapeError(MefastError, ValueError):
    """An array has the wrong number of dimensions, shape, dtype or non-finite values."""


class AnnotationError(MefastError, ValueError):
    """An annotation row is inconsistent (onset after apex, apex outside the clip, unknown label...)."""


class FrameReadError(MefastError, OSError):
    """A frame image is missing, unreadable or truncated."""


class FrameRangeError(FrameReadError, AnnotationError):
    """A clip folder's frames do not cover the annotated onset..offset (a frame read and an annotation problem)."""


class FaceNotFoundError(MefastError, ValueError):
    """No face was found in an image."""


class StoreError(MefastError, RuntimeError):
    """A Zarr store is missing, incompatible, or locked by another run."""


class CudaUnavailableError(MefastError, RuntimeError):
    """``device="cuda"`` was requested but no CUDA build or GPU is available."""


class ProtocolError(MefastError, ValueError):
    """A protocol cannot be built or run as asked: unknown name, missing labels, an empty fold..."""


class LabelLeakError(MefastError, RuntimeError):
    """A label that a method may not see was read.

    A test fold's labels before its predictions were returned, or a label column of a table or store handed
    to a method (those hold features and non-label columns only).
    """
