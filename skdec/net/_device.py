"""Devices, training-step arithmetic and seeded torch generators."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["AUTOCAST_DTYPES", "resolve_device", "resolve_precision", "seeded"]

# precision -> dtype of the training steps' autocast (None: plain float32)
AUTOCAST_DTYPES = {"float32": None, "bfloat16": torch.bfloat16}


def resolve_device(device) -> torch.device:
    """``device`` as a :class:`torch.device`; a clear ValueError when it is not
    one, or names CUDA on a machine without it."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"Invalid device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available; "
            "use device='cpu'."
        )
    return dev


def _cpu_has_native_bfloat16() -> bool:
    """Whether this CPU has bfloat16 dot-product instructions (AVX-512 BF16 or
    AMX); elsewhere oneDNN emulates bfloat16, slower than float32."""
    get_capabilities = getattr(torch.cpu, "get_capabilities", None)
    if get_capabilities is not None:
        caps = get_capabilities()
        return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))
    # older torch (the range starts at 2.4): its private probes, else float32
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def resolve_precision(precision: str, device: torch.device) -> str:
    """'auto' is 'bfloat16' where the device multiplies bfloat16 natively,
    'float32' elsewhere; other values are returned as they are."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        try:  # emulated bfloat16 (GPUs before Ampere) is slower than float32
            native = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # a torch without the argument
            native = torch.cuda.is_bf16_supported()
    else:
        native = _cpu_has_native_bfloat16()
    return "bfloat16" if native else "float32"


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | str = "cpu"):
    """Run a block with torch's generators seeded by ``seed``, restoring the
    global generators (CPU, and ``device``'s when it is a GPU) afterwards."""
    device = torch.device(device)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield
