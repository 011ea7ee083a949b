/**
 * The decision engine on its own: cache TTLs for allows and denials, LRU bound, coalescing, the deadline, the cap on
 * store reads in flight, and decisions keyed by the policy digest.
 */
import * as fs from 'fs';
import { FaultyStore } from './faulty-store';
import { checkStore } from '../../../src/runtime/policy/check';
import { DecisionEngine } from '../../../src/runtime/service/decision';
import { PolicySource } from '../../../src/runtime/service/policy-source';
import { cleanup } from '../../fixtures/models';
import { policyCopy, TWO_PARTY_POLICY, verifierWorld, VerifierWorld } from '../../helpers/verifier';

let world: VerifierWorld;
let policy: PolicySource;

beforeAll(async () => {
  world = await verifierWorld();
  policy = new PolicySource(world.policyFile, { pollMs: 0 });
  await policy.start();
});

afterAll(() => {
  policy.close();
  cleanup(world.dir);
});

function engine(store: FaultyStore, overrides: Partial<ConstructorParameters<typeof DecisionEngine>[0]> = {}): DecisionEngine {
  const base = { allowTtlMs: 60_000, denyTtlMs: 5_000, cacheSize: 100, deadlineMs: 2000 };
  return new DecisionEngine({ store, policy: () => policy.state(), ...base, ...overrides });
}

const soon = () => Date.now() + 2000;

test('an allow is cached for the allow TTL, a denial for the deny TTL', async () => {
  const store = new FaultyStore(world.store);
  const e = engine(store, { allowTtlMs: 400, denyTtlMs: 100 });
  expect((await e.decide(world.digests.allowed, soon())).source).toBe('store');
  expect((await e.decide(world.digests.revoked, soon())).source).toBe('store');
  await new Promise((r) => setTimeout(r, 200));
  expect((await e.decide(world.digests.allowed, soon())).source).toBe('cache');
  expect((await e.decide(world.digests.revoked, soon())).source).toBe('store');
  await new Promise((r) => setTimeout(r, 300));
  expect((await e.decide(world.digests.allowed, soon())).source).toBe('store');
});

test('a TTL of 0 turns that cache off', async () => {
  const e = engine(new FaultyStore(world.store), { allowTtlMs: 0 });
  await e.decide(world.digests.allowed, soon());
  expect((await e.decide(world.digests.allowed, soon())).source).toBe('store');
});

test('the cache holds at most cacheSize entries, evicting the least recently used', async () => {
  const e = engine(new FaultyStore(world.store), { cacheSize: 2 });
  for (const d of [world.digests.allowed, world.digests.revoked, world.digests.oneSigner]) await e.decide(d, soon());
  expect(e.cacheEntries).toBe(2);
  expect((await e.decide(world.digests.oneSigner, soon())).source).toBe('cache');
  expect((await e.decide(world.digests.allowed, soon())).source).toBe('store');
});

test('concurrent misses for one digest share one store read', async () => {
  const store = new FaultyStore(world.store, { delayMs: 50 });
  const e = engine(store);
  const out = await Promise.all(Array.from({ length: 50 }, () => e.decide(world.digests.allowed, soon())));
  expect(out.every((d) => d.allowed)).toBe(true);
  expect(out.filter((d) => d.source === 'store')).toHaveLength(1);
  expect(out.filter((d) => d.source === 'coalesced')).toHaveLength(49);
  expect(store.lists).toBe(4);
});

test('past the cap on store reads in flight, a new digest is denied at once', async () => {
  const store = new FaultyStore(world.store, { delayMs: 200 });
  const e = engine(store, { maxInflight: 2 });
  const a = e.decide(world.digests.allowed, soon());
  const b = e.decide(world.digests.revoked, soon());
  const c = await e.decide(world.digests.oneSigner, soon());
  expect(c).toMatchObject({ allowed: false, source: 'error', reasons: ['the verifier has 2 store reads in flight (limit 2); failing closed, try again'] });
  expect((await a).allowed).toBe(true);
  await b;
  expect(e.inflightChecks).toBe(0);
});

test('the deadline answers a denial; a deadline already past answers at once', async () => {
  const e = engine(new FaultyStore(world.store, { delayMs: 300 }), { deadlineMs: 50 });
  const t0 = Date.now();
  const d = await e.decide(world.digests.allowed, Date.now() + 50);
  expect(Date.now() - t0).toBeLessThan(250);
  expect(d).toMatchObject({ allowed: false, source: 'deadline' });
  expect((await e.decide(world.digests.revoked, Date.now() - 1)).source).toBe('deadline');
});

test('decisions are keyed by the policy digest: a new policy never reuses the old one\'s answers', async () => {
  const policyFile = policyCopy(world, 'decision-policy');
  const source = new PolicySource(policyFile, { pollMs: 0 });
  await source.start();
  try {
    const ttl = { allowTtlMs: 60_000, denyTtlMs: 60_000 };
    const e = new DecisionEngine({ store: new FaultyStore(world.store), policy: () => source.state(), ...ttl, cacheSize: 100, deadlineMs: 2000 });
    const before = await e.decide(world.digests.oneSigner, soon());
    expect(before.allowed).toBe(false);
    fs.writeFileSync(policyFile, TWO_PARTY_POLICY.replace('allOf: [ci, compliance]', 'atLeast: 1\n  of: [ci, compliance]'));
    expect(await source.reload()).toBe('loaded');
    const after = await e.decide(world.digests.oneSigner, soon());
    expect(after).toMatchObject({ allowed: true, source: 'store' });
    expect(after.policy).not.toBe(before.policy);
    expect(await source.reload()).toBe('unchanged');
  } finally {
    source.close();
  }
});

test('an allow names the manifest the check decision chose; a denial names none', async () => {
  const e = engine(new FaultyStore(world.store));
  const report = await checkStore(policy.state().current!.policy, world.store, world.digests.allowed);
  expect(report.manifest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(await e.decide(world.digests.allowed, soon())).toMatchObject({ allowed: true, manifest: report.manifest });
  expect(await e.decide(world.digests.revoked, soon())).toMatchObject({ allowed: false, manifest: null });
});

describe('review F4: the deadline holds across store reads', () => {
  test('a store read past --store-read-timeout is aborted before any object is fetched, and denies with the reason', async () => {
    const store = new FaultyStore(world.store, { delayMs: 300 });
    const e = engine(store, { deadlineMs: 100, storeReadTimeoutMs: 150 });
    const first = await e.decide(world.digests.allowed, Date.now() + 100);
    expect(first.reasons).toEqual(['no decision within the 100ms deadline (the attestation store or KMS is slow or unreachable); failing closed']);
    await new Promise((r) => setTimeout(r, 700));
    expect(store.gets).toBe(0);
    const cached = await e.decide(world.digests.allowed, soon());
    expect(cached).toMatchObject({ allowed: false, source: 'cache' });
    expect(cached.reasons).toEqual([
      'the attestation store could not be read (failing closed): the store read took longer than the 150ms store read timeout; its pending reads were aborted',
    ]);
  });

  test('an answer that is ready only after the deadline (its timer held up by CPU-bound work) is a deadline denial', async () => {
    // the clock jumps 5 s during the store read, as it does when CPU-bound work blocks the event loop; the deadline's
    // timer (real time) has not fired when the answer arrives
    const realNow = Date.now.bind(Date);
    let skew = 0;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
    try {
      const inner = new FaultyStore(world.store);
      const slowClock = Object.assign(Object.create(inner) as FaultyStore, {
        listObjects: async (prefix: string) => {
          skew = 5_000;
          return inner.listObjects(prefix);
        },
      });
      const e = engine(slowClock, { deadlineMs: 2000 });
      const late = await e.decide(world.digests.allowed, Date.now() + 2000);
      expect(late).toMatchObject({ allowed: false, source: 'deadline' });
      expect(late.reasons).toEqual(['no decision within the 2s deadline (the attestation store or KMS is slow or unreachable); failing closed']);
      // the read finished (an allow) and is cached for the next request
      expect((await e.decide(world.digests.allowed, Date.now() + 2000)).allowed).toBe(true);
    } finally {
      clock.mockRestore();
    }
  });
});
