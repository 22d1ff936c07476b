#!/usr/bin/env python
"""Make the README's magnification example, docs/img/magnify_example.png, from the bundled face.

The astronaut face (grey, 192 x 192) is the onset; the apex is the same face moved by a smooth, brow-and-mouth
shaped field of at most 0.6 px (micro-expression size, invisible side by side). The picture shows, left to right:
onset, apex, the two-frame Eulerian magnification and the Lagrangian one (alpha 5: motion x 6), and the flow
magnitude TV-L1 measures from the onset to each (white = 4 px), so the amplification can be read off.

Usage::

    python tools/make_magnify_example.py            # writes docs/img/magnify_example.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

import mefast
from mefast import magnification as mg
from mefast.data import face_image
from mefast.testing import smooth_field, warp_image

ROOT = Path(__file__).resolve().parents[1]
N = 192
ALPHA = 5.0


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = cv2.copyMakeBorder(img, 18, 0, 0, 0, cv2.BORDER_CONSTANT, value=255)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, 0, 1, cv2.LINE_AA)
    return out


def main() -> int:
    """Write the picture; 0 on success."""
    face = face_image(gray=True)[20:238, 25:204].astype(np.float32)
    base = cv2.resize(face, (N, N), interpolation=cv2.INTER_AREA)
    field = smooth_field(N, N, 0.3, seed=0)
    onset = np.clip(np.rint(base), 0, 255).astype(np.uint8)
    apex = np.clip(np.rint(warp_image(base, -field)), 0, 255).astype(np.uint8)
    eul = mg.evm_pair(onset, apex, alpha=ALPHA)
    lag = mg.lagrangian(onset, apex, alpha=ALPHA)
    tiles, flows = [], []
    for name, img in (("onset", onset), ("apex (max 0.6 px)", apex), ("Eulerian x6", eul), ("Lagrangian x6", lag)):
        tiles.append(_label(img, name))
        mag = np.linalg.norm(mefast.tvl1(onset, img, params="accurate"), axis=-1)
        flows.append(
            _label(
                np.clip(mag / 4.0 * 255, 0, 255).astype(np.uint8), f"|flow| 99th pct {np.percentile(mag, 99):.1f} px"
            )
        )
    picture = np.vstack([np.hstack(tiles), np.hstack(flows)])
    out = ROOT / "docs" / "img" / "magnify_example.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), picture, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
