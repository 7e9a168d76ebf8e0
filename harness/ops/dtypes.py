"""The case dtypes, and each one's numpy type (bfloat16 from ml_dtypes)."""
from __future__ import annotations

import ml_dtypes
import numpy as np


def np_dtype(name: str):
    if name == "bfloat16":
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)
DTYPES = ("float16", "bfloat16", "float32", "float64")
