"""Schemathesis against the live service, from its OpenAPI description.

It generates requests for every operation (valid and invalid ones) and
checks every answer: no server error, documented status codes, content
types, headers and bodies that match the schemas, authentication enforced.

Two checks are left out, because they judge what a schema cannot say:
``positive_data_acceptance`` (a schema-valid search can still be an invalid
query, a schema-valid branch can still be missing from the repository) and
``negative_data_rejection`` (gunicorn answers 414 to an over-long request
line before the service sees it).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ciapp.statuses import RunnerStatus
from tests.factories import finish, make_job, start_job
from tests.servers import gunicorn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_no_server_errors_and_answers_as_documented(
    tmp_path, token, repository, source, settings, capsys
):
    job = make_job(repository)
    done, going = start_job(job, "a/Layerfile", "b/Layerfile")
    finish(done, RunnerStatus.FAILURE)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'[parameters]\nrepo = "webapp"\njob_uuid = "{job.uuid}"\nrunner_id = "a"\nid = {job.number}\n'
    )

    with gunicorn(
        tmp_path / "server",
        CI_GIT_MIRROR_DIR=str(settings.GIT_MIRROR_DIR),
        CI_API_RATE_LIMIT="100000",
    ) as url:
        done = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(config),
                "run",
                f"{url}/api/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "all",
                "--exclude-checks",
                "positive_data_acceptance,negative_data_rejection",
                "--max-examples",
                "25",
                "--workers",
                "1",
                "--seed",
                "20261203",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )

    summary = done.stdout[-3000:]
    assert done.returncode == 0, summary
    generated = re.search(r"(\d+) generated", done.stdout)
    assert generated and int(generated.group(1)) > 100, summary
    with capsys.disabled():
        print(f"\nschemathesis: {generated.group(0)} test cases, no failures")
