"""ContrastiveEncoder: SimCLR pretraining of a small conv encoder, and its
rotation-invariant pooling."""

import numpy as np
import pytest
import sklearn.base
import torch

from skdec import ContrastiveEncoder, DECClusterer, ShiftRotate
from skdec.nn import ConvFeatureEncoder, RandomShiftRotate, nt_xent_loss


def test_dihedral_pooling_is_invariant_and_training_sees_one_view():
    torch.manual_seed(0)
    enc = ConvFeatureEncoder((2, 8, 8), channels=(4, 6)).eval()
    x = torch.rand(3, 2, 8, 8)
    z = enc(x.reshape(3, -1))
    for view in (torch.rot90(x, 1, (2, 3)), x.flip(3), torch.rot90(x, 2, (2, 3))):
        torch.testing.assert_close(enc(view.reshape(3, -1)), z, atol=1e-5, rtol=0)
    assert torch.allclose(z.norm(dim=1), torch.ones(3))
    plain = ConvFeatureEncoder((2, 8, 8), channels=(4, 6), invariance="none").eval()
    plain.load_state_dict(enc.state_dict())
    assert not torch.allclose(plain(x.flip(3).reshape(3, -1)), plain(x.reshape(3, -1)))


def test_nt_xent_prefers_matching_views():
    torch.manual_seed(0)
    a = torch.randn(8, 5)
    assert nt_xent_loss(torch.cat([a, a]), 0.2) < nt_xent_loss(
        torch.cat([a, torch.randn(8, 5)]), 0.2
    )
    with pytest.raises(ValueError, match="two views"):
        nt_xent_loss(torch.randn(3, 5))


def test_flip_scale_brightness_augmentation():
    torch.manual_seed(0)
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 0] = 1  # a pixel at the left edge
    flip = RandomShiftRotate((1, 5, 5), max_shift=0, max_rotation=0, flip=True)
    outs = {
        tuple(flip(x.reshape(1, -1)).reshape(5, 5)[2].round().tolist())
        for _ in range(20)
    }
    assert (1.0, 0.0, 0.0, 0.0, 0.0) in outs and (0.0, 0.0, 0.0, 0.0, 1.0) in outs
    bright = RandomShiftRotate((1, 5, 5), max_shift=0, max_rotation=0, brightness=0.5)
    ones = bright(torch.ones(50, 25))
    assert 0.5 <= ones.min() < 0.9 and 1.1 < ones.max() <= 1.5
    with pytest.raises(ValueError, match="max_scale"):
        RandomShiftRotate((5, 5), max_scale=1.0)


def test_default_augmentation_draws_unchanged():
    # the new options draw nothing when off: the old stream of draws
    torch.manual_seed(0)
    a = RandomShiftRotate((1, 6, 6), 1.0, 10.0)(torch.rand(4, 36))
    torch.manual_seed(0)
    b = ShiftRotate(1 / 6, 10.0).build((1, 6, 6))(torch.rand(4, 36))
    torch.testing.assert_close(a, b)


def test_contrastive_encoder_in_dec():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 3 * 8 * 8).astype(np.float32)
    enc = ContrastiveEncoder(channels=(4, 8), epochs=2, batch_size=16)
    dec = DECClusterer(
        3, autoencoder=enc, image_shape=(3, 8, 8), init="kmeans", max_iter=20,
        random_state=0,
    ).fit(X)  # fmt: skip
    assert dec.transform(X).shape == (40, 8)
    again = sklearn.base.clone(dec).fit(X)
    np.testing.assert_array_equal(again.labels_, dec.labels_)  # same seed
    assert dec.get_params()["autoencoder__temperature"] == 0.2


def test_contrastive_encoder_bad_input():
    X = np.zeros((10, 64), dtype=np.float32)
    with pytest.raises(ValueError, match="image_shape"):
        DECClusterer(2, autoencoder=ContrastiveEncoder()).fit(X)
    with pytest.raises(ValueError, match="below one pixel"):
        ContrastiveEncoder(channels=(4, 4, 4, 4, 4)).pretrain(X, image_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="holds"):
        ContrastiveEncoder(channels=(4,)).pretrain(X, image_shape=(3, 8, 8))
