"""The legacy TensorFlow adapters (tf.keras 2, TFA, the GN paper's code) against
the reference, in the environment that has TensorFlow 2.15 and TFA."""
from dataclasses import replace

import numpy as np

from harness.adapters import load_adapter, registry
from harness.cases.inputs import make_inputs
from tests.support import check_smoke, run_cells, smoke_cases, snippet_reproduces

ALL_OPS = {"batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"}


def _case(prefix):
    return next(c for c in smoke_cases() if c.id.startswith(prefix))


def test_tf_keras_smoke():
    results = check_smoke("tf-keras", unsupported_ops=("rms_norm",))
    v = results[0].versions
    assert v["tensorflow"].startswith("2.15") and v["keras"].startswith("2.")
    rms = next(r for r in results if r.case_id.startswith("smoke-rms"))
    assert "RMS" in rms.message


def test_tfa_smoke():
    results = check_smoke("tfa", unsupported_ops=("batch_norm", "layer_norm", "rms_norm"))
    assert results[0].versions["tensorflow_addons"].startswith("0.")
    msgs = {r.case["op"]: r.message for r in results if r.status == "unsupported"}
    assert "TFA has no RMS norm" in msgs["rms_norm"]
    assert "tf.keras.layers.LayerNormalization" in msgs["layer_norm"]


def test_gn_paper_smoke():
    results = check_smoke("gn-paper", unsupported_ops=tuple(ALL_OPS - {"group_norm"}))
    msgs = {r.case["op"]: r.message for r in results if r.status == "unsupported"}
    assert all(m.startswith("the paper's code is group norm only") for m in msgs.values())
    assert "groups=C" in msgs["instance_norm"] and "groups=1" in msgs["layer_norm"]


def test_variants_agree():
    """What smoke does not cover: no affine (center=False, scale=False), default
    parameters, and float16/bfloat16 (one worker per adapter for all of them)."""
    f32 = {c.id: c for c in smoke_cases() if c.dtype == "float32"}
    affine_picks = ["smoke-gn-nchw-g2", "smoke-in-nlc", "smoke-bn-nchw", "smoke-ln-img-nchw-over-CHW"]
    half_picks = ["smoke-gn-nchw-g2", "smoke-gn-btf-g6", "smoke-in-nlc", "smoke-bn-nchw", "smoke-bn-bf",
                  "smoke-ln-img-nhwc-over-CHW", "smoke-ln-over-F"]

    def pick(prefix):
        return next(c for i, c in f32.items() if i.startswith(prefix))

    cases = [replace(pick(p), affine=a, dtype=dt, id=f"{pick(p).id}-{a}-{dt}")
             for p in affine_picks for a in ("none", "ones") for dt in ("float32", "float64")]
    cases += [replace(pick(p), dtype=dt, id=f"{pick(p).id}-{dt}")
              for p in half_picks for dt in ("float16", "bfloat16")]
    for adapter, ops in (("tf-keras", ALL_OPS - {"rms_norm"}), ("tfa", {"group_norm", "instance_norm"}),
                         ("gn-paper", {"group_norm"})):
        mine = [c for c in cases if c.op in ops]
        for c, r in zip(mine, run_cells(adapter, mine)):
            assert r.status == "agree", f"{adapter} {c.id}: {r.status} {r.message}"
            if adapter == "tf-keras" and c.op == "batch_norm" and c.dtype == "float16" and c.affine == "random":
                # BatchNormalization keeps half-precision layers' parameters in float32
                assert "m.gamma.assign(tf.cast(gamma, m.gamma.dtype))" in r.snippet
            if c.affine == "none" and adapter != "gn-paper":
                assert "center=False, scale=False" in r.snippet


def test_snippets_show_axis_and_transpose():
    gn_nchw = _case("smoke-gn-nchw-g2")
    gn_nhwc = _case("smoke-gn-nhwc-g2")
    gn_btf = _case("smoke-gn-btf-g2")
    in_ncl = _case("smoke-in-ncl")

    (k,) = run_cells("tf-keras", [gn_nchw])
    (t,) = run_cells("tfa", [in_ncl])
    p_nchw, p_nhwc, p_btf = run_cells("gn-paper", [gn_nchw, gn_nhwc, gn_btf])
    assert all(r.status == "agree" for r in (k, t, p_nchw, p_nhwc, p_btf))
    # the recorded calls, with the transposes a user writes around channels-first code, give the same outputs
    snippet_reproduces("tf-keras", gn_nchw)
    snippet_reproduces("tfa", in_ncl)
    for c in (gn_nchw, gn_nhwc, gn_btf):
        snippet_reproduces("gn-paper", c)


def test_float64_in_float64_out():
    """float64 layers compute and return float64 (checked in-process on one case each)."""
    specs = registry()
    for name, prefix in (("tf-keras", "smoke-ln-over-TF"), ("tfa", "smoke-gn-nhwc-g2"),
                         ("gn-paper", "smoke-gn-btf-g2")):
        case = next(c for c in smoke_cases() if c.id.startswith(prefix) and c.dtype == "float64")
        ad = load_adapter(specs[name])
        out = ad.run(case, make_inputs(case))
        assert out.y.dtype == np.float64, (name, out.y.dtype)
        assert "float64" in out.snippet or name == "gn-paper"


def test_tf_keras_reports_keras3_unavailable(monkeypatch):
    from harness.adapters import tf_keras_adapter as m
    ad = m.TfKeras()
    assert ad.unavailable() is None  # this environment has tf.keras 2
    monkeypatch.setattr(m, "_tf_keras_version", lambda: "3.15.1")
    why = ad.unavailable()
    assert why.startswith("tf.keras is Keras 3 in TensorFlow ") and "needs TensorFlow <= 2.15" in why


def test_keras3_adapters_are_hidden_where_keras_is_keras_2():
    from tests.support import run_cells
    (r,) = run_cells("keras-tf", smoke_cases()[:1])
    assert r.status == "unsupported" and r.message.startswith("not available: keras 2.")


def test_tf_keras_batch_normalization_mask():
    """tf.keras 2 BatchNormalization takes a mask: a rank-3 input (the non-fused path) honours it; a 4-D
    input takes the fused kernel by default, which ignores it (pinned: cases/expectations/masked.yaml).
    Its other layers take none."""
    from harness.cases.load import load_file

    cases = {c.id: c for c in load_file("cases/masked/masked.yaml")}
    picks = ["bn-masked-mask-T-len5_0_2-eps1e-05-float64", "bn-masked-mask-rand0.3-eps1e-05-float32",
             "bn-masked-nhwc-mask-H-len4_2-eps1e-05-float32", "ln-masked-mask-T-len6_3_0-eps1e-05-float32"]
    results = dict(zip(picks, run_cells("tf-keras", [cases[c] for c in picks])))
    for cid in picks[:2]:
        assert results[cid].status == "agree" and "mask=mask" in results[cid].snippet, results[cid].message
    fused = results["bn-masked-nhwc-mask-H-len4_2-eps1e-05-float32"]
    assert fused.status == "diverge" and "mask was ignored" in fused.fingerprint.explanation
    ln = results["ln-masked-mask-T-len6_3_0-eps1e-05-float32"]
    assert ln.status == "unsupported" and "LayerNormalization.call takes no mask" in ln.message
