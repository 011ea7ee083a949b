export * from './aws';
export * from './k8s';
