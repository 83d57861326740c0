"""FeatureExtractor: a frozen pretrained network as a scikit-learn transformer.

ONNX models run through onnxruntime, an optional dependency
(``pip install 'skdec[onnx]'``), imported only when an ONNX model is used.
"""

from __future__ import annotations

import copy
import io
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._shapes import check_image_shape
from ._validation import validate_rows
from .net._device import resolve_device

__all__ = ["FeatureExtractor"]

_ONNX_HINT = "pip install 'skdec[onnx]'"
_FORMATS = (
    "FeatureExtractor reads TorchScript files (written by torch.jit.save, "
    "usually named .pt, .pth, .ts or .torchscript) and ONNX files (.onnx). A "
    "state_dict or a module written with torch.save is not TorchScript: pass "
    "the torch.nn.Module itself, or script or trace it and save it with "
    "torch.jit.save."
)
# Input dtypes kept as they are by validation; others become float32. Each
# batch is then converted to float32, so X is never copied whole. Rows on
# disk and uint8 rows are read batch by batch (skdec._validation).
_DTYPES = [np.float32, np.float64]


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError(
            "Running an ONNX model needs the optional dependency onnxruntime; "
            f"install it with: {_ONNX_HINT}"
        ) from exc
    return onnxruntime


def _onnx_session(data):
    """An onnxruntime session (CPU provider) over the bytes of an ONNX model."""
    ort = _import_onnxruntime()
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _freeze(module):
    """Evaluation mode, no gradients (per parameter: ScriptModules have no
    ``requires_grad_``)."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def _check_channel_values(value, name, sample_shape):
    """``mean`` or ``std`` as a float32 array broadcasting over one sample of
    ``sample_shape`` (one value per channel: ``(C, 1, 1)`` or ``(n_features,)``)."""
    values = np.asarray(value, dtype=np.float64)
    n_channels = sample_shape[0]
    if values.ndim > 1 or (values.ndim == 1 and len(values) != n_channels):
        per = "channel" if len(sample_shape) == 3 else "feature (no image_shape)"
        raise ValueError(
            f"{name} must be a number or a sequence of one value per {per}, "
            f"{n_channels} in all; got {value!r}."
        )
    if not np.isfinite(values).all():
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if name == "std" and (values <= 0).any():
        raise ValueError(f"std must be positive, got {value!r}.")
    if values.ndim == 1 and len(sample_shape) == 3:
        values = values.reshape(-1, 1, 1)
    return values.astype(np.float32)


class _ScriptedModule:
    """A TorchScript module as the bytes of ``torch.jit.save`` (they pickle;
    the module does not)."""

    def __init__(self, module):
        buffer = io.BytesIO()
        torch.jit.save(module, buffer)
        self.data = buffer.getvalue()

    def load(self, map_location=None):
        return torch.jit.load(io.BytesIO(self.data), map_location=map_location)


class FeatureExtractor(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Features of a frozen pretrained network, computed batch by batch.

    Each row of ``X`` (a flattened image, or a plain feature vector) goes
    through ``model`` in evaluation mode without gradients, and the network's
    output for it, flattened, is its feature vector: for instance a pretrained
    CNN turns image rows into embeddings for
    ``make_pipeline(FeatureExtractor(net, image_shape=(3, 32, 32)),
    DECClusterer(n_clusters=10))``. The network is never trained or modified.

    Parameters
    ----------
    model : torch.nn.Module, str or os.PathLike
        The network: a module (copied in ``fit``; the copy is used), or the
        path to a TorchScript file (written by ``torch.jit.save``) or to an
        ONNX file (name ending in ``.onnx``; run on onnxruntime's CPU
        provider, the optional extra ``pip install 'skdec[onnx]'``). It must
        map a batch of ``b`` samples to one tensor of ``b`` rows.

    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(channels, height, width)`` of one sample:
        each batch is reshaped to ``(b, channels, height, width)`` before the
        network. None feeds the rows as they are, ``(b, n_features)``.

    mean : float or array-like of shape (channels,), default=None
        Subtracted from the input, per channel (per feature without
        ``image_shape``), before the network; None subtracts nothing. For
        ImageNet-trained networks on pixels in [0, 1] this is
        ``(0.485, 0.456, 0.406)``.

    std : float or array-like of shape (channels,), default=None
        The centred input is divided by it, per channel (per feature without
        ``image_shape``); None divides by nothing. ImageNet's is
        ``(0.229, 0.224, 0.225)``.

    batch_size : int, default=256
        Samples per forward pass. Every batch is padded to this many rows, so
        that a sample's features do not depend on which samples are
        transformed with it (see Notes). An ONNX model with a fixed batch
        dimension runs batches of that size instead.

    device : str or torch.device, default='cpu'
        Torch device of the network, for example 'cpu' or 'cuda'. ONNX models
        run on the CPU.

    Attributes
    ----------
    model_ : torch.nn.Module or onnxruntime.InferenceSession
        The network used: the copy of ``model`` or the loaded file, in
        evaluation mode, or the ONNX session.

    image_shape_ : tuple of int or None
        ``(channels, height, width)`` of one sample, or None for flat rows.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    n_features_out_ : int
        Width of the flattened network output.

    device_ : torch.device
        Device of the network.

    See Also
    --------
    DECClusterer : Clusters the features, or fine-tunes an encoder with its
        ``encoder`` parameter.

    Notes
    -----
    ``X`` may be larger than memory, as for :class:`~skdec.DECClusterer`
    (its Notes): a ``numpy.memmap``, an HDF5 or zarr dataset or any object
    with ``shape``, ``dtype`` and ``__getitem__`` on row slices is read one
    batch at a time, never copied whole. **uint8 rows are pixel values and
    are divided by 255** as each batch is read (before ``mean`` and
    ``std``). Such inputs are checked for their shape, dtype and number of
    features without sklearn's ``validate_data``; their float rows are
    checked for NaN and infinity batch by batch as they are read.

    Features are float32, as the network computes them (float64 would double
    the memory of large feature matrices without adding precision).

    Matrix products give results that differ in the last bits (about 1e-7)
    with the number of rows they are given. Every batch is therefore padded to
    ``batch_size`` rows (repeating its last row), which makes
    ``transform(X[rows])`` equal ``transform(X)[rows]`` to the last bit on a
    given machine and device, at the cost of a full batch for a transform of
    fewer rows. Some CPU kernels also treat a row differently by its position
    in a small batch (measured for 5 to 11 rows): keep ``batch_size`` at 1 or
    at 12 or more for exact equality.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.pipeline import make_pipeline
    >>> from skdec import FeatureExtractor
    >>> net = torch.nn.Sequential(  # 8x8 RGB images to 4 features
    ...     torch.nn.Conv2d(3, 4, kernel_size=3), torch.nn.ReLU(),
    ...     torch.nn.AdaptiveAvgPool2d(1))
    >>> X = np.random.RandomState(0).rand(30, 3 * 8 * 8)
    >>> extractor = FeatureExtractor(net, image_shape=(3, 8, 8),
    ...                              mean=0.5, std=0.25, batch_size=16)
    >>> features = extractor.fit_transform(X)
    >>> features.shape, features.dtype
    ((30, 4), dtype('float32'))
    >>> bool((extractor.transform(X[:3]) == features[:3]).all())
    True
    >>> extractor.get_feature_names_out()[:2]
    array(['featureextractor0', 'featureextractor1'], dtype=object)
    >>> pipe = make_pipeline(FeatureExtractor(net, image_shape=(3, 8, 8)),
    ...                      KMeans(n_clusters=3, n_init=1, random_state=0))
    >>> pipe.fit_predict(X).shape
    (30,)
    """

    _parameter_constraints: dict = {
        "model": [torch.nn.Module, str, os.PathLike],
        "image_shape": ["array-like", None],
        "mean": [Real, "array-like", None],
        "std": [Real, "array-like", None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
    }

    def __init__(
        self,
        model,
        *,
        image_shape=None,
        mean=None,
        std=None,
        batch_size=256,
        device="cpu",
    ):
        self.model = model
        self.image_shape = image_shape
        self.mean = mean
        self.std = std
        self.batch_size = batch_size
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    @property
    def _n_features_out(self):
        """Read by ``ClassNamePrefixFeaturesOutMixin.get_feature_names_out``."""
        return self.n_features_out_

    # -- loading ---------------------------------------------------------------

    def _load_model(self):
        """Set ``model_`` (and ``_onnx_bytes``, ``_batch_rows``)."""
        self._onnx_bytes = None
        self._batch_rows = self.batch_size
        if isinstance(self.model, torch.jit.ScriptModule):
            # deepcopy of a traced module leaves non-leaf parameters; a
            # save-load round trip copies it cleanly
            copied = _ScriptedModule(self.model).load(map_location=self.device_)
            self.model_ = _freeze(copied)
            return
        if isinstance(self.model, torch.nn.Module):
            self.model_ = _freeze(copy.deepcopy(self.model).to(self.device_))
            return
        path = Path(self.model)
        if not path.is_file():
            raise FileNotFoundError(f"No model file at {str(path)!r}.")
        if path.suffix.lower() == ".onnx":
            self._load_onnx(path)
            return
        try:
            module = torch.jit.load(path, map_location=self.device_)
        except Exception as exc:
            raise ValueError(
                f"Could not load {str(path)!r} as TorchScript ({exc}). {_FORMATS}"
            ) from exc
        self.model_ = _freeze(module)

    def _load_onnx(self, path):
        if self.device_.type != "cpu":
            raise ValueError(
                f"ONNX models run on onnxruntime's CPU provider; device="
                f"{self.device!r} applies to torch models only. Use device='cpu'."
            )
        data = path.read_bytes()
        _import_onnxruntime()
        try:
            session = _onnx_session(data)
        except Exception as exc:
            raise ValueError(
                f"Could not load {str(path)!r} as an ONNX model ({exc}). {_FORMATS}"
            ) from exc
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(
                f"The ONNX model {str(path)!r} has {len(inputs)} input(s) and "
                f"{len(outputs)} output(s); FeatureExtractor needs one of each."
            )
        if inputs[0].type != "tensor(float)":
            raise ValueError(
                f"The ONNX model's input is {inputs[0].type}; FeatureExtractor "
                "feeds tensor(float) (float32)."
            )
        batch_dim = inputs[0].shape[0] if inputs[0].shape else None
        if isinstance(batch_dim, int) and batch_dim > 0:
            self._batch_rows = batch_dim  # a fixed batch: padding makes it fit
        self.model_ = session
        self._onnx_bytes = data

    # -- inference -------------------------------------------------------------

    def _features(self, X, start, stop):
        """Float32 features of rows ``start:stop`` (at most one batch)."""
        n_rows = stop - start
        batch = np.ascontiguousarray(X[start:stop], dtype=np.float32)
        if n_rows < self._batch_rows:
            padding = np.repeat(batch[-1:], self._batch_rows - n_rows, axis=0)
            batch = np.concatenate([batch, padding])
        if self.image_shape_ is not None:
            batch = batch.reshape(len(batch), *self.image_shape_)
        if self._mean is not None:
            batch = batch - self._mean
        if self._std is not None:
            batch = batch / self._std
        if self._onnx_bytes is not None:
            name = self.model_.get_inputs()[0].name
            out = self.model_.run(None, {name: batch})[0]
        else:
            with torch.no_grad():
                out = self.model_(torch.from_numpy(batch).to(self.device_))
            if not isinstance(out, torch.Tensor):
                raise ValueError(
                    f"The model returned a {type(out).__name__}; FeatureExtractor "
                    "needs a network returning one tensor (for an autoencoder, "
                    "its encoder)."
                )
            out = out.detach().to("cpu", torch.float32).numpy()
        if out.ndim == 0 or len(out) != len(batch):
            raise ValueError(
                f"The model returned an output of shape {tuple(out.shape)} for a "
                f"batch of {len(batch)} samples; it must return one row per "
                "sample."
            )
        width = int(np.prod(out.shape[1:]))
        out = np.asarray(out[:n_rows], dtype=np.float32).reshape(n_rows, width)
        if not np.isfinite(out).all():
            raise ValueError(
                f"The model's output for rows {start} to {stop - 1} holds NaN or "
                "infinite values; check the input scaling (mean, std) and the "
                "network's weights."
            )
        return out

    # -- fit / transform -------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Load and freeze the network, and learn its output width.

        One batch of ``X`` goes through the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows: flattened images (channels first) with ``image_shape``,
            plain feature vectors without. No value may be NaN or infinite.
            A memmap, an HDF5 or zarr dataset or a uint8 array is read batch
            by batch (see Notes).

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X = validate_rows(self, X, reset=True, dtype=_DTYPES, check_finite="batches")
        self.image_shape_ = check_image_shape(self.image_shape, X.shape[1])
        sample_shape = self.image_shape_ or (X.shape[1],)
        self._mean = self._std = None
        if self.mean is not None:
            self._mean = _check_channel_values(self.mean, "mean", sample_shape)
        if self.std is not None:
            self._std = _check_channel_values(self.std, "std", sample_shape)
        self.device_ = resolve_device(self.device)
        self._load_model()
        stop = min(len(X), self._batch_rows)
        shape = (self._batch_rows, *sample_shape)
        try:
            out = self._features(X, 0, stop)
        except ValueError:
            raise
        except Exception as exc:
            raise ValueError(
                f"The model failed on a batch of shape {shape}: {exc}"
            ) from exc
        if out.shape[1] == 0:
            raise ValueError("The model returned no features (an empty output).")
        self.n_features_out_ = out.shape[1]
        return self

    def transform(self, X):
        """Features of each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of the same layout as in ``fit``; a memmap, an HDF5 or zarr
            dataset or a uint8 array is read batch by batch (see Notes).

        Returns
        -------
        X_new : ndarray of shape ``(n_samples, n_features_out_)``
            The flattened network outputs, float32.
        """
        check_is_fitted(self)
        X = validate_rows(self, X, reset=False, dtype=_DTYPES, check_finite="batches")
        features = np.empty((len(X), self.n_features_out_), dtype=np.float32)
        for start in range(0, len(X), self._batch_rows):
            stop = min(start + self._batch_rows, len(X))
            features[start:stop] = self._features(X, start, stop)
        return features

    # -- pickling --------------------------------------------------------------

    def __getstate__(self):
        state = dict(super().__getstate__())
        for key in ("model", "model_"):
            if isinstance(state.get(key), torch.jit.ScriptModule):
                state[key] = _ScriptedModule(state[key])
        if state.get("_onnx_bytes") is not None:
            del state["model_"]  # rebuilt from the bytes
        return state

    def __setstate__(self, state):
        state = dict(state)
        for key in ("model", "model_"):
            if isinstance(state.get(key), _ScriptedModule):
                state[key] = state[key].load()
        if isinstance(state.get("model_"), torch.nn.Module):
            _freeze(state["model_"])
        if state.get("_onnx_bytes") is not None:
            state["model_"] = _onnx_session(state["_onnx_bytes"])
        super().__setstate__(state)
