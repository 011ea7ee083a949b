export * from './signing-key';
export * from './attestation-store';
export * from './build-runner';
