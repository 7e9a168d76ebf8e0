"""The documented defaults of PaddlePaddle (cases/defaults/paddle.yaml) against the installed paddle, with the
checks of tests/current/test_defaults_data.py: every op each paddle adapter supports has an entry whose
epsilon is the adapter's documented default, the defaults are the installed signatures', and every quote is
in the installed docstrings."""
from tests.current.test_defaults_data import (
    check_adapter,
    check_quotes,
    check_signatures,
    entries,
    make_adapter,
)

ADAPTERS = ("paddle", "paddle-functional")
_N, _F = "paddle.nn.", "paddle.nn.functional."
APIS = {api: [api] for api in (_N + "BatchNorm2D", _N + "LayerNorm", _N + "GroupNorm", _N + "InstanceNorm2D",
                               _F + "batch_norm", _F + "layer_norm", _F + "group_norm", _F + "instance_norm",
                               _F + "normalize")}
SIGNATURES = {
    _N + "BatchNorm2D": [(_N + "BatchNorm2D", "epsilon", "epsilon"), (_N + "BatchNorm2D", "momentum", "momentum")],
    _F + "batch_norm": [(_F + "batch_norm", "epsilon", "epsilon"), (_F + "batch_norm", "momentum", "momentum")],
    _N + "LayerNorm": [(_N + "LayerNorm", "epsilon", "epsilon")],
    _F + "layer_norm": [(_F + "layer_norm", "epsilon", "epsilon")],
    _N + "GroupNorm": [(_N + "GroupNorm", "epsilon", "epsilon")],
    _F + "group_norm": [(_F + "group_norm", "epsilon", "epsilon")],
    _N + "InstanceNorm2D": [(_N + "InstanceNorm2D", "epsilon", "epsilon")],
    _F + "instance_norm": [(_F + "instance_norm", "epsilon", "eps")],
    _F + "normalize": [(_F + "normalize", "epsilon", "epsilon")],
}


def _here():
    return [e for e in entries() if e.file == "paddle.yaml"]


def test_every_supported_op_has_an_entry_with_the_adapters_documented_epsilon():
    problems = [p for name in ADAPTERS for p in check_adapter(name, make_adapter(name))]
    assert not problems, "\n".join(problems)
    assert check_adapter("paddle-renamed", make_adapter("paddle")), "a missing entry must be reported"


def test_defaults_are_the_installed_signatures():
    here = _here()
    problems = check_signatures(SIGNATURES, here)
    assert not problems, "\n".join(problems)
    assert {e.api for e in here} == set(SIGNATURES)


def test_every_quote_is_in_the_installed_documentation():
    problems = check_quotes(APIS, _here())
    assert not problems, "\n".join(problems)
