/**
 * A quick planning measurement for development: `npx tsx test/bench/quick-plan.ts [repositories]`
 * plans a smaller generated input a few times and prints microseconds per image and a digest of
 * the plan (to compare outputs before and after a change).
 */
import { createHash } from 'node:crypto';
import { planCleanup } from '../../lambdas/core/plan';
import { benchPolicy, generatePlanInput, PLAN_INPUT_SHAPE } from './plan-input';

const repositories = Number(process.argv[2] ?? 10);
const input = generatePlanInput({ ...PLAN_INPUT_SHAPE, repositories, sightings: repositories * 500 });
const images = input.repositories.reduce(
  (total, repository) => total + ('images' in repository ? repository.images.length : 0),
  0,
);
const run = () =>
  planCleanup({
    repositories: input.repositories,
    sightings: input.sightings,
    clusterReports: input.clusterReports,
    policy: benchPolicy(),
    registryHosts: input.registryHosts,
    now: input.now,
  });
let plan = run();
const times: number[] = [];
for (let i = 0; i < Number(process.argv[3] ?? 5); i++) {
  const start = process.hrtime.bigint();
  plan = run();
  times.push(Number(process.hrtime.bigint() - start) / 1e3 / images);
}
const hash = createHash('sha256').update(JSON.stringify(plan.repositories)).digest('hex').slice(0, 16);
console.log(
  `${images} images: best ${Math.min(...times).toFixed(2)} µs/image, median ${times.sort((a, b) => a - b)[times.length >> 1]!.toFixed(2)}; plan ${hash}`,
);
