"""Which processes are alive, read from Linux /proc: for tests that check a command leaves no
switch process behind."""
from pathlib import Path

HAVE_PROC = Path("/proc/self/stat").exists()


def stat(pid) -> list:
    """Fields of /proc/PID/stat after the command name: [state, ppid, ...]; [] if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def live_children(pid: int) -> list:
    """The children of `pid` that are running (not zombies)."""
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
            and (fields := stat(entry.name)) and int(fields[1]) == pid and fields[0] != "Z"]


def still_running(pids) -> list:
    return [pid for pid in pids if stat(pid) and stat(pid)[0] != "Z"]
