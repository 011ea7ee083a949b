export * from './signing-key';
export * from './attestation-store';
export * from './build-runner';
export * from './model-admission';
export * from './model-card';
