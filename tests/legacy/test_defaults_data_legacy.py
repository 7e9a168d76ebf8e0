"""The documented defaults of tf.keras 2, TensorFlow Addons and the GN paper's code (cases/defaults/
tf_keras.yaml, tfa.yaml, gn_paper.yaml) against the legacy environment (TensorFlow 2.15), with the checks of
tests/current/test_defaults_data.py: every op each adapter supports has an entry whose epsilon is the
adapter's documented default, the defaults are the installed signatures', and every quote is in the
installed documentation or source.
"""
from tests.current.test_defaults_data import (
    check_adapter,
    check_quotes,
    check_signatures,
    entries,
    make_adapter,
)

ADAPTERS = ("tf-keras", "tfa", "gn-paper", "tensorflow")
FILES_HERE = ("tf_keras.yaml", "tfa.yaml", "gn_paper.yaml", "tensorflow.yaml")
_TK = "tf.keras.layers."
_GN = "tfa.layers.GroupNormalization"
#: api -> where its documentation is installed (dotted paths as users write them; ``gn-paper``)
APIS = {
    _TK + "BatchNormalization": [_TK + "BatchNormalization"],
    _TK + "LayerNormalization": [_TK + "LayerNormalization"],
    _TK + "GroupNormalization": [_TK + "GroupNormalization"],
    _TK + "GroupNormalization(groups=-1)": [_TK + "GroupNormalization"],
    _GN: [_GN],
    "tfa.layers.InstanceNormalization": ["tfa.layers.InstanceNormalization", _GN],
    "GroupNorm(x, gamma, beta, G, eps=1e-5) (Figure 3)": ["gn-paper"],
    _TK + "UnitNormalization": [_TK + "UnitNormalization"],
    "tf.math.l2_normalize": ["tensorflow.math.l2_normalize"],
}
_LAYER = (("epsilon", "epsilon"), ("axes", "axis"), ("affine", "center"), ("affine", "scale"))
#: api -> (where, fact, parameter): facts that are a signature default (InstanceNormalization takes
#: **kwargs for GroupNormalization's parameters)
SIGNATURES = {
    _TK + "BatchNormalization": [(_TK + "BatchNormalization", f, p) for f, p in (*_LAYER, ("momentum", "momentum"))],
    _TK + "LayerNormalization": [(_TK + "LayerNormalization", f, p) for f, p in _LAYER],
    _TK + "GroupNormalization": [(_TK + "GroupNormalization", f, p) for f, p in (*_LAYER, ("groups", "groups"))],
    _TK + "GroupNormalization(groups=-1)": [(_TK + "GroupNormalization", f, p) for f, p in _LAYER],
    _GN: [(_GN, f, p) for f, p in (*_LAYER, ("groups", "groups"))],
    "tfa.layers.InstanceNormalization": [(_GN, f, p) for f, p in _LAYER],
    _TK + "UnitNormalization": [(_TK + "UnitNormalization", "axes", "axis")],
    "tf.math.l2_normalize": [("tensorflow.math.l2_normalize", "epsilon", "epsilon"),
                             ("tensorflow.math.l2_normalize", "axes", "axis")],
}


def _here():
    return [e for e in entries() if e.file in FILES_HERE]


def test_every_supported_op_has_an_entry_with_the_adapters_documented_epsilon():
    problems = [p for name in ADAPTERS for p in check_adapter(name, make_adapter(name))]
    assert not problems, "\n".join(problems)
    assert check_adapter("tf-keras-renamed", make_adapter("tf-keras")), "a missing entry must be reported"


def test_defaults_are_the_installed_signatures():
    here = _here()
    problems = check_signatures(SIGNATURES, here)
    assert not problems, "\n".join(problems)
    assert {e.api for e in here if e.file != "gn_paper.yaml"} == set(SIGNATURES)


def test_every_quote_is_in_the_installed_documentation():
    problems = check_quotes(APIS, _here())
    assert not problems, "\n".join(problems)
