"""The documented defaults of tf-keras 2.21 (cases/defaults/tf_keras_2_21.yaml) against the keras2
environment, with the checks of tests/current/test_defaults_data.py: every op the tf-keras-2.21 column
supports has an entry whose epsilon is its documented default, the defaults are the installed
signatures', and every quote is in the installed tf_keras source.
"""
from tests.current.test_defaults_data import (
    check_adapter,
    check_quotes,
    check_signatures,
    entries,
    make_adapter,
)

_TK = "tf_keras.layers."
#: api -> where it is installed
APIS = {
    _TK + "BatchNormalization": [_TK + "BatchNormalization"],
    _TK + "LayerNormalization": [_TK + "LayerNormalization"],
    _TK + "GroupNormalization": [_TK + "GroupNormalization"],
    _TK + "GroupNormalization(groups=-1)": [_TK + "GroupNormalization"],
    _TK + "UnitNormalization": [_TK + "UnitNormalization"],
}
_LAYER = (("epsilon", "epsilon"), ("axes", "axis"), ("affine", "center"), ("affine", "scale"))
SIGNATURES = {
    _TK + "BatchNormalization": [(_TK + "BatchNormalization", f, p) for f, p in (*_LAYER, ("momentum", "momentum"))],
    _TK + "LayerNormalization": [(_TK + "LayerNormalization", f, p) for f, p in _LAYER],
    _TK + "GroupNormalization": [(_TK + "GroupNormalization", f, p) for f, p in (*_LAYER, ("groups", "groups"))],
    _TK + "GroupNormalization(groups=-1)": [(_TK + "GroupNormalization", f, p) for f, p in _LAYER],
    _TK + "UnitNormalization": [(_TK + "UnitNormalization", "axes", "axis")],
}


def _here():
    return [e for e in entries() if e.file == "tf_keras_2_21.yaml"]


def test_every_supported_op_has_an_entry_with_the_adapters_documented_epsilon():
    problems = check_adapter("tf-keras-2.21", make_adapter("tf-keras-2.21"))
    assert not problems, "\n".join(problems)
    assert check_adapter("tf-keras-renamed", make_adapter("tf-keras-2.21")), "a missing entry must be reported"


def test_defaults_are_the_installed_signatures():
    here = _here()
    problems = check_signatures(SIGNATURES, here)
    assert not problems, "\n".join(problems)
    assert {e.api for e in here} == set(SIGNATURES)


def test_every_quote_is_in_the_installed_source():
    problems = check_quotes(APIS, _here())
    assert not problems, "\n".join(problems)
