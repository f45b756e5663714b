"""The API as webapp.io's users call it: real clients against a live server.

The client programs are the examples in docs/examples, so the examples the
README points to are the ones that are tested.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ciapp.models import Job

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def run(command, live_server, token, **env):
    done = subprocess.run(
        command,
        env={**os.environ, "CI_URL": live_server.url, "CI_TOKEN": token, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout.splitlines()


def needs(program):
    return pytest.mark.skipif(
        shutil.which(program) is None, reason=f"{program} is not installed"
    )


def check_output(lines, live_server, branch):
    job = Job.objects.get()
    assert lines == [
        f"created 1 {live_server.url}/jobs/github/acme/webapp/1",
        "found 1 NEW",
        "runners 0",
    ]
    assert job.branch == branch
    return job


@needs("curl")
@needs("jq")
def test_curl(live_server, token, repository):
    lines = run(
        ["bash", EXAMPLES / "curl.sh", "webapp", "feature/pay"], live_server, token
    )

    assert check_output(lines, live_server, "feature/pay").extra == "from curl"


def test_python_requests(live_server, token, repository):
    lines = run([sys.executable, EXAMPLES / "client.py", "webapp"], live_server, token)

    job = check_output(lines, live_server, "master")
    assert (job.extra, job.accept_buttons) == ("from python", True)


@needs("ruby")
def test_ruby(live_server, token, repository):
    lines = run(
        ["ruby", EXAMPLES / "client.rb", "webapp", "feature/pay"], live_server, token
    )

    assert check_output(lines, live_server, "feature/pay").extra == "from ruby"


@needs("node")
def test_javascript_fetch(live_server, token, repository):
    lines = run(["node", EXAMPLES / "client.mjs", "webapp"], live_server, token)

    assert check_output(lines, live_server, "master").extra == "from node"


def _action_env(live_server, token, tmp_path, **inputs):
    """The environment GitHub gives the action's step, from action.yml."""
    action = yaml.safe_load((EXAMPLES / "github-action" / "action.yml").read_text())
    (step,) = action["runs"]["steps"]
    assert step["run"] == "${{ github.action_path }}/run.sh"
    values = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    values.update(server=live_server.url, token=token, **inputs)
    env = {}
    for name, expression in step["env"].items():
        input_name = expression.removeprefix("${{ inputs.").removesuffix(" }}")
        env[name] = values[input_name]
    env["GITHUB_OUTPUT"] = str(tmp_path / "output")
    return env


@needs("curl")
@needs("jq")
def test_the_github_action(live_server, token, repository, source, tmp_path):
    sha = source.git("rev-parse", "feature/pay")
    env = _action_env(
        live_server,
        token,
        tmp_path,
        repository="webapp",
        branch="feature/pay",
        ref=sha,
        extra="x=1",
    )

    run([EXAMPLES / "github-action" / "run.sh"], live_server, token, **env)

    outputs = dict(
        line.split("=", 1) for line in (tmp_path / "output").read_text().splitlines()
    )
    assert outputs == {
        "id": "1",
        "url": f"{live_server.url}/jobs/github/acme/webapp/1",
        "status": "NEW",
    }
    job = Job.objects.get()
    assert (job.commit_sha, job.branch, job.extra) == (sha, "feature/pay", "x=1")


@needs("curl")
@needs("jq")
def test_the_github_action_reports_errors(live_server, token, repository, tmp_path):
    env = _action_env(
        live_server, token, tmp_path, repository="webapp", branch="gone", ref=""
    )

    done = subprocess.run(
        [EXAMPLES / "github-action" / "run.sh"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )

    assert done.returncode == 1
    assert "::error::There is no branch 'gone' in the repository." in done.stdout
    assert not Job.objects.exists()
