"""The torch adapters against the reference, in the environment that has torch."""
from tests.support import check_smoke, run_cells, smoke_cases, snippet_reproduces


def test_torch_modules_smoke():
    results = check_smoke("torch")
    assert results[0].versions["torch"].startswith("2.")


def test_torch_functional_smoke():
    check_smoke("torch-functional")


def test_snippet_is_what_ran():
    # channels-last input: the recorded call must include the transposes a user writes around nn.GroupNorm
    for adapter in ("torch", "torch-functional"):
        for c in smoke_cases():
            if c.id.startswith(("smoke-gn-nhwc-g2", "smoke-ln-btf", "smoke-in-ncl")) and c.dtype == "float32":
                snippet_reproduces(adapter, c)


def test_cuda_columns_are_hidden_without_a_device():
    import torch
    case = smoke_cases()[0]
    (r,) = run_cells("torch-cuda", [case])
    if torch.cuda.is_available():
        assert r.status == "agree"
    else:
        assert r.status == "unsupported" and r.message.startswith("not available")
    # the report hides the column exactly when there is no device
    assert bool(r.absent) == (not torch.cuda.is_available())
