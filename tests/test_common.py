"""scikit-learn's estimator checks on every public estimator, with fast parameters."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skdec import DECClusterer, KMeansFilterInitializer
from skdec.cluster import SphericalKMeans

FAST = dict(
    hidden_dims=(16,),
    n_components=2,
    pretrain_epochs=3,
    max_iter=10,
    update_interval=5,
    batch_size=32,
    n_init=2,
    random_state=0,
)

ESTIMATORS = [
    DECClusterer(**FAST),
    SphericalKMeans(n_init=2, max_iter=50, random_state=0),
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
]

# check name -> reason, per estimator class; every entry must say why.
EXPECTED_FAILED_CHECKS = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
