import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { HardenedBuildRunner } from './build-runner';
import { ModelAttestationPipeline, ModelAttestationPipelineProps } from './model-attestation-pipeline';

/**
 * Properties of a {@link ModelAttestationStack}: the stack's and the pipeline's.
 */
export interface ModelAttestationStackProps extends StackProps, ModelAttestationPipelineProps {}

/**
 * A ready stack with one {@link ModelAttestationPipeline} (construct id `Pipeline`): `cdk deploy` and go.
 */
export class ModelAttestationStack extends Stack {
  /** The pipeline. */
  public readonly pipeline: ModelAttestationPipeline;

  constructor(scope: Construct, id: string, props: ModelAttestationStackProps) {
    super(scope, id, props);
    this.pipeline = new ModelAttestationPipeline(this, 'Pipeline', props);
    // this stack owns CDK's helper functions the build runner brings in
    HardenedBuildRunner.acknowledgeStackHelperFunctions(this);
  }
}
