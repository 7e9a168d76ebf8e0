"""The tf-keras-2.21 adapter (Keras 2 on TensorFlow 2.21, import tf_keras) against the reference, in the
keras2 environment."""
from tests.support import check_smoke, run_cells, smoke_cases, snippet_reproduces


def test_tf_keras_2_21_smoke():
    # tf-keras has no RMS norm layer
    results = check_smoke("tf-keras-2.21", unsupported_ops=("rms_norm",))
    assert set(results[0].versions) >= {"tensorflow", "tf-keras"}
    assert results[0].versions["tf-keras"].startswith("2.")


def test_snippet_names_tf_keras_and_is_what_ran():
    case = next(c for c in smoke_cases() if c.id.startswith("smoke-gn-nchw-g2"))
    (r,) = run_cells("tf-keras-2.21", [case])
    assert r.status == "agree", r.message
    out = snippet_reproduces("tf-keras-2.21", case)
    assert "tf_keras.layers.GroupNormalization(" in out.snippet


def test_tf_keras_column_is_hidden_where_tf_keras_is_keras_3():
    # TensorFlow 2.21's tf.keras is Keras 3: the tf.keras 2.15 column says so and hides
    case = next(c for c in smoke_cases() if c.id.startswith("smoke-bn-nchw"))
    (r,) = run_cells("tf-keras", [case])
    assert r.status == "unsupported" and "Keras 3" in r.message and r.absent
