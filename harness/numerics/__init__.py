"""Numerics: what an operator means in float64, how close a stable implementation gets, and the verdict.

* :mod:`.reference`: the float64 reference of the forward output (:func:`normalize`);
* :mod:`.masked`: the same with masked statistics (:func:`normalize_masked`);
* :mod:`.backward`: float64 reference gradients (``check: backward``);
* :mod:`.running`: running statistics of batch norm, their reference and achievable error;
* :mod:`.achievable`: the error stable implementations reach in the case dtype (forward);
* :mod:`.achievable_backward`: the same for gradients;
* :mod:`.families`: the numerics module an op with its own definition names (:mod:`.l2_normalize`,
  :mod:`.local_response_norm`: reference, achievable error, plain emulations);
* :mod:`.verdict`: the verdict rule (error <= FACTOR x achievable + FLOOR) and every output's metrics.
"""
from .achievable import achievable_error
from .masked import normalize_masked
from .reference import apply_affine, normalize
from .verdict import FACTOR, FLOOR, Comparison, compare, judge, judge_outputs, metrics_of

__all__ = ["FACTOR", "FLOOR", "Comparison", "achievable_error", "apply_affine", "compare", "judge", "judge_outputs",
           "metrics_of", "normalize", "normalize_masked"]
