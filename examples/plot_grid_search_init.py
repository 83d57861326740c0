"""
Choosing the centre initialisation with GridSearchCV
====================================================

:class:`skdec.DECClusterer` is an ordinary scikit-learn estimator, so a
:class:`~sklearn.pipeline.Pipeline` and
:class:`~sklearn.model_selection.GridSearchCV` can compare its
centre-initialisation strategies. With a few labelled subjects, score by
cluster accuracy (:data:`skdec.metrics.accuracy_scorer`); without labels, the
default ``score`` is minus the DEC objective ``KL(P || Q)``.

The candidates differ only in the clustering stage, so ``memory=`` caches the
pretraining: each fold pretrains once, not once per candidate, with the same
scores as without the cache (``benchmarks/bench_memory.py`` measures it).
"""

# %%
import tempfile

from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdec import DECClusterer, MLPAutoencoder
from skdec.datasets import load_digits
from skdec.metrics import accuracy_scorer


def dec_objective(estimator, X, y=None):
    """Unsupervised score: minus DEC's KL(P || Q) (the estimator's ``score``)."""
    return estimator.score(X)


X, y = load_digits(return_X_y=True)
cache = tempfile.mkdtemp(prefix="skdec-cache-")  # or any folder, kept between runs
pipe = make_pipeline(
    MinMaxScaler(),
    DECClusterer(
        10,
        autoencoder=MLPAutoencoder((128, 128), epochs=30),
        max_iter=300,
        memory=cache,
        random_state=0,
    ),
)
grid = GridSearchCV(
    pipe,
    {"decclusterer__init": ["kmeans", "spherical-kmeans", "gmm", "random"]},
    scoring={"acc": accuracy_scorer, "kl": dec_objective},
    refit="acc",
    cv=2,
    n_jobs=2,
)
grid.fit(X, y)

# %%
# Cluster accuracy on the held-out folds (labels used only to score) and the
# unsupervised DEC score, for each strategy.
results = grid.cv_results_
for params, acc, kl in zip(
    results["params"], results["mean_test_acc"], results["mean_test_kl"]
):
    print(f"{params['decclusterer__init']:>17}: ACC {acc:.3f}   -KL {kl:.4f}")
print("best:", grid.best_params_)
