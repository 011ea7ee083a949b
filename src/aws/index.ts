export * from './signing-key';
export * from './attestation-store';
export * from './build-runner';
export * from './model-admission';
export * from './model-card';
export * from './weights-key';
export * from './enclave-serving-tier';
