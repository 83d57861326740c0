"""MorphologyFeatures: invariance to turns and mirror images, known values on
drawn galaxies, and errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdec import MorphologyFeatures

SIDE = 48


def _galaxy(
    sigma_y=4.0, sigma_x=4.0, arms=0.0, angle=0.0, core=(1, 1, 1), disc=(1, 1, 1)
):
    """An RGB (3, SIDE, SIDE) image: an elliptical Gaussian turned by
    ``angle``, with two spiral arms of strength ``arms``, a ``core`` colour
    within 3 px and a ``disc`` colour outside, on a faint sky."""
    yy, xx = np.mgrid[:SIDE, :SIDE] - (SIDE - 1) / 2
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * xx + s * yy, -s * xx + c * yy
    r, theta = np.hypot(yy, xx), np.arctan2(yy, xx)
    light = np.exp(-(u**2 / (2 * sigma_x**2) + v**2 / (2 * sigma_y**2)))
    light *= 1 + arms * np.cos(2 * (theta - 0.3 * r))
    colour = np.where(r < 3, 1, 0)[None] * np.array(core)[:, None, None]
    colour = colour + np.where(r >= 3, 1, 0)[None] * np.array(disc)[:, None, None]
    return 0.02 + 0.8 * light[None] * colour


def _features(images, **params):
    X = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    shape = np.asarray(images[0]).shape
    return MorphologyFeatures(image_shape=shape, **params).fit_transform(X)


def _column(name, n_channels=3):
    names = MorphologyFeatures((n_channels, 8, 8)).fit(np.zeros((1, n_channels * 64)))
    return list(names.get_feature_names_out()).index(name)


def test_quarter_turns_and_mirror_images_give_the_same_features():
    rng = np.random.RandomState(0)
    image = _galaxy(3, 6, arms=0.5, angle=0.4) + 0.02 * rng.rand(3, SIDE, SIDE)
    variants = [
        image,
        np.rot90(image, 1, axes=(1, 2)),
        np.rot90(image, 2, axes=(1, 2)),
        np.rot90(image, 3, axes=(1, 2)),
        image[:, :, ::-1],
        image[:, ::-1],
        np.rot90(image[:, ::-1], 1, axes=(1, 2)),
    ]
    F = _features(variants)
    for row in F[1:]:
        np.testing.assert_allclose(row, F[0], rtol=1e-7, atol=1e-9)


def test_other_turns_change_the_features_little():
    F = _features([_galaxy(3, 7, angle=a) for a in (0.0, 0.5, 1.1)])
    q = F[:, _column("axis_ratio")]
    np.testing.assert_allclose(q, q[0], atol=0.03)
    c = F[:, _column("concentration")]
    np.testing.assert_allclose(c, c[0], atol=0.05)


def test_concentration_of_a_gaussian():
    # r80 / r20 of a round Gaussian: sqrt(ln 5 / ln 1.25) -> 5 log10 = 2.15
    F = _features([_galaxy(4, 4)])
    assert F[0, _column("concentration")] == pytest.approx(2.15, abs=0.15)


def test_axis_ratio_follows_the_shape():
    F = _features([_galaxy(4, 4), _galaxy(2, 6), _galaxy(1.2, 8)])
    q = F[:, _column("axis_ratio")]
    assert q[0] > 0.97
    assert q[0] > q[1] > q[2]
    assert q[1] < 0.6  # 1/3 untruncated: the moments are taken within 2 r50


def test_two_arms_raise_the_second_fourier_mode():
    F = _features([_galaxy(5, 5), _galaxy(5, 5, arms=0.6)])
    for lo_hi in ("0.7-1.2", "1.2-2"):
        m2 = F[:, _column(f"log_fourier_m2_{lo_hi}r50")]
        m3 = F[:, _column(f"log_fourier_m3_{lo_hi}r50")]
        assert m2[1] > m2[0] + 3
        assert m2[1] > m3[1] + 2


def test_a_red_core_and_a_blue_disc():
    F = _features([_galaxy(5, 5, core=(1, 0.8, 0.5), disc=(0.5, 0.8, 1))])
    assert F[0, _column("colour_r-b_core")] > 0.1
    assert F[0, _column("colour_r-b_disc")] < -0.1
    grey = MorphologyFeatures((1, SIDE, SIDE)).fit(np.zeros((1, SIDE * SIDE)))
    assert not any("colour" in n for n in grey.get_feature_names_out())


def test_a_turned_half_differs_in_asymmetry():
    lopsided = _galaxy(5, 5)
    lopsided[:, : SIDE // 2 - 4] *= 0.3
    F = _features([_galaxy(5, 5), lopsided])
    a = F[:, _column("log_asymmetry")]
    assert a[1] > a[0] + 3


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 9),
    st.integers(1, 9),
    st.sampled_from([1, 3]),
    st.sampled_from(["zeros", "constant", "noise", "negative"]),
)
def test_any_image_gets_finite_features(height, width, channels, kind):
    rng = np.random.RandomState(height * 10 + width)
    shape = (2, channels, height, width)
    X = {
        "zeros": np.zeros(shape),
        "constant": np.full(shape, 0.7),
        "noise": rng.rand(*shape),
        "negative": -rng.rand(*shape),
    }[kind].reshape(2, -1)
    est = MorphologyFeatures((channels, height, width)).fit(X)
    F = est.transform(X)
    assert F.shape == (2, est.n_features_out_)
    assert np.isfinite(F).all()


def test_names_dtypes_and_shapes():
    X = np.random.RandomState(0).rand(3, 3 * 16 * 16).astype(np.float32)
    est = MorphologyFeatures((3, 16, -1)).fit(X)
    assert est.image_shape_ == (3, 16, 16)
    F = est.transform(X)
    assert F.dtype == np.float64  # from float32 rows too
    names = est.get_feature_names_out()
    assert len(names) == F.shape[1] == est.n_features_out_ == 28
    assert len(set(names)) == len(names)
    grey = MorphologyFeatures().fit(X[:, :256].astype(np.float64))
    assert grey.image_shape_ == (1, 16, 16)
    assert grey.transform(X[:, :256].astype(np.float64)).dtype == np.float64
    assert grey.n_features_out_ == 24


def test_rows_that_are_not_the_images_said():
    with pytest.raises(ValueError, match="10 features per row, which is not a square"):
        MorphologyFeatures().fit(np.zeros((2, 10)))
    with pytest.raises(ValueError, match=r"image_shape=\(3, 4, 4\) does not fit"):
        MorphologyFeatures((3, 4, 4)).fit(np.zeros((2, 16)))
    est = MorphologyFeatures().fit(np.zeros((2, 16)))
    with pytest.raises(ValueError, match="features"):
        est.transform(np.zeros((2, 25)))
    for bad in [(2, 2, 2, 2), (0, 4), (-1, -1), ("a", 4)]:
        with pytest.raises(ValueError, match="image_shape must be"):
            MorphologyFeatures(bad).fit(np.zeros((2, 16)))
    with pytest.raises(ValueError, match="NaN"):
        MorphologyFeatures().fit(np.full((2, 16), np.nan))


def test_clusters_round_and_elongated_galaxies_in_a_pipeline():
    rng = np.random.RandomState(0)
    images = [
        _galaxy(4, 4, angle=a) + 0.01 * rng.rand(3, SIDE, SIDE)
        for a in rng.uniform(0, np.pi, 10)
    ] + [
        _galaxy(1.5, 7, angle=a) + 0.01 * rng.rand(3, SIDE, SIDE)
        for a in rng.uniform(0, np.pi, 10)
    ]
    X = np.array(images).reshape(20, -1)
    pipe = make_pipeline(
        MorphologyFeatures((3, SIDE, SIDE)),
        StandardScaler(),
        KMeans(2, n_init=10, random_state=0),
    )
    labels = pipe.fit_predict(X)
    assert len(set(labels[:10])) == len(set(labels[10:])) == 1
    assert labels[0] != labels[10]


def test_features_do_not_depend_on_the_pixel_scale():
    # uint8 rows (a memmap of load_image_folder) measure as the same rows / 255
    rng = np.random.RandomState(1)
    images = [_galaxy(3, 5, arms=0.3, angle=a) for a in (0.2, 1.0)]
    X = np.clip(np.array(images) + 0.02 * rng.rand(2, 3, SIDE, SIDE), 0, 1)
    X = np.round(X.reshape(2, -1) * 255).astype(np.uint8)
    est = MorphologyFeatures((3, SIDE, SIDE))
    np.testing.assert_allclose(
        est.fit_transform(X), est.fit_transform(X / 255.0), rtol=1e-6, atol=1e-8
    )


def test_rows_on_disk_are_read_in_chunks(tmp_path, monkeypatch):
    import skdec._morphology as morphology

    rng = np.random.RandomState(2)
    X = np.round(rng.rand(7, 3 * 12 * 12) * 255).astype(np.uint8)
    on_disk = np.memmap(tmp_path / "rows.u8", dtype=np.uint8, mode="w+", shape=X.shape)
    on_disk[:] = X
    monkeypatch.setattr(morphology, "CHECK_BYTES", 3 * 12 * 12 * 8 * 3)  # 3 rows
    est = MorphologyFeatures((3, 12, 12))
    np.testing.assert_allclose(
        est.fit_transform(on_disk), est.fit_transform(X / 255.0), rtol=1e-5, atol=1e-6
    )
    bad = np.memmap(tmp_path / "rows.f4", dtype=np.float32, mode="w+", shape=(5, 16))
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MorphologyFeatures().fit_transform(bad)
