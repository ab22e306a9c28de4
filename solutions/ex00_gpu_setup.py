# %% [markdown]
# # ex00 · Is there an accelerator, and does it help?
# See which backend runs Keras and which devices it finds, place work on one,
# and time the same matrix product on the CPU and (if there is one) the GPU.
#
# **Your job:** fill in the `TODO`s, answer the questions at the end, then
# run `workshop check 0`.
#
# Replaces the workshop deck's `Run_on_GPU.ipynb` (is there a GPU, and how
# much faster is it). What is done differently here, and why:
# - Keras 3 runs on TensorFlow, JAX or PyTorch (`workshop --backend jax run 0`
#   or `KERAS_BACKEND=jax`): the lesson names the backend and the devices it
#   sees, and times with `keras.ops` and `keras.device`, so the same code
#   measures every backend; the deck's `tf.test.gpu_device_name()` and
#   `tf.test.is_gpu_available()` are TensorFlow-only and deprecated;
# - a machine without a GPU is a normal answer, reported, never an error;
# - memory growth is on before anything runs (TensorFlow; JAX's
#   preallocation off), so one notebook does not take the whole GPU from the
#   others sharing it;
# - the timing warms up first and waits for the result
#   (`keras.ops.convert_to_numpy`): without both, the first call's set-up cost
#   and the GPU's asynchronous launch make the numbers meaningless;
# - the same product is timed over growing sizes, since a GPU only pays off
#   once the work is big enough (the plot shows where).

# %%
"""ex00 · Is there an accelerator, and does it help?"""

from __future__ import annotations

import time
from dataclasses import dataclass

from workshop import backend, gpu, lesson, plotting, validate

# isort: split
import keras  # after workshop, which keeps TensorFlow's start-up log quiet
from keras import ops

# %% [markdown]
# ## Setup: what does this machine have?
# `workshop.gpu.setup()` turns on memory growth (TensorFlow otherwise grabs all
# GPU memory at once, JAX 75 % of it), can set a mixed-precision policy in one
# line (`setup(precision="mixed_bfloat16")` on a recent GPU), and reports what
# it found. `workshop.gpu.list_devices()` asks the running backend
# (`tf.config`, `jax.devices()`, `torch.cuda`) and gives the same records on
# each: a name, a kind ('CPU' or 'GPU'), memory where known, and a
# `short_name` such as "GPU:0" that `keras.device` takes (in lower case).
# CPU only is a normal answer: most laptops have no GPU.


# %%
def list_devices() -> list[gpu.DeviceInfo]:
    """The CPUs and GPUs the backend can use, as DeviceInfo records: CPUs first, then GPUs."""
    # TODO: which records does the helper layer give, and in which order must
    # they come back? (Keep the GPUs in the order the helper gave them.)
    # BEGIN SOLUTION
    devices = gpu.list_devices()
    return [d for d in devices if d.kind == "CPU"] + [d for d in devices if d.kind == "GPU"]
    # END SOLUTION


# %% [markdown]
# ## Timing: why the first call is slow
# The first product on a device pays for choosing (or compiling) kernels and
# allocating memory: the warm-up. Time only after it, and average several
# products. A GPU runs asynchronously: `ops.matmul` returns as soon as the
# work is queued, so the clock must stop only once the last result is
# there, which `ops.convert_to_numpy` waits for.
#
# seconds per product = (clock after the last product − clock before the first) / repeats


# %%
def time_matmul(n: int, device: str = "CPU:0", repeats: int = 5) -> float:
    """Mean seconds per (n x n) @ (n x n) float32 product on `device`, after one warm-up."""
    n, repeats = validate.count(n, "n"), validate.count(repeats, "repeats")
    validate.one_of(device, "device", sorted(d.short_name for d in gpu.list_devices()))
    with keras.device(device.lower()):
        a = keras.random.uniform((n, n), dtype="float32")
        b = keras.random.uniform((n, n), dtype="float32")
        # TODO: one product that is not timed, then `repeats` timed ones with
        # time.perf_counter(). When has the device really finished, and what
        # do you divide by?
        # BEGIN SOLUTION
        ops.convert_to_numpy(ops.matmul(a, b))
        start = time.perf_counter()
        for _ in range(repeats):
            c = ops.matmul(a, b)
        ops.convert_to_numpy(c)
        return (time.perf_counter() - start) / repeats
        # END SOLUTION


# %% [markdown]
# ## Does the GPU help?
# speed-up = CPU seconds / GPU seconds for the same product. Without a GPU
# there is nothing to compare: say so, and give back `None`.


# %%
def speedup(n: int = 2048, repeats: int = 5) -> float | None:
    """CPU seconds over GPU seconds for one n x n product; None (and a message) without a GPU."""
    n, repeats = validate.count(n, "n"), validate.count(repeats, "repeats")
    # TODO: which devices among list_devices() are GPUs? Without one, what does
    # the attendee read, and what comes back? With one, which time goes on top?
    # BEGIN SOLUTION
    gpus = [d for d in list_devices() if d.kind == "GPU"]
    if not gpus:
        print("No GPU here: everything runs on the CPU, so there is no speed-up to measure.")
        return None
    return time_matmul(n, "CPU:0", repeats) / time_matmul(n, gpus[0].short_name, repeats)
    # END SOLUTION


# %% [markdown]
# ## Questions
# 1. How many floating-point operations does one 1024 × 1024 @ 1024 × 1024
#    product take (count each multiplication and each addition)? (a number;
#    `main` divides by the seconds to print GFLOP/s.)
# 2. Mixed precision (`setup(precision="mixed_bfloat16")`) computes in
#    bfloat16: how many bytes does one 4096 × 4096 matrix take in it? (a number)
# 3. On a machine with four GPUs, which strategy does the helper layer pick
#    under TensorFlow, and which under JAX? (a list of two names, as
#    `workshop.gpu.pick_strategy` gives them)
# 4. A GPU takes 5 ms for a product and 0.02 ms to queue one. Timing 10
#    products without waiting at the end, about how many ms per product do
#    you read? (a) 5, (b) 0.02, (c) 50
#
# To think about: at which n does your GPU (or a Colab one) overtake the CPU,
# and why not at n = 64? What would change if a and b lived on the CPU and
# had to be copied to the GPU before every product?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", ..."""
    # TODO: answer each question with a number, a letter or a list of names.
    # BEGIN SOLUTION
    # q1: n³ multiplications and about as many additions. q2: 2 bytes a number.
    # q4: the launches return at once; only waiting for the last result times the work.
    # Small products: the launch and copy costs dominate. Copies each time: PCIe
    # bandwidth (tens of GB/s) limits the GPU far below its compute.
    # q3: gpu.pick_strategy(["GPU:0", "GPU:1", "GPU:2", "GPU:3"], None, "tensorflow"), and "jax".
    return {"q1": 2 * 1024**3, "q2": 2 * 4096**2, "q3": ["mirrored", "data_parallel"], "q4": "b"}
    # END SOLUTION


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
    """Report the backend and its devices, time products of growing size on each, plot both."""
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    report = gpu.setup()
    print(report)
    others = [b for b in backend.NAMES if b != report.backend and backend.installed(b)]
    if others:
        print(f"also installed: {', '.join(others)} (`workshop --backend NAME run 0` times it)")
    devices = list_devices()
    sizes = [int(s) for s in config.sizes.split(",")]
    timings = {
        d.short_name: [time_matmul(n, d.short_name, config.repeats) for n in sizes] for d in devices
    }
    for name, secs in timings.items():
        for n, s in zip(sizes, secs, strict=True):
            print(f"{name} n={n:5d}: {s * 1e3:8.2f} ms  ({2 * n**3 / s / 1e9:7.1f} GFLOP/s)")
    fig, axes = plotting.subplots(1, 2, size=(11, 4))
    for name, secs in timings.items():
        axes[0, 0].loglog(sizes, secs, "o-", label=name)
        axes[0, 1].semilogx(
            sizes, [2 * n**3 / s / 1e9 for n, s in zip(sizes, secs, strict=True)], "o-", label=name
        )
    axes[0, 0].set(
        xlabel="n", ylabel="seconds per product", title=f"n x n matmul ({report.backend})"
    )
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
        "backend": report.backend,
        "backend_version": report.backend_version,
        "devices": [d.short_name for d in devices],
        "gpus": len(report.gpus),
        "strategy": report.strategy,
        "seconds": timings,
        "speedup": ratio,
        "headline": (
            f"{report.backend}: GPU {ratio:.1f}x faster at n={sizes[-1]}"
            if ratio
            else f"{report.backend}, CPU only: {2 * sizes[-1] ** 3 / biggest / 1e9:.1f} GFLOP/s "
            f"at n={sizes[-1]}"
        ),
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
