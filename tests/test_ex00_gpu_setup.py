"""Grading checks for ex00: devices, timing, the speed-up and the questions, on every backend.

Timing is never compared with a number (machines are noisy): the checks
watch what the attendee's code does (which products, when it waits for the
device, when it reads the clock), with `keras.ops` and the clock replaced
by recording ones, and fake the devices and timings where a GPU is needed,
so they pass on a laptop without one. Faking happens in the worker, where
the lesson runs: each such check is a @scenario. The references come from
the judge's own helper layer (the devices, the strategies) or from formulas
written here.
"""

from workshop.grading import expect
from workshop.grading.judge import scenario


def test_list_devices_are_the_backends(lesson):
    from workshop import gpu

    got = lesson.list_devices()
    assert isinstance(got, list) and got, f"list_devices() returns a non-empty list, got {got!r}"
    want = [(d.kind, d.name) for d in gpu.list_devices()]  # the judge runs the same backend
    want = [w for w in want if w[0] == "CPU"] + [w for w in want if w[0] == "GPU"]
    expect.equal(
        [(d.kind, d.name) for d in got],
        want,
        "the (kind, name) of each device list_devices() returns",
        hint="return the records workshop.gpu.list_devices() gives, CPUs first",
    )


@scenario
def devices_on_a_machine_with_gpus(lesson):
    """list_devices when the helper layer reports GPUs before the CPU (faked in the worker)."""
    info = lesson.gpu.DeviceInfo
    reported = [
        info("gpu:1", "GPU", 40_000, "fake B"),
        info("cpu:0", "CPU"),
        info("gpu:0", "GPU", 80_000, "fake A"),
    ]
    real = lesson.gpu.list_devices
    lesson.gpu.list_devices = lambda: list(reported)
    try:
        return [[d.kind, d.name] for d in lesson.list_devices()]
    finally:
        lesson.gpu.list_devices = real


def test_list_devices_puts_the_cpus_first(lesson):
    got = devices_on_a_machine_with_gpus(lesson)
    reported = [["GPU", "gpu:1"], ["CPU", "cpu:0"], ["GPU", "gpu:0"]]
    want = [d for d in reported if d[0] == "CPU"] + [d for d in reported if d[0] == "GPU"]
    expect.equal(
        got,
        want,
        f"list_devices() when the helper layer reports {[d[1] for d in reported]}",
        hint="the CPUs first, then the GPUs in the order the helper gave them",
    )


@scenario
def watch_time_matmul(lesson, n, repeats):
    """time_matmul with ops.matmul, ops.convert_to_numpy and the clock recording what they see.

    The clock advances 1 s per reading. Returns the events in order:
    ["product", i], ["wait", i] (convert_to_numpy on product i; -1 on
    anything else) and ["clock", k], and the seconds returned.
    """
    events, products = [], []
    real = lesson.ops.matmul, lesson.ops.convert_to_numpy, lesson.time.perf_counter
    ticks = iter(range(10_000))

    def matmul(a, b, *args, **kwargs):
        products.append(real[0](a, b, *args, **kwargs))
        events.append(["product", len(products) - 1])
        return products[-1]

    def convert(x, *args, **kwargs):
        which = next((i for i, p in enumerate(products) if p is x), -1)
        events.append(["wait", which])
        return real[1](x, *args, **kwargs)

    def clock():
        events.append(["clock", sum(1 for e in events if e[0] == "clock")])
        return float(next(ticks))

    lesson.ops.matmul, lesson.ops.convert_to_numpy, lesson.time.perf_counter = (
        matmul,
        convert,
        clock,
    )
    try:
        seconds = lesson.time_matmul(n, "CPU:0", repeats=repeats)
    finally:
        lesson.ops.matmul, lesson.ops.convert_to_numpy, lesson.time.perf_counter = real
    return {"events": events, "seconds": seconds}


def _clock_readings(events):
    return [i for i, e in enumerate(events) if e[0] == "clock"]


def test_time_matmul_warms_up_then_times(lesson, rng):
    repeats = int(rng.integers(3, 7))
    events = watch_time_matmul(lesson, 16, repeats)["events"]
    products = [e for e in events if e[0] == "product"]
    expect.equal(
        len(products),
        repeats + 1,
        f"the products time_matmul(16, repeats={repeats}) computes",
        hint="one warm-up product that is not timed, then `repeats` timed ones",
    )
    readings = _clock_readings(events)
    expect.equal(len(readings), 2, "the clock readings", hint="once before the loop, once after")
    before = events[: readings[0]]
    expect.equal(
        before,
        [["product", 0], ["wait", 0]],
        "what happens before the clock starts",
        hint="the warm-up product, and waiting for it (ops.convert_to_numpy), before the clock",
    )


def test_time_matmul_waits_for_the_last_product(lesson, rng):
    repeats = int(rng.integers(3, 7))
    events = watch_time_matmul(lesson, 16, repeats)["events"]
    readings = _clock_readings(events)
    expect.equal(len(readings), 2, "the clock readings", hint="once before the loop, once after")
    timed = events[readings[0] + 1 : readings[1]]
    want = [["product", i] for i in range(1, repeats + 1)] + [["wait", repeats]]
    expect.equal(
        timed,
        want,
        f"what happens between the two clock readings (repeats={repeats})",
        hint="the timed products, then ops.convert_to_numpy on the last one: a GPU works "
        "asynchronously, and only the result being there says it has finished",
    )


def test_time_matmul_is_a_mean_per_product(lesson, rng):
    # Timing `repeats` products between two readings of a clock that ticks 1 s
    # per reading must give 1/repeats s per product, not the total.
    repeats = int(rng.integers(4, 10))
    seconds = watch_time_matmul(lesson, 16, repeats)["seconds"]
    expect.close(
        seconds,
        1 / repeats,
        f"time_matmul's seconds per product with a clock that ticks 1 s per reading "
        f"(repeats={repeats})",
        rtol=1e-9,
        hint="(clock after the loop − clock before it) / repeats",
    )


def test_time_matmul_measures_on_the_real_clock(lesson):
    seconds = lesson.time_matmul(64, "CPU:0", repeats=2)
    expect.between(seconds, 1e-9, 60.0, "time_matmul(64, 'CPU:0', repeats=2) in seconds")


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
def speedup_with_fake_times(lesson, n, seconds):
    """speedup with the devices and time_matmul faked: `seconds` maps a device to its time."""
    info = lesson.gpu.DeviceInfo
    devices = [info("cpu:0", "CPU"), info("gpu:0", "GPU", 80_000, "fake A")]
    devices += [info("gpu:1", "GPU", 80_000, "fake B")]
    real = lesson.list_devices, lesson.time_matmul
    lesson.list_devices = lambda: list(devices)
    lesson.time_matmul = lambda n, device, repeats=5: seconds[device]
    try:
        return lesson.speedup(n)
    finally:
        lesson.list_devices, lesson.time_matmul = real


def test_speedup_is_cpu_over_gpu(lesson, rng):
    seconds = {
        "CPU:0": float(rng.uniform(1, 4)),
        "GPU:0": float(rng.uniform(0.1, 0.5)),
        "GPU:1": float(rng.uniform(0.6, 0.9)),
    }
    ratio = speedup_with_fake_times(lesson, 512, seconds)
    expect.close(
        ratio,
        seconds["CPU:0"] / seconds["GPU:0"],
        f"speedup with CPU:0 taking {seconds['CPU:0']:.3f} s and the first GPU, GPU:0, "
        f"{seconds['GPU:0']:.3f} s",
        rtol=1e-9,
        hint="CPU seconds divided by the first GPU's seconds",
    )


def test_answers(lesson):
    import keras

    from workshop import gpu

    got = lesson.answers()
    assert isinstance(got, dict), f"answers() returns a dict, got {type(got).__name__}"
    n = 1024
    multiply_adds = n * n * n  # n·n entries, each a sum of n products
    expect.equal(
        expect.integer(got.get("q1"), "q1"),
        2 * multiply_adds,
        "q1: the operations of one 1024 x 1024 product",
        hint="each of the n·n entries takes n multiplications and n additions",
    )
    width = keras.ops.convert_to_numpy(keras.ops.zeros((1,), dtype="bfloat16")).itemsize
    expect.equal(
        expect.integer(got.get("q2"), "q2"),
        width * 4096 * 4096,
        "q2: the bytes of a 4096 x 4096 bfloat16 matrix",
        hint="16 bits a number",
    )
    four = [f"GPU:{i}" for i in range(4)]
    expect.equal(
        got.get("q3"),
        [gpu.pick_strategy(four, None, name) for name in ("tensorflow", "jax")],
        "q3: the strategies for four GPUs under TensorFlow and under JAX",
        hint="workshop.gpu.pick_strategy, or the README's table",
    )
    compute_ms, queue_ms, products = 5.0, 0.02, 10
    options = {"a": compute_ms, "b": queue_ms, "c": products * compute_ms}
    # Not waiting, the clock stops once the last product is queued: only the queueing is timed.
    letter = next(k for k, v in options.items() if v == queue_ms)
    expect.equal(got.get("q4"), letter, "q4: the ms per product read without waiting")
