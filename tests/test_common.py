"""scikit-learn's estimator checks on every public estimator, with fast parameters."""

import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdec import (
    ClusterLabelMapper,
    DECClusterer,
    FeatureExtractor,
    KMeansFilterInitializer,
    LabelHeadClassifier,
    MLPAutoencoder,
    MorphologyFeatures,
)
from skdec.cluster import SphericalKMeans

FAST = dict(
    autoencoder=MLPAutoencoder((16,), 2, epochs=3, batch_size=32),
    max_iter=10,
    update_interval=5,
    batch_size=32,
    n_init=2,
    random_state=0,
)


def _any_width_module():
    """Rows of any width to 6 features: a 1x1 convolution over the row read as
    a one-channel signal, then adaptive pooling to 3 positions."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return torch.nn.Sequential(
            torch.nn.Unflatten(1, (1, -1)),
            torch.nn.Conv1d(1, 2, kernel_size=1),
            torch.nn.Tanh(),
            torch.nn.AdaptiveAvgPool1d(3),
        )


# DECClusterer in two architectures, one deep, trained long enough (30 epochs
# at lr=1e-2) for the embedding to grow: with these settings both
# failed check_methods_subset_invariance before inference ran in fixed-size
# batches (a one-row matrix product and a 20-row one differ in float32's last
# bits), while the 3 epochs of FAST passed by luck. init='kmeans' instead of
# the default 'umap' for speed: the checks fit hundreds of times and UMAP's
# neighbour graph costs about a second a fit. image_shape stays None (the
# checks' rows are not images), so augment='auto' does not augment.
DEC_FAST = dict(FAST, init="kmeans")


def _dec(hidden_dims):
    ae = MLPAutoencoder(hidden_dims, 2, epochs=30, lr=1e-2, batch_size=32)
    return DECClusterer(**{**DEC_FAST, "autoencoder": ae})


ESTIMATORS = [
    _dec((32, 32)),
    _dec((64, 64, 128)),
    SphericalKMeans(n_init=2, max_iter=50, random_state=0),
    # The checks' data have varying widths: the module works on any width.
    FeatureExtractor(_any_width_module(), batch_size=16),
    # sklearn's checks feed a 2-D float X: the mapper reads it as soft
    # assignments (per-cluster scores) and maps its argmax clusters.
    ClusterLabelMapper(fallback="unknown"),
    # Flat rows of the checks' data read as 1 x n_features images.
    KMeansFilterInitializer(
        n_filters=2,
        kernel_size=(1, 2),
        image_shape=(1, -1),
        n_patches=200,
        flat_threshold=0.0,
        n_init=1,
        max_iter=20,
        silhouette_sample_size=100,
        random_state=0,
    ),
    # Flat rows of the checks' data read as 1 x n_features images.
    MorphologyFeatures(image_shape=(1, -1)),
    # dec=None: fits a DECClusterer with dec_params, then the mapper, then the head.
    LabelHeadClassifier(
        dec_params={k: v for k, v in FAST.items() if k != "random_state"},
        max_epochs=10,
        lr=1e-2,
        random_state=0,
    ),
]

# check name -> reason, per estimator class; every entry must say why.
EXPECTED_FAILED_CHECKS = {
    "ClusterLabelMapper": {
        "check_fit_score_takes_y": (
            "fit(clusters, labels, sample_weight) names its arguments for what "
            "they are; the label head relies on this interface."
        ),
        "check_sample_weight_equivalence_on_dense_data": (
            "calls fit(X, y=...) by keyword; fit's second argument is `labels`."
        ),
        "check_classifiers_classes": (
            "-1 marks unlabelled subjects (semi-supervised convention), so it is "
            "not a class."
        ),
        "check_classifiers_train": (
            "X is read as cluster scores, not features: the argmax column of "
            "blob coordinates is not informative enough for 83% accuracy."
        ),
    },
    "FeatureExtractor": {
        "check_estimators_overwrite_params": (
            "compares joblib.hash of the parameters with that of a deepcopy, "
            "and the pickle of a torch tensor holds its storage's address, so "
            "a module never hashes like its copy; test_features.py checks "
            "that fit leaves the module's weights and modes unchanged."
        ),
    },
    "LabelHeadClassifier": {
        "check_classifiers_classes": (
            "-1 marks unlabelled subjects (semi-supervised convention), so it is "
            "not a class."
        ),
    },
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
