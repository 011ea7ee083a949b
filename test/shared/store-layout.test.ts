import { isRefOfModel, refFolder, refKeyOf, STORE_FOLDERS, WRITE_AUTHORITIES } from '../../src/shared/store-layout';

describe('store layout: write authorities (issue 10 #4)', () => {
  test('publish, revoke and set-ref cover disjoint folders, and together every folder', () => {
    expect(WRITE_AUTHORITIES.publish).toEqual(['bundles/', 'attestations/', 'notation/']);
    expect(WRITE_AUTHORITIES.revoke).toEqual(['revocations/']);
    expect([...WRITE_AUTHORITIES.publish, ...WRITE_AUTHORITIES.revoke, STORE_FOLDERS.refs].sort()).toEqual(Object.values(STORE_FOLDERS).sort());
  });

  test('a model name owns refs/<name>/<version> and not the refs of longer names under its folder', () => {
    expect(refFolder('team')).toBe('refs/team/');
    expect(refKeyOf('team', '1')).toBe('refs/team/1');
    expect(isRefOfModel('refs/team/1', 'team')).toBe(true);
    expect(isRefOfModel('refs/team/llm/1', 'team')).toBe(false);
    expect(isRefOfModel('refs/team/llm/1', 'team/llm')).toBe(true);
    expect(isRefOfModel('refs/teammate/1', 'team')).toBe(false);
    expect(isRefOfModel('refs/team/', 'team')).toBe(false);
  });
});
