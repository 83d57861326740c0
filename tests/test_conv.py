import io

import numpy as np
import pytest
import torch
from torch import nn

from skdec.nn import (
    ClusteringLayer,
    ConvAutoencoder,
    ConvDecoder,
    ConvEncoder,
    DECModule,
    EncoderDecoder,
    RandomShiftRotate,
)
from skdec.nn._conv import _down, _Up

# small nets train faster on one thread than on two busy cores
pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = dict(channels=(4, 8), kernel_sizes=(3, 3), n_components=3)


@pytest.mark.parametrize(
    "image_shape, params, maps",
    [
        ((28, 28), {}, [(28, 28), (14, 14), (7, 7), (4, 4)]),
        ((8, 8), {}, [(8, 8), (4, 4), (2, 2), (1, 1)]),
        ((1, 28, 28), {}, [(28, 28), (14, 14), (7, 7), (4, 4)]),
        ((3, 32, 32), {}, [(32, 32), (16, 16), (8, 8), (4, 4)]),
        ((1, 5, 7), {}, [(5, 7), (3, 4), (2, 2), (1, 1)]),
        ((3, 13, 17), {}, [(13, 17), (7, 9), (4, 5), (2, 3)]),
        ((1, 2, 3), dict(channels=(4,), kernel_sizes=5), [(2, 3), (1, 2)]),
        ((1, 3, 64), {}, [(3, 64), (2, 32), (1, 16), (1, 8)]),
        ((2, 9, 10), dict(channels=(4, 8, 8), kernel_sizes=(4, 2, 6)), None),
        ((1, 11, 6), dict(channels=(4, 8), kernel_sizes=(1, 7)), None),
    ],
)
def test_shapes_for_any_image_size(image_shape, params, maps):
    ae = ConvAutoencoder(image_shape, **params)
    c, h, w = ae.image_shape
    assert (c, h, w) == ((1, *image_shape) if len(image_shape) == 2 else image_shape)
    x = torch.rand(3, c * h * w)
    z, x_hat = ae(x)
    assert z.shape == (3, 10) and x_hat.shape == (3, c * h * w)
    # every convolution halves the map, rounding up
    sizes = [s[1:] for s in ae.encoder.feature_shapes]
    assert sizes == [(h, w)] + [((a + 1) // 2, (b + 1) // 2) for a, b in sizes[:-1]]
    if maps is not None:
        assert sizes == maps
    assert ae.decoder.feature_shapes == ae.encoder.feature_shapes[::-1]
    # the recorded sizes are the ones the layers really produce
    maps_seen = [(c, h, w)]
    for layer in ae.encoder.convolutions:
        if isinstance(layer, nn.Conv2d):
            layer.register_forward_hook(lambda m, i, o: maps_seen.append(o.shape[1:]))
    for layer in ae.decoder.deconvolutions:
        if isinstance(layer, _Up):
            layer.register_forward_hook(lambda m, i, o: maps_seen.append(o.shape[1:]))
    ae(x)
    n = len(ae.encoder.feature_shapes)
    assert [tuple(s) for s in maps_seen[:n]] == ae.encoder.feature_shapes
    assert [tuple(s) for s in maps_seen[n:]] == ae.decoder.feature_shapes[1:]


def test_structure_linear_embedding_and_reconstruction():
    ae = ConvAutoencoder((1, 28, 28))
    convs = [m for m in ae.encoder.convolutions if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs] == [32, 64, 128]
    assert [m.kernel_size for m in convs] == [(5, 5), (5, 5), (3, 3)]
    assert all(m.stride == (2, 2) for m in convs)
    assert ae.encoder.embedding.in_features == 128 * 4 * 4
    ups = [m.conv for m in ae.decoder.deconvolutions if isinstance(m, _Up)]
    assert [(m.in_channels, m.out_channels) for m in ups] == [
        (128, 64),
        (64, 32),
        (32, 1),
    ]
    assert [m.kernel_size for m in ups] == [(3, 3), (5, 5), (5, 5)]
    # activation after every hidden layer, none after the embedding or the output
    assert isinstance(ae.encoder.convolutions[-1], nn.ReLU)
    assert isinstance(ae.decoder.projection[-1], nn.ReLU)
    assert isinstance(ae.decoder.deconvolutions[-1], _Up)
    assert sum(isinstance(m, nn.ReLU) for m in ae.decoder.deconvolutions) == 2
    # the reconstruction is linear: negative values come out unclipped
    _, x_hat = ae(torch.rand(8, 784))
    assert (x_hat < 0).any()
    assert isinstance(
        ConvAutoencoder((8, 8), activation="tanh").encoder.convolutions[1], nn.Tanh
    )


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("n", [(1, 2), (5, 6), (7, 8)])
def test_decoder_layer_is_the_transpose_of_the_encoder_layer(k, n):
    # the transposed convolution computes the adjoint of the strided
    # convolution (its gradient), so the decoder mirrors the encoder exactly
    down = nn.Sequential(*_down(3, 2, k))
    conv = down[-1]
    n_in = tuple((s + 1) // 2 for s in n)
    up = _Up(2, 3, k, n_in, n)
    with torch.no_grad():
        conv.bias.zero_()
        up.conv.bias.zero_()
        up.conv.weight.copy_(conv.weight)
    x = torch.rand(2, 3, *n, dtype=torch.float64, requires_grad=True)
    down, up = down.double(), up.double()
    y = down(x)
    assert y.shape[2:] == n_in
    g = torch.rand_like(y)
    (grad,) = torch.autograd.grad(y, x, g)
    torch.testing.assert_close(up(g), grad)


def test_encoder_and_decoder_on_their_own():
    torch.manual_seed(0)
    ae = ConvAutoencoder((3, 13, 17), **SMALL)
    x = torch.rand(4, 3 * 13 * 17)
    z, x_hat = ae(x)
    torch.testing.assert_close(ae.encoder(x), z)
    torch.testing.assert_close(ae.decoder(z), x_hat)
    torch.testing.assert_close(EncoderDecoder(ae.encoder, ae.decoder)(x)[1], x_hat)
    encoder = ConvEncoder((3, 13, 17), **SMALL)
    decoder = ConvDecoder((3, 13, 17), **SMALL)
    assert encoder(x).shape == (4, 3)
    assert decoder(torch.zeros(6, 3)).shape == (6, 3 * 13 * 17)
    assert EncoderDecoder(encoder, decoder, corruption=0.2)(x)[1].shape == x.shape


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    ae = ConvAutoencoder((1, 9, 10), channels=(4, 8, 8), kernel_sizes=(5, 4, 3))
    x = torch.rand(16, 90)
    _, x_hat = ae(x)
    nn.functional.mse_loss(x_hat, x).backward()
    for name, p in ae.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def _blobs(n, size, seed=0):
    """Images of one bright Gaussian blob at a random place."""
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 2, 1, 1, generator=g) * (size - 4) + 2
    grid = torch.arange(size, dtype=torch.float32)
    ii, jj = torch.meshgrid(grid, grid, indexing="ij")
    d2 = (ii - centre[:, 0]) ** 2 + (jj - centre[:, 1]) ** 2
    return torch.exp(-d2 / 4).reshape(n, -1)


def test_training_reduces_reconstruction_loss():
    torch.manual_seed(0)
    X = _blobs(32, 8)
    ae = ConvAutoencoder((8, 8), channels=(8, 16), kernel_sizes=3, n_components=4)
    opt = torch.optim.Adam(ae.parameters(), lr=1e-2)

    def loss():
        return nn.functional.mse_loss(ae(X)[1], X)

    with torch.no_grad():
        start = loss().item()
    for _ in range(200):
        opt.zero_grad()
        loss().backward()
        opt.step()
    with torch.no_grad():
        end = loss().item()
    # far below predicting the mean image (the pixels' variance)
    assert end < 0.1 * X.var(0).mean().item()
    assert end < 0.05 * start


def test_dec_module_and_augmentation():
    torch.manual_seed(0)
    shape = (1, 10, 10)
    ae = ConvAutoencoder(shape, **SMALL)
    module = DECModule(
        ae.encoder, ClusteringLayer(4, 3, centers=torch.randn(4, 3)), ae.decoder
    )
    x = RandomShiftRotate(shape, max_shift=2, max_rotation=15)(torch.rand(8, 100))
    q, z, x_hat = module(x)
    assert q.shape == (8, 4) and z.shape == (8, 3) and x_hat.shape == (8, 100)
    torch.testing.assert_close(q.sum(1), torch.ones(8))
    (q.log().sum() + x_hat.sum()).backward()
    assert module.clustering_layer.centers.grad is not None
    assert all(p.grad is not None for p in ae.parameters())


def test_deterministic_under_manual_seed():
    def build():
        torch.manual_seed(3)
        ae = ConvAutoencoder((3, 13, 17), **SMALL)
        return ae, ae(torch.rand(4, 663))

    (a, (za, xa)), (b, (zb, xb)) = build(), build()
    assert torch.equal(za, zb) and torch.equal(xa, xb)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name


def test_state_dict_round_trip():
    torch.manual_seed(0)
    ae = ConvAutoencoder((1, 7, 9), **SMALL)
    buffer = io.BytesIO()
    torch.save(ae.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(1)
    other = ConvAutoencoder((1, 7, 9), **SMALL)
    x = torch.rand(5, 63)
    assert not torch.equal(other(x)[1], ae(x)[1])
    other.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(other(x)[1], ae(x)[1])


def test_torch_export_with_any_batch_size():
    # torch.export replaces TorchScript (torch.jit.script is deprecated)
    torch.manual_seed(0)
    ae = ConvAutoencoder(
        (3, 13, 17), channels=(4, 8), kernel_sizes=(4, 3), n_components=3
    )
    x = torch.rand(2, 663)
    batch = torch.export.Dim("batch")
    exported = torch.export.export(ae, (x,), dynamic_shapes=({0: batch},)).module()
    x = torch.rand(5, 663)
    for got, expected in zip(exported(x), ae(x)):
        torch.testing.assert_close(got, expected)


def test_bfloat16_autocast():
    ae = ConvAutoencoder((8, 8), **SMALL)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z, x_hat = ae(torch.rand(4, 64))
    assert z.dtype == x_hat.dtype == torch.bfloat16
    assert x_hat.shape == (4, 64)


def test_channels_last_weights_give_the_same_result():
    torch.manual_seed(0)
    ae = ConvAutoencoder((3, 13, 17), **SMALL)
    x = torch.rand(4, 663)
    expected = ae(x)
    ae = ae.to(memory_format=torch.channels_last)
    assert ae.encoder.convolutions[0].weight.is_contiguous(
        memory_format=torch.channels_last
    )
    for got, want in zip(ae(x), expected):
        torch.testing.assert_close(got, want)


def test_wrong_number_of_features():
    ae = ConvAutoencoder((1, 8, 8), **SMALL)
    with pytest.raises(ValueError, match=r"rows of 64 features .*shape \[2, 63\]"):
        ae(torch.rand(2, 63))
    with pytest.raises(ValueError, match="rows of 64 features"):
        ae.encoder(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"3 components, got input of shape \[2, 4\]"):
        ae.decoder(torch.rand(2, 4))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(image_shape=(28,)), "got 1 numbers"),
        (dict(image_shape=(1, 1, 28, 28)), "got 4 numbers"),
        (dict(image_shape=28), "image_shape must be"),
        (dict(image_shape=(0, 28)), "image_shape must be a positive int, got 0"),
        (dict(image_shape=(28.0, 28)), "positive int, got 28.0"),
        (dict(image_shape=(1, 1)), "single pixel"),
        (dict(channels=()), "at least one convolution"),
        (dict(channels=32), "channels must be a sequence"),
        (dict(channels=(32, -1, 8)), "channels must be a positive int, got -1"),
        (dict(channels=(32, True, 8)), "positive int, got True"),
        (dict(kernel_sizes=(5, 5)), "kernel_sizes has 2 entries but channels has 3"),
        (dict(kernel_sizes=(5, 0, 3)), "kernel_sizes must be a positive int, got 0"),
        (dict(kernel_sizes="5"), "kernel_sizes must be an int or a sequence"),
        (dict(n_components=0), "n_components must be a positive int"),
        (dict(activation="swish"), "Unknown activation 'swish'"),
    ],
)
def test_bad_parameters(kwargs, match):
    params = dict(image_shape=(28, 28)) | kwargs
    for cls in (ConvAutoencoder, ConvEncoder, ConvDecoder):
        with pytest.raises(ValueError, match=match):
            cls(**params)


def test_shape_sequences_of_any_kind():
    ae = ConvAutoencoder(np.array([1, 6, 5]), channels=[4, 8], kernel_sizes=np.int64(3))
    assert ae.image_shape == (1, 6, 5)
    assert ConvAutoencoder(torch.Size([6, 5])).image_shape == (1, 6, 5)


def test_image_too_small_for_the_layers():
    with pytest.raises(
        ValueError,
        match=r"too small for 3 stride-2 convolutions: the feature maps shrink "
        r"3x2 -> 2x1 -> 1x1 after 2 convolution\(s\).* use at most 2",
    ):
        ConvAutoencoder((3, 2))
    assert ConvAutoencoder(
        (3, 2), channels=(4, 8), kernel_sizes=3
    ).encoder.feature_shapes[-1] == (
        8,
        1,
        1,
    )
