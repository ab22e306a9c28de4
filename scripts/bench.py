"""Benchmarks: grading latency, training speed and quality on real data, text perplexity, GPU throughput.

    python scripts/bench.py                 # everything (about 15-20 minutes on 2 CPU cores)
    python scripts/bench.py --only mnist    # one section: grading, watch, grade, mnist, text, rnn,
                                            # word2vec, autoencoders, transfer, gpu, room,
                                            # mutants
    python scripts/bench.py --quick         # smaller budgets, to check the script itself

Every timing is reported next to a baseline measured in the same run (the
machine is noisy: compare ratios, not seconds). Real data comes from
../shared/data beside the project (the MNIST test set, Don Quijote); a
section whose data is missing says so and is skipped. Results are printed
and written as JSON (--out).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from workshop.catalog import load_catalog  # noqa: E402
from workshop.grading.loader import load_lesson  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from benches.ex13 import bench_autoencoders  # noqa: E402
from benches.ex14 import bench_transfer  # noqa: E402
from benches.gpu import bench_gpu  # noqa: E402
from benches.shared import real_mnist  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def _line(text=""):
    print(text, flush=True)


# --------------------------------------------------------------------------- grading


#: The last commit before grading was split into a judge and a worker: the
#: baseline the grading latencies are compared with, measured in the same run.
BASELINE_REF = "edbb77b"

_OLD_GRADER = """
import json, sys, time
from workshop.catalog import find_module
from workshop.grading.runner import run_checks
m = find_module(sys.argv[1])
r = run_checks(m, sys.argv[2])
print(json.dumps({"status": r.status, "seconds": r.duration}))
"""


def _baseline_checkout(ref: str):
    """A temporary worktree of `ref` (the old grader), or None without git or the commit."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="workshop-baseline-")) / "tree"
    done = subprocess.run(
        ["git", "worktree", "add", "--detach", str(folder), ref],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return folder if done.returncode == 0 else None


def _old_check(tree: Path, module_id: str, target: str) -> dict:
    env = dict(os.environ, WORKSHOP_ROOT=str(tree), PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, "-c", _OLD_GRADER, module_id, target],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"status": "bench-error", "seconds": float("nan"), "stderr": done.stderr[-500:]}


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def bench_grading(quick: bool, repeats: int = 3, saves: int = 5) -> dict:
    """Seconds from a check to its verdict, per module: the judge/worker grader against the old one.

    Per module, in the same run: the untouched stub (an attendee's first
    check), the finished solution checked cold (`workshop check`), the same
    check with the grader of BASELINE_REF (attendee code in the pytest
    process), and the median of `saves` re-checks with a judge and worker
    started in advance, as `workshop watch` keeps them.
    """
    import tempfile

    from workshop.grading.runner import PendingCheck, read_siblings, run_checks
    from workshop.stubs import make_stub, write_stub

    repeats = 1 if quick else repeats
    saves = 2 if quick else saves
    tree = _baseline_checkout(BASELINE_REF)
    if tree is None:
        _line(f"  (no git checkout of {BASELINE_REF}: no comparison with the old grader)")
    rows = {}
    try:
        for module in load_catalog():
            if quick and module.tf:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                write_stub(module.solution_path(), Path(tmp) / f"{module.id}.py")
                stub = run_checks(module, tmp)
            cold = [run_checks(module, "solutions") for _ in range(repeats)]
            text = module.solution_path().read_text(encoding="utf-8")
            stub_text = make_stub(text)

            def saved(source, module=module):
                pending = PendingCheck(module, f"exercises/{module.id}.py", wait=True)
                time.sleep(12 if module.tf else 2)  # the attendee is typing; the pair gets ready
                siblings = read_siblings(module, module.solution_path().parent)
                return pending.go(source, siblings=siblings)

            warm = [saved(text) for _ in range(saves)]
            warm_stub = [saved(stub_text) for _ in range(saves)]
            row = {
                "stub_seconds": round(stub.duration, 2),
                "cold_median_seconds": round(_median([r.duration for r in cold]), 2),
                "watch_median_seconds": round(_median([r.duration for r in warm]), 2),
                "watch_stub_median_seconds": round(_median([r.duration for r in warm_stub]), 2),
                "status": sorted({stub.status, *(r.status for r in cold + warm + warm_stub)}),
            }
            row["watch_over_cold"] = round(
                row["watch_median_seconds"] / row["cold_median_seconds"], 2
            )
            line = (
                f"  {module.id:<38} stub {row['stub_seconds']:5.2f} s (watch {row['watch_stub_median_seconds']:4.2f} s), "
                f"solution cold {row['cold_median_seconds']:6.2f} s, "
                f"watch {row['watch_median_seconds']:6.2f} s ({row['watch_over_cold']:.2f}x cold)"
            )
            if tree is not None:
                old = [_old_check(tree, module.id, "solutions") for _ in range(repeats)]
                row["old_grader_median_seconds"] = round(_median([o["seconds"] for o in old]), 2)
                row["cold_over_old"] = round(
                    row["cold_median_seconds"] / row["old_grader_median_seconds"], 2
                )
                line += f"; old grader {row['old_grader_median_seconds']:6.2f} s (new/old {row['cold_over_old']:.2f}x)"
            rows[module.id] = row
            _line(line)
    finally:
        if tree is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    return {"baseline_ref": BASELINE_REF if tree else None, "modules": rows}


def bench_grade(quick: bool, submissions: int = 10) -> dict:
    """`workshop grade` on a folder of full submissions (every solution): -j 2 against -j 1."""
    import tempfile

    from workshop.grading import grade, sandbox

    submissions = 2 if quick else submissions
    use_sandbox = sandbox.available()[0]
    with tempfile.TemporaryDirectory(prefix="workshop-grade-bench-") as tmp:
        folder = Path(tmp)
        for i in range(submissions):
            person = folder / f"attendee{i:02d}"
            person.mkdir()
            for module in load_catalog():
                if quick and module.tf:
                    continue
                (person / f"{module.id}.py").write_text(
                    module.solution_path().read_text(encoding="utf-8")
                )
        times = {}
        for jobs in (1, 2):
            start = time.perf_counter()
            rows = grade.grade_folder(
                folder, folder / f"grades-j{jobs}.csv", jobs=jobs, sandbox=use_sandbox, force=True
            )
            times[jobs] = time.perf_counter() - start
            full = sum(1 for r in rows if r["points"] == r["max_points"] or quick)
            _line(
                f"  -j {jobs}: {times[jobs]:6.1f} s for {submissions} submissions ({full} full marks)"
            )
    speedup = times[1] / times[2]
    _line(f"  -j 2 is {speedup:.2f}x faster than -j 1 (sandbox: {use_sandbox})")
    return {
        "submissions": submissions,
        "sandbox": use_sandbox,
        "seconds_j1": round(times[1], 1),
        "seconds_j2": round(times[2], 1),
        "speedup": round(speedup, 2),
    }


# --------------------------------------------------------------------------- MNIST


class _Clock:
    """Keras callback: wall time and validation accuracy after every epoch."""

    def __new__(cls, goal):
        import keras

        class Clock(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start, self.times, self.accuracy = time.perf_counter(), [], []

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self.start)
                self.accuracy.append(float(logs["val_accuracy"]))

            def time_to(self):
                hit = [t for t, a in zip(self.times, self.accuracy, strict=True) if a >= goal]
                return round(hit[0], 1) if hit else None

        return Clock()


def _train_both_ways(name, build, x_train, y_train, x_test, y_test, epochs, goal, image_shape=None):
    """Train `build()` the textbook way and the workshop way for the same epochs; compare."""
    import keras

    from workshop import pipeline

    results = {}
    for way in ("textbook", "workshop"):
        keras.utils.set_random_seed(0)
        model = build()
        clock = _Clock(goal)
        if way == "textbook":  # NumPy arrays straight into fit, default batch size (32)
            train, valid = (x_train, y_train), (x_test, y_test)
            model.fit(*train, epochs=epochs, validation_data=valid, callbacks=[clock], verbose=0)
        else:  # the lessons' way: tf.data, cached, shuffled, augmented, batches of 128, prefetch
            train = pipeline.to_dataset(
                x_train, y_train, 128, shuffle=True, augment=True, image_shape=image_shape
            )
            valid = pipeline.to_dataset(x_test, y_test, 512)
            model.fit(train, epochs=epochs, validation_data=valid, callbacks=[clock], verbose=0)
        results[way] = {
            "final_accuracy": round(clock.accuracy[-1], 4),
            "best_accuracy": round(max(clock.accuracy), 4),
            "train_seconds": round(clock.times[-1], 1),
            "seconds_per_epoch": round(clock.times[-1] / epochs, 2),
            "seconds_to_goal": clock.time_to(),
        }
        r = results[way]
        _line(
            f"  {name:<24} {way:<9} accuracy {r['final_accuracy']:.4f} (best {r['best_accuracy']:.4f}) "
            f"after {epochs} epochs, {r['train_seconds']:6.1f} s; goal {goal} reached after "
            f"{r['seconds_to_goal'] if r['seconds_to_goal'] is not None else 'never'} s"
        )
    t, w = results["textbook"]["train_seconds"], results["workshop"]["train_seconds"]
    results["workshop_seconds_per_textbook_second"] = round(w / t, 2)
    _line(f"  {name:<24} per epoch the workshop way takes {w / t:.2f}x the textbook way's time")
    tt, tw = results["textbook"]["seconds_to_goal"], results["workshop"]["seconds_to_goal"]
    if tt and tw:
        results["time_to_goal_speedup"] = round(tt / tw, 2)
        _line(f"  {name:<24} to reach {goal}: {tt / tw:.2f}x faster the workshop way")
    return results


def bench_mnist(quick: bool) -> dict:
    if not (SHARED / "mnist-test").exists():
        _line("  skipped: ../shared/data/mnist-test is not here")
        return {"skipped": "no ../shared/data/mnist-test"}
    (x_train, y_train), (x_test, y_test) = real_mnist()
    if quick:
        x_train, y_train = x_train[:1000], y_train[:1000]
    out = {
        "train": len(x_train),
        "test": len(x_test),
        "source": "MNIST t10k: first 8,000 train, last 2,000 test",
    }
    ex06 = load_lesson("ex06_lenet", "solutions")
    lx_train, lx_test = (ex06.pad_to_32(x).astype("float32") / 255 for x in (x_train, x_test))
    epochs = 3 if quick else 40
    out["lenet5"] = _train_both_ways(
        "LeNet-5 (ex06)",
        ex06.build_lenet5,
        lx_train,
        y_train,
        lx_test,
        y_test,
        epochs,
        0.98,
    )
    ex05 = load_lesson("ex05_keras_regression_classification", "solutions")
    dx_train, dx_test = ex05.flatten_images(x_train), ex05.flatten_images(x_test)
    dy_train, dy_test = ex05.to_one_hot(y_train, 10), ex05.to_one_hot(y_test, 10)
    out["dense_ex05"] = _train_both_ways(
        "dense classifier (ex05)",
        ex05.build_classification_model,
        dx_train,
        dy_train,
        dx_test,
        dy_test,
        epochs,
        0.965,
        image_shape=(28, 28, 1),
    )
    # ex09: the IBM course's MNIST CNN (variant 1), its 10 epochs, on the same split.
    ex09 = load_lesson("ex09_cnn_classifiers", "solutions")
    cx_train, cx_test = ((x.astype("float32") / 255)[..., None] for x in (x_train, x_test))
    out["mnist_cnn_ex09"] = _train_both_ways(
        "MNIST CNN (ex09)",
        lambda: ex09.build_mnist_cnn(1),
        cx_train,
        y_train,
        cx_test,
        y_test,
        3 if quick else 10,
        0.985,
    )
    cnn = max(
        r["best_accuracy"] for r in (out["mnist_cnn_ex09"][w] for w in ("textbook", "workshop"))
    )
    dense = max(
        r["best_accuracy"] for r in (out["dense_ex05"][w] for w in ("textbook", "workshop"))
    )
    out["cnn_ahead_of_dense"] = round(cnn - dense, 4)
    _line(
        f"  ex09's CNN {cnn:.4f} against ex05's dense net {dense:.4f}: "
        f"{'ahead' if cnn > dense else 'NOT ahead'} by {cnn - dense:+.4f}"
    )
    return out


# --------------------------------------------------------------------------- rnn


def bench_rnn(quick: bool) -> dict:
    """ex11: recall a marked symbol after T steps; SimpleRNN against LSTM and GRU."""
    ex11 = load_lesson("ex11_rnn_internals", "solutions")
    T_values = (3,) if quick else (5, 20)
    n, epochs = (300, 2) if quick else (4000, 20)
    start = time.perf_counter()
    rows = ex11.compare_cells(T_values, n=n, units=32, epochs=epochs, seed=0)
    _line(f"  memory task: {n} sequences, 32 units, {epochs} epochs, chance 0.25")
    for r in rows:
        _line(
            f"  T={r['T']:>3} {r['cell']:<11} accuracy {r['accuracy']:.3f}  "
            f"{r['parameters']:>5} weights (formula {r['by_formula']})  {r['seconds']:.1f} s"
        )
    longest = max(T_values)
    at = {r["cell"]: r["accuracy"] for r in rows if r["T"] == longest}
    gated = min(at["lstm"], at["gru"])
    goal = gated >= 0.95 and at["simple_rnn"] <= 0.35
    _line(
        f"  at T={longest}: LSTM/GRU {gated:.3f} (goal >= 0.95), SimpleRNN "
        f"{at['simple_rnn']:.3f} (near chance: <= 0.35): {'met' if goal else 'NOT met'}"
    )
    return {
        "rows": rows,
        "T": longest,
        "goal_met": bool(goal),
        "seconds": time.perf_counter() - start,
    }


# --------------------------------------------------------------------------- word2vec


def bench_word2vec(quick: bool) -> dict:
    """ex12: skip-gram vectors of the real book; the nearest words to its characters."""
    book = SHARED / "quijote.txt"
    if not book.exists():
        _line("  skipped: ../shared/data/quijote.txt is not here")
        return {"skipped": "no ../shared/data/quijote.txt"}
    from workshop.data import read_text, strip_gutenberg

    ex12 = load_lesson("ex12_word2vec", "solutions")
    tokens = ex12.book_words(strip_gutenberg(read_text(book)))
    if quick:
        tokens = tokens[:30_000]
    config = ex12.Config(epochs=1 if quick else 3, dim=64)
    start = time.perf_counter()
    trained = ex12.train_word2vec(tokens, config)
    seconds = time.perf_counter() - start
    losses = trained.history.history["loss"]
    _line(
        f"  {len(tokens):,} words, vocabulary {len(trained.vocab):,} (min_count "
        f"{config.min_count}), {trained.pairs:,} pairs/epoch, {config.epochs} epochs in "
        f"{seconds:.0f} s, loss " + " → ".join(f"{v:.3f}" for v in losses)
    )
    names = [*config.words.split(","), "escudero"]
    neighbours = ex12.neighbour_table(names, trained.embeddings, trained.vocab, k=8)
    for word, near in neighbours.items():
        _line(f"  {word:<10} " + ", ".join(f"{w} {s:.2f}" for w, s in near))
    return {
        "tokens": len(tokens),
        "vocabulary": len(trained.vocab),
        "pairs": trained.pairs,
        "loss": losses,
        "seconds": seconds,
        "neighbours": {k: [[w, s] for w, s in v] for k, v in neighbours.items()},
    }


# --------------------------------------------------------------------------- text


def bench_text(quick: bool) -> dict:
    book = SHARED / "quijote.txt"
    if not book.exists():
        _line("  skipped: ../shared/data/quijote.txt is not here")
        return {"skipped": "no ../shared/data/quijote.txt"}
    import keras

    from workshop.data import read_text, strip_gutenberg

    ex08 = load_lesson("ex08_rnn_text_generation", "solutions")
    text = ex08.clean_text(strip_gutenberg(read_text(book)))
    words = ex08.tokenize_words(text)
    budget_words = 20_000 if quick else 120_000
    words = words[:budget_words]
    split = int(0.9 * len(words))
    vocab = ex08.build_vocabulary(words[:split], min_count=2)
    ids = ex08.encode(words, vocab)
    window, epochs = 10, (1 if quick else 6)
    keras.utils.set_random_seed(0)
    model = ex08.build_text_model(len(vocab), 64, 256, "lstm")
    start = time.perf_counter()
    history = model.fit(
        ex08.windows_dataset(ids[:split], window, 128, seed=0),
        validation_data=ex08.windows_dataset(ids[split:], window, 512, shuffle=False),
        epochs=epochs,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    val_ppl = [ex08.perplexity(v) for v in history.history["val_loss"]]
    baseline = ex08.unigram_perplexity(ids[:split], ids[split:], len(vocab))
    seed_text = "en un lugar de la mancha , de cuyo nombre no"
    sample = ex08.generate(model, seed_text, 30, 0.7, vocab, window, seed=1)
    _line(
        f"  word level: {len(words):,} words (90/10 split), vocabulary {len(vocab):,}, {epochs} epochs, {seconds / epochs:.1f} s/epoch"
    )
    _line(
        f"  validation perplexity by epoch: {[round(p, 1) for p in val_ppl]}; unigram baseline {baseline:.1f} "
        f"({baseline / val_ppl[-1]:.2f}x higher)"
    )
    _line(f"  sample (T=0.7): {sample}")

    chars = list(text[: (30_000 if quick else 200_000)])
    csplit = int(0.9 * len(chars))
    cvocab = ex08.build_vocabulary(chars[:csplit])
    cids = ex08.encode(chars, cvocab)
    keras.utils.set_random_seed(0)
    cmodel = ex08.build_text_model(len(cvocab), 32, 128, "gru")
    cepochs = 1 if quick else 2
    start = time.perf_counter()
    chist = cmodel.fit(
        ex08.windows_dataset(cids[:csplit], 32, 256, seed=0),
        validation_data=ex08.windows_dataset(cids[csplit:], 32, 512, shuffle=False),
        epochs=cepochs,
        verbose=0,
    )
    cseconds = time.perf_counter() - start
    cunigram = ex08.unigram_perplexity(cids[:csplit], cids[csplit:], len(cvocab))
    csample = ex08.generate(cmodel, text[:32], 150, 0.6, cvocab, 32, level="char", seed=1)
    _line(
        f"  character level: {len(chars):,} characters, {cepochs} epochs, {cseconds / cepochs:.1f} s/epoch, "
        f"validation loss {chist.history['val_loss'][-1]:.3f} (unigram baseline {np.log(cunigram):.3f})"
    )
    _line(f"  sample (T=0.6): {csample!r}")
    return {
        "word": {
            "words": len(words),
            "vocabulary": len(vocab),
            "epochs": epochs,
            "seconds_per_epoch": round(seconds / epochs, 1),
            "val_perplexity": [round(p, 2) for p in val_ppl],
            "unigram_perplexity": round(baseline, 2),
            "baseline_over_model": round(baseline / val_ppl[-1], 2),
            "sample": sample,
        },
        "char": {
            "characters": len(chars),
            "epochs": cepochs,
            "seconds_per_epoch": round(cseconds / cepochs, 1),
            "val_loss": round(chist.history["val_loss"][-1], 4),
            "unigram_loss": round(float(np.log(cunigram)), 4),
            "sample": csample,
        },
    }


# --------------------------------------------------------------------------- room


def bench_room(quick: bool) -> dict:
    """`workshop serve`: records stored per second, against SQLite alone in the same run."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    import psutil

    from workshop.room import simulate
    from workshop.room.store import Store

    modules = load_catalog()
    attendees, checks = (20, 10) if quick else (60, 50)
    room = simulate.room(attendees, checks, modules, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        # Baseline: the same records straight into SQLite, one transaction each, no HTTP.
        store = Store(Path(tmp) / "plain.sqlite3")
        flat = [r for rs in room.values() for r in rs]
        start = time.perf_counter()
        for r in flat:
            store.add([{**r}], time.time())
        plain = len(flat) / (time.perf_counter() - start)
        store.close()
        _line(f"  baseline, SQLite alone: {plain:,.0f} records/s (one commit per record)")

        results = {"sqlite_records_per_s": plain}
        for label, batch in (("one record per request, as checks send", 1), ("batches of 50", 50)):
            server = simulate.Server(Path(tmp) / f"room-{batch}.sqlite3").start()
            try:

                def send(rs, server=server, batch=batch):
                    for i in range(0, len(rs), batch):
                        status, _ = server.post(rs[i : i + batch] if batch > 1 else rs[i])
                        assert status == 200, status

                fresh = {
                    n: [{**r, "id": os.urandom(16).hex()} for r in rs] for n, rs in room.items()
                }
                for name in fresh:
                    server.machine(name)  # joined before the clock starts
                busy = psutil.Process(server.proc.pid)
                cpu_before = sum(busy.cpu_times()[:2])
                start = time.perf_counter()
                with ThreadPoolExecutor(16) as pool:
                    list(pool.map(send, fresh.values()))
                seconds = time.perf_counter() - start
                cpu = sum(busy.cpu_times()[:2]) - cpu_before
                stored = server.state()["records"]
            finally:
                server.stop()
            rate = stored / seconds
            key = "single" if batch == 1 else "batched"
            results[f"{key}_records_per_s"] = rate
            results[f"{key}_server_cpu_s"] = cpu
            _line(
                f"  server, {label}: {stored} records from {attendees} attendees in "
                f"{seconds:.1f} s = {rate:,.0f} records/s ({rate / plain:.2f} x SQLite alone); "
                f"the server used {cpu:.1f} s of CPU = {stored / max(cpu, 1e-9):,.0f} records "
                "per CPU second"
            )
    # A room of 30 checking once a minute sends 0.5 records/s.
    _line(
        f"  a room of 30 checking every minute sends 0.5 records/s: {results['single_records_per_s'] / 0.5:,.0f} x headroom"
    )
    return results


# --------------------------------------------------------------------------- mutants


def bench_mutants(quick: bool) -> dict:
    """Check strength: each lesson's mutants (wrong and lazy versions) graded through the judge.

    The full run grades every mutant (a few hours on 2 cores); --quick a fixed
    sample of 4 per lesson. The table is the one in the README.
    """
    from workshop.grading import mutants

    scores = []
    for module in load_catalog():
        score = mutants.run([module], limit=4 if quick else None, jobs=os.cpu_count() or 1)[0]
        scores.append(score)
        d = score.to_dict()
        _line(
            f"  {module.id:<38} lazy {d['lazy_killed']}/{d['lazy_total']}, others "
            f"{d['other_killed']}/{d['other_total']}, {d['equivalent']} equivalent, "
            f"{d['seconds']:.0f} s{'' if score.meets_goal else '  (goal missed)'}"
        )
    _line(mutants.table(scores))
    survivors = mutants.report(scores)
    if survivors:
        _line(survivors)
    return {s.module: s.to_dict() for s in scores}


def _todo_functions(text: str) -> list[tuple[str, int]]:
    """(top-level definition, line of its first BEGIN SOLUTION) for each one holding a TODO block."""
    import ast

    lines = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip() == "# BEGIN SOLUTION"]
    found = {}
    for node in ast.parse(text).body:
        for line in lines:
            if node.lineno <= line <= node.end_lineno and hasattr(node, "name"):
                found.setdefault(node.name, line)
    return list(found.items())


def bench_watch(quick: bool) -> dict:
    """Seconds from a save to its verdict under `workshop watch`, per module (the solution).

    Each re-check has its judge and worker started in advance. "every check":
    the whole file graded (`watch --all-checks`, and the first save); "saved
    again": the same text once more (one check runs); then, for each function
    with a TODO block, a save where only that function changed (a statement
    added that changes nothing): the checks that reach it run, the others keep
    their verdicts. The median and the slowest of those are reported.
    """
    from workshop.grading.runner import PendingCheck, read_siblings

    rows = {}
    for module in load_catalog():
        if quick and module.tf:
            continue
        text = module.solution_path().read_text(encoding="utf-8")

        def saved(source, earlier=None, module=module):
            pending = PendingCheck(module, f"exercises/{module.id}.py", wait=True)
            time.sleep(12 if module.tf else 2)  # the attendee is typing; the pair gets ready
            siblings = read_siblings(module, module.solution_path().parent)
            result = pending.go(source, siblings=siblings, earlier=earlier)
            return result, pending.earlier(result)

        full, earlier = saved(text)
        again, _ = saved(text, earlier)
        edits = {}
        lines = text.splitlines(keepends=True)
        for name, line in _todo_functions(text)[: 3 if quick else None]:
            indent = lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]
            edited = "".join(lines[: line - 1] + [f"{indent}_edited = None\n"] + lines[line - 1 :])
            result, _ = saved(edited, earlier)
            edits[name] = {
                "seconds": round(result.duration, 2),
                "rerun": result.total - result.reused,
            }
        statuses = {full.status, again.status}
        slowest = max(edits, key=lambda n: edits[n]["seconds"]) if edits else None
        row = {
            "every_check_seconds": round(full.duration, 2),
            "saved_again_seconds": round(again.duration, 2),
            "one_function_median_seconds": _median([e["seconds"] for e in edits.values()])
            if edits
            else None,
            "one_function_slowest": slowest,
            "one_function_max_seconds": edits[slowest]["seconds"] if slowest else None,
            "functions": edits,
            "status": sorted(statuses),
        }
        rows[module.id] = row
        _line(
            f"  {module.id:<38} every check {row['every_check_seconds']:5.2f} s, saved again "
            f"{row['saved_again_seconds']:4.2f} s, one function changed: median "
            f"{row['one_function_median_seconds'] or 0:5.2f} s, slowest "
            f"{row['one_function_max_seconds'] or 0:5.2f} s ({slowest}) {'/'.join(row['status'])}"
        )
    return {"modules": rows}


SECTIONS = {
    "grading": bench_grading,
    "watch": bench_watch,
    "grade": bench_grade,
    "mnist": bench_mnist,
    "text": bench_text,
    "rnn": bench_rnn,
    "word2vec": bench_word2vec,
    "autoencoders": bench_autoencoders,
    "transfer": bench_transfer,
    "gpu": bench_gpu,
    "room": bench_room,
    "mutants": bench_mutants,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated, from {list(SECTIONS)}"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small budgets (checks the script, not the goals)"
    )
    parser.add_argument("--out", default="outputs/bench.json")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {list(SECTIONS)}")
    results = {"quick": args.quick, "python": sys.version.split()[0], "cpus": os.cpu_count()}
    for name in chosen:
        _line(f"[{name}]")
        start = time.perf_counter()
        results[name] = SECTIONS[name](args.quick)
        _line(f"  ({time.perf_counter() - start:.0f} s)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    _line(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
