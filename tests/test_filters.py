"""Tests of KMeansFilterInitializer, copy_filters_to_conv and init_conv_stack."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skdec import KMeansFilterInitializer, copy_filters_to_conv, init_conv_stack
from skdec._filters import _silhouette_reading
from skdec.datasets import load_digits

FAST = dict(n_patches=1500, n_init=2, max_iter=50, silhouette_sample_size=500)


def _edge_images(n=60, size=10, noise=0.02, seed=0):
    """Images made of 4 kinds of 3x3 edges (vertical/horizontal, +/-)."""
    rng = np.random.RandomState(seed)
    images = np.zeros((n, size, size))
    for i in range(n):
        kind = i % 4
        cut = rng.randint(3, size - 3)
        if kind == 0:
            images[i, :, cut:] = 1.0
        elif kind == 1:
            images[i, :, :cut] = 1.0
        elif kind == 2:
            images[i, cut:, :] = 1.0
        else:
            images[i, :cut, :] = 1.0
    return images + noise * rng.standard_normal(images.shape)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


def test_filters_shape_and_normalisation(digits):
    X, _ = digits
    init = KMeansFilterInitializer(n_filters=6, kernel_size=3, random_state=0, **FAST)
    init.fit(X)
    assert init.filters_.shape == (6, 1, 3, 3)
    flat = init.filters_.reshape(6, -1)
    np.testing.assert_allclose(np.linalg.norm(flat, axis=1), 1.0)
    np.testing.assert_allclose(flat.mean(axis=1), 0.0, atol=1e-12)
    assert init.cluster_centers_.shape == (6, 9)
    assert init.cluster_sizes_.sum() == init.n_patches_used_
    assert np.all(np.diff(init.cluster_sizes_) <= 0)  # most populated first
    assert init.image_shape_ == (1, 8, 8)
    assert init.n_features_in_ == 64
    assert init.n_iter_ >= 1


def test_flat_rows_3d_and_4d_input_give_the_same_filters(digits):
    X, _ = digits
    init = KMeansFilterInitializer(n_filters=4, kernel_size=3, random_state=1, **FAST)
    a = clone(init).fit(X).filters_
    b = clone(init).fit(X.reshape(-1, 8, 8)).filters_
    c = clone(init).fit(X.reshape(-1, 1, 8, 8)).filters_
    d = clone(init).set_params(image_shape=(8, -1)).fit(X).filters_
    for other in (b, c, d):
        np.testing.assert_array_equal(a, other)


def test_same_seed_same_filters_other_seed_other_sample(digits):
    X, _ = digits
    init = KMeansFilterInitializer(n_filters=4, kernel_size=3, **FAST)
    a = clone(init).set_params(random_state=3).fit(X)
    b = clone(init).set_params(random_state=3).fit(X)
    c = clone(init).set_params(random_state=4).fit(X)
    np.testing.assert_array_equal(a.filters_, b.filters_)
    assert a.silhouette_ == b.silhouette_
    assert not np.array_equal(a.cluster_sizes_, c.cluster_sizes_) or not (
        np.array_equal(a.filters_, c.filters_)
    )


def _match_up_to_permutation(found, expected):
    """Best |cosine| of each expected filter among the found ones."""
    found = found.reshape(len(found), -1)
    expected = expected.reshape(len(expected), -1)
    expected = expected - expected.mean(axis=1, keepdims=True)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    return (expected @ found.T).max(axis=1)


@pytest.mark.parametrize(
    "algorithm", ["kmeans", "spherical-kmeans", "minibatch-kmeans"]
)
def test_recovers_planted_edges_with_strong_silhouette(algorithm):
    X = _edge_images()
    init = KMeansFilterInitializer(
        n_filters=4,
        kernel_size=2,
        flat_threshold=0.5,
        algorithm=algorithm,
        random_state=0,
        **FAST,
    ).fit(X)
    edges = np.array(
        [
            [[-1, 1], [-1, 1]],
            [[1, -1], [1, -1]],
            [[-1, -1], [1, 1]],
            [[1, 1], [-1, -1]],
        ],
        dtype=float,
    )
    # The four edge directions are found, whatever the order of the filters.
    assert _match_up_to_permutation(init.filters_, edges).min() > 0.95
    assert init.silhouette_ >= 0.71
    assert init.silhouette_reading_ == "strong"


def test_noise_has_no_substantial_structure():
    X = np.random.RandomState(0).standard_normal((40, 12, 12))
    init = KMeansFilterInitializer(n_filters=8, kernel_size=5, random_state=0, **FAST)
    init.fit(X)
    assert init.silhouette_ < 0.26
    assert init.silhouette_reading_ == "none"


def test_spherical_centres_have_unit_norm(digits):
    X, _ = digits
    init = KMeansFilterInitializer(
        n_filters=5, kernel_size=3, algorithm="spherical-kmeans", random_state=0, **FAST
    ).fit(X)
    np.testing.assert_allclose(np.linalg.norm(init.cluster_centers_, axis=1), 1.0)


def test_flat_patches_are_dropped(digits):
    X, _ = digits
    keep_all = KMeansFilterInitializer(
        n_filters=4, kernel_size=3, flat_threshold=0.0, random_state=0, **FAST
    ).fit(X)
    drop = clone(keep_all).set_params(flat_threshold=0.3).fit(X)
    assert keep_all.n_patches_used_ == FAST["n_patches"]
    assert drop.n_patches_used_ < keep_all.n_patches_used_


def test_outlier_fraction_removes_that_share(digits):
    X, _ = digits
    base = KMeansFilterInitializer(n_filters=4, kernel_size=3, random_state=0, **FAST)
    kept = clone(base).fit(X).n_patches_used_
    pruned = clone(base).set_params(outlier_fraction=0.1).fit(X).n_patches_used_
    assert pruned == pytest.approx(0.9 * kept, abs=0.01 * kept)


def test_whitening_decorrelates_and_filters_act_on_raw_pixels(digits):
    X, _ = digits
    init = KMeansFilterInitializer(
        n_filters=5,
        kernel_size=3,
        whiten=True,
        zca_epsilon=1e-3,
        random_state=0,
        **FAST,
    ).fit(X)
    W, mu = init.zca_components_, init.zca_mean_
    np.testing.assert_allclose(W, W.T)
    patches, labels = init.sample_patches(X, n_patches=3000, random_state=1)
    cov = np.cov(patches, rowvar=False)
    # Whitened: unit variance along every direction the data spans (the
    # constant direction was removed by per-patch mean removal).
    eig = np.linalg.eigvalsh(cov)
    np.testing.assert_allclose(eig[1:], 1.0, atol=0.25)
    assert eig[0] < 0.05
    # A filter's response to a contrast-normalised (unwhitened) patch is the
    # centroid's response to the whitened patch, up to scale and a constant.
    c = init.cluster_centers_
    filters = init.filters_.reshape(5, -1)
    scale = np.linalg.norm(c @ W - (c @ W).mean(axis=1, keepdims=True), axis=1)
    unwhitened = patches @ np.linalg.pinv(W) + mu  # back to normalised patches
    lhs = patches @ c.T
    rhs = (unwhitened @ filters.T) * scale - (c @ W) @ mu
    np.testing.assert_allclose(lhs, rhs, atol=1e-6)


def test_transform_is_conv_relu_pool(digits):
    X, _ = digits
    init = KMeansFilterInitializer(n_filters=4, kernel_size=3, random_state=0, **FAST)
    init.fit(X)
    x = torch.as_tensor(X[:7].reshape(-1, 1, 8, 8), dtype=torch.float32)
    w = torch.as_tensor(init.filters_, dtype=torch.float32)
    expected = F.max_pool2d(F.relu(F.conv2d(x, w)), 2, ceil_mode=True)
    out = init.transform(X[:7].astype(np.float64))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected.reshape(7, -1).numpy(), rtol=1e-6)
    assert init.transform(X[:7].astype(np.float32)).dtype == np.float32
    avg = clone(init).set_params(pooling="avg").fit(X).transform(X[:7])
    none = clone(init).set_params(pooling="none").fit(X).transform(X[:7])
    assert avg.shape == (7, 4 * 3 * 3)
    assert none.shape == (7, 4 * 6 * 6)
    assert np.all(none >= 0)


def test_pipeline_with_linear_classifier_beats_chance(digits):
    X, y = digits
    pipe = make_pipeline(
        KMeansFilterInitializer(n_filters=8, kernel_size=3, random_state=0, **FAST),
        LogisticRegression(max_iter=300),
    )
    pipe.fit(X[:300], y[:300])
    assert pipe.score(X[300:], y[300:]) > 0.8


def test_sample_patches_labels_are_nearest_centroids(digits):
    X, _ = digits
    init = KMeansFilterInitializer(n_filters=4, kernel_size=3, random_state=0, **FAST)
    init.fit(X)
    patches, labels = init.sample_patches(X, n_patches=300, random_state=0)
    assert patches.shape[1] == 9 and len(patches) == len(labels) <= 300
    d = ((patches[:, None, :] - init.cluster_centers_[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(labels, d.argmin(axis=1))


def test_multichannel_images():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(20, 3, 9, 9))
    init = KMeansFilterInitializer(n_filters=4, kernel_size=(3, 2), random_state=0)
    init.set_params(**FAST).fit(X)
    assert init.filters_.shape == (4, 3, 3, 2)
    assert init.transform(X).shape == (20, 4 * 4 * 4)
    flat = KMeansFilterInitializer(
        n_filters=4, kernel_size=(3, 2), image_shape=(3, 9, 9), random_state=0, **FAST
    ).fit(X.reshape(20, -1))
    np.testing.assert_array_equal(flat.filters_, init.filters_)


# -- bad input -----------------------------------------------------------------


def test_images_smaller_than_kernel():
    with pytest.raises(ValueError, match=r"\(4x4 pixels\) are smaller than kernel"):
        KMeansFilterInitializer(kernel_size=5).fit(np.zeros((3, 4, 4)))


def test_more_filters_than_patches():
    X = np.random.RandomState(0).uniform(size=(2, 4, 4))  # 2 x 4 patches of 3x3
    with pytest.raises(ValueError, match="Only 8 patch.*fewer than n_filters=10"):
        KMeansFilterInitializer(n_filters=10, kernel_size=3, flat_threshold=0).fit(X)
    with pytest.raises(ValueError, match="n_patches=5 must be >= n_filters=10"):
        KMeansFilterInitializer(n_filters=10, n_patches=5).fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels(bad):
    X = np.random.RandomState(0).uniform(size=(5, 8, 8))
    X[2, 3, 4] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        KMeansFilterInitializer(n_filters=2, kernel_size=3).fit(X)
    init = KMeansFilterInitializer(n_filters=2, kernel_size=3, random_state=0)
    init.fit(np.nan_to_num(X, posinf=0, neginf=0))
    with pytest.raises(ValueError, match="NaN|infinity"):
        init.transform(X)


def test_inconsistent_channels_and_sizes():
    rng = np.random.RandomState(0)
    init = KMeansFilterInitializer(n_filters=2, kernel_size=3, random_state=0)
    init.fit(rng.uniform(size=(6, 3, 8, 8)))
    with pytest.raises(ValueError, match="X has 1 channel.*fitted on images with 3"):
        init.transform(rng.uniform(size=(2, 1, 8, 8)))
    with pytest.raises(ValueError, match="X has 1 channel"):
        init.transform(rng.uniform(size=(2, 8, 8)))
    with pytest.raises(ValueError, match="X holds 9x9 images.*fitted on 8x8"):
        init.transform(rng.uniform(size=(2, 3, 9, 9)))
    with pytest.raises(ValueError, match="X has 64 features, but"):
        init.transform(rng.uniform(size=(2, 64)))


def test_constant_images():
    with pytest.raises(ValueError, match="Every sampled patch is constant"):
        KMeansFilterInitializer(n_filters=2, kernel_size=3).fit(np.ones((4, 6, 6)))


def test_nested_list_of_images(digits):
    X, _ = digits
    init = KMeansFilterInitializer(n_filters=3, kernel_size=3, random_state=0, **FAST)
    from_list = clone(init).fit(X[:50].reshape(-1, 8, 8).tolist())
    from_array = clone(init).fit(X[:50].reshape(-1, 8, 8).astype(np.float64))
    np.testing.assert_array_equal(from_list.filters_, from_array.filters_)


def test_bad_image_shapes():
    X = np.zeros((3, 10))
    with pytest.raises(ValueError, match="10 features per row, which is not a square"):
        KMeansFilterInitializer().fit(X)
    with pytest.raises(
        ValueError, match=r"image_shape=\(3, 3\) does not fit rows of 10"
    ):
        KMeansFilterInitializer(image_shape=(3, 3)).fit(X)
    with pytest.raises(ValueError, match="got 5 dimensions"):
        KMeansFilterInitializer().fit(np.zeros((2, 1, 1, 4, 4)))
    with pytest.raises(
        ValueError, match="kernel_size must be a positive int or a pair"
    ):
        KMeansFilterInitializer(kernel_size=(3, 0)).fit(np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match="'n_filters' parameter"):
        KMeansFilterInitializer(n_filters=0).fit(np.zeros((3, 8, 8)))


# -- copying into torch ----------------------------------------------------------


def test_copy_filters_to_conv_and_init_conv(digits):
    X, _ = digits
    init = KMeansFilterInitializer(n_filters=4, kernel_size=3, random_state=0, **FAST)
    init.fit(X)
    conv = torch.nn.Conv2d(1, 4, 3)
    assert init.init_conv(conv) is conv
    np.testing.assert_allclose(conv.weight.detach().numpy(), init.filters_, rtol=1e-6)
    assert torch.all(conv.bias == 0)
    conv64 = torch.nn.Conv2d(1, 4, 3, bias=False).double()
    copy_filters_to_conv(init.filters_, conv64)
    assert conv64.weight.dtype == torch.float64
    np.testing.assert_array_equal(conv64.weight.detach().numpy(), init.filters_)
    keep = torch.nn.Conv2d(1, 4, 3)
    bias = keep.bias.detach().clone()
    copy_filters_to_conv(torch.as_tensor(init.filters_), keep, zero_bias=False)
    assert torch.equal(keep.bias, bias)


def test_copy_filters_to_conv_errors():
    filters = np.zeros((4, 1, 3, 3))
    with pytest.raises(ValueError, match=r"filters of shape \(4, 1, 3, 3\) do not fit"):
        copy_filters_to_conv(filters, torch.nn.Conv2d(2, 4, 3))
    with pytest.raises(ValueError, match="do not fit"):
        copy_filters_to_conv(filters, torch.nn.Conv2d(1, 4, 5))
    with pytest.raises(TypeError, match="real floating dtype; got int64"):
        copy_filters_to_conv(filters.astype(np.int64), torch.nn.Conv2d(1, 4, 3))
    with pytest.raises(TypeError, match="real floating dtype; got complex128"):
        copy_filters_to_conv(filters.astype(complex), torch.nn.Conv2d(1, 4, 3))
    with pytest.raises(TypeError, match="must be a torch.nn.Conv2d; got Linear"):
        copy_filters_to_conv(filters, torch.nn.Linear(9, 4))
    with pytest.raises(ValueError, match="groups=2"):
        copy_filters_to_conv(np.zeros((4, 1, 3, 3)), torch.nn.Conv2d(2, 4, 3, groups=2))
    filters[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        copy_filters_to_conv(filters, torch.nn.Conv2d(1, 4, 3))
    with pytest.raises(Exception, match="not fitted"):
        KMeansFilterInitializer().init_conv(torch.nn.Conv2d(1, 32, 5))


def test_init_conv_stack_layer_by_layer(digits):
    X, _ = digits
    images = X[:150].reshape(-1, 1, 8, 8)
    bn = torch.nn.BatchNorm2d(6)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 3),
        bn,
        torch.nn.ReLU(),
        torch.nn.Sequential(torch.nn.Conv2d(6, 5, 2), torch.nn.ReLU()),
        torch.nn.Flatten(),
        torch.nn.Linear(5 * 5 * 5, 3),
    )
    net.train()
    template = KMeansFilterInitializer(**FAST)
    fitted = init_conv_stack(net, images, template, random_state=0)
    assert [f.filters_.shape for f in fitted] == [(6, 1, 3, 3), (5, 6, 2, 2)]
    np.testing.assert_allclose(
        net[0].weight.detach().numpy(), fitted[0].filters_, rtol=1e-6
    )
    np.testing.assert_allclose(
        net[3][0].weight.detach().numpy(), fitted[1].filters_, rtol=1e-6
    )
    # Batch norm was applied in eval mode: statistics untouched, mode restored.
    assert bn.training and int(bn.num_batches_tracked) == 0
    # The second layer was fitted on the first layer's responses.
    with torch.no_grad():
        x = torch.as_tensor(images, dtype=torch.float32)
        responses = torch.relu(bn.eval()(net[0](x))).numpy()
    bn.train()
    again = clone(fitted[1]).fit(responses)
    assert fitted[1].image_shape_ == (6, 6, 6)
    np.testing.assert_allclose(again.filters_, fitted[1].filters_, atol=1e-5)


def test_init_conv_stack_errors(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="hold no torch.nn.Conv2d"):
        init_conv_stack(torch.nn.Sequential(torch.nn.ReLU()), X[:10])
    bad = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError, match="Conv2d number 2 expects 3 input channel"):
        init_conv_stack(bad, X[:50], KMeansFilterInitializer(**FAST), random_state=0)
    with pytest.raises(TypeError, match="initializer must be a KMeans"):
        init_conv_stack(torch.nn.Conv2d(1, 4, 3), X[:10], initializer="kmeans")
    dilated = [torch.nn.Conv2d(1, 4, 3, dilation=2)]
    with pytest.raises(ValueError, match="dilation"):
        init_conv_stack(dilated, X[:10])


# -- properties --------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(score=st.floats(-1, 1), other=st.floats(-1, 1))
def test_silhouette_reading_bands_are_monotone(score, other):
    order = ["none", "weak", "reasonable", "strong"]
    reading = _silhouette_reading(score)
    expected = (
        "strong"
        if score >= 0.71
        else "reasonable"
        if score >= 0.51
        else "weak"
        if score >= 0.26
        else "none"
    )
    assert reading == expected
    if score <= other:
        assert order.index(reading) <= order.index(_silhouette_reading(other))


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    power=st.integers(-6, 6),
    algorithm=st.sampled_from(["kmeans", "spherical-kmeans"]),
)
def test_filters_do_not_depend_on_the_scale_of_the_pixels(seed, power, algorithm):
    # Normalisation is scale-free; scaling by a power of two is exact in
    # floating point, so the filters must be identical.
    X = np.random.RandomState(seed).uniform(size=(6, 7, 7))
    init = KMeansFilterInitializer(
        n_filters=3,
        kernel_size=3,
        n_patches=150,
        n_init=1,
        algorithm=algorithm,
        random_state=seed,
    )
    a = clone(init).fit(X)
    b = clone(init).fit(X * 2.0**power)
    np.testing.assert_array_equal(a.filters_, b.filters_)
    assert a.silhouette_reading_ == b.silhouette_reading_
