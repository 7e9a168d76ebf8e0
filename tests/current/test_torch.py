"""The torch adapters against the reference, in the environment that has torch."""
from harness.adapters import registry

from tests.support import check_smoke, run_cells, smoke_cases


def test_torch_modules_smoke():
    results = check_smoke("torch")
    assert results[0].versions["torch"].startswith("2.")


def test_torch_functional_smoke():
    check_smoke("torch-functional")


def test_snippet_is_what_ran():
    case = next(c for c in smoke_cases() if c.id.startswith("smoke-gn-nhwc-g2"))
    (r,) = run_cells("torch", [case])
    assert "nn.GroupNorm(2, 6" in r.snippet
    assert ".permute(0, 3, 1, 2)" in r.snippet  # the transpose a user must write


def test_cuda_columns_are_hidden_without_a_device():
    import torch
    case = smoke_cases()[0]
    (r,) = run_cells("torch-cuda", [case])
    if torch.cuda.is_available():
        assert r.status == "agree"
    else:
        assert r.status == "unsupported" and r.message.startswith("not available")
    assert "torch-cuda" in registry()
