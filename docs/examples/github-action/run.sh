#!/usr/bin/env bash
# The GitHub Action's step: start a run, write its outputs, maybe wait for it.
set -euo pipefail
api="${INPUT_SERVER%/}/api/v1"

body=$(jq -n --arg branch "$INPUT_BRANCH" --arg ref "$INPUT_REF" \
  --arg extra "$INPUT_EXTRA" '{branch: $branch, ref: $ref, extra: $extra}')
created=$(curl -sS -X POST "$api/run/$INPUT_REPOSITORY" \
  -H "Authorization: Bearer $INPUT_TOKEN" -H "Content-Type: application/json" \
  -d "$body")
if [ "$(jq -r .status <<<"$created")" != ok ]; then
  echo "::error::$(jq -r .error <<<"$created")"
  exit 1
fi
id=$(jq -r .job.id <<<"$created")
status=$(jq -r .job.calculated_status <<<"$created")
echo "Started run $id: $(jq -r .url <<<"$created")"
{
  echo "id=$id"
  echo "url=$(jq -r .url <<<"$created")"
} >>"$GITHUB_OUTPUT"

if [ "$INPUT_WAIT" = true ]; then
  while :; do
    found=$(curl -sS -G "$api/run/$INPUT_REPOSITORY/search" \
      -H "Authorization: Bearer $INPUT_TOKEN" --data-urlencode "search=id:$id")
    status=$(jq -r .job.calculated_status <<<"$found")
    case "$status" in
      NEW|STARTING_RUNNERS|RUNNING) sleep "${POLL_SECONDS:-5}" ;;
      *) break ;;
    esac
  done
fi
echo "status=$status" >>"$GITHUB_OUTPUT"
if [ "$INPUT_WAIT" = true ] && [ "$status" != SUCCEEDED ]; then
  echo "::error::Run $id ended $status"
  exit 1
fi
