"""Grading checks for ex00: devices and timing.

Timing is never compared with a number (machines are noisy): the checks
count the products run, and fake the devices and timings where a GPU is
needed, so they pass on a laptop without one.
"""

import math

import pytest


def test_list_devices_has_the_cpu(lesson):
    devices = lesson.list_devices()
    assert isinstance(devices, list) and devices, f"expected a non-empty list, got {devices!r}"
    kinds = [d.kind for d in devices]
    assert "CPU" in kinds, f"every machine has a CPU; got kinds {kinds}"
    assert kinds == sorted(kinds, key=lambda k: k != "CPU"), f"CPUs must come first, got {kinds}"


def test_time_matmul_warms_up_then_times(lesson, monkeypatch):
    calls = []
    real = lesson.tf.matmul

    def counting(a, b, *args, **kwargs):
        calls.append(a.shape)
        return real(a, b, *args, **kwargs)

    monkeypatch.setattr(lesson.tf, "matmul", counting)
    seconds = lesson.time_matmul(32, "CPU:0", repeats=4)
    assert len(calls) == 5, (
        f"with repeats=4 expect 1 warm-up + 4 timed products = 5 calls to tf.matmul, got {len(calls)}"
    )
    assert isinstance(seconds, float) and math.isfinite(seconds) and seconds > 0, (
        f"time_matmul must return positive seconds, got {seconds!r}"
    )


def test_time_matmul_is_a_mean_per_product(lesson, monkeypatch):
    # A fake clock that advances 1 s per reading: timing 8 products between two
    # readings must give 1/8 s per product, not the total.
    ticks = iter(range(1000))
    monkeypatch.setattr(lesson.time, "perf_counter", lambda: float(next(ticks)))
    seconds = lesson.time_matmul(16, "CPU:0", repeats=8)
    assert seconds == pytest.approx(1 / 8), (
        f"read the clock once before and once after the timed loop and divide by repeats; "
        f"with a clock that ticks 1 s per reading expected 0.125, got {seconds!r}"
    )


def test_speedup_without_gpu_is_none(lesson, monkeypatch, capsys):
    cpu_only = [d for d in lesson.gpu.list_devices() if d.kind == "CPU"]
    monkeypatch.setattr(lesson, "list_devices", lambda: cpu_only)
    assert lesson.speedup(64) is None, "with no GPU, speedup must return None"
    out = capsys.readouterr().out
    assert out.strip(), "print a short message saying there is no GPU (not an error)"


def test_speedup_is_cpu_over_gpu(lesson, monkeypatch):
    fake_gpu = lesson.gpu.DeviceInfo("/physical_device:GPU:0", "GPU", 80_000, "fake")
    cpu = lesson.gpu.DeviceInfo("/physical_device:CPU:0", "CPU")
    monkeypatch.setattr(lesson, "list_devices", lambda: [cpu, fake_gpu])
    fake_times = {"CPU:0": 2.0, "GPU:0": 0.25}
    monkeypatch.setattr(lesson, "time_matmul", lambda n, device, repeats=5: fake_times[device])
    ratio = lesson.speedup(512)
    assert ratio == pytest.approx(8.0), f"CPU 2.0 s / GPU 0.25 s is a speed-up of 8, got {ratio!r}"
