// Start a run of a branch with fetch (Node.js 18+), then read it back.
// Usage: CI_URL=http://127.0.0.1:8000 CI_TOKEN=lci_... node client.mjs REPO [BRANCH]
const base = process.env.CI_URL;
const token = process.env.CI_TOKEN;
const [repo, branch = "master"] = process.argv.slice(2);

async function call(path, init = {}) {
  const response = await fetch(`${base}${path}`, init);
  const body = await response.json();
  if (body.status !== "ok") throw new Error(`${response.status}: ${body.error}`);
  return body;
}

const created = await call(`/api/v1/run/${repo}?token=${encodeURIComponent(token)}`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ branch, extra: "from node" }),
});
console.log("created", created.job.id, created.url);

const query = new URLSearchParams({ token, search: `id:${created.job.id}` });
const found = await call(`/api/v1/run/${repo}/search?${query}`);
console.log("found", found.job.id, found.job.calculated_status);

const runners = await call(`/api/v1/runners/${repo}/${created.job.uuid}`, {
  headers: { Authorization: `Bearer ${token}` },
});
console.log("runners", runners.runners.length);
