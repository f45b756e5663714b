#!/usr/bin/env bash
# Start a run of a branch, then read it back twice: by search and by uuid.
# Usage: CI_URL=http://127.0.0.1:8000 CI_TOKEN=lci_... curl.sh REPO [BRANCH]
set -euo pipefail
repo="$1"
branch="${2:-master}"

created=$(curl -sS --fail-with-body -X POST \
  "$CI_URL/api/v1/run/$repo?token=$CI_TOKEN" \
  -d "branch=$branch" -d "extra=from curl")
id=$(jq -r .job.id <<<"$created")
uuid=$(jq -r .job.uuid <<<"$created")
echo "created $id $(jq -r .url <<<"$created")"

found=$(curl -sS --fail-with-body -G "$CI_URL/api/v1/run/$repo/search" \
  --data-urlencode "token=$CI_TOKEN" --data-urlencode "search=id:$id")
echo "found $(jq -r '.job.id, .job.calculated_status' <<<"$found" | paste -sd' ')"

runners=$(curl -sS --fail-with-body -H "Authorization: Bearer $CI_TOKEN" \
  "$CI_URL/api/v1/runners/$repo/$uuid")
echo "runners $(jq '.runners | length' <<<"$runners")"
