"""The Equinox and Haiku adapters against the reference, in the current environment (which has both)."""
from tests.support import check_smoke, run_cells, smoke_cases, snippet_reproduces


def _case(prefix):
    return next(c for c in smoke_cases() if c.id.startswith(prefix))


def test_equinox_smoke():
    results = check_smoke("equinox")
    assert set(results[0].versions) >= {"equinox", "jax", "jaxlib"}


def test_haiku_smoke():
    results = check_smoke("haiku")
    assert set(results[0].versions) >= {"dm-haiku", "jax", "jaxlib"}


def test_equinox_ema_runs_batch_norm_only():
    # the default mode's column: BatchNorm agrees on a first training step; every other layer is n/a
    check_smoke("equinox-ema", unsupported=lambda c: c.op != "batch_norm")


def test_snippets_are_what_ran():
    # channels last (Equinox transposes to one channels-first example) and first (Haiku's data_format)
    for adapter in ("equinox", "haiku"):
        for cid in ("smoke-gn-nhwc-g2", "smoke-bn-nchw", "smoke-ln-img-nchw-over-CHW"):
            (r,) = run_cells(adapter, [_case(cid)])
            assert r.status == "agree", r.message
            snippet_reproduces(adapter, _case(cid))
