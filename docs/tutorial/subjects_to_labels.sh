#!/usr/bin/env bash
# From subjects to labels: the tutorial of docs/tutorial.rst, as one script.
#
#   bash docs/tutorial/subjects_to_labels.sh [--tiny] [WORKDIR]
#
# A citizen-science team's path from a folder of unlabelled images to a label
# for every image, with the skdec commands only:
#
#   1. skdec cluster   the images into 10 clusters (a run folder: the model)
#   2. skdec select    20 subjects of each cluster for volunteers (manifest.csv)
#   3. (Zooniverse)    volunteers answer them; the project exports their answers
#   4. skdec labels    every subject labelled from the votes (subject_labels.csv)
#   5. skdec finetune  the label head trained on those labels
#   6. skdec split     the cluster labelled wrong for the most subjects, then
#                      skdec labels and skdec finetune again
#   7. skdec report    (added by the lead)
#
# Fashion-MNIST stands in for the team's images, and docs/tutorial/helpers.py
# for what skdec does not do: it writes the images (3,000 of the test set,
# PNG files named by their index only, their classes in WORKDIR/truth.csv),
# plays the volunteers (a Zooniverse classification export, written by
# skdec.write_zooniverse_export from the manifest and truth.csv) and scores
# the labels against truth.csv at the end. No skdec command reads truth.csv.
#
# WORKDIR (default skdec-tutorial) receives every file. The images need
# Fashion-MNIST's IDX files: the Debian package dataset-fashion-mnist, or a
# folder of them named by SKDEC_TUTORIAL_DATA_DIR.
#
# Full run: 3,000 images, the default network (784-500-500-2000-10) with its
# default pretraining (epochs=auto: 100 epochs for 3,000 images), UMAP start,
# up to 2,000 self-training iterations: skdec cluster takes most of the time.
# --tiny: 300 images, a small network trained 2 epochs, 5 subjects per
# cluster, for tests/test_tutorial.py.
# Needs skdec (the `skdec` command) and python on PATH.
set -euo pipefail

TINY=0
if [[ "${1:-}" == "--tiny" ]]; then
    TINY=1
    shift
fi
WORK="${1:-skdec-tutorial}"
HELPERS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/helpers.py"
DATA_DIR=()
if [[ -n "${SKDEC_TUTORIAL_DATA_DIR:-}" ]]; then
    DATA_DIR=(--data-dir "$SKDEC_TUTORIAL_DATA_DIR")
fi

N=3000          # images
BUDGET=20       # subjects per cluster shown to volunteers
CLUSTER_OPTIONS=()
FINETUNE_OPTIONS=()
SPLIT_OPTIONS=()
if ((TINY)); then
    N=300
    BUDGET=5
    CLUSTER_OPTIONS=(--hidden-dims 32 --pretrain-epochs 2 --init kmeans
                     --max-iter 30 --precision float32)
    FINETUNE_OPTIONS=(--max-epochs 3)
    SPLIT_OPTIONS=(--refine-iter 5)
fi

step() { printf '\n=== %s\n' "$*"; }
start=$SECONDS
mkdir -p "$WORK"
cd "$WORK"

step "0. the subjects: $N PNG files in subjects/ (their classes in truth.csv)"
python "$HELPERS" images --n "$N" --output subjects --truth truth.csv "${DATA_DIR[@]}"

step "1. skdec cluster"
skdec cluster --images subjects --image-size 28,28 --color grayscale \
    --n-clusters 10 --output run "${CLUSTER_OPTIONS[@]}"

step "2. skdec select: $BUDGET subjects of each cluster, at random"
skdec select --model run --budget "$BUDGET" --per-cluster --strategy stratified \
    --output upload
head -n 4 upload/manifest.csv

step "3. the volunteers (simulated): a Zooniverse classification export"
python "$HELPERS" volunteers --manifest upload/manifest.csv --truth truth.csv \
    --output classifications.csv

step "4. skdec labels"
skdec labels --model run --votes classifications.csv --task T0 --output labels
head -n 4 labels/subject_labels.csv

step "5. skdec finetune"
skdec finetune --model run --labels labels/subject_labels.csv --output finetune \
    "${FINETUNE_OPTIONS[@]}"
python "$HELPERS" score labels/subject_labels.csv finetune/finetune_labels.csv \
    --truth truth.csv --output score.json

step "6. skdec split: the cluster whose label is wrong for the most subjects"
CLUSTER=$(python "$HELPERS" clusters labels/labels.json)
skdec split --model run --cluster "$CLUSTER" --labels labels/subject_labels.csv \
    --output run-split "${SPLIT_OPTIONS[@]}"
skdec labels --model run-split --votes classifications.csv --task T0 \
    --output labels-split
skdec finetune --model run-split --labels labels-split/subject_labels.csv \
    --output finetune-split "${FINETUNE_OPTIONS[@]}"
python "$HELPERS" score labels-split/subject_labels.csv \
    finetune-split/finetune_labels.csv --truth truth.csv --output score-split.json

step "7. skdec report: a page to open in a browser"
skdec report --model run-split --labels labels-split/subject_labels.csv --output report

step "done in $((SECONDS - start)) s; the files are in $WORK/"
