"""Vote aggregation on simulated volunteers: majority, Dawid-Skene, 'auto'.

The subjects are the 1797 sklearn digits (10 classes, their true labels). For
each setting and seed, 20 simulated volunteers (:func:`skdec.simulate_volunteers`)
each get an accuracy drawn uniformly in ``accuracy +- spread`` (clipped to
[0, 1]); a third of the subjects is shown to 3 of them, a third to 4, a
third to 5. Wrong answers are uniform over the other classes, or, in the
'pairs' settings, go with probability 0.6 to the class's partner among
(0, 6), (1, 7), (2, 8), (3, 5), (4, 9) (classes confused with one other).

Printed per setting: the mean accuracy (fraction of subjects whose
aggregated label is the true one) over the seeds of

- ``majority``: ``aggregate_votes(votes, 'majority')``;
- ``ds-full``: ``aggregate_votes(votes, 'dawid-skene')`` (full confusion
  matrices, the package's Dawid-Skene before 'auto');
- ``ds-1coin``: ``aggregate_votes(votes, 'dawid-skene', model='one-coin')``;
- ``auto``: ``aggregate_votes(votes)``, the default: the model chosen by AICc
  (the counts of each choice are printed);
- ``ck-DS``, ``ck-1coin``, ``ck-MMSR``: crowd-kit's ``DawidSkene``,
  ``OneCoinDawidSkene`` and ``MMSR``, when crowd-kit (and pandas) are
  installed (``pip install crowd-kit``); skipped otherwise;

then ``auto - majority``: the mean and the smallest difference over seeds,
and how often ``ds-full`` agrees with ``ck-DS``. No networks are trained: a
run of 10 seeds takes a few minutes on one core (most of it crowd-kit).

Usage::

    python benchmarks/bench_votes.py --seeds 10
    python benchmarks/bench_votes.py --seeds 3 --no-crowdkit
"""

import argparse
import time
import warnings
from collections import Counter

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skdec import aggregate_votes, simulate_volunteers
from skdec.datasets import load_digits

PAIRS = [(0, 6), (1, 7), (2, 8), (3, 5), (4, 9)]
#: (accuracy, spread, errors)
SETTINGS = [
    (1.0, 0.0, "uniform"),
    (0.8, 0.0, "uniform"),
    (0.8, 0.1, "uniform"),
    (0.6, 0.0, "uniform"),
    (0.6, 0.2, "uniform"),
    (0.5, 0.4, "uniform"),
    (0.6, 0.0, "pairs"),
    (0.5, 0.4, "pairs"),
]
N_VOLUNTEERS = 20
VOTES_PER_SUBJECT = (3, 4, 5)


def confusion_matrices(accuracy, n_classes, errors):
    """One confusion matrix per volunteer: ``accuracy`` on the diagonal, the
    rest uniform or mostly on the class's partner ('pairs')."""
    off = np.ones((n_classes, n_classes)) - np.eye(n_classes)
    if errors == "pairs":
        off *= 0.4 / (n_classes - 2)
        for a, b in PAIRS:
            off[a, b] = off[b, a] = 0.6
    off /= off.sum(axis=1, keepdims=True)
    conf = (1 - accuracy)[:, None, None] * off[None]
    conf[:, np.arange(n_classes), np.arange(n_classes)] = accuracy[:, None]
    return conf


def simulate(y, accuracy, spread, errors, seed):
    rng = np.random.RandomState(seed)
    acc = np.clip(accuracy + spread * rng.uniform(-1, 1, N_VOLUNTEERS), 0, 1)
    conf = confusion_matrices(acc, np.unique(y).size, errors)
    group = rng.randint(0, len(VOTES_PER_SUBJECT), len(y))
    parts = [
        simulate_volunteers(
            y,
            N_VOLUNTEERS,
            m,
            confusion=conf,
            subjects=np.flatnonzero(group == g),
            random_state=rng,
        )
        for g, m in enumerate(VOTES_PER_SUBJECT)
    ]
    return {
        k: np.concatenate([p[k] for p in parts])
        for k in ("subject", "volunteer", "label")
    }


def crowdkit_methods():
    """crowd-kit's aggregators by name, or {} without crowd-kit."""
    try:
        import pandas as pd
        from crowdkit.aggregation import MMSR, DawidSkene, OneCoinDawidSkene
    except ImportError:
        return {}, None
    return {
        "ck-DS": lambda: DawidSkene(n_iter=100),
        "ck-1coin": lambda: OneCoinDawidSkene(n_iter=100),
        "ck-MMSR": lambda: MMSR(n_iter=10000),
    }, pd


def run_setting(y, setting, seeds, crowdkit):
    methods, pd = crowdkit
    scores, chosen, agree = {}, Counter(), []
    for seed in seeds:
        votes = simulate(y, *setting, seed)
        truth = y[np.unique(votes["subject"])]
        labels = {
            "majority": aggregate_votes(votes, "majority").labels,
            "ds-full": aggregate_votes(votes, "dawid-skene").labels,
            "ds-1coin": aggregate_votes(votes, "dawid-skene", model="one-coin").labels,
        }
        auto = aggregate_votes(votes)
        labels["auto"] = auto.labels
        chosen[auto.model] += 1
        if methods:
            frame = pd.DataFrame(
                {
                    "task": votes["subject"],
                    "worker": votes["volunteer"],
                    "label": votes["label"],
                }
            )
            for name, make in methods.items():
                labels[name] = make().fit_predict(frame).sort_index().to_numpy()
            agree.append((labels["ds-full"] == labels["ck-DS"]).mean())
        for name, lab in labels.items():
            scores.setdefault(name, []).append((lab == truth).mean())
    return {k: np.array(v) for k, v in scores.items()}, chosen, agree


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--no-crowdkit", action="store_true")
    args = parser.parse_args(argv)
    y = load_digits(return_X_y=True)[1]
    crowdkit = ({}, None) if args.no_crowdkit else crowdkit_methods()
    if not crowdkit[0] and not args.no_crowdkit:
        print("crowd-kit is not installed: its columns are left out")
    warnings.simplefilter("ignore", ConvergenceWarning)
    names = ["majority", "ds-full", "ds-1coin", "auto", *crowdkit[0]]
    header = f"{'accuracy':>10} {'errors':>7} " + " ".join(f"{n:>8}" for n in names)
    header += "  auto-maj (min)   auto chose"
    print(
        f"{N_VOLUNTEERS} volunteers, 3-5 votes a subject, digits labels, "
        f"seeds 0..{args.seeds - 1}"
    )
    print(header)
    start = time.perf_counter()
    for setting in SETTINGS:
        scores, chosen, agree = run_setting(y, setting, range(args.seeds), crowdkit)
        gain = scores["auto"] - scores["majority"]
        acc, spread, errors = setting
        line = f"{acc:>5} +-{spread:<3} {errors:>7} "
        line += " ".join(f"{scores[n].mean():8.3f}" for n in names)
        line += f"  {gain.mean():+.4f} ({gain.min():+.3f})  "
        line += ", ".join(f"{k} {v}" for k, v in sorted(chosen.items()))
        if agree:
            line += f"  ds-full=ck-DS on {np.mean(agree):.1%}"
        print(line, flush=True)
    print(f"{time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
