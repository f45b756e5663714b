"""Running one runner: its Layerfile's instructions, one step each."""

from __future__ import annotations

import ctypes
import logging
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)
from django.utils import timezone

from ciapp import layerfile as lf
from ciapp.execution import scheduling
from ciapp.execution.lease import RunnerHeartbeat
from ciapp.execution.workspace import HOME, Cache, PathOutside, Workspace, copy_into
from ciapp.git import CommitFiles, GitError, Mirror
from ciapp.models import InvalidTransition, Job, Runner, Step
from ciapp.statuses import RunnerStatus, StepStatus

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Variables of bash's own that must not leak from ENV's evaluation.
_SHELL_VARIABLES = {"PWD", "OLDPWD", "SHLVL", "_"}
_PR_SET_PDEATHSIG = 1


class StepFailed(Exception):
    """The step failed because of what the Layerfile asked for."""


class Stopped(Exception):
    """The runner was cancelled, or its worker lost its lease."""


@dataclass
class Outcome:
    status: StepStatus
    log: str = ""
    exit_code: int | None = None


@dataclass
class State:
    """Where a runner is; kept on the runner for a BUTTON or a child runner."""

    env: dict[str, str] = field(default_factory=dict)
    cwd: str = HOME
    setup_files: list[str] = field(default_factory=list)
    caches: list[str] = field(default_factory=list)
    next_position: int = 1
    skip_rest: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "cwd": self.cwd,
            "setup_files": self.setup_files,
            "caches": self.caches,
            "next_position": self.next_position,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        return cls(
            env=dict(data.get("env", {})),
            cwd=data.get("cwd", HOME),
            setup_files=list(data.get("setup_files", [])),
            caches=list(data.get("caches", [])),
            next_position=int(data.get("next_position", 1)),
        )


def execute(runner_id: int, worker: str) -> None:
    runner = Runner.objects.select_related("job__repository__organization").get(
        pk=runner_id
    )
    if not runner.claim(worker, settings.CI_HOST_NAME):
        logger.info("runner %s is not there to run (%s)", runner, runner.status)
        return
    logger.info("running %s of job %s", runner, runner.job)
    Execution(runner, worker).run()
    close_old_connections()


class Execution:
    def __init__(self, runner: Runner, worker: str) -> None:
        self.runner = runner
        self.job: Job = runner.job
        self.worker = worker
        self.workspace = Workspace(str(self.job.uuid), runner.pk)
        self.secrets: list[str] = []
        self.background: list[subprocess.Popen[bytes]] = []
        self.deadline = time.monotonic() + settings.CI_RUNNER_TIMEOUT_SECONDS
        self.heartbeat = RunnerHeartbeat(runner, worker)
        self.layerfile: lf.Layerfile | None = None
        self.state = State()

    # The life of a runner

    def run(self) -> None:
        resuming = bool(self.runner.state.get("parked"))
        status = RunnerStatus.ERROR
        message = ""
        parked = False
        with self.heartbeat:
            try:
                steps = through_outages(lambda: self._set_up(resuming))
                status, parked = self._run_steps(steps)
            except Stopped:
                status = RunnerStatus.CANCELLED
            except (GitError, OSError, lf.LayerfileError) as e:
                logger.exception("runner %s could not run", self.runner)
                message = f"The service could not run this runner: {e}"
            except Exception as e:
                logger.exception("runner %s failed unexpectedly", self.runner)
                message = f"The service failed while running this runner: {e}"
            finally:
                self._stop_background()
        if parked:
            self.runner.park(self.worker, self.state.to_dict())
            return
        if status == RunnerStatus.SUCCESS:
            self._save_caches()
        self._finish(status, message)

    def _set_up(self, resuming: bool) -> list[Step]:
        """Read the Layerfile, make the steps, and the files unless resuming.

        Safe to repeat: a database outage midway makes it start over.
        """
        self.layerfile = self._read_layerfile()
        steps = self._steps(resuming)
        if resuming:
            self.state = State.from_dict(self.runner.state)
            self._load_secrets()
        else:
            self.state = State()
            self._prepare()
        return steps

    def _finish(self, status: RunnerStatus, message: str) -> None:
        Step.objects.filter(runner=self.runner, status=StepStatus.NEW).update(
            status=StepStatus.SKIPPED
        )
        if not self.heartbeat.lost.is_set():
            try:
                through_outages(
                    lambda: self.runner.transition(status, error_message=message)
                )
            except InvalidTransition:
                pass  # cancelled meanwhile: the cancel stands
            Runner.objects.filter(pk=self.runner.pk).update(
                state={**self.state.to_dict(), "host": settings.CI_HOST_NAME}
            )
        has_children = Runner.objects.filter(
            job=self.job, parent_path=self.runner.layerfile_path
        ).exists()
        self.workspace.remove(keep_fs=has_children)
        scheduling.schedule(self.job)
        logger.info("runner %s of job %s ended %s", self.runner, self.job, status)

    def _read_layerfile(self) -> lf.Layerfile:
        files = CommitFiles(
            Mirror(self.job.repository_id, self.job.repository.git_source),
            self.job.commit_sha,
        )
        files.ensure_present()
        (file,) = [f for f in files.files() if f.path == self.runner.layerfile_path]
        self._files = files
        return lf.parse(files.read(file), file.path)

    def _steps(self, resuming: bool) -> list[Step]:
        assert self.layerfile is not None
        if not resuming:
            Step.objects.filter(runner=self.runner).delete()
            Step.objects.bulk_create(
                Step(
                    runner=self.runner,
                    position=position,
                    line=instruction.line,
                    instruction=instruction.text,
                )
                for position, instruction in enumerate(
                    self.layerfile.instructions, start=1
                )
            )
        return list(Step.objects.filter(runner=self.runner).order_by("position"))

    def _prepare(self) -> None:
        parent_workspace = None
        if self.runner.parent_path:
            parent = (
                Runner.objects.filter(
                    job=self.job,
                    layerfile_path=self.runner.parent_path,
                    was_retried=False,
                    status=RunnerStatus.SUCCESS,
                )
                .order_by("index")
                .first()
            )
            if parent is None:
                raise OSError(f"the parent {self.runner.parent_path} has not succeeded")
            if parent.host != settings.CI_HOST_NAME:
                raise OSError(
                    f"the parent's files are on {parent.host}, not on this host"
                )
            parent_workspace = Workspace(str(self.job.uuid), parent.pk)
            if not parent_workspace.fs.is_dir():
                raise OSError("the parent's files were cleaned away; retry the parent")
            parent_state = State.from_dict(parent.state)
            self.state.env = parent_state.env
            self.state.cwd = parent_state.cwd
            self.state.setup_files = parent_state.setup_files
        self.workspace.create(parent_workspace)
        self._files.checkout(self.workspace.src)
        self.state.env.update(self._build_environment())
        self._load_secrets()

    def _build_environment(self) -> dict[str, str]:
        job, runner = self.job, self.runner
        assert self.layerfile is not None
        split_count = self.layerfile.split
        retries = 0
        attempt = runner
        while attempt.retry_of_id is not None:
            retries += 1
            attempt = Runner.objects.get(pk=attempt.retry_of_id)
        return {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.workspace.home),
            "CI": "true",
            "GIT_COMMIT": job.commit_sha,
            "GIT_SHORT_COMMIT": job.commit_sha[:8],
            "GIT_COMMIT_TITLE": job.commit_title,
            "GIT_BRANCH": job.branch,
            "GIT_TAG": "",
            "JOB_ID": str(job.number),
            "RUNNER_ID": runner.runner_id,
            "RETRY_INDEX": str(retries),
            "REPOSITORY_NAME": job.repository.name,
            "REPOSITORY_OWNER": job.repository.organization.name,
            "ORGANIZATION_NAME": job.repository.organization.name,
            "API_EXTRA": job.extra,
            "SPLIT": str(max(runner.split_index - 1, 0)),
            "SPLIT_NUM": str(split_count),
            "CI_RUNNER_KEY": f"{job.uuid}:{runner.pk}",
        }

    def _load_secrets(self) -> None:
        self.secrets = sorted(
            (v for v in self.job.repository.secret_values().values() if v),
            key=len,
            reverse=True,
        )

    # Steps

    def _run_steps(self, steps: list[Step]) -> tuple[RunnerStatus, bool]:
        assert self.layerfile is not None
        instructions = dict(enumerate(self.layerfile.instructions, start=1))
        for step in steps:
            if step.position < self.state.next_position:
                continue
            if self.state.skip_rest:
                break
            self.state.next_position = step.position
            instruction = instructions[step.position]
            if isinstance(instruction, lf.Button) and not self._button_pressed(step):
                self._wait_for_button(step, instruction)
                return RunnerStatus.RUNNING, True
            outcome = self._run_step(step, instruction)
            if outcome.status == StepStatus.FAILURE:
                return RunnerStatus.FAILURE, False
            if outcome.status == StepStatus.ERROR:
                return RunnerStatus.ERROR, False
        self.state.next_position = len(steps) + 1
        return RunnerStatus.SUCCESS, False

    def _run_step(self, step: Step, instruction: lf.Instruction) -> Outcome:
        self._check_stopped()
        step.status = StepStatus.RUNNING
        step.started_at = timezone.now()
        through_outages(lambda: step.save(update_fields=["status", "started_at"]))
        log = StepLog(step, self.secrets)
        try:
            outcome = self._dispatch(instruction, log)
        except Stopped:
            log.finish(StepStatus.CANCELLED, None)
            raise
        except StepFailed as e:
            log.write(f"{e}\n")
            outcome = Outcome(StepStatus.FAILURE)
        except PathOutside as e:
            log.write(f"{e}: paths in instructions stay inside the runner.\n")
            outcome = Outcome(StepStatus.FAILURE)
        except OSError as e:
            log.write(f"The service could not do this step: {e}\n")
            outcome = Outcome(StepStatus.ERROR)
        if outcome.log:
            log.write(outcome.log)
        log.finish(outcome.status, outcome.exit_code)
        return outcome

    def _dispatch(self, instruction: lf.Instruction, log: StepLog) -> Outcome:
        done = Outcome(StepStatus.SUCCESS)
        match instruction:
            case lf.From():
                return self._from(instruction)
            case lf.Run():
                return self._run(instruction, log)
            case lf.Copy():
                self._copy(instruction)
                return done
            case lf.Env():
                return self._env(instruction)
            case lf.Workdir():
                self.state.cwd = self.workspace.runner_path(
                    instruction.path, self.state.cwd
                )
                self.workspace.host_path(self.state.cwd, "/").mkdir(
                    parents=True, exist_ok=True
                )
                return done
            case lf.SecretEnv():
                return self._secret_env(instruction)
            case lf.SetupFile():
                path = self.workspace.runner_path(instruction.path, self.state.cwd)
                self.state.setup_files.append(path)
                return done
            case lf.Cache():
                return self._cache(instruction)
            case lf.SkipRemainingIf():
                return self._skip_remaining_if(instruction)
            case lf.Button():
                return Outcome(StepStatus.SUCCESS, self._button_log())
            case lf.Wait():
                return Outcome(
                    StepStatus.SUCCESS,
                    f"Started after {', '.join(self.layerfile_waits())} succeeded.\n",
                )
            case lf.Split():
                return Outcome(
                    StepStatus.SUCCESS,
                    f"This is copy {self.runner.split_index} of {instruction.count} "
                    f"(SPLIT={self.state.env.get('SPLIT')}).\n",
                )
            case lf.Clone() | lf.Aws():
                keyword = instruction.text.split()[0]
                raise StepFailed(f"{keyword} is not supported by this service.")
            case lf.User():
                return Outcome(
                    StepStatus.SUCCESS,
                    f"Not honoured: runners run as the worker's own user, not as "
                    f"{instruction.name}.\n",
                )
            case lf.Memory():
                return Outcome(
                    StepStatus.SUCCESS,
                    f"Noted: runners on the worker host share its memory; "
                    f"{instruction.amount} is not reserved.\n",
                )
            case lf.Checkpoint():
                return Outcome(
                    StepStatus.SUCCESS,
                    "No effect: every runner here starts from its commit or its "
                    "parent, not from a checkpoint.\n",
                )
            case lf.ExposeWebsite() | lf.ExposeTcp():
                return Outcome(
                    StepStatus.SUCCESS,
                    "Not published: this service does not expose runners to the "
                    "network; the port is only reachable on the worker host.\n",
                )
            case lf.BuildEnv() | lf.Label():
                return done
        raise StepFailed(f"{type(instruction).__name__} is not supported here.")

    def layerfile_waits(self) -> list[str]:
        return list(self.runner.depends_on)

    def _from(self, instruction: lf.From) -> Outcome:
        if self.runner.parent_path:
            return Outcome(
                StepStatus.SUCCESS,
                f"Starting from the finished state of {self.runner.parent_path}.\n",
            )
        assert self.layerfile is not None
        if instruction is not self.layerfile.instructions[0]:
            return Outcome(
                StepStatus.SUCCESS,
                "Ignored: only a Layerfile's first FROM chooses where it starts.\n",
            )
        return Outcome(
            StepStatus.SUCCESS,
            f"Starting from {instruction.source}: runners here run on the worker "
            "host, not in a virtual machine.\n",
        )

    def _copy(self, instruction: lf.Copy) -> None:
        folder = str(Path(self.runner.layerfile_path).parent)
        folder = "" if folder == "." else folder
        destination = self.workspace.host_path(instruction.destination, self.state.cwd)
        into_folder = (
            instruction.destination.endswith("/") or len(instruction.sources) > 1
        )
        for source in instruction.sources:
            path = self.workspace.source_path(source, folder)
            if not path.exists():
                raise StepFailed(f"COPY: there is no {source} in the repository.")
            copy_into(path, destination, into_folder)

    def _env(self, instruction: lf.Env) -> Outcome:
        script = "\n".join(
            f"export {name}={value}" for name, value in instruction.values
        )
        cwd = self.workspace.host_path(self.state.cwd, "/")
        cwd.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["bash", "-c", f"{script}\nenv -0"],
            env=self.state.env,
            cwd=cwd,
            capture_output=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise StepFailed(done.stderr.decode(errors="replace").strip())
        env = {}
        for entry in done.stdout.decode(errors="replace").split("\x00"):
            name, sep, value = entry.partition("=")
            if sep and name not in _SHELL_VARIABLES:
                env[name] = value
        self.state.env = env
        return Outcome(StepStatus.SUCCESS)

    def _secret_env(self, instruction: lf.SecretEnv) -> Outcome:
        values = self.job.repository.secret_values()
        missing = [name for name in instruction.names if name not in values]
        if missing:
            raise StepFailed(
                f"SECRET ENV: {', '.join(missing)} is not set for this repository; "
                "add it to the repository's secrets."
            )
        for name in instruction.names:
            self.state.env[name] = values[name]
        return Outcome(StepStatus.SUCCESS, f"Set {', '.join(instruction.names)}.\n")

    def _cache(self, instruction: lf.Cache) -> Outcome:
        cache = Cache(self.job.repository_id)
        lines = []
        for path in instruction.paths:
            runner_path = self.workspace.runner_path(path, self.state.cwd)
            target = self.workspace.host_path(runner_path, "/")
            found = cache.restore(runner_path, target)
            self.state.caches.append(runner_path)
            how = "restored" if found else "empty; saved when the runner succeeds"
            lines.append(f"{runner_path}: {how}")
        return Outcome(StepStatus.SUCCESS, "\n".join(lines) + "\n")

    def _save_caches(self) -> None:
        cache = Cache(self.job.repository_id)
        for runner_path in self.state.caches:
            try:
                cache.save(runner_path, self.workspace.host_path(runner_path, "/"))
            except OSError:
                logger.exception("could not save the cache %s", runner_path)

    def _skip_remaining_if(self, instruction: lf.SkipRemainingIf) -> Outcome:
        results = []
        for condition in instruction.conditions:
            value = self.state.env.get(condition.key, "")
            if condition.op in ("=~", "!=~"):
                try:
                    found = re.search(condition.value, value) is not None
                except re.error as e:
                    raise StepFailed(
                        f"SKIP REMAINING IF: {condition.value!r} is not a valid "
                        f"regular expression: {e}."
                    )
                results.append(found if condition.op == "=~" else not found)
            else:
                equal = value == condition.value
                results.append(equal if condition.op == "=" else not equal)
        if all(results):
            self.state.skip_rest = True
            return Outcome(
                StepStatus.SUCCESS, "The condition holds: skipping the rest.\n"
            )
        return Outcome(StepStatus.SUCCESS, "The condition does not hold: going on.\n")

    # BUTTON

    def _button_pressed(self, step: Step) -> bool:
        if self.job.accept_buttons:
            return True
        step.refresh_from_db(fields=["pressed_at", "pressed_by"])
        return step.pressed_at is not None

    def _button_log(self) -> str:
        step = Step.objects.get(runner=self.runner, position=self.state.next_position)
        if step.pressed_at is not None:
            return f"Pressed by {step.pressed_by or 'someone'} at {step.pressed_at}.\n"
        return "Accepted automatically: the run was started with accept_buttons.\n"

    def _wait_for_button(self, step: Step, instruction: lf.Button) -> None:
        stopped = ""
        if self.background:
            stopped = (
                "Background processes started by RUN BACKGROUND were stopped "
                "while the runner waits.\n"
            )
        step.status = StepStatus.RUNNING
        step.started_at = timezone.now()
        step.log = f"Waiting for someone to press: {instruction.message}\n{stopped}"
        step.save(update_fields=["status", "started_at", "log"])

    # RUN

    def _run(self, instruction: lf.Run, log: StepLog) -> Outcome:
        sources = "".join(
            f". {shlex.quote(str(self.workspace.host_path(path, '/')))} || exit $?\n"
            for path in self.state.setup_files
        )
        cwd = self.workspace.host_path(self.state.cwd, "/")
        cwd.mkdir(parents=True, exist_ok=True)
        if instruction.mode == lf.Run.BACKGROUND:
            return self._run_background(sources + instruction.command, cwd, log)

        process = _spawn(
            ["bash", "-c", sources + instruction.command], cwd, self.state.env
        )
        reader = threading.Thread(
            target=log.read_from, args=(process.stdout,), daemon=True
        )
        reader.start()
        step_deadline = time.monotonic() + settings.CI_STEP_TIMEOUT_SECONDS
        try:
            while process.poll() is None:
                if self.heartbeat.cancelled.is_set() or self.heartbeat.lost.is_set():
                    raise Stopped()
                now = time.monotonic()
                if now > step_deadline:
                    _kill(process)
                    raise StepFailed(
                        f"The step took longer than "
                        f"{settings.CI_STEP_TIMEOUT_SECONDS} s and was stopped."
                    )
                if now > self.deadline:
                    _kill(process)
                    raise StepFailed(
                        f"The runner took longer than "
                        f"{settings.CI_RUNNER_TIMEOUT_SECONDS} s and was stopped."
                    )
                log.flush_if_due()
                time.sleep(0.05)
        except BaseException:
            _kill(process)
            raise
        finally:
            # What the command left running in its process group would keep
            # the output open; RUN BACKGROUND is the way to keep a process.
            _kill_group(process.pid, signal.SIGKILL)
            reader.join(timeout=5)
        code = process.returncode
        if code != 0:
            return Outcome(
                StepStatus.FAILURE, f"The command exited with status {code}.\n", code
            )
        return Outcome(StepStatus.SUCCESS, exit_code=0)

    def _run_background(self, command: str, cwd: Path, log: StepLog) -> Outcome:
        output = self.workspace.logs / f"background-{len(self.background) + 1}.log"
        with open(output, "wb") as sink:
            process = _spawn(["bash", "-c", command], cwd, self.state.env, sink)
        self.background.append(process)
        return Outcome(
            StepStatus.SUCCESS,
            f"Started in the background (process {process.pid}); it is stopped "
            "when the runner ends.\n",
        )

    def _stop_background(self) -> None:
        for process in self.background:
            _kill(process)
        self.background.clear()

    def _check_stopped(self) -> None:
        if self.heartbeat.cancelled.is_set() or self.heartbeat.lost.is_set():
            raise Stopped()


class StepLog:
    """A step's output, stored while the step runs, secrets masked."""

    FLUSH_SECONDS = 0.5

    def __init__(self, step: Step, secrets: list[str]) -> None:
        self.step = step
        self.secrets = secrets
        self.limit = settings.CI_STEP_LOG_MAX_BYTES
        self._data = bytearray()
        self._dropped = 0
        self._lock = threading.Lock()
        self._flushed_at = 0.0
        self._dirty = False

    def write(self, text: str) -> None:
        self._append(text.encode())

    def _append(self, chunk: bytes) -> None:
        with self._lock:
            room = self.limit - len(self._data)
            if room > 0:
                self._data += chunk[:room]
            self._dropped += max(0, len(chunk) - max(room, 0))
            self._dirty = True

    def read_from(self, stream: Any) -> None:
        while True:
            chunk = (
                stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            )
            if not chunk:
                return
            self._append(chunk)

    def text(self) -> str:
        with self._lock:
            text = self._data.decode(errors="replace")
            dropped = self._dropped
        for secret in self.secrets:
            text = text.replace(secret, "***")
        if dropped:
            text += (
                f"\n[… {dropped} more bytes of output were dropped: a step keeps "
                f"at most {self.limit} bytes …]\n"
            )
        return text

    def flush_if_due(self) -> None:
        now = time.monotonic()
        if self._dirty and now - self._flushed_at >= self.FLUSH_SECONDS:
            self._flushed_at = now
            try:
                Step.objects.filter(pk=self.step.pk).update(log=self.text())
            except (OperationalError, InterfaceError):
                # The database is away for a moment: the step goes on, and
                # the next flush stores what this one could not.
                logger.warning("could not store the log of step %s", self.step.pk)
                connection.close()
                return
            self._dirty = False

    def finish(self, status: StepStatus, exit_code: int | None) -> None:
        self.step.status = status
        self.step.exit_code = exit_code
        self.step.finished_at = timezone.now()
        self.step.log = self.text()
        through_outages(
            lambda: self.step.save(
                update_fields=["status", "exit_code", "finished_at", "log"]
            )
        )


def through_outages(write: Callable[[], T]) -> T:
    """Do a database write, waiting out a short outage of the database.

    A worker keeps trying for as long as its lease lasts; past that the
    reaper ends the runner anyway, so the error is let through.
    """
    deadline = time.monotonic() + settings.CI_LEASE_SECONDS
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError):
            if time.monotonic() > deadline:
                raise
            logger.warning("the database is away; trying again")
            connection.close()
            time.sleep(1)


_prctl: Any
try:
    _prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def _die_with_parent() -> None:
    """In the child: lead a process group, and die if the worker dies.

    It runs between fork and exec, so it only makes two system calls.
    """
    os.setsid()
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def kill_leftovers(runner_key: str) -> int:
    """Kill this host's processes started for a runner; return how many.

    They carry ``CI_RUNNER_KEY`` in their environment. This finds the
    grandchildren of a worker that was killed, which nothing else stops.
    """
    marker = f"CI_RUNNER_KEY={runner_key}".encode()
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\x00"):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def _spawn(
    command: list[str], cwd: Path, env: dict[str, str], output: Any = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output if output is not None else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Stop a command and everything it started (its process group)."""
    if process.poll() is not None:
        _kill_group(process.pid, signal.SIGKILL)
        return
    _kill_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    _kill_group(process.pid, signal.SIGKILL)
    process.wait()


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
