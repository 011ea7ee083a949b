import * as codebuild from 'aws-cdk-lib/aws-codebuild';

/**
 * A build image named by exactly the string the user gave (`<registry>/<repository>@sha256:<digest>`), so that the
 * project's image, CodeBuild's report of it (`BatchGetBuilds`) and the string the seal step compares it with are the
 * same bytes. (`LinuxBuildImage.fromEcrRepository` renders the registry host with `AWS::URLSuffix`, and
 * `LinuxGpuBuildImage.fromEcrRepository` cannot take a digest.)
 *
 * An ECR image is pulled with the project's service role (`SERVICE_ROLE`); any other registry with CodeBuild's own
 * credentials (`CODEBUILD`).
 */
export class PinnedBuildImage implements codebuild.IBuildImage {
  public readonly type: string;
  public readonly defaultComputeType = codebuild.ComputeType.LARGE;
  public readonly imagePullPrincipalType: codebuild.ImagePullPrincipalType;

  /**
   * @param imageId the image reference, as given
   * @param ecr whether it is in ECR (pulled with the service role)
   * @param gpu whether it runs on a GPU (`LINUX_GPU_CONTAINER`)
   */
  constructor(public readonly imageId: string, ecr: boolean, gpu: boolean) {
    this.type = gpu ? codebuild.EnvironmentType.LINUX_GPU_CONTAINER : codebuild.EnvironmentType.LINUX_CONTAINER;
    this.imagePullPrincipalType = ecr ? codebuild.ImagePullPrincipalType.SERVICE_ROLE : codebuild.ImagePullPrincipalType.CODEBUILD;
  }

  public validate(): string[] {
    return [];
  }

  public runScriptBuildspec(entrypoint: string): codebuild.BuildSpec {
    return codebuild.BuildSpec.fromObject({ version: '0.2', phases: { build: { commands: [entrypoint] } } });
  }
}
