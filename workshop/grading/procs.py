"""Processes and files the grader handles defensively: whole trees killed, output read as a tail.

- `kill_tree` ends a process and every descendant, also those that left
  its session (`setsid`) or were orphaned (a double fork): on Linux the
  grader is a child subreaper, so orphans stay its descendants; on every
  system, processes carrying the check's token in their environment are
  found and killed too.
- `Tail` drains a pipe in a thread and keeps only its last bytes: a check
  that prints a gigabyte costs the grader a fixed amount of memory.
- `read_submission` reads a lesson file only if it is a regular file of
  sensible size and UTF-8 text (a byte-order mark is accepted): never a
  FIFO, a device, a directory or a link.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat
import sys
import threading
import time

import psutil

MAX_SUBMISSION = 1 * 2**20  # bytes: a lesson file is a few kB
TOKEN_VAR = "WORKSHOP_CHECK_TOKEN"


class UnreadableSubmission(ValueError):
    """The submission is not a regular UTF-8 file of sensible size; the message says which."""


def become_subreaper() -> bool:
    """Orphans of our descendants are re-parented to us, not to init (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def protect_memory() -> bool:
    """Make this process's memory, environment and open files unreadable to its own user's
    other processes (Linux: PR_SET_DUMPABLE 0; /proc/<pid>/mem, environ, fd, cwd need
    CAP_SYS_PTRACE then). The runner and the judge hold a check's signing key: attendee
    code running as the same user must not read it. True when it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(4, 0, 0, 0, 0) == 0  # PR_SET_DUMPABLE, SUID_DUMP_DISABLE
    except (OSError, AttributeError):
        return False


CAP_SYS_PTRACE = 19


def drop_ptrace() -> None:
    """In a child before exec, as root: no CAP_SYS_PTRACE after exec, ever (Linux).

    Root passes the PR_SET_DUMPABLE guard with CAP_SYS_PTRACE; removed from
    the bounding set (and no new privileges), attendee code running as root
    cannot read the judge's memory either. A no-op for other users.
    """
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(24, CAP_SYS_PTRACE, 0, 0, 0)  # PR_CAPBSET_DROP
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS


def quick_tensorflow() -> None:
    """In the judge and the worker: no graph optimiser (grappler) for TensorFlow's functions.

    Grading trains tiny models on a few rows, each model once. Grappler
    rewrites every new function, and every epoch's input pipeline, for longer
    than they then run: without it a check's `fit` takes a third less time.
    The numbers are the same up to rounding. Applied when TensorFlow loads.
    """
    from workshop import quiet

    quiet.after_import(
        lambda tf: tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    )


def die_with_parent() -> None:
    """In a child before exec: SIGKILL it when its parent dies (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _with_token(token: str) -> list[psutil.Process]:
    found = []
    needle = f"{TOKEN_VAR}={token}"
    for proc in psutil.process_iter():
        try:
            if proc.pid == os.getpid():
                continue
            environ = proc.environ()
        except (psutil.Error, OSError):
            continue
        if environ.get(TOKEN_VAR) == token or needle in environ.values():
            found.append(proc)
    return found


def child_pids() -> set[int]:
    """This process's direct children (with a subreaper: orphans of its descendants too)."""
    try:
        return {p.pid for p in psutil.Process().children(recursive=False)}
    except psutil.Error:
        return set()


def tree_rss(pid: int) -> tuple[int, int]:
    """Resident memory in bytes: (the process itself, all its descendants together)."""
    own = rest = 0
    with contextlib.suppress(psutil.Error):
        own = psutil.Process(pid).memory_info().rss
    for proc in _descendants(pid):
        with contextlib.suppress(psutil.Error):
            rest += proc.memory_info().rss
    return own, rest


def kill_tree(pid: int | None, token: str | None = None, orphans: bool = False) -> int:
    """SIGKILL `pid`, all its descendants, and every process carrying the check's `token`.

    With `orphans=True` (a process that exists only to grade one check, like
    the judge) every descendant of this process dies too: as a subreaper it
    inherits whatever the attendee's code detached. Returns how many died.
    """
    victims: dict[int, psutil.Process] = {}
    me = os.getpid()
    for _ in range(5):  # a fork loop keeps forking: sweep until nothing new appears
        found = []
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                found.append(psutil.Process(pid))
            found += _descendants(pid)
        if token:
            found += _with_token(token)
        if orphans:
            found += _descendants(me)
        new = [p for p in found if p.pid not in victims and p.pid != me]
        if not new:
            break
        for proc in new:
            victims[proc.pid] = proc
            with contextlib.suppress(psutil.Error, OSError):
                proc.kill()
        time.sleep(0.02)
    _reap(victims)
    return len(victims)


def _reap(victims: dict[int, psutil.Process]) -> None:
    deadline = time.monotonic() + 5
    for pid in victims:
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG) if os.name == "posix" else (pid, 0)
            except ChildProcessError:
                break  # not our child: init or its own parent reaps it
            if done:
                break
            time.sleep(0.01)


class Tail:
    """Drain a binary stream in a thread; keep its last `limit` bytes and count the rest."""

    def __init__(self, stream, limit: int = 200_000):
        self.stream = stream
        self.limit = limit
        self.buffer = bytearray()
        self.total = 0
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = self.stream.read1(65536) if hasattr(self.stream, "read1") else b""
            except (OSError, ValueError):
                break
            if not chunk:
                break
            self.total += len(chunk)
            self.buffer += chunk
            if len(self.buffer) > 2 * self.limit:
                del self.buffer[: len(self.buffer) - self.limit]

    def text(self, wait: float = 2.0) -> str:
        self.thread.join(wait)
        data = bytes(self.buffer[-self.limit :])
        prefix = ""
        if self.total > len(data):
            prefix = f"[... {self.total - len(data)} earlier bytes not kept ...]\n"
        return prefix + data.decode("utf-8", errors="replace")


class Lines:
    """Drain a pipe line by line in a thread, each line capped, at most `max_lines` kept.

    `finished` is set when a line containing `marker` arrives (the judge's
    last verdict: the runner need not wait for its interpreter to exit).
    """

    def __init__(
        self,
        stream,
        max_line: int = 2 * MAX_SUBMISSION,
        max_lines: int = 10_000,
        marker: bytes = b'\\"event\\": \\"finished\\"',
    ):
        self.stream = stream
        self.marker = marker
        self.finished = threading.Event()
        self.lines: list[bytes] = []
        self.overflow = False
        self.max_line, self.max_lines = max_line, max_lines
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            try:
                line = self.stream.readline(self.max_line + 1)
            except (OSError, ValueError):
                break
            if not line:
                break
            if len(line) > self.max_line or len(self.lines) >= self.max_lines:
                self.overflow = True
                continue
            self.lines.append(line)
            if self.marker in line:
                self.finished.set()

    def wait(self, seconds: float) -> list[bytes]:
        self.thread.join(seconds)
        return list(self.lines)


def read_submission(path, limit: int = MAX_SUBMISSION) -> str:
    """The text of a lesson file, read defensively; UnreadableSubmission says what is wrong."""
    path = os.fspath(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise UnreadableSubmission(f"{path} cannot be read: {exc.strerror}") from None
    kind = _kind(info.st_mode)
    if kind != "file":
        raise UnreadableSubmission(
            f"{path} is {kind}, not a regular file: grading reads only ordinary files "
            "(replace it with a copy of your code)"
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnreadableSubmission(f"{path} cannot be opened: {exc.strerror}") from None
    try:
        if _kind(os.fstat(fd).st_mode) != "file":
            raise UnreadableSubmission(f"{path} changed into something that is not a file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise UnreadableSubmission(
            f"{path} is larger than {limit // 1024} kB: a lesson file is a few kB of code"
        )
    data = b"".join(chunks)
    try:
        text = data.decode("utf-8-sig")  # Windows Notepad starts files with a byte-order mark
    except UnicodeDecodeError as exc:
        raise UnreadableSubmission(
            f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8 in your editor"
        ) from None
    if "\x00" in text:
        raise UnreadableSubmission(f"{path} contains NUL bytes: it is not a Python source file")
    return text


def read_tail(path, limit: int) -> str:
    """The last `limit` bytes of a regular file (never a FIFO, a device or a link), as text."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    if _kind(os.lstat(path).st_mode) != "file":
        raise UnreadableSubmission(f"{path} is not a regular file")
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if _kind(info.st_mode) != "file":
            raise UnreadableSubmission(f"{path} is not a regular file")
        os.lseek(fd, max(0, info.st_size - limit), os.SEEK_SET)
        data = os.read(fd, limit)
    finally:
        os.close(fd)
    return data.decode("utf-8", errors="replace")


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
