import numpy as np

from skdec._images import display_images, tile_images


def test_display_images_puts_channels_last():
    images = np.random.RandomState(0).rand(5, 3, 4, 6)  # (n, C, H, W)
    shown = display_images(images.reshape(5, -1), (3, 4, 6))
    assert shown.shape == (5, 4, 6, 3)
    np.testing.assert_array_equal(shown, images.transpose(0, 2, 3, 1))
    gray = display_images(images[:, 0].reshape(5, -1), (1, 4, 6))
    np.testing.assert_array_equal(gray, images[:, 0])
    assert display_images(images[:, :2].reshape(5, -1), (2, 4, 6)) is None


def test_display_images_scales_colours_into_unit_range():
    images = np.linspace(-2, 5, 5 * 3 * 2 * 2).reshape(5, 12)
    shown = display_images(images, (3, 2, 2))
    assert shown.min() == 0 and shown.max() == 1


def test_tile_images_grid_gaps_and_scaling():
    images = np.arange(3 * 2 * 2, dtype=float).reshape(3, 2, 2)
    grid = tile_images(images, 2)
    assert grid.shape == (5, 5)
    # each single-channel image is scaled to [0, 1] on its own
    np.testing.assert_array_equal(grid[:2, :2], [[0, 1 / 3], [2 / 3, 1]])
    np.testing.assert_array_equal(grid[3:, :2], [[0, 1 / 3], [2 / 3, 1]])
    assert np.isnan(grid[2]).all() and np.isnan(grid[:, 2]).all()
    assert np.isnan(grid[3:, 3:]).all()  # the empty cell
    constant = tile_images(np.full((1, 2, 2), 7.0), 1)
    np.testing.assert_array_equal(constant, 0)
    rgb = tile_images(np.zeros((2, 2, 2, 3)), 2)
    assert rgb.shape == (2, 5, 3) and (rgb[:, 2] == 1).all()  # white gaps
