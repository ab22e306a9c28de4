"""Grading checks for ex00: devices and timing.

Timing is never compared with a number (machines are noisy): the checks
count the products run, and fake the devices and timings where a GPU is
needed, so they pass on a laptop without one. Faking happens in the worker,
where the lesson runs: each such check is a @scenario.
"""

import math

import pytest

from workshop.grading.judge import scenario


def test_list_devices_has_the_cpu(lesson):
    devices = lesson.list_devices()
    assert isinstance(devices, list) and devices, f"expected a non-empty list, got {devices!r}"
    kinds = [d.kind for d in devices]
    assert "CPU" in kinds, f"every machine has a CPU; got kinds {kinds}"
    assert kinds == sorted(kinds, key=lambda k: k != "CPU"), f"CPUs must come first, got {kinds}"


@scenario
def devices_on_a_machine_with_gpus(lesson):
    """list_devices when the helper layer reports GPUs before the CPU (faked in the worker)."""
    info = lesson.gpu.DeviceInfo
    reported = [
        info("/physical_device:GPU:0", "GPU", 80_000, "fake A"),
        info("/physical_device:CPU:0", "CPU"),
        info("/physical_device:GPU:1", "GPU", 40_000, "fake B"),
    ]
    real = lesson.gpu.list_devices
    lesson.gpu.list_devices = lambda: list(reported)
    try:
        return [(d.kind, d.name) for d in lesson.list_devices()]
    finally:
        lesson.gpu.list_devices = real


def test_list_devices_puts_the_cpus_first(lesson):
    got = devices_on_a_machine_with_gpus(lesson)
    want = [
        ("CPU", "/physical_device:CPU:0"),
        ("GPU", "/physical_device:GPU:0"),
        ("GPU", "/physical_device:GPU:1"),
    ]
    assert got == want, (
        "with gpu.list_devices() reporting [GPU:0, CPU:0, GPU:1], expected the CPU first and "
        f"the GPUs after it in their order, {want}; got {got}"
    )


@scenario
def count_products(lesson, n, repeats):
    """time_matmul with tf.matmul counting its calls (in the worker, where the lesson runs)."""
    calls = []
    real = lesson.tf.matmul

    def counting(a, b, *args, **kwargs):
        calls.append(tuple(a.shape))
        return real(a, b, *args, **kwargs)

    lesson.tf.matmul = counting
    try:
        seconds = lesson.time_matmul(n, "CPU:0", repeats=repeats)
    finally:
        lesson.tf.matmul = real
    return {"calls": len(calls), "seconds": seconds}


def test_time_matmul_warms_up_then_times(lesson, rng):
    repeats = int(rng.integers(3, 7))
    got = count_products(lesson, 32, repeats)
    assert got["calls"] == repeats + 1, (
        f"with repeats={repeats} expect 1 warm-up + {repeats} timed products = {repeats + 1} "
        f"calls to tf.matmul, got {got['calls']}"
    )
    seconds = got["seconds"]
    assert isinstance(seconds, float) and math.isfinite(seconds) and seconds > 0, (
        f"time_matmul must return positive seconds, got {seconds!r}"
    )


@scenario
def time_with_a_fake_clock(lesson, n, repeats):
    """A clock that advances 1 s per reading."""
    ticks = iter(range(1000))
    real = lesson.time.perf_counter
    lesson.time.perf_counter = lambda: float(next(ticks))
    try:
        return lesson.time_matmul(n, "CPU:0", repeats=repeats)
    finally:
        lesson.time.perf_counter = real


def test_time_matmul_is_a_mean_per_product(lesson, rng):
    # Timing `repeats` products between two readings of a clock that ticks 1 s
    # per reading must give 1/repeats s per product, not the total.
    repeats = int(rng.integers(4, 10))
    seconds = time_with_a_fake_clock(lesson, 16, repeats)
    assert seconds == pytest.approx(1 / repeats), (
        f"read the clock once before and once after the timed loop and divide by repeats; "
        f"with a clock that ticks 1 s per reading expected {1 / repeats:.4g}, got {seconds!r}"
    )


@scenario
def speedup_on_a_cpu_only_machine(lesson, n):
    import contextlib
    import io

    cpu_only = [d for d in lesson.gpu.list_devices() if d.kind == "CPU"]
    real = lesson.list_devices
    lesson.list_devices = lambda: cpu_only
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            ratio = lesson.speedup(n)
    finally:
        lesson.list_devices = real
    return {"ratio": ratio, "printed": out.getvalue()}


def test_speedup_without_gpu_is_none(lesson):
    got = speedup_on_a_cpu_only_machine(lesson, 64)
    assert got["ratio"] is None, f"with no GPU, speedup must return None, got {got['ratio']!r}"
    assert got["printed"].strip(), "print a short message saying there is no GPU (not an error)"


@scenario
def speedup_with_fake_times(lesson, n, cpu_seconds, gpu_seconds):
    fake_gpu = lesson.gpu.DeviceInfo("/physical_device:GPU:0", "GPU", 80_000, "fake")
    cpu = lesson.gpu.DeviceInfo("/physical_device:CPU:0", "CPU")
    fake_times = {"CPU:0": cpu_seconds, "GPU:0": gpu_seconds}
    real = lesson.list_devices, lesson.time_matmul
    lesson.list_devices = lambda: [cpu, fake_gpu]
    lesson.time_matmul = lambda n, device, repeats=5: fake_times[device]
    try:
        return lesson.speedup(n)
    finally:
        lesson.list_devices, lesson.time_matmul = real


def test_speedup_is_cpu_over_gpu(lesson, rng):
    cpu, gpu = float(rng.uniform(1, 4)), float(rng.uniform(0.1, 0.5))
    ratio = speedup_with_fake_times(lesson, 512, cpu, gpu)
    assert ratio == pytest.approx(cpu / gpu), (
        f"CPU {cpu:.3f} s / GPU {gpu:.3f} s is a speed-up of {cpu / gpu:.3f}, got {ratio!r}"
    )
