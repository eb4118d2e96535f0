// Test-only oracle: reads a JSON array of cases on stdin and prints one decision per case,
// computed by @cloud-copilot/iam-simulate in Strict mode. Never used by product code.
'use strict';
const { runSimulation } = require('@cloud-copilot/iam-simulate');

const ACCOUNT = '111122223333';

function named(policies, prefix) {
  return (policies || []).map((policy, i) => ({ name: `${prefix}${i}`, policy }));
}

async function decide(c) {
  const simulation = {
    request: {
      principal: c.principal || `arn:aws:iam::${ACCOUNT}:user/alice`,
      action: c.action,
      resource: { resource: c.resource, accountId: ACCOUNT },
      contextVariables: c.context || {},
    },
    identityPolicies: named(c.identity, 'identity'),
    serviceControlPolicies: (c.scps || []).map((level, i) => ({
      orgIdentifier: i === 0 ? 'r-root' : `ou-level${i}`,
      policies: named(level, `scp${i}-`),
    })),
    resourceControlPolicies: [],
    permissionBoundaryPolicies: c.boundaries ? named(c.boundaries, 'boundary') : undefined,
    resourcePolicy: c.resourcePolicy,
    sessionPolicy: c.sessionPolicy,
  };
  const response = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (response.resultType === 'error') {
    return { error: response.errors };
  }
  if (response.resultType === 'wildcard' && response.results.length === 1) {
    // a wildcard-only action (no resource type): the request's "*" is its one resource
    const only = response.results[0];
    return { decision: response.overallResult, ignored: only.ignoredContextKeys || [] };
  }
  if (response.resultType !== 'single') {
    return { error: `unexpected result type ${response.resultType}` };
  }
  return { decision: response.overallResult, ignored: response.result.ignoredContextKeys || [] };
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const out = [];
  for (const c of cases) out.push(await decide(c));
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
