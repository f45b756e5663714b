"""The service's own mirrors of repositories' git sources.

Each repository's source (a URL or a local path) is fetched into a bare
mirror under ``GIT_MIRROR_DIR``. Creating a job fetches the mirror and
resolves the requested branch or ref there to a commit; workers later make
their working copies from the mirror.

Every git command runs with a timeout and without a terminal, so a source
that asks for a password fails instead of hanging.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


class GitError(Exception):
    """The service could not fetch or read a repository's git source."""


class UnknownRevision(Exception):
    """The branch or ref asked for is not in the repository."""


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    title: str
    body: str
    author: str


def check_ref_name(value: str, what: str) -> str | None:
    """Why ``value`` cannot name a branch, or None when it can."""
    problem = _check_common(value, what)
    if problem is None and (
        value.endswith((".", "/", ".lock")) or "@{" in value or "//" in value
    ):
        problem = f"{what} {value!r} is not a valid git branch name."
    if problem is None and _BAD_REF_CHARS.search(value):
        problem = (
            f"{what} {value!r} contains a character git does not allow in branch "
            "names (spaces, control characters, ~ ^ : ? * [ or \\)."
        )
    return problem


def check_revision(value: str, what: str) -> str | None:
    """Why ``value`` cannot name a commit, or None when it might.

    Revisions are wider than branch names: ``main~2`` and ``v1.0^`` are fine.
    """
    problem = _check_common(value, what)
    if problem is None and re.search(r"[\x00-\x20\x7f:\\]", value):
        problem = (
            f"{what} {value!r} contains spaces, control characters, ':' or "
            "'\\', which no commit name has."
        )
    return problem


def _check_common(value: str, what: str) -> str | None:
    if not value:
        return f"{what} must not be empty."
    if len(value) > 255:
        return f"{what} is {len(value)} characters long; the limit is 255."
    if value.startswith("-"):
        return f"{what} must not start with '-'."
    if ".." in value:
        return f"{what} {value!r} must not contain '..'; name one commit."
    return None


def _run(args: list[str], cwd: Path | None = None) -> str:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/true",
        "SSH_ASKPASS": "/bin/true",
        "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
        "LC_ALL": "C",
    }
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=settings.GIT_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise GitError(
            f"git {args[0]} took longer than {settings.GIT_TIMEOUT_SECONDS} s"
        )
    except OSError as e:
        raise GitError(f"could not run git: {e}")
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(message[-1] if message else f"git {args[0]} failed")
    return done.stdout.decode(errors="replace")


def mirror_path(repository_id: int) -> Path:
    return settings.GIT_MIRROR_DIR / f"{repository_id}.git"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on a mirror, across processes on this host."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Mirror:
    """A bare mirror of one repository's git source."""

    def __init__(self, repository_id: int, source: str) -> None:
        self.path = mirror_path(repository_id)
        self.source = source

    def fetch(self) -> None:
        """Bring the mirror up to date with the source's branches and tags."""
        with _locked(self.path):
            self._fetch()

    def _fetch(self) -> None:
        if not (self.path / "HEAD").exists():
            _run(["init", "--quiet", "--bare", str(self.path)])
        try:
            _run(
                [
                    "fetch",
                    "--quiet",
                    "--prune",
                    "--force",
                    "--no-write-fetch-head",
                    "--end-of-options",
                    self.source,
                    "+refs/heads/*:refs/heads/*",
                    "+refs/tags/*:refs/tags/*",
                ],
                cwd=self.path,
            )
        except GitError as e:
            logger.warning("fetching %s failed: %s", self.source, e)
            raise GitError(f"could not fetch {self.source}: {e}")

    def resolve(self, branch: str, ref: str) -> CommitInfo:
        """Fetch, then find the commit that ``ref`` names.

        ``ref`` is a commit SHA (full or abbreviated), a tag, a branch, or
        ``origin/<branch>``, which names the source's branch. An empty ref
        means the tip of ``branch``.
        """
        ref = ref or f"origin/{branch}"
        with _locked(self.path):
            self._fetch()
            sha = self._rev_parse(ref)
            if sha is None:
                raise UnknownRevision(self._unknown_message(branch, ref))
            return self._commit(sha)

    def _rev_parse(self, ref: str) -> str | None:
        if ref.startswith("origin/"):
            ref = f"refs/heads/{ref.removeprefix('origin/')}"
        try:
            out = _run(
                [
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    f"{ref}^{{commit}}",
                ],
                cwd=self.path,
            )
        except GitError:
            return None
        return out.strip() or None

    def _unknown_message(self, branch: str, ref: str) -> str:
        if ref == f"origin/{branch}":
            return f"There is no branch '{branch}' in the repository."
        return f"There is no commit, branch or tag '{ref}' in the repository."

    def _commit(self, sha: str) -> CommitInfo:
        out = _run(["log", "-1", "--format=%H%x00%an%x00%B", sha, "--"], cwd=self.path)
        full_sha, author, message = out.split("\x00", 2)
        title, _, body = message.strip().partition("\n")
        return CommitInfo(
            sha=full_sha,
            title=title.strip(),
            body=body.strip().replace("\x00", ""),
            author=author.strip(),
        )


def check_source(source: str) -> None:
    """Raise GitError unless git can list the refs of ``source``."""
    try:
        _run(["ls-remote", "--heads", "--end-of-options", source])
    except GitError as e:
        raise GitError(f"could not reach {source}: {e}")


@dataclass(frozen=True)
class TreeFile:
    path: str
    mode: str
    object_id: str


class CommitFiles:
    """Reading one commit's files from a mirror, and checking it out."""

    def __init__(self, mirror: Mirror, sha: str) -> None:
        self.mirror = mirror
        self.sha = sha

    def ensure_present(self) -> None:
        """Fetch the mirror if this host does not have the commit yet."""
        with _locked(self.mirror.path):
            if self._present():
                return
            self.mirror._fetch()
            if not self._present():
                raise GitError(
                    f"commit {self.sha} is no longer in {self.mirror.source}"
                )

    def _present(self) -> bool:
        if not (self.mirror.path / "HEAD").exists():
            return False
        try:
            _run(["cat-file", "-e", f"{self.sha}^{{commit}}"], cwd=self.mirror.path)
        except GitError:
            return False
        return True

    def files(self) -> list[TreeFile]:
        out = _run(
            ["ls-tree", "-r", "-z", "--full-tree", self.sha], cwd=self.mirror.path
        )
        found = []
        for entry in out.split("\x00"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode, kind, object_id = meta.split()
            if kind == "blob":
                found.append(TreeFile(path, mode, object_id))
        return found

    def read(self, file: TreeFile) -> str:
        return _run(["cat-file", "blob", file.object_id], cwd=self.mirror.path)

    def checkout(self, destination: Path) -> None:
        """A working copy of the commit, with its history, at ``destination``."""
        _run(
            [
                "clone",
                "--quiet",
                "--local",
                "--no-checkout",
                str(self.mirror.path),
                str(destination),
            ]
        )
        _run(["checkout", "--quiet", "--detach", self.sha], cwd=destination)
