import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skdec.nn import (
    ClusteringLayer,
    DECModule,
    DenoisingLayerPair,
    MLPAutoencoder,
    make_activation,
    soft_assignment,
    target_distribution,
)


def _q_numpy(z, mu, alpha):
    d2 = ((z[:, None, :] - mu[None, :, :]) ** 2).sum(-1)
    k = (1 + d2 / alpha) ** (-(alpha + 1) / 2)
    return k / k.sum(1, keepdims=True)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 3.0])
def test_soft_assignment_matches_formula(alpha):
    rng = np.random.RandomState(0)
    z, mu = rng.randn(20, 4), rng.randn(5, 4)
    q = soft_assignment(torch.tensor(z), torch.tensor(mu), alpha)
    assert q.dtype == torch.float64  # never computed below the input's precision
    np.testing.assert_allclose(q.numpy(), _q_numpy(z, mu, alpha), rtol=1e-12)


def test_soft_assignment_in_float32_under_autocast():
    # bfloat16 distances would lose the small differences between nearby centres
    with torch.autocast("cpu", dtype=torch.bfloat16):
        q = soft_assignment(
            torch.tensor([[0.0, 0.0]], dtype=torch.bfloat16),
            torch.tensor([[1e-3, 0.0], [2e-3, 0.0]]),
        )
    assert q.dtype == torch.float32 and q[0, 0] > q[0, 1]


def test_soft_assignment_far_points_do_not_underflow():
    z = torch.tensor([[1e6, 0.0]])
    q = soft_assignment(z, torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
    assert torch.isfinite(q).all()
    assert torch.allclose(q.sum(1), torch.ones(1))


def test_target_distribution_formula():
    q = torch.tensor([[0.6, 0.4], [0.5, 0.5], [0.1, 0.9]], dtype=torch.float64)
    f = q.sum(0)
    w = q**2 / f
    np.testing.assert_allclose(
        target_distribution(q).numpy(), (w / w.sum(1, keepdim=True)).numpy()
    )


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (6, 3), elements=st.floats(0.01, 1.0)))
def test_target_distribution_is_sharper(q):
    q = torch.tensor(q / q.sum(1, keepdims=True))
    p = target_distribution(q)
    assert torch.allclose(p.sum(1), torch.ones(6, dtype=torch.float64))
    assert (p >= 0).all()


def test_clustering_layer_shape_error():
    with pytest.raises(ValueError, match="expected"):
        ClusteringLayer(3, 2, centers=torch.zeros(2, 2))


def test_autoencoder_structure():
    ae = MLPAutoencoder(10, hidden_dims=(8, 6), n_components=2)
    assert ae.dims == (10, 8, 6, 2)
    linear = [m for m in ae.encoder if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linear] == [8, 6, 2]
    # embedding and reconstruction layers are linear (no trailing activation)
    assert isinstance(ae.encoder[-1], torch.nn.Linear)
    assert isinstance(ae.decoder[-1], torch.nn.Linear)


def test_denoising_pair_corrupts_only_in_training():
    pair = DenoisingLayerPair(8, 4, corruption=0.5)
    x = torch.ones(100, 8)
    pair.eval()
    h1, _ = pair(x)
    h2, _ = pair(x)
    assert torch.equal(h1, h2)
    pair.train()
    assert not torch.equal(pair(x)[0], h1)


def test_dec_module_with_decoder():
    module = DECModule(
        torch.nn.Linear(4, 2), ClusteringLayer(3, 2), torch.nn.Linear(2, 4)
    )
    q, z, x_hat = module(torch.ones(5, 4))
    assert x_hat.shape == (5, 4)


def test_unknown_activation():
    with pytest.raises(ValueError, match="Unknown activation"):
        make_activation("swishy")


def test_random_shift_rotate_identity_and_shift():
    from skdec.nn import RandomShiftRotate

    x = torch.rand(5, 3 * 6 * 4)
    same = RandomShiftRotate((3, 6, 4), max_shift=0, max_rotation=0)(x)
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    moved = RandomShiftRotate((3, 6, 4), max_shift=2, max_rotation=10)(x)
    assert moved.shape == x.shape and not torch.allclose(moved, x)


def test_random_shift_rotate_shape_errors():
    from skdec.nn import RandomShiftRotate

    with pytest.raises(ValueError, match="image_shape must be"):
        RandomShiftRotate((4,))
    with pytest.raises(ValueError, match="holds 16"):
        RandomShiftRotate((4, 4))(torch.zeros(2, 15))
