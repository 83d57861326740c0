"""The parts of the tutorial "From subjects to labels" that a real project
does not type: the subjects, the volunteers, the truth.

``subjects_to_labels.sh`` calls this script for the steps that stand in for
the world outside skdec:

- ``images``: writes Fashion-MNIST test images as PNG files in one folder,
  named by their test-set index only (nothing in a file name or folder tells
  the class: the team's view of its subjects), and the classes in a separate
  ``truth.csv``, which only the simulated volunteers and the final scoring
  read;
- ``volunteers``: the volunteers of a Zooniverse project answering the
  subjects of the manifest that ``skdec select`` wrote, as Zooniverse's
  classification export (:func:`skdec.write_zooniverse_export`): each answer
  is the index of the class in the question's list of answers, as a
  Zooniverse question task records it;
- ``clusters``: the table of ``labels.json`` (``skdec labels``) with the
  answers' names, and the cluster to split: the one whose label is probably
  wrong for the most subjects (its size times the share of its seen
  subjects whose votes say otherwise), chosen from the volunteers' labels
  only;
- ``score``: the accuracy of the labels of ``skdec labels`` and ``skdec
  finetune`` against ``truth.csv``, on the subjects no volunteer saw.

Run ``python helpers.py COMMAND --help`` for the options.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

#: the answers of the project's question task T0 ("Which article is this?"),
#: in the order of the workflow's answer list: a Zooniverse export records
#: the index of the answer chosen. They are Fashion-MNIST's classes 0-9.
ANSWERS = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _truth(path):
    """``{filename: class index}`` of ``truth.csv``."""
    return {r["filename"]: int(r["label"]) for r in _rows(path)}


def images(args):
    """Write ``--n`` test images as PNG files and their classes in ``--truth``."""
    from PIL import Image

    from skdec.datasets import load_fashion_mnist

    data = load_fashion_mnist(args.data_dir, "test", flatten=False)
    assert tuple(data.target_names) == ANSWERS, data.target_names
    if not 0 < args.n <= len(data.data):
        sys.exit(f"helpers.py: error: --n must be in 1-{len(data.data)}")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(args.n):
        name = f"fmnist-test-{i:05d}.png"
        pixels = np.round(data.data[i] * 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(out / name)
        label = int(data.target[i])
        lines.append([name, label, ANSWERS[label]])
    truth = Path(args.truth)
    truth.parent.mkdir(parents=True, exist_ok=True)
    with truth.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["filename", "label", "class"])
        writer.writerows(lines)
    print(f"helpers.py: wrote {args.n} images into {out} and their classes in {truth}")


def volunteers(args):
    """Simulated volunteers' Zooniverse export for the subjects of a manifest."""
    from skdec import write_zooniverse_export

    truth = _truth(args.truth)
    manifest = _rows(args.manifest)
    # the hidden #filename of each subject names its file in the image folder
    y_true = np.array([truth[r["#filename"]] for r in manifest])
    votes = write_zooniverse_export(
        args.output,
        args.manifest,
        y_true,
        task=args.task,
        n_volunteers=args.n_volunteers,
        votes_per_subject=args.votes_per_subject,
        accuracy=args.accuracy,
        accuracy_spread=args.accuracy_spread,
        random_state=args.seed,
    )
    skill = np.mean(np.diagonal(votes["confusion"], axis1=1, axis2=2), axis=1)
    print(
        f"helpers.py: {args.n_volunteers} volunteers (accuracy "
        f"{skill.min():.2f}-{skill.max():.2f}) gave {len(votes['label'])} "
        f"answers to {len(manifest)} subjects; wrote {args.output}"
    )


def clusters(args):
    """Print the clusters of ``labels.json`` and the id of the one to split:
    the cluster whose label is probably wrong for the most subjects."""
    record = json.loads(Path(args.labels_json).read_text())
    print(
        "cluster  size  seen  label        agreement  probably wrong", file=sys.stderr
    )
    candidates = []
    for c in record["clusters"]:
        label = c["label"]
        name = ANSWERS[label] if isinstance(label, int) and label >= 0 else str(label)
        # the share of its seen subjects whose votes differ from its label,
        # spread over the cluster
        wrong = c["size"] * (1 - c["confidence"])
        print(
            f"{c['cluster']:7d} {c['size']:5d} {c['n_seen']:5d}  {name:<12} "
            f"{c['confidence']:9.2f}  {wrong:14.0f}",
            file=sys.stderr,
        )
        if c["n_seen"] >= args.min_seen:
            candidates.append((wrong, c["cluster"]))
    mapped = {c["label"] for c in record["clusters"]}
    missing = [n for i, n in enumerate(ANSWERS) if i not in mapped]
    if missing:
        print(f"no cluster is labelled {', '.join(missing)}", file=sys.stderr)
    if not candidates:
        sys.exit(f"helpers.py: error: no cluster has {args.min_seen} seen subjects")
    wrong, worst = max(candidates)
    print(
        f"to split: cluster {worst} (its label is probably wrong for "
        f"{wrong:.0f} subjects)",
        file=sys.stderr,
    )
    print(worst)  # stdout: the id alone, for the shell


def _accuracy(predicted, truth, mask):
    return float(np.mean(predicted[mask] == truth[mask])) if mask.any() else None


def score(args):
    """Accuracy of the labels of ``skdec labels`` (and ``finetune``) against
    the truth, on the subjects that volunteers did not see."""
    truth = _truth(args.truth)
    rows = _rows(args.subject_labels)
    y = np.array([truth[r["filename"]] for r in rows])
    seen = np.array([r["seen"] == "1" for r in rows])
    label = np.array([int(r["label"]) for r in rows])
    mapped = np.array([int(r["mapped_label"]) for r in rows])
    result = {
        "n_subjects": len(rows),
        "n_seen": int(seen.sum()),
        "volunteers_on_seen": _accuracy(label, y, seen),
        "mapping_on_unseen": _accuracy(mapped, y, ~seen),
    }
    if args.finetune_labels is not None:
        head = np.array([int(r["label"]) for r in _rows(args.finetune_labels)])
        result["label_head_on_unseen"] = _accuracy(head, y, ~seen)
    print(
        f"helpers.py: {result['n_seen']} of {result['n_subjects']} subjects seen "
        f"by volunteers; accuracy of their aggregated votes "
        f"{result['volunteers_on_seen']:.3f}"
    )
    line = f"helpers.py: on the {result['n_subjects'] - result['n_seen']} unseen: "
    line += f"mapping alone {result['mapping_on_unseen']:.3f}"
    if "label_head_on_unseen" in result:
        line += f", label head {result['label_head_on_unseen']:.3f}"
    print(line)
    if args.output is not None:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="helpers.py", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("images", help="write Fashion-MNIST test images as PNG files")
    p.add_argument("--n", type=int, default=3000, help="how many (default 3000)")
    p.add_argument("--output", required=True, help="the image folder")
    p.add_argument("--truth", required=True, help="the CSV of their classes")
    p.add_argument("--data-dir", help="folder of Fashion-MNIST's IDX files")
    p.set_defaults(run=images)

    p = sub.add_parser("volunteers", help="simulated volunteers' Zooniverse export")
    p.add_argument("--manifest", required=True, help="manifest.csv of skdec select")
    p.add_argument("--truth", required=True)
    p.add_argument("--output", required=True, help="the export CSV to write")
    p.add_argument("--task", default="T0")
    p.add_argument("--n-volunteers", type=int, default=20)
    p.add_argument("--votes-per-subject", type=int, default=5)
    p.add_argument("--accuracy", type=float, default=0.75)
    p.add_argument("--accuracy-spread", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=volunteers)

    p = sub.add_parser("clusters", help="the clusters of labels.json; the least pure")
    p.add_argument("labels_json", help="labels.json of skdec labels")
    p.add_argument("--min-seen", type=int, default=2)
    p.set_defaults(run=clusters)

    p = sub.add_parser("score", help="accuracy against truth.csv")
    p.add_argument("subject_labels", help="subject_labels.csv of skdec labels")
    p.add_argument("finetune_labels", nargs="?", help="finetune_labels.csv")
    p.add_argument("--truth", required=True)
    p.add_argument("--output", help="write the numbers to this JSON file")
    p.set_defaults(run=score)
    return parser


if __name__ == "__main__":
    arguments = build_parser().parse_args()
    arguments.run(arguments)
