"""The documented defaults of MindSpore (cases/defaults/mindspore.yaml) against the installed mindspore, with
the checks of tests/current/test_defaults_data.py: every op each mindspore adapter supports has an entry whose
epsilon is the adapter's documented default, the defaults are the installed signatures', and every quote is
in the installed docstrings (or, for a source link, the installed source file)."""
from tests.current.test_defaults_data import (
    check_adapter,
    check_quotes,
    check_signatures,
    entries,
    make_adapter,
)

ADAPTERS = ("mindspore", "mindspore-ops")
_N, _O = "mindspore.nn.", "mindspore.ops."
APIS = {api: [api] for api in (_N + "BatchNorm2d", _N + "LayerNorm", _N + "GroupNorm", _O + "batch_norm",
                               _O + "LayerNorm", _O + "group_norm", _O + "L2Normalize")}
SIGNATURES = {
    _N + "BatchNorm2d": [(_N + "BatchNorm2d", "epsilon", "eps"), (_N + "BatchNorm2d", "momentum", "momentum")],
    _O + "batch_norm": [(_O + "batch_norm", "epsilon", "eps"), (_O + "batch_norm", "momentum", "momentum")],
    _N + "LayerNorm": [(_N + "LayerNorm", "epsilon", "epsilon")],
    _O + "LayerNorm": [(_O + "LayerNorm", "epsilon", "epsilon")],
    _N + "GroupNorm": [(_N + "GroupNorm", "epsilon", "eps")],
    _O + "group_norm": [(_O + "group_norm", "epsilon", "eps")],
    _O + "L2Normalize": [(_O + "L2Normalize", "epsilon", "epsilon")],
}


def _here():
    return [e for e in entries() if e.file == "mindspore.yaml"]


def test_every_supported_op_has_an_entry_with_the_adapters_documented_epsilon():
    problems = [p for name in ADAPTERS for p in check_adapter(name, make_adapter(name))]
    assert not problems, "\n".join(problems)
    assert check_adapter("mindspore-renamed", make_adapter("mindspore")), "a missing entry must be reported"


def test_defaults_are_the_installed_signatures():
    here = _here()
    problems = check_signatures(SIGNATURES, here)
    assert not problems, "\n".join(problems)
    assert {e.api for e in here} == set(SIGNATURES)


def test_every_quote_is_in_the_installed_documentation():
    problems = check_quotes(APIS, _here())
    assert not problems, "\n".join(problems)
