"""Reading a folder of image files, and ``skdec cluster --images`` on it.

Writes the first ``--n-images`` Fashion-MNIST images (default 20,000 of the
70,000, training images first; ``skdec.datasets.load_fashion_mnist``) as 28x28
grayscale PNG files, one sub-folder per class, under ``--work-dir``, then
measures, each in a fresh process whose peak resident memory (RSS) is read
from ``wait4``:

(a) ``load_image_folder(DIR, image_size=(H, W), color=...)``: seconds, peak
    RSS, and the peak above the same process after its imports (the pixels
    alone take N x C x H x W x 4 bytes);
(b) ``python -m skdec cluster --images DIR --image-size H,W --color ...`` plus
    ``--extra`` options: wall seconds, peak RSS, the command's own load and DEC
    times, and ACC/NMI/ARI against the sub-folders (from its metrics.json).

It prints a table and writes JSON to ``--out`` (benchmarks/results/). A
``--work-dir`` that already holds the same images is reused (its
``images/manifest.json`` says what was written).

    python benchmarks/bench_image_folder.py --threads 2
    python benchmarks/bench_image_folder.py --n-images 300 \\
        --extra "--hidden-dims 32 --pretrain-epochs 2 --max-iter 50" --tag smoke
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This process imports neither numpy nor skdec and reads no data: a child's
# peak RSS (Linux) starts from its parent's RSS at the fork, so the work
# happens in children.
HERE = Path(__file__).resolve().parent


def class_folder(k, name):
    """A class's sub-folder: its index first, so that sorted folders keep the
    class order (Fashion-MNIST's 'T-shirt/top' holds a slash)."""
    return f"{k}-" + "".join(c if c.isalnum() else "-" for c in name)


def write_images(folder: Path, n_images: int, data_dir, env) -> dict:
    """Write the PNG files unless ``folder`` already holds them; the manifest."""
    manifest_path = folder / "manifest.json"
    wanted = {"source": "fashion-mnist (all, training first)", "n_images": n_images}
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if {k: manifest.get(k) for k in wanted} == wanted:
            print(f"reusing the {n_images} PNG files in {folder}", flush=True)
            return manifest
    if folder.exists():  # other or unfinished images of this benchmark
        shutil.rmtree(folder)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker-write"]
    cmd += [str(folder), "--n-images", str(n_images)]
    cmd += ["--data-dir", data_dir] if data_dir else []
    folder.mkdir(parents=True)
    done = run_measured(cmd, folder.parent / "write.log", env)
    manifest = dict(wanted, **result_line(done["output"]))
    manifest_path.write_text(json.dumps(manifest, indent=2))
    print(
        f"wrote {n_images} PNG files ({manifest['bytes_on_disk'] / 2**20:.1f} MiB) "
        f"into {folder} in {manifest['seconds']:.1f}s",
        flush=True,
    )
    return manifest


def write_worker(args):
    """Write the PNG files, in its own process: print a RESULT line of JSON."""
    import numpy as np
    from PIL import Image

    from skdec.datasets import load_fashion_mnist

    folder, n_images = Path(args.worker_write), args.n_images
    fmnist = load_fashion_mnist(args.data_dir, flatten=False)
    if n_images > len(fmnist.data):
        raise SystemExit(f"--n-images {n_images}: Fashion-MNIST has {len(fmnist.data)}")
    names = [class_folder(k, n) for k, n in enumerate(fmnist.target_names)]
    for name in names:
        (folder / name).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    size = 0
    for i in range(n_images):
        pixels = np.round(fmnist.data[i] * 255).astype(np.uint8)
        path = folder / names[fmnist.target[i]] / f"{i:05d}.png"
        Image.fromarray(pixels).save(path)
        size += path.stat().st_size
    result = {
        "classes": names,
        "seconds": round(time.perf_counter() - start, 2),
        "bytes_on_disk": size,
    }
    print("RESULT " + json.dumps(result), flush=True)


def run_measured(cmd, log_path: Path, env) -> dict:
    """Run ``cmd`` as a child process; its exit code, seconds and peak RSS."""
    start = time.perf_counter()
    with log_path.open("w") as log:
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    output = log_path.read_text()
    if child.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd[:5])} ... failed ({child.returncode}):\n{output[-3000:]}"
        )
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
        "output": output,
    }


def load_worker(args):
    """(a), in its own process: print a RESULT line of JSON."""
    import resource

    from skdec.datasets import load_image_folder

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    bunch = load_image_folder(
        args.worker_load, image_size=args.image_size, color=args.color
    )
    seconds = time.perf_counter() - start
    result = {
        "load_seconds": round(seconds, 2),
        "rss_after_imports_mib": round(before, 1),
        "n_images": len(bunch.data),
        "image_shape": list(bunch.image_shape),
        "data_mib": round(bunch.data.nbytes / 2**20, 1),
    }
    print("RESULT " + json.dumps(result), flush=True)


def result_line(output: str) -> dict:
    for line in output.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"no RESULT line in:\n{output[-3000:]}")


def image_size(text):
    height, width = (int(v) for v in text.split(","))
    return height, width


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-images", type=int, default=20_000)
    p.add_argument(
        "--work-dir",
        help="folder for the images and the command's output (default: a "
        "temporary folder, removed at the end)",
    )
    p.add_argument("--data-dir", help="Fashion-MNIST IDX files (default: the loader's)")
    p.add_argument("--image-size", type=image_size, default=(28, 28), metavar="H,W")
    p.add_argument("--color", choices=("rgb", "grayscale"), default="grayscale")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--extra",
        default="",
        help='more skdec cluster options, e.g. "--pretrain-epochs 2 --max-iter 50"',
    )
    p.add_argument(
        "--threads", type=int, help="OMP_NUM_THREADS of the children (torch)"
    )
    p.add_argument("--tag", default="default")
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--worker-load", help=argparse.SUPPRESS)
    p.add_argument("--worker-write", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker_load:
        return load_worker(args)
    if args.worker_write:
        return write_worker(args)

    temporary = args.work_dir is None
    work = Path(
        tempfile.mkdtemp(prefix="skdec-images-") if temporary else args.work_dir
    )
    try:
        return run(args, work)
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work: Path):
    images = work / "images"  # the command's output goes beside, not inside
    output = work / "output"
    output.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.threads is not None:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)
    manifest = write_images(images, args.n_images, args.data_dir, env)
    size = f"{args.image_size[0]},{args.image_size[1]}"
    script = str(Path(__file__).resolve())

    print("(a) load_image_folder ...", flush=True)
    load_cmd = [sys.executable, script, "--worker-load", str(images)]
    load_cmd += ["--image-size", size, "--color", args.color]
    load = run_measured(load_cmd, output / "load.log", env)
    load.update(result_line(load.pop("output")))

    cli_cmd = [sys.executable, "-m", "skdec", "cluster", "--images", str(images)]
    cli_cmd += ["--image-size", size, "--color", args.color, "--seed", str(args.seed)]
    cli_cmd += ["--output", str(output / "skdec"), *shlex.split(args.extra)]
    print("(b) " + " ".join(cli_cmd[2:]) + " ...", flush=True)
    cli = run_measured(cli_cmd, output / "cluster.log", env)
    cli.pop("output")
    metrics = json.loads((output / "skdec" / "metrics.json").read_text())
    n_rows = len((output / "skdec" / "labels.csv").read_text().splitlines()) - 1
    if n_rows != args.n_images:
        raise SystemExit(f"labels.csv has {n_rows} rows for {args.n_images} images")
    cli.update(
        {k: metrics.get(k) for k in ("acc", "nmi", "ari", "n_clusters", "n_iter")},
        load_seconds=metrics.get("load_seconds"),
        dec_seconds=metrics["seconds"],
        timings=metrics["timings"],
        precision=metrics["precision"],
        params=metrics["params"],
    )

    print(f"\n{args.n_images} Fashion-MNIST PNG files, {size}, {args.color}")
    print(f"{'step':<26}{'seconds':>10}{'peak RSS MiB':>14}  notes")
    print(
        f"{'load_image_folder':<26}{load['load_seconds']:>10.1f}"
        f"{load['peak_rss_mib']:>14.0f}  "
        f"{load['peak_rss_mib'] - load['rss_after_imports_mib']:.0f} MiB above the "
        f"imports; data {load['data_mib']:.0f} MiB"
    )
    scores = "  ".join(
        f"{k.upper()} {cli[k]:.3f}" for k in ("acc", "nmi", "ari") if cli[k] is not None
    )
    print(
        f"{'skdec cluster --images':<26}{cli['seconds']:>10.1f}"
        f"{cli['peak_rss_mib']:>14.0f}  load {cli['load_seconds']:.1f}s, "
        f"DEC {cli['dec_seconds']:.1f}s; {scores}"
    )

    record = {
        "benchmark": "image_folder",
        "tag": args.tag,
        "n_images": args.n_images,
        "image_size": list(args.image_size),
        "color": args.color,
        "extra": args.extra,
        "threads": args.threads,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
        },
        "write_pngs": manifest,
        "load_image_folder": load,
        "skdec_cluster": cli,
        "command": " ".join(cli_cmd[2:]),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"image_folder_{args.tag}.json"
    path.write_text(json.dumps(record, indent=2, default=str))
    print(f"\nwrote {path}")
    return record


if __name__ == "__main__":
    main()
