"""Gathering what several device-tool calls brought back into one folder to read.

A GPU session is a few calls of `scripts/gpu_session.sh`, each its own `files_at` folder
holding summary.txt and gpu-session-PHASES.tar.gz (the device tool returns at most 8 files,
so the script packs its logs and results into that archive). The calls are gathered in the
order given: summary.txt lines are appended, so that every call's steps stay in the log;
machine.txt is the first call's (the one the header describes); any other file is taken
from the last call that has it (a phase run again replaces the earlier attempt). A plain
folder of loose files (the fixture, an unpacked archive) is read the same way.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path, PurePosixPath
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

ARCHIVE_PATTERN = "gpu-session*.tar.gz"


def archive_members(archive: Path) -> Iterator[Tuple[str, bytes]]:
    """(name, bytes) of the regular files at the archive's top level. Anything else (folders,
    links, paths that climb out or go deeper) is not ours and is passed over."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = [part for part in PurePosixPath(member.name).parts if part != "."]
            if not member.isfile() or len(parts) != 1 or parts[0] == "..":
                continue
            data = tar.extractfile(member)
            if data is not None:
                yield parts[0], data.read()


def merge_into(merged: Dict[str, bytes], files: Dict[str, bytes]) -> None:
    """summary.txt appended, machine.txt kept from the first, any other file replaced."""
    for name, data in files.items():
        if name == "summary.txt" and merged.get(name):
            separator = b"" if merged[name].endswith(b"\n") else b"\n"
            merged[name] += separator + data
        elif name == "machine.txt" and name in merged:
            continue
        else:
            merged[name] = data


def call_files(path: Path) -> Tuple[Dict[str, bytes], List[str]]:
    """The files one call left: those of its archives (one a call; should a folder hold
    several, in name order, merged as calls are), then its loose files, which win (the
    loose summary.txt is the archive's own copy). Also problems found on the way (an
    unreadable archive)."""
    files: Dict[str, bytes] = {}
    problems: List[str] = []
    archives = [path] if path.is_file() else sorted(path.glob(ARCHIVE_PATTERN))
    for archive in archives:
        try:
            merge_into(files, dict(archive_members(archive)))
        except (tarfile.TarError, OSError, EOFError) as error:
            problems.append(f"{archive}: not a readable gpu-session archive ({error})")
    if path.is_dir():
        for loose in sorted(path.iterdir()):
            if loose.is_file() and not loose.match(ARCHIVE_PATTERN):
                try:
                    files[loose.name] = loose.read_bytes()
                except OSError as error:
                    problems.append(f"{loose}: unreadable ({error.strerror})")
    return files, problems


def gpu_name(summary: Optional[bytes]) -> Optional[str]:
    """The GPU on summary.txt's first line (nvidia-smi's CSV), None if it is not there."""
    first = (summary or b"").decode("utf-8", "replace").strip().splitlines()[:1]
    match = re.match(r"\s*([^,]+),", first[0]) if first else None
    return match.group(1).strip() if match else None


def gather_calls(paths: Sequence[Path], into: Path) -> List[str]:
    """Writes the calls' files into the folder `into`; returns notes for the results file:
    where each call's files came from, and anything that needs a reader's attention (an
    unreadable archive, calls that ran on different GPUs)."""
    merged: Dict[str, bytes] = {}
    notes: List[str] = []
    gpus: List[str] = []
    for number, path in enumerate(paths, start=1):
        files, problems = call_files(path)
        notes += problems
        notes.append(f"call {number}: {path.name or path} ({', '.join(sorted(files)) or 'no files'})")
        gpu = gpu_name(files.get("summary.txt"))
        if gpu:
            gpus.append(gpu)
        merge_into(merged, files)
    if len(set(gpus)) > 1:
        notes.append("WARNING: the calls ran on different GPUs (" + ", ".join(gpus) + "); ratios between "
                     "numbers from different calls compare different machines")
    into.mkdir(parents=True, exist_ok=True)
    for name, data in merged.items():
        (into / name).write_bytes(data)
    return notes
