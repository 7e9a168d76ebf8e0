"""tf-keras: Keras 2 on current TensorFlow, the ``tf_keras`` package (``import tf_keras``).

From TensorFlow 2.16 on ``tf.keras`` is Keras 3; the Keras 2 API lives on as the separate
``tf-keras`` distribution, released with each TensorFlow (tf-keras 2.21 needs TensorFlow 2.21).
Its users either ``import tf_keras`` or set ``TF_USE_LEGACY_KERAS=1`` so that ``tf.keras`` is
``tf_keras``; the calls here name ``tf_keras.layers`` directly, so the column does not depend on that
variable. The calls are the ``tf-keras`` column's (:mod:`harness.adapters.tf_keras_adapter`), with
the module path changed: the same layers, arguments and checks.
"""
from __future__ import annotations

import tensorflow as tf
import tf_keras

from ._tf import tf_repro
from .tf_keras_adapter import TfKeras, documented_epsilons

#: documented defaults of tf-keras 2.21: the same words as tf.keras 2.15's, in tf-keras's sources
DEFAULT_EPSILONS = documented_epsilons("https://github.com/keras-team/tf-keras/blob/v2.21.0/tf_keras/layers/normalization/")


class TfKeras2(TfKeras):
    name = "tf-keras-2.21"
    keras = "tf_keras"
    default_epsilons = DEFAULT_EPSILONS
    mask_apis = {"layer_norm": "tf_keras.layers.LayerNormalization.call",
                 "layer_norm_no_bias": "tf_keras.layers.LayerNormalization.call",
                 "group_norm": "tf_keras.layers.GroupNormalization.call",
                 "instance_norm": "tf_keras.layers.GroupNormalization.call"}

    def versions(self):
        return {"tensorflow": tf.__version__, "tf-keras": tf_keras.__version__}

    def unavailable(self):
        if not tf_keras.__version__.startswith("2."):
            return f"tf_keras {tf_keras.__version__} is not Keras 2"
        return None

    def layers(self):
        return tf_keras.layers

    def namespace(self) -> dict:
        return {"tf_keras": tf_keras}

    def repro(self, case) -> dict:
        return tf_repro(case, self.code(case), imports="import tensorflow as tf\nimport tf_keras",
                        versions="{'tensorflow': tf.__version__, 'tf-keras': tf_keras.__version__}")
