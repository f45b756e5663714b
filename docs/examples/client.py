"""Start a run of a branch with requests, then read it back.

Usage: CI_URL=http://127.0.0.1:8000 CI_TOKEN=lci_... python client.py REPO [BRANCH]
"""

import os
import sys

import requests

url, token = os.environ["CI_URL"], os.environ["CI_TOKEN"]
repo = sys.argv[1]
branch = sys.argv[2] if len(sys.argv) > 2 else "master"

r = requests.post(
    f"{url}/api/v1/run/{repo}",
    params={"token": token},
    json={"branch": branch, "extra": "from python", "accept_buttons": True},
    timeout=60,
)
r.raise_for_status()
job = r.json()["job"]
print("created", job["id"], r.json()["url"])

r = requests.get(
    f"{url}/api/v1/run/{repo}/search",
    params={"token": token, "search": f"id:{job['id']}"},
    timeout=60,
)
r.raise_for_status()
print("found", r.json()["job"]["id"], r.json()["job"]["calculated_status"])

r = requests.get(
    f"{url}/api/v1/runners/{repo}/{job['uuid']}",
    headers={"Authorization": f"Bearer {token}"},
    timeout=60,
)
r.raise_for_status()
print("runners", len(r.json()["runners"]))
