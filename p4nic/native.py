"""C extensions that p4nic compiles itself, at first use, with the system's C compiler.

p4nic installs as pure Python: `pip install` needs no compiler. Where a hot path needs native
code, its C source ships inside the package; `NativeModule.start()` compiles it against the
running Python's headers (and a system library's, found by pkg-config, for a module that links
one) into a per-user cache (`$XDG_CACHE_HOME/p4nic`, else `~/.cache/p4nic`), named by the
source's hash and the Python ABI, and loads it. A cached build loads at once; a new one is
compiled on a background thread, so start-up never waits for a compiler: callers keep serving
with their Python path until `module` is set. No compiler, no headers, no such library or a
failed build: one log line (a warning, but for a library that is not installed), and the
Python path for the life of the process.
`P4NIC_NATIVE=0` in the environment keeps every native module off.
"""
import hashlib
import importlib.util
import logging
import os
import sys
import sysconfig
import threading
from pathlib import Path

CFLAGS = ["-O2", "-shared", "-fPIC", "-fno-strict-aliasing"]
BUILD_TIMEOUT = 300


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "p4nic"


def compiler() -> list:
    """The C compiler command: $CC, else the one Python was built with, else `cc`."""
    import shlex     # here and in build(): what only a build needs stays out of start-up
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


def enabled() -> bool:
    return os.environ.get("P4NIC_NATIVE", "1") != "0"


class NativeBuildError(Exception):
    """Why a native module cannot be had here (the message says, for the log line)."""


class LibraryMissing(NativeBuildError):
    """The system library a module links is not installed: an optional speed-up the user has
    not asked for, so its log line is at info level."""


class NativeModule:
    """One C source of the package, compiled and loaded once per process (see module doc)."""

    def __init__(self, name: str, source: Path, purpose: str, library: str | None = None):
        self.name = name                  # the extension's module name (its PyInit_<name>)
        self.source = source
        self.purpose = purpose            # for the log line: what runs without it
        self.library = library            # a system library it links, by its pkg-config name
        self.module = None                # the loaded extension, once there is one
        self.failure: str | None = None   # why there is none, once that is known
        self._lock = threading.Lock()
        self._started = False

    def path(self) -> Path:
        """Where the build for this source, this Python and these flags is cached."""
        digest = hashlib.sha256(self.source.read_bytes() + " ".join(CFLAGS).encode()
                                + (self.library or "").encode())
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        return cache_dir() / f"{self.name}-{digest.hexdigest()[:16]}{suffix}"

    def start(self, log: logging.Logger | None = None) -> None:
        """Load the cached build now, or build it in the background; once per process."""
        with self._lock:
            if self._started:
                return
            self._started = True
        log = log or logging.getLogger("p4nic.native")
        if not enabled():
            self.failure = "P4NIC_NATIVE=0"
            return
        if self.path().is_file():
            self._load_or_build(log)
        else:
            threading.Thread(target=self._load_or_build, args=(log,), daemon=True,
                             name=f"build-{self.name}").start()

    def require(self):
        """The module, built and loaded now if need be (tests, benchmarks); raises
        NativeBuildError."""
        if self.module is None:
            self.module = self.load(self.build())
        return self.module

    def _load_or_build(self, log: logging.Logger) -> None:
        try:
            self.module = self.load(self.build())
        except NativeBuildError as exc:
            self.failure = str(exc)
            level = logging.INFO if isinstance(exc, LibraryMissing) else logging.WARNING
            log.log(level, "native %s unavailable (%s): %s", self.name, exc, self.purpose)
        except Exception as exc:  # noqa: BLE001 - a broken build must not take the caller down
            self.failure = f"{type(exc).__name__}: {exc}"
            log.warning("native %s unavailable (%s): %s", self.name, self.failure, self.purpose)

    def build(self) -> Path:
        """The compiled extension's path, compiling it first when it is not cached; raises
        NativeBuildError saying why it cannot be."""
        import subprocess
        import tempfile

        target = self.path()
        if target.is_file():
            return target
        include = sysconfig.get_paths()["include"]
        if not (Path(include) / "Python.h").is_file():
            raise NativeBuildError(f"no Python headers in {include}")
        command = compiler()
        flags = CFLAGS + (["-undefined", "dynamic_lookup"] if sys.platform == "darwin" else [])
        linked = self.library_flags() if self.library else []
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._remove_abandoned(target)
            handle, partial = tempfile.mkstemp(prefix=target.name, suffix=".tmp",
                                               dir=target.parent)
            os.close(handle)
        except OSError as exc:
            raise NativeBuildError(f"cannot write to {target.parent}: {exc.strerror}") from None
        try:
            result = subprocess.run(command + flags + ["-I", include, str(self.source), "-o",
                                                       partial] + linked,
                                    capture_output=True, text=True, timeout=BUILD_TIMEOUT)
            if result.returncode != 0:
                last = (result.stderr.strip().splitlines() or ["no message"])[-1]
                raise NativeBuildError(f"{command[0]} failed: {last}")
            os.replace(partial, target)   # atomic: a concurrent build finds all or nothing
        except FileNotFoundError:
            raise NativeBuildError(f"no C compiler ({command[0]} not found)") from None
        except subprocess.TimeoutExpired:
            raise NativeBuildError(f"{command[0]} took over {BUILD_TIMEOUT} s") from None
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        return target

    def library_flags(self) -> list:
        """The compiler and linker flags of `library`, from pkg-config; NativeBuildError when
        it is not installed."""
        import shlex
        import subprocess
        try:
            result = subprocess.run(["pkg-config", "--cflags", "--libs", self.library],
                                    capture_output=True, text=True, timeout=60)
        except FileNotFoundError:
            raise LibraryMissing(f"no pkg-config to find the {self.library} library") from None
        if result.returncode != 0:
            raise LibraryMissing(f"no {self.library} library (pkg-config knows none)")
        return shlex.split(result.stdout)

    @staticmethod
    def _remove_abandoned(target: Path) -> None:
        """Partial builds a process left when it was stopped mid-build (older than any build
        still running may be)."""
        import time
        for partial in target.parent.glob(f"{target.name}*.tmp"):
            try:
                if time.time() - partial.stat().st_mtime > BUILD_TIMEOUT:
                    partial.unlink()
            except OSError:
                pass

    def load(self, path: Path):
        spec = importlib.util.spec_from_file_location(self.name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
