# %% [markdown]
# # ex00 · Is there an accelerator, and does it help?
# See which devices TensorFlow finds, place work on one, and time the same
# matrix product on the CPU and (if there is one) the GPU.
#
# **Your job:** fill in the three `TODO`s, then run `workshop check 0`.
#
# Replaces the workshop deck's `Run_on_GPU.ipynb` (is there a GPU, and how
# much faster is it). What is done differently here, and why:
# - devices come from `tf.config.list_physical_devices` (through
#   `workshop.gpu`), not `tf.test.gpu_device_name()` / `tf.test.is_gpu_available()`,
#   which TensorFlow deprecated; a machine without a GPU is a normal answer,
#   reported, never an error;
# - memory growth is on before anything runs, so one notebook does not take
#   the whole GPU from the others sharing it;
# - the timing warms up first and waits for the result (`.numpy()`): without
#   both, the first call's set-up cost and the GPU's asynchronous launch make
#   the numbers meaningless;
# - the same product is timed over growing sizes, since a GPU only pays off
#   once the work is big enough (the plot shows where).

# %%
"""ex00 · Is there an accelerator, and does it help?"""

from __future__ import annotations

import time
from dataclasses import dataclass

from workshop import gpu, lesson, plotting, validate

tf = gpu._tf()  # TensorFlow, imported quietly


# %% [markdown]
# ## Setup: what does this machine have?
# `workshop.gpu.setup()` turns on memory growth (TensorFlow otherwise grabs all
# GPU memory at once), can set a mixed-precision policy in one line
# (`setup(precision="mixed_float16")` on a GPU), and reports what it found.
# CPU only is a normal answer: most laptops have no GPU.


# %%
def list_devices() -> list[gpu.DeviceInfo]:
    """The CPUs and GPUs TensorFlow can use, as DeviceInfo records (CPUs first)."""
    # TODO: ask the helper layer for the devices (workshop.gpu.list_devices())
    # and return them with the CPUs first, then the GPUs.
    raise NotImplementedError("TODO: list_devices()")


# %% [markdown]
# ## Timing: why the first call is slow
# The first product on a device pays for choosing kernels and allocating
# memory (warm-up). Time only after it, and average several products.


# %%
def time_matmul(n: int, device: str = "CPU:0", repeats: int = 5) -> float:
    """Mean seconds per (n x n) @ (n x n) float32 product on `device`, after one warm-up."""
    n, repeats = validate.count(n, "n"), validate.count(repeats, "repeats")
    known = {d.name.split("device:")[-1] for d in tf.config.list_logical_devices()}
    validate.one_of(device, "device", sorted(known))
    with tf.device(device):
        a = tf.random.uniform((n, n))
        b = tf.random.uniform((n, n))
        # TODO: run tf.matmul(a, b) once as a warm-up (call .numpy() on it), then
        # time `repeats` more tf.matmul(a, b) with time.perf_counter(), call
        # .numpy() on the last result so the device has finished, and return
        # the mean seconds per product.
        raise NotImplementedError("TODO: time_matmul()")


def speedup(n: int = 2048, repeats: int = 5) -> float | None:
    """CPU seconds over GPU seconds for one n x n product; None (and a message) without a GPU."""
    n, repeats = validate.count(n, "n"), validate.count(repeats, "repeats")
    # TODO: find the GPUs among list_devices(). With none, print a short
    # message and return None. Otherwise return
    # time_matmul(n, "CPU:0", repeats) / time_matmul(n, "GPU:0", repeats).
    raise NotImplementedError("TODO: speedup()")


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    sizes: str = "128,256,512,1024,2048"
    repeats: int = 5
    out_dir: str = "outputs/ex00_gpu_setup"


QUICK = {"sizes": "64,128,256", "repeats": 2}


def main(config: Config | None = None) -> dict:
    """Report the devices, time products of growing size on each, plot both."""
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    report = gpu.setup()
    print(report)
    devices = list_devices()
    sizes = [int(s) for s in config.sizes.split(",")]
    timings = {}
    for d in devices:
        timings[d.kind + ":" + d.short_name.split(":")[-1]] = [
            time_matmul(n, d.short_name, config.repeats) for n in sizes
        ]
    for name, secs in timings.items():
        for n, s in zip(sizes, secs, strict=True):
            print(f"{name} n={n:5d}: {s * 1e3:8.2f} ms  ({2 * n**3 / s / 1e9:7.1f} GFLOP/s)")
    fig, axes = plotting.subplots(1, 2, size=(11, 4))
    for name, secs in timings.items():
        axes[0, 0].loglog(sizes, secs, "o-", label=name)
        axes[0, 1].semilogx(
            sizes, [2 * n**3 / s / 1e9 for n, s in zip(sizes, secs, strict=True)], "o-", label=name
        )
    axes[0, 0].set(xlabel="n", ylabel="seconds per product", title="n x n matmul time")
    axes[0, 1].set(xlabel="n", ylabel="GFLOP/s", title="throughput")
    for ax in axes[0]:
        ax.legend()
        ax.grid(alpha=0.3)
    lesson.save_figure(fig, out, "matmul_timing")
    text_fig, ax = plotting.subplots(1, 1, size=(7, 3))
    ax[0, 0].axis("off")
    ax[0, 0].text(0, 1, str(report), va="top", family="monospace", fontsize=9)
    lesson.save_figure(text_fig, out, "device_report")
    ratio = speedup(sizes[-1], config.repeats)
    biggest = timings[next(iter(timings))][-1]
    metrics = {
        "devices": [d.short_name for d in devices],
        "gpus": len(report.gpus),
        "strategy": report.strategy,
        "seconds": timings,
        "speedup": ratio,
        "headline": (
            f"GPU {ratio:.1f}x faster at n={sizes[-1]}"
            if ratio
            else f"CPU only: {2 * sizes[-1] ** 3 / biggest / 1e9:.1f} GFLOP/s at n={sizes[-1]}"
        ),
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
