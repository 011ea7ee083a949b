export * from './signing-key';
export * from './attestation-store';
