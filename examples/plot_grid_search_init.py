"""
Choosing the centre initialisation with GridSearchCV
====================================================

:class:`skdec.DECClusterer` is an ordinary scikit-learn estimator, so a
:class:`~sklearn.pipeline.Pipeline` and
:class:`~sklearn.model_selection.GridSearchCV` can compare its
centre-initialisation strategies. With a few labelled subjects, score by
cluster accuracy (:data:`skdec.metrics.accuracy_scorer`); without labels, the
default ``score`` is minus the DEC objective ``KL(P || Q)``.
"""

# %%
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdec import DECClusterer
from skdec.datasets import load_digits
from skdec.metrics import accuracy_scorer


def dec_objective(estimator, X, y=None):
    """Unsupervised score: minus DEC's KL(P || Q) (the estimator's ``score``)."""
    return estimator.score(X)


X, y = load_digits(return_X_y=True)
pipe = make_pipeline(
    MinMaxScaler(),
    DECClusterer(
        10,
        hidden_dims=(128, 128),
        pretrain_epochs=30,
        max_iter=300,
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
