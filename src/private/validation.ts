import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Builds the error every ModelSeal construct throws for a bad prop.
 *
 * The message names the construct type, its path, the prop, the bad value and what would be valid, e.g.
 * `AttestationStore 'Stack/Store': retentionDays must be between 1 and 36500, got 0`.
 */
export function propError(scope: IConstruct, type: string, prop: string, problem: string): Error {
  return new Error(`${type} '${scope.node.path}': ${prop} ${problem}`);
}

/** Checks an integer range unless the value is a token (resolved only at deploy time). */
export function checkIntRange(
  scope: IConstruct, type: string, prop: string, value: number | undefined, min: number, max: number,
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw propError(scope, type, prop, `must be an integer between ${min} and ${max}, got ${value}`);
  }
}
