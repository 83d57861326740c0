"""
Clustering a folder of image files
==================================

A citizen-science team's subjects are usually a folder of image files, not an
array. :func:`skdec.datasets.load_image_folder` reads such a folder (PNG,
JPEG, TIFF, BMP, WebP, FITS) into the rows DEC clusters, and names the
classes after the first-level sub-folders when every file lies in one. Here
scikit-learn's 8x8 digits are written as PNG files, one sub-folder per digit,
read back and clustered; the folder labels only score the result. The same
run from the command line, which also writes the montages and a
``labels.csv`` of file names and clusters::

    skdec cluster --images DIR --image-size 32,32
"""

# %%
# A folder of PNG files
# ---------------------
# The digits' pixels (0 to 16) are saved as 8-bit grayscale PNG files in
# ``0/``, ``1/``, ..., ``9/``.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

folder = tempfile.TemporaryDirectory()
root = Path(folder.name)
digits = load_digits()
for i, (pixels, digit) in enumerate(zip(digits.images, digits.target)):
    (root / str(digit)).mkdir(exist_ok=True)
    png = Image.fromarray(np.round(pixels * 255 / 16).astype(np.uint8))
    png.save(root / str(digit) / f"digit_{i:04d}.png")
print(sorted(p.name for p in root.iterdir()), len(list(root.glob("*/*.png"))))

# %%
# Loading the folder
# ------------------
# ``data`` holds one flattened image per row in [0, 1], ``images`` the same
# pixels for drawing, ``image_shape`` is ``(channels, height, width)`` and
# ``filenames`` are the files' paths relative to the folder, row by row.
# Folders of photos of different sizes need ``image_size=(height, width)``.
from skdec.datasets import load_image_folder

bunch = load_image_folder(root, color="grayscale")
print(bunch.data.shape, bunch.image_shape, bunch.target_names)
print(bunch.filenames[:3])

# %%
# DEC with the images' shape
# --------------------------
# ``image_shape`` tells DEC that the rows are images, which turns on the
# augmentation of the training batches (small shifts and rotations). Shorter
# pretraining and clustering stages than the defaults keep this fast.
from skdec import DECClusterer, MLPAutoencoder
from skdec.metrics import cluster_accuracy, clustering_report

dec = DECClusterer(
    n_clusters=len(bunch.target_names),
    autoencoder=MLPAutoencoder(epochs=40),
    max_iter=500,
    image_shape=bunch.image_shape,
    random_state=0,
)
labels = dec.fit_predict(bunch.data)
print(f"ACC against the folders: {cluster_accuracy(bunch.target, labels):.3f}")
print(clustering_report(bunch.target, labels))

# %%
# The most confident subjects of each cluster
# -------------------------------------------
# ``predict_proba`` is each subject's soft assignment; the subjects with the
# largest one in their own cluster show what the cluster holds (this is what
# ``skdec cluster`` draws in ``montage.png``).
confidence = dec.predict_proba(bunch.data)[np.arange(len(labels)), labels]
most_confident_first = np.argsort(-confidence)

from skdec.plotting import plot_cluster_montage

fig = plot_cluster_montage(
    bunch.images, labels, most_confident_first, n_per_cluster=10, cmap="gray"
)
fig.supylabel("cluster (subjects)")
plt.show()

# %%
# Back to the files
# -----------------
# The rows keep the order of ``filenames``, so every cluster is a list of
# files a team can open, move or upload.
for k in range(3):
    members = most_confident_first[labels[most_confident_first] == k]
    print(f"cluster {k}: {len(members)} files, e.g.", bunch.filenames[members[:3]])

folder.cleanup()
