"""Writing outputs so that nothing is lost or silently mixed.

- A file is written whole or not at all: into a temporary file beside it, flushed to disk, then renamed over it.
- A directory of files that belong together (a dataset, a release) is written into a temporary directory beside it
  and renamed into place, so a reader sees the old set or the new set, never half of each. An existing directory is
  replaced only when it holds nothing but files of the same kind (hidden files count), so a mistyped path never
  costs other files.
- Temporary names carry the writer's pid, so two runs never share one, and a later run can tell the leftovers of a
  killed writer (pid gone) from the files of a live one.
- A run that writes into a directory for a long time (training) holds a lock on it; the kernel drops the lock when
  the process dies, even by SIGKILL, so a lock is never stale.
- SHA-256 fingerprints tie files that must match (a checkpoint and its tokenizer).

Problems with a path raise `OutputError`, whose message names the option, the path and what is wrong.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Collection, Iterator
from pathlib import Path


class OutputError(ValueError):
    """An output path that cannot be written; the message names the option, the path and the problem."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised where the program was; `exit_code` is the shell's 128 + signal number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


# ---- files ----------------------------------------------------------------------------------------------------------

def temporary_name(path: Path) -> Path:
    """A hidden name beside `path` that holds this process's pid: `.NAME.tmp-PID`."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_copy(source: Path, destination: Path) -> None:
    atomic_write_bytes(destination, Path(source).read_bytes())


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def directory_sha256(path: str | Path) -> str:
    """One fingerprint for the files directly inside a directory: their names and contents, in name order."""
    digest = hashlib.sha256()
    for child in sorted(Path(path).iterdir()):
        if child.is_file():
            digest.update(f"{child.name}\0{file_sha256(child)}\n".encode())
    return digest.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _writer_pid(name: str) -> int | None:
    """The pid in a temporary name `.NAME.KIND-PID` or `.NAME.KIND-PID-RANDOM`, if it has one."""
    tail = name.rsplit(".", 1)[-1].split("-")
    return int(tail[1]) if len(tail) >= 2 and tail[1].isdigit() else None


def remove_stale_temporaries(directory: Path, prefix: str = ".") -> list[Path]:
    """Delete the hidden temporary files and directories in `directory` (names `PREFIX*.tmp-PID...`) whose writer
    is no longer running, as a SIGKILL during a write leaves them. Returns what was removed."""
    removed = []
    if not directory.is_dir():
        return removed
    for child in directory.iterdir():
        if not child.name.startswith(prefix) or (".tmp-" not in child.name and ".old-" not in child.name):
            continue
        pid = _writer_pid(child.name)
        if pid is None or _pid_alive(pid):
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
        removed.append(child)
    return removed


# ---- directories ----------------------------------------------------------------------------------------------------

def check_writable_parent(path: Path, option: str) -> None:
    """Raise OutputError unless files can be created beside `path`: its nearest existing ancestor is a directory
    this process may write into."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{option} {path} cannot be created: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path} cannot be written: no write permission in {ancestor}")


def check_output_dir(path: Path, option: str) -> None:
    """Raise OutputError unless `path` is a directory or can be created as one."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {path} is a file, not a directory")
    check_writable_parent(path, option)


def _written_by_us(name: str, expected: Collection[str]) -> bool:
    """A file a `kind` consists of, or the temporary of one (`.NAME.tmp-PID`) that a killed writer left."""
    return name in expected or any(name.startswith(f".{file}.tmp-") for file in expected)


def check_replaceable(path: Path, option: str, expected: Collection[str], kind: str) -> None:
    """Raise OutputError unless `path` is absent or a directory that holds only files named in `expected` (the
    files a `kind` consists of) and their temporaries, so replacing it loses nothing else. Hidden files count: a
    user's `.notes`, `.gitattributes` or `.git/` would be deleted with the rest."""
    check_output_dir(path, option)
    if not path.is_dir():
        return
    others = sorted(child.name for child in path.iterdir() if not _written_by_us(child.name, expected))
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise OutputError(f"{option} {path} holds files a {kind} does not have ({shown}); it would be replaced "
                          f"whole, deleting them: move them out or choose a new or empty directory")


def _fsync_tree(directory: Path) -> None:
    for child in directory.iterdir():
        if child.is_file():
            with open(child, "rb") as handle:
                os.fsync(handle.fileno())
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _replace_directory(new: Path, path: Path) -> None:
    """Rename `new` to `path`; an existing `path` is first renamed aside, then deleted. Retried if another writer
    replaced `path` in between."""
    for _ in range(10):
        try:
            os.rename(new, path)  # succeeds when `path` is absent or an empty directory
            return
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-{os.getpid()}-", dir=path.parent))
        try:
            os.rename(path, aside / path.name)
        except FileNotFoundError:  # another writer moved it first: try again
            aside.rmdir()
            continue
        try:
            os.rename(new, path)
        except OSError:
            os.rename(aside / path.name, path)  # put the old one back
            aside.rmdir()
            raise
        shutil.rmtree(aside, ignore_errors=True)
        return
    raise OutputError(f"{path} kept changing while it was being replaced (another writer?)")


def _recover_replacement(path: Path) -> None:
    """A writer killed between the two renames of `_replace_directory` leaves `path` missing and its old contents in
    `.NAME.old-PID-*/NAME`: put them back."""
    if path.exists() or not path.parent.is_dir():
        return
    for aside in path.parent.iterdir():
        pid = _writer_pid(aside.name)
        if aside.name.startswith(f".{path.name}.old-") and pid is not None and not _pid_alive(pid):
            if (aside / path.name).is_dir():
                os.rename(aside / path.name, path)
                return


@contextlib.contextmanager
def atomic_directory(path: str | Path, option: str, expected: Collection[str], kind: str) -> Iterator[Path]:
    """Yield a new empty temporary directory beside `path`; write the output there. When the block ends normally
    the files are flushed to disk and the directory replaces `path` whole; when it raises (or is interrupted) the
    temporary directory is removed and `path` is left as it was.

    `expected` names the files a `kind` consists of: an existing `path` holding anything else is not replaced."""
    path = Path(path)
    check_replaceable(path, option, expected, kind)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _recover_replacement(path)
        remove_stale_temporaries(path.parent, prefix=f".{path.name}.")
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent))
    except OSError as err:
        raise OutputError(f"{option} {path} cannot be written: {err.strerror or err}") from None
    try:
        if path.is_dir():
            shutil.copymode(path, staging)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(staging, 0o777 & ~umask)
        yield staging
        check_replaceable(path, option, expected, kind)
        _fsync_tree(staging)
        _replace_directory(staging, path)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


# ---- a lock per output directory -------------------------------------------------------------------------------------

class DirectoryLock:
    """An exclusive lock on an output directory while a run writes there (`with DirectoryLock(dir, "--out_dir")`).

    The lock is an flock on `DIR/.lock`, which holds the owner's pid: a second run fails at once with an
    OutputError naming that pid, and the kernel releases the lock when the owner exits or is killed."""

    NAME = ".lock"

    def __init__(self, directory: str | Path, option: str):
        self.directory, self.option = Path(directory), option
        self.descriptor: int | None = None

    def __enter__(self) -> DirectoryLock:
        check_output_dir(self.directory, self.option)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.directory / self.NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise OutputError(f"{self.option} {self.directory} cannot be written: {err.strerror or err}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise OutputError(f"{self.option} {self.directory} is in use by another run (pid {holder}); wait for it "
                              f"to finish, stop it, or choose another {self.option}") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        self.descriptor = descriptor
        return self

    def __exit__(self, *exc_info) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)  # releases the flock; the file stays, so no one can lock a deleted inode
            self.descriptor = None


# ---- signals --------------------------------------------------------------------------------------------------------

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signal_handlers(handler) -> Iterator[None]:
    """Route SIGINT and SIGTERM to `handler(signum, frame)` inside the block (main thread only; elsewhere the
    process keeps its handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def raise_interrupted(signum: int, frame) -> None:
    """A signal handler: SIGINT and SIGTERM alike raise Interrupted where the program is, so `finally` blocks and
    `atomic_directory` clean up."""
    raise Interrupted(signum)
