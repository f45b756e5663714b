"""A runner's files on the worker host.

Each runner gets a folder of its own under ``CI_WORK_DIR``::

    <job uuid>/<runner pk>/
        src/    a git working copy of the job's commit: what COPY reads
        fs/     the runner's own file tree: absolute paths in Layerfile
                instructions (WORKDIR /app, COPY . /app) point in here
        fs/root the runner's home folder and first working folder

A runner that starts FROM another Layerfile starts with a copy of that
runner's ``fs/``. Runners run on the worker host itself, not in a virtual
machine: this layout keeps the paths that Layerfile instructions name apart
from the host's, but commands in RUN lines see the host as it is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

from django.conf import settings

HOME = "/root"


class PathOutside(ValueError):
    """A path that leads out of the runner's own file tree."""


class Workspace:
    def __init__(self, job_uuid: str, runner_pk: int) -> None:
        self.root = settings.CI_WORK_DIR / job_uuid / str(runner_pk)
        self.src = self.root / "src"
        self.fs = self.root / "fs"
        self.logs = self.root / "logs"

    @property
    def home(self) -> Path:
        return self.fs / HOME.lstrip("/")

    def create(self, parent: Workspace | None) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        self.logs.mkdir()
        if parent is not None:
            _copy_tree(parent.fs, self.fs)
        else:
            self.home.mkdir(parents=True)

    def host_path(self, path: str, cwd: str) -> Path:
        """Where a path named in a Layerfile instruction is on this host.

        Absolute paths and ``~`` are inside the runner's own file tree;
        relative paths are relative to the working folder ``cwd``.
        """
        return self.fs / self.runner_path(path, cwd).lstrip("/")

    def runner_path(self, path: str, cwd: str) -> str:
        """The absolute path, as the runner sees it, of ``path`` from ``cwd``."""
        if path == "~" or path.startswith("~/"):
            path = HOME + path[1:]
        joined = PurePosixPath(cwd) / path
        parts: list[str] = []
        for part in joined.parts[1:]:
            if part == "..":
                if not parts:
                    raise PathOutside(f"{path} leads above /")
                parts.pop()
            elif part not in (".", ""):
                parts.append(part)
        return "/" + "/".join(parts)

    def source_path(self, path: str, layerfile_dir: str) -> Path:
        """A COPY source: relative to the Layerfile, or to the repository root."""
        base = PurePosixPath("/") / layerfile_dir
        inside = self.runner_path(path, str(base))
        return self.src / inside.lstrip("/")

    def remove(self, keep_fs: bool) -> None:
        """Delete what no one needs any more: all of it, or all but ``fs/``."""
        if not keep_fs:
            shutil.rmtree(self.root, ignore_errors=True)
            return
        shutil.rmtree(self.src, ignore_errors=True)


def copy_into(source: Path, destination: Path, into_folder: bool) -> None:
    """COPY's semantics: a folder's contents merge into the destination."""
    if source.is_dir() and not source.is_symlink():
        _copy_tree(source, destination)
        return
    if into_folder or destination.is_dir():
        destination.mkdir(parents=True, exist_ok=True)
        destination = destination / source.name
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination, follow_symlinks=False)


def _copy_tree(source: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    # cp keeps hard links, sparse files and modes, and shares blocks where
    # the file system can; it is also much faster than shutil on big trees.
    subprocess.run(
        ["cp", "-a", "--reflink=auto", f"{source}/.", str(destination)],
        check=True,
        capture_output=True,
    )


class Cache:
    """Folders kept per repository between runs (the CACHE instruction)."""

    def __init__(self, repository_id: int) -> None:
        self.root = settings.CI_CACHE_DIR / str(repository_id)

    def _folder(self, runner_path: str) -> Path:
        key = hashlib.sha256(runner_path.encode()).hexdigest()[:24]
        return self.root / key

    def restore(self, runner_path: str, target: Path) -> bool:
        saved = self._folder(runner_path)
        if not saved.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            return False
        _copy_tree(saved, target)
        return True

    def save(self, runner_path: str, source: Path) -> None:
        """Replace the saved copy in one rename, so readers never see half."""
        if not source.is_dir():
            return
        final = self._folder(runner_path)
        staging = final.with_name(f"{final.name}.{os.getpid()}.new")
        shutil.rmtree(staging, ignore_errors=True)
        _copy_tree(source, staging)
        old = final.with_name(f"{final.name}.{os.getpid()}.old")
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
