"""Mertens exposure fusion (``mertens``) through OpenCV's ``MergeMertens``.

Mertens, Kautz, Van Reeth, "Exposure fusion", Pacific Graphics 2007: per-pixel weights from
contrast (Laplacian), saturation and well-exposedness, blended in a Laplacian pyramid. OpenCV's
defaults are the paper's (all three exponents 1). OpenCV works on BGR float images in [0, 1];
its result is clipped to [0, 1], scaled by 255 and rounded half up. Grey stacks are fused as
grey-repeated-to-RGB and returned as grey (the three channels stay identical).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..families import MULTI_EXPOSURE
from ..registry import register_algorithm


@register_algorithm("mertens", families=(MULTI_EXPOSURE,), min_inputs=2, max_inputs=None, colour="any",
                    version="1", citation="Mertens, Kautz, Van Reeth, Pacific Graphics 2007",
                    summary="Mertens exposure fusion (OpenCV MergeMertens, paper defaults)")
def fuse(images: list[np.ndarray], contrast_weight: float = 1.0, saturation_weight: float = 1.0,
         exposure_weight: float = 1.0) -> np.ndarray:
    """Exposure fusion of an N-image stack (order does not matter)."""
    grey = images[0].ndim == 2
    stack = [cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if grey else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
             for image in images]
    merger = cv2.createMergeMertens(float(contrast_weight), float(saturation_weight), float(exposure_weight))
    fused = merger.process(stack)
    fused = np.clip(np.floor(np.clip(fused, 0.0, 1.0) * 255.0 + 0.5), 0, 255).astype(np.uint8)
    return fused[:, :, 0] if grey else cv2.cvtColor(fused, cv2.COLOR_BGR2RGB)
