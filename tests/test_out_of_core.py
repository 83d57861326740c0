"""Data larger than memory: memmaps, HDF5 / zarr datasets and other array-likes
read batch by batch, uint8 pixels divided by 255 per batch."""

import pickle
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from skorch.dataset import Dataset

import skdec._validation
import skdec.net._loader
from skdec import DECClusterer, FeatureExtractor, MLPAutoencoder, StackedAutoencoder
from skdec.datasets import load_digits, load_image_folder
from skdec.net import (
    ArrayRows,
    BlockShuffleIterator,
    TensorBatchIterator,
    read_ahead,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _fast(n_clusters=10, **kwargs):
    params = dict(
        autoencoder=MLPAutoencoder((32,), 4, epochs=4, batch_size=64),
        init="kmeans",
        n_init=2,
        max_iter=40,
        update_interval=10,
        batch_size=64,
        random_state=0,
    )
    return DECClusterer(n_clusters, **{**params, **kwargs})


@pytest.fixture(scope="module")
def pixels():
    """400 digits as uint8 pixels (0-255) and the same as float32 / 255."""
    X = load_digits(return_X_y=True)[0][:400]
    X8 = np.rint(X * 255).astype(np.uint8)
    return X8, X8 / np.float32(255)


def _memmap(path, array, mode="r"):
    out = np.memmap(path, dtype=array.dtype, mode="w+", shape=array.shape)
    out[:] = array
    out.flush()
    return np.memmap(path, dtype=array.dtype, mode=mode, shape=array.shape)


def _same_fit(a, b, Xa, Xb):
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.predict_proba(Xa), b.predict_proba(Xb))
    np.testing.assert_array_equal(a.transform(Xa), b.transform(Xb))
    assert a.score(Xa) == b.score(Xb)


class RowsOnly:
    """An array-like with nothing but ``shape``, ``dtype`` and ``__getitem__``
    on row slices; refuses slices longer than ``limit`` rows and records the
    longest one asked for."""

    def __init__(self, array, limit):
        self._array, self._limit = array, limit
        self.shape, self.dtype = array.shape, array.dtype
        self.longest = 0

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("row slices only")
        start, stop, _ = index.indices(self.shape[0])
        if stop - start > self._limit:
            raise AssertionError(f"asked for {stop - start} rows at once")
        self.longest = max(self.longest, stop - start)
        return self._array[index].copy()


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 20 rows of 64 uint8 values, 4 shuffled together."""
    monkeypatch.setattr(skdec.net._loader, "BLOCK_BYTES", 64 * 20)
    monkeypatch.setattr(skdec.net._loader, "WINDOW_BLOCKS", 4)


# ------------------------------------------------------------------ fit paths
def test_uint8_memmap_fit_equals_float_array_fit(pixels, tmp_path):
    """All rows in one block: the memmap path takes the in-memory path's
    batches, so with augmentation (image rows) the fits are identical."""
    X8, Xf = pixels
    mm = _memmap(tmp_path / "x.u8", X8)
    a = _fast(image_shape=(8, 8), augment=True).fit(Xf)
    b = _fast(image_shape=(8, 8), augment=True).fit(mm)
    _same_fit(a, b, Xf, mm)
    assert a.augmenter_ is not None
    c = _fast(image_shape=(8, 8), augment=True).fit(X8)  # in-memory uint8 too
    _same_fit(a, c, Xf, X8)


def test_float_memmap_fit_equals_array_fit(pixels, tmp_path):
    _, Xf = pixels
    X64 = Xf.astype(np.float64)
    mm = _memmap(tmp_path / "x.f8", X64)
    _same_fit(_fast().fit(X64), _fast().fit(mm), X64, mm)


def test_many_blocks_cluster_like_in_memory(small_blocks):
    X, _ = make_blobs(600, n_features=64, centers=4, random_state=0)
    X8 = np.rint(255 * (X - X.min()) / (X.max() - X.min())).astype(np.uint8)
    params = dict(n_clusters=4, update_interval=20, max_iter=60)
    a = _fast(**params).fit(X8 / np.float32(255))
    b = _fast(**params).fit(RowsOnly(X8, limit=1024))
    assert adjusted_rand_score(a.labels_, b.labels_) > 0.95


def test_fit_reads_slices_only_never_the_whole_array(small_blocks, monkeypatch):
    """Every read is a slice of at most a block, a window, a check chunk or
    an inference batch; none is of all rows."""
    monkeypatch.setattr(skdec._validation, "CHECK_BYTES", 4 * 64 * 100)
    X = np.random.RandomState(0).rand(2500, 64).astype(np.float32)
    data = RowsOnly(X, limit=1024)  # INFERENCE_BATCH_SIZE rows at most
    dec = _fast(max_iter=30).fit(data)
    data.longest = 0
    dec.predict(data)
    assert data.longest == 1024 < len(X) // 2
    assert dec.labels_.shape == (2500,)


def test_fit_peak_memory_far_below_the_data(tmp_path, monkeypatch):
    """tracemalloc sees numpy's allocations: the float32 copy of X that fit
    made before would take 4 x 20000 x 784 bytes (63 MB)."""
    import tracemalloc

    monkeypatch.setattr(skdec.net._loader, "WINDOW_BLOCKS", 4)
    X8 = np.random.RandomState(0).randint(0, 256, (20000, 784)).astype(np.uint8)
    mm = _memmap(tmp_path / "big.u8", X8)
    del X8
    dec = _fast(
        n_clusters=3,
        autoencoder=MLPAutoencoder((16,), 3, epochs=1, batch_size=256),
        max_iter=10,
        batch_size=256,
    )
    tracemalloc.start()
    try:
        dec.fit(mm)
        dec.predict(mm)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < mm.size * 4 / 2
    assert len(pickle.dumps(dec)) < mm.size / 4  # no rows kept in the model


def test_stacked_autoencoder_on_rows_on_disk(small_blocks, pixels, tmp_path):
    """Layer-wise pretraining reads the lower pairs' codes batch by batch."""
    X8, _ = pixels
    ae = StackedAutoencoder((16,), 4, layer_epochs=1, epochs=1, batch_size=64)
    dec = _fast(autoencoder=ae, max_iter=10).fit(_memmap(tmp_path / "x", X8))
    assert len(dec.pretrain_history_) == 3
    assert np.isfinite(dec.pretrain_losses_).all()


def test_h5py_dataset(pixels, tmp_path):
    h5py = pytest.importorskip("h5py")
    X8, Xf = pixels
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("x", data=X8, chunks=(50, 64))
    with h5py.File(tmp_path / "x.h5", "r") as f:
        b = _fast().fit(f["x"])
        _same_fit(_fast().fit(Xf), b, Xf, f["x"])


def test_zarr_array(pixels, tmp_path):
    zarr = pytest.importorskip("zarr")
    X8, Xf = pixels
    z = zarr.open_array(
        str(tmp_path / "x.zarr"), mode="w", shape=X8.shape, dtype="u1", chunks=(50, 64)
    )
    z[:] = X8
    z = zarr.open_array(str(tmp_path / "x.zarr"), mode="r")
    _same_fit(_fast().fit(Xf), _fast().fit(z), Xf, z)


def test_pretraining_cache_keys_on_the_content(pixels, tmp_path):
    X8, _ = pixels
    mm = _memmap(tmp_path / "x.u8", X8, mode="r+")
    cache = tmp_path / "cache"
    a = _fast(memory=str(cache)).fit(mm)
    b = _fast(memory=str(cache)).fit(mm)  # a cache hit: the same fit
    np.testing.assert_array_equal(a.labels_, b.labels_)
    entries = list(cache.rglob("output.pkl"))
    assert len(entries) == 1
    mm[0, 0] = 255 - mm[0, 0]
    mm.flush()
    _fast(memory=str(cache)).fit(mm)
    assert len(list(cache.rglob("output.pkl"))) == 2


# ---------------------------------------------------------------- the checks
def test_nan_in_float_memmap_names_the_rows(tmp_path):
    X = np.random.RandomState(0).rand(300, 8).astype(np.float32)
    X[217, 3] = np.nan
    mm = _memmap(tmp_path / "nan.f4", X)
    with pytest.raises(ValueError, match=r"NaN .* rows 0 to 299: first at row 217"):
        _fast(n_clusters=3).fit(mm)
    dec = _fast(n_clusters=3).fit(X[:200])
    with pytest.raises(ValueError, match="first at row 217"):
        dec.predict(mm)  # checked batch by batch as it is read


def test_too_large_for_float32_is_infinity(tmp_path):
    X = np.random.RandomState(0).rand(50, 4)
    X[7, 0] = 1e300
    with pytest.raises(ValueError, match="infinity .* first at row 7"):
        _fast(n_clusters=3).fit(_memmap(tmp_path / "big.f8", X))


def test_wrong_n_features_at_predict(pixels, tmp_path):
    X8, _ = pixels
    dec = _fast().fit(_memmap(tmp_path / "x.u8", X8))
    assert dec.n_features_in_ == 64
    other = _memmap(tmp_path / "y.u8", X8[:, :60].copy())
    for method in (dec.predict, dec.transform, dec.predict_proba, dec.score):
        with pytest.raises(ValueError, match="X has 60 features, but DECClusterer"):
            method(other)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((20, 4), dtype=np.int16), "dtype int16; it must be uint8"),
        (np.zeros(20, dtype=np.uint8), r"Expected a 2D array-like .* shape \(20,\)"),
        (np.zeros((0, 4), dtype=np.uint8), "0 sample"),
    ],
)
def test_bad_out_of_core_input(array, message, tmp_path):
    data = RowsOnly(array, limit=10**6)
    with pytest.raises(ValueError, match=message):
        _fast(n_clusters=1).fit(data)


def test_feature_extractor_reads_pixels_per_batch(pixels, tmp_path):
    X8, Xf = pixels
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = torch.nn.Linear(64, 5)
    extractor = FeatureExtractor(net, batch_size=32)
    a = extractor.fit(Xf).transform(Xf)
    data = RowsOnly(X8, limit=32)
    b = FeatureExtractor(net, batch_size=32).fit(data).transform(data)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------ the iterators
def test_block_shuffle_yields_every_row_once_in_mixed_batches():
    X = np.repeat(np.arange(1000, dtype=np.float32)[:, None], 4, axis=1)
    it = BlockShuffleIterator(
        Dataset(ArrayRows(X), np.arange(1000)),
        64,
        shuffle=True,
        drop_last=True,
        block_bytes=16 * 10,  # 10 rows a block
        window_blocks=8,
    )
    torch.manual_seed(0)
    batches = list(it)
    assert len(batches) == len(it) == 1000 // 64
    seen = np.concatenate([yb.numpy() for _, yb in batches])
    assert len(np.unique(seen)) == len(seen) == 64 * 15
    for xb, yb in batches:  # each row comes with its own index
        np.testing.assert_array_equal(xb[:, 0].numpy(), yb.numpy())
    blocks = np.unique(batches[0][1].numpy() // 10)
    assert len(blocks) > 4  # a batch mixes rows from several blocks


def test_one_block_shuffles_like_the_in_memory_iterator():
    X8 = np.random.RandomState(0).randint(0, 256, (100, 3)).astype(np.uint8)
    Xf = X8 / np.float32(255)
    torch.manual_seed(3)
    a = list(TensorBatchIterator(Dataset(Xf, np.arange(100)), 32, shuffle=True))
    torch.manual_seed(3)
    b = list(BlockShuffleIterator(Dataset(ArrayRows(X8), np.arange(100)), 32, True))
    assert len(a) == len(b) == 4
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_read_ahead_raises_in_place_and_stops_when_closed():
    def items():
        yield 1
        raise OSError("disk gone")

    reader = read_ahead(items())
    assert next(reader) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(reader)
    produced = []

    def counting():
        for i in range(10**6):
            produced.append(i)
            yield i

    reader = read_ahead(counting(), depth=2)
    assert next(reader) == 0
    reader.close()
    time.sleep(0.2)
    assert len(produced) <= 4  # nothing is read after the close
    names = [t.name for t in threading.enumerate()]
    assert sum(name.startswith("skdec-read-ahead") for name in names) <= 1


@pytest.mark.cuda
def test_cuda_batches_are_staged_from_the_host(pixels, tmp_path):
    X8, Xf = pixels
    mm = _memmap(tmp_path / "x.u8", X8)
    it = BlockShuffleIterator(Dataset(ArrayRows(mm), np.arange(len(mm))), 64,
                              device="cuda")  # fmt: skip
    xb, yb = next(iter(it))
    assert xb.is_cuda and yb.is_cuda
    torch.testing.assert_close(xb.cpu(), torch.from_numpy(Xf[:64]))
    dec = _fast(device="cuda").fit(mm)
    assert dec.predict(mm).shape == (len(mm),)


# --------------------------------------------------------- the image folder
def _write_images(folder, n=6):
    rng = np.random.RandomState(0)
    for i in range(n):
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        pixels = rng.randint(0, 256, (5, 4, 3)).astype(np.uint8)
        Image.fromarray(pixels).save(sub / f"{i}.png")


def test_image_folder_memmap_is_written_once_and_reused(tmp_path, monkeypatch):
    import skdec._image_folder as image_folder

    _write_images(tmp_path / "imgs")
    path = tmp_path / "cache" / "pixels.u8"
    plain = load_image_folder(tmp_path / "imgs")
    first = load_image_folder(tmp_path / "imgs", memmap=path)
    assert isinstance(first.data, np.memmap) and first.data.dtype == np.uint8
    assert not first.data.flags.writeable
    np.testing.assert_array_equal(first.data / np.float32(255), plain.data)
    np.testing.assert_array_equal(first.images / np.float32(255), plain.images)
    assert first.filenames.tolist() == plain.filenames.tolist()
    assert first.target.tolist() == plain.target.tolist()
    assert (tmp_path / "cache" / "pixels.u8.json").is_file()

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    with monkeypatch.context() as patch:
        patch.setattr(image_folder, "_decode", no_decoding)
        again = load_image_folder(tmp_path / "imgs", memmap=path)
    np.testing.assert_array_equal(again.data, first.data)
    assert again.target.tolist() == plain.target.tolist()

    # a changed file (size and time), another option: decoded anew
    Image.fromarray(np.zeros((5, 4, 3), dtype=np.uint8)).save(tmp_path / "imgs/a/1.png")
    changed = load_image_folder(tmp_path / "imgs", memmap=path)
    assert changed.data[0].max() == 0  # a/1.png is the first file
    gray = load_image_folder(tmp_path / "imgs", memmap=path, color="grayscale")
    assert gray.image_shape == (1, 5, 4)


def test_image_folder_memmap_skips_and_fits(tmp_path):
    _write_images(tmp_path / "imgs", n=8)
    (tmp_path / "imgs" / "a" / "bad.png").write_bytes(b"not an image")
    path = tmp_path / "pixels.u8"
    bunch = load_image_folder(tmp_path / "imgs", memmap=path, on_error="skip")
    assert bunch.n_skipped == 1 and bunch.data.shape == (8, 60)
    again = load_image_folder(tmp_path / "imgs", memmap=path, on_error="skip")
    assert again.skipped == bunch.skipped
    np.testing.assert_array_equal(again.data, bunch.data)
    dec = _fast(n_clusters=2, image_shape=bunch.image_shape).fit(bunch.data)
    assert dec.labels_.shape == (8,)


def test_cluster_surgery_reads_rows_as_fit_does(pixels, tmp_path):
    from skdec import dissolve_cluster

    X8, Xf = pixels
    dec = _fast().fit(Xf)
    a = dissolve_cluster(dec, 0, "delete", Xf, refine_iter=10, random_state=0)
    b = dissolve_cluster(
        dec, 0, "delete", _memmap(tmp_path / "x.u8", X8), refine_iter=10,
        random_state=0,
    )  # fmt: skip
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
