import { ApiObject, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { MODEL_DIGEST_ANNOTATION, MODEL_URI_ANNOTATION } from './contract';
import { TRUST_POLICY_KEY, TrustPolicyFile, VERIFIER_POLICY_DIR, VERIFIER_UID } from './model-verifier';
import { checkDnsLabel, checkStoreUri, k8sPropError, restrictedContainerSecurityContext } from './private/util';
import { DIGEST_PATTERN } from './private/workload-rules';
import { VerifierImage } from './verifier-image';
import * as shared from '../shared/admission';

/** The environment variable the init container reads the digest annotation into (downward API). */
export const MODEL_DIGEST_ENV: string = shared.MODEL_DIGEST_ENV;

/**
 * The name of the init container; the admission rules look for it (docs/ADMISSION.md, "Verify-on-pull").
 */
export const LOAD_VERIFICATION_CONTAINER: string = shared.LOAD_VERIFICATION_CONTAINER;

/** The name of the emptyDir volume the init container writes the verified model into. */
export const MODEL_VOLUME: string = shared.MODEL_VOLUME;

/** Where KServe's storage initializer writes the model (and the model server reads it). */
export const KSERVE_MODEL_DIR = '/mnt/models';

const POLICY_VOLUME = 'modelseal-trust-policy';
const TMP_VOLUME = 'modelseal-tmp';

/** Options every load-time verification shares. */
export interface ModelLoadVerificationOptions {
  /** The ModelSeal image (the verifier's; it runs `modelseal pull`). */
  readonly image: VerifierImage;

  /** The attestation store: `s3://bucket[/prefix]` or `file:///path`. */
  readonly storeUri: string;

  /** The trust policy document (YAML or JSON text). */
  readonly trustPolicy: string;

  /**
   * Files the trust policy references (public keys, trust anchors).
   *
   * @default - none
   */
  readonly trustPolicyFiles?: TrustPolicyFile[];

  /**
   * The AWS region of the S3 store and KMS keys (`--region`).
   *
   * @default - AWS_REGION of the pod
   */
  readonly region?: string;

  /**
   * The command that starts the CLI in the image, followed by `pull` and its arguments.
   *
   * @default ['modelseal']
   */
  readonly command?: string[];
}

/**
 * Properties of a {@link ModelLoadVerification}.
 */
export interface ModelLoadVerificationProps extends ModelLoadVerificationOptions {
  /** The workload (Deployment, StatefulSet, Job, DaemonSet or Pod) whose containers read the model. */
  readonly workload: kplus.AbstractPod;

  /** The model's OMS root digest (`sha256:<64 hex>`), written as the pod annotation the admission policies check. */
  readonly digest: string;

  /** Where the model is pulled from: `s3://bucket/prefix/` or a folder the pod mounts. */
  readonly source: string;

  /**
   * Where the verified model appears in every container of the workload (read-only).
   *
   * @default '/mnt/models'
   */
  readonly mountPath?: string;

  /**
   * Size limit of the model volume (an emptyDir).
   *
   * @default - no limit (the node's ephemeral storage)
   */
  readonly volumeSizeLimit?: Size;

  /**
   * The namespace of the trust policy ConfigMap: the workload's (a ConfigMap volume cannot cross namespaces).
   *
   * @default - the workload's namespace as set in its metadata, else the chart's
   */
  readonly namespace?: string;
}

/**
 * Verify-on-pull for a workload: an init container `modelseal-pull` runs `modelseal pull SOURCE DEST --store URI
 * --policy FILE --digest=$(MODELSEAL_DIGEST)` into the `modelseal-model` emptyDir that every container then mounts
 * read-only. The admission policies refuse a workload carrying the digest annotation without exactly this (unless
 * `ModelVerifier.requireLoadVerification` is false): give it the verifier's image and command, and add it after
 * every container of the workload.
 *
 * `modelseal pull` hashes while it downloads and writes nothing under DEST unless every file matched the manifest
 * that meets the policy (exit 1 otherwise, so the pod never starts). The digest comes from the pod's own
 * `modelseal.dev/model-digest` annotation through the downward API, so the model admitted is the model loaded. The
 * pod also gets `modelseal.dev/model-uri` with the source.
 *
 * @see https://kubernetes.io/docs/concepts/workloads/pods/downward-api/
 */
export class ModelLoadVerification extends Construct {
  /** The init container. */
  public readonly initContainer: kplus.Container;

  /** The trust policy ConfigMap (in the workload's namespace). */
  public readonly trustPolicyConfigMap: kplus.ConfigMap;

  constructor(scope: Construct, id: string, props: ModelLoadVerificationProps) {
    super(scope, id);
    const type = 'ModelLoadVerification';
    checkOptions(this, type, props);
    if (!new RegExp(DIGEST_PATTERN).test(props.digest)) {
      throw k8sPropError(this, type, 'digest', `must be sha256:<64 lowercase hex>, got '${props.digest}'`);
    }
    if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.*$|^\/.+/.test(props.source)) {
      throw k8sPropError(this, type, 'source', `must be s3://bucket/prefix/ or an absolute folder path, got '${props.source}'`);
    }
    const mountPath = props.mountPath ?? KSERVE_MODEL_DIR;
    if (!mountPath.startsWith('/')) throw k8sPropError(this, type, 'mountPath', `must be an absolute path, got '${mountPath}'`);
    const workload = props.workload;
    if (workload.containers.length === 0) {
      throw k8sPropError(this, type, 'workload', 'has no containers yet: add the model server container first, then ModelLoadVerification');
    }

    workload.podMetadata.addAnnotation(MODEL_DIGEST_ANNOTATION, props.digest);
    workload.podMetadata.addAnnotation(MODEL_URI_ANNOTATION, props.source);

    const namespace = props.namespace ?? workload.metadata.namespace;
    if (namespace !== undefined) checkDnsLabel(this, type, 'namespace', namespace);
    this.trustPolicyConfigMap = new kplus.ConfigMap(this, 'TrustPolicy', {
      metadata: { namespace, labels: { 'app.kubernetes.io/part-of': 'modelseal' } },
      data: policyData(props),
    });

    const model = kplus.Volume.fromEmptyDir(this, 'Model', MODEL_VOLUME, { sizeLimit: props.volumeSizeLimit });
    const policy = kplus.Volume.fromConfigMap(this, 'Policy', this.trustPolicyConfigMap, { name: POLICY_VOLUME });
    const tmp = kplus.Volume.fromEmptyDir(this, 'Tmp', TMP_VOLUME, { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(64) });

    for (const c of workload.containers) c.mount(mountPath, model, { readOnly: true });

    this.initContainer = workload.addInitContainer({
      name: LOAD_VERIFICATION_CONTAINER,
      image: props.image.reference,
      command: [
        ...(props.command ?? ['modelseal']),
        ...pullArguments(props, props.source, mountPath),
      ],
      envVariables: {
        [MODEL_DIGEST_ENV]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_ANNOTATION, { key: MODEL_DIGEST_ANNOTATION }),
      },
      securityContext: {
        ensureNonRoot: true,
        user: VERIFIER_UID,
        group: VERIFIER_UID,
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: [kplus.Capability.ALL] },
        seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
      },
      resources: {
        cpu: { request: kplus.Cpu.millis(500), limit: kplus.Cpu.units(2) },
        memory: { request: Size.mebibytes(256), limit: Size.mebibytes(512) },
      },
      volumeMounts: [
        { path: mountPath, volume: model },
        { path: VERIFIER_POLICY_DIR, volume: policy, readOnly: true },
        { path: '/tmp', volume: tmp },
      ],
    });
  }
}

/**
 * Properties of a {@link KServeModelLoadVerification}.
 */
export interface KServeModelLoadVerificationProps extends ModelLoadVerificationOptions {
  /**
   * The namespaces where InferenceServices use it: each gets the trust policy ConfigMap the storage initializer
   * mounts.
   */
  readonly namespaces: string[];

  /**
   * The storage URI prefixes handled. KServe picks an arbitrary ClusterStorageContainer when two match a URI, so
   * remove `s3://` from KServe's `default` one (Helm values of `kserve-resources`): the admission policies refuse any
   * other enabled ClusterStorageContainer that handles these prefixes, and any InferenceService URI outside them. Keep
   * `ModelVerifier.kserveUriPrefixes` (and `kserveStorageContainerName` = `name`) equal to these.
   *
   * @default ['s3://']
   * @see https://kserve.github.io/website/docs/model-serving/storage/storage-containers
   */
  readonly uriPrefixes?: string[];

  /**
   * The name of the ClusterStorageContainer.
   *
   * @default 'modelseal'
   */
  readonly name?: string;
}

/**
 * Verify-on-pull for KServe: a `ClusterStorageContainer` that replaces KServe's storage initializer for the model
 * URIs it handles, so `modelseal pull <storageUri> /mnt/models` runs where the download did (no second init
 * container to order after `storage-initializer`, which an existing operator gets wrong).
 *
 * KServe calls the container with the source URI and the destination as its arguments; the flags are in its
 * command, so the full command line is `modelseal pull --store URI --policy FILE --digest=$(MODELSEAL_DIGEST) <uri>
 * /mnt/models`. The digest comes from the InferenceService's `modelseal.dev/model-digest` annotation, which KServe
 * copies to the predictor pod. Each InferenceService must declare the trust policy and scratch volumes
 * ({@link KServeModelLoadVerification.addToInferenceService}); one that does not fails to start (never unverified).
 *
 * @see https://kserve.github.io/website/docs/model-serving/storage/storage-containers
 */
export class KServeModelLoadVerification extends Construct {
  /** The ClusterStorageContainer. */
  public readonly storageContainer: ApiObject;

  /** The name of the trust policy ConfigMap in each namespace. */
  public readonly trustPolicyConfigMapName: string;

  constructor(scope: Construct, id: string, props: KServeModelLoadVerificationProps) {
    super(scope, id);
    const type = 'KServeModelLoadVerification';
    checkOptions(this, type, props);
    const name = props.name ?? 'modelseal';
    checkDnsLabel(this, type, 'name', name);
    if (props.namespaces.length === 0) throw k8sPropError(this, type, 'namespaces', 'must name at least one namespace');
    for (const ns of props.namespaces) checkDnsLabel(this, type, 'namespaces', ns);
    const prefixes = props.uriPrefixes ?? ['s3://'];
    if (prefixes.length === 0) throw k8sPropError(this, type, 'uriPrefixes', 'must name at least one prefix');
    this.trustPolicyConfigMapName = `${name}-trust-policy`;

    for (const ns of props.namespaces) {
      new kplus.ConfigMap(this, `TrustPolicy-${ns}`, {
        metadata: { name: this.trustPolicyConfigMapName, namespace: ns, labels: { 'app.kubernetes.io/part-of': 'modelseal' } },
        data: policyData(props),
      });
    }

    this.storageContainer = new ApiObject(this, 'Resource', {
      apiVersion: 'serving.kserve.io/v1alpha1',
      kind: 'ClusterStorageContainer',
      metadata: { name, labels: { 'app.kubernetes.io/part-of': 'modelseal' } },
      spec: {
        container: {
          // KServe recognizes its storage initializer by this name
          name: 'storage-initializer',
          image: props.image.reference,
          // KServe appends the source URI and the destination as the container's args
          command: [...(props.command ?? ['modelseal']), ...pullArguments(props)],
          env: [{
            name: MODEL_DIGEST_ENV,
            valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${MODEL_DIGEST_ANNOTATION}']` } },
          }],
          securityContext: restrictedContainerSecurityContext(VERIFIER_UID),
          resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '2', memory: '512Mi' } },
          volumeMounts: [
            { name: POLICY_VOLUME, mountPath: VERIFIER_POLICY_DIR, readOnly: true },
            { name: TMP_VOLUME, mountPath: '/tmp' },
          ],
        },
        supportedUriFormats: prefixes.map((prefix) => ({ prefix })),
      },
    });
  }

  /**
   * The volumes an InferenceService's predictor must declare for the storage initializer: the trust policy
   * ConfigMap and a scratch emptyDir.
   */
  public predictorVolumes(): any[] {
    return [
      { name: POLICY_VOLUME, configMap: { name: this.trustPolicyConfigMapName } },
      { name: TMP_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    ];
  }

  /**
   * Adds {@link predictorVolumes} to an InferenceService (`spec.predictor.volumes`, created if missing).
   *
   * @param inferenceService an `InferenceService` ApiObject (e.g. from a `cdk8s import` of KServe)
   */
  public addToInferenceService(inferenceService: ApiObject): void {
    if (inferenceService.kind !== 'InferenceService') {
      throw new Error(`KServeModelLoadVerification.addToInferenceService: expected an InferenceService, got a ${inferenceService.kind}`);
    }
    const predictor = inferenceService.toJson().spec?.predictor;
    if (!predictor) throw new Error(`KServeModelLoadVerification.addToInferenceService: '${inferenceService.name}' has no spec.predictor`);
    if (!predictor.volumes) inferenceService.addJsonPatch(JsonPatch.add('/spec/predictor/volumes', []));
    for (const v of this.predictorVolumes()) inferenceService.addJsonPatch(JsonPatch.add('/spec/predictor/volumes/-', v));
  }
}

function checkOptions(scope: Construct, type: string, props: ModelLoadVerificationOptions): void {
  checkStoreUri(scope, type, 'storeUri', props.storeUri);
  if (props.trustPolicy.trim() === '') throw k8sPropError(scope, type, 'trustPolicy', 'must not be empty');
  for (const f of props.trustPolicyFiles ?? []) {
    if (!/^[-._a-zA-Z0-9]+$/.test(f.name) || f.name === TRUST_POLICY_KEY) {
      throw k8sPropError(scope, type, 'trustPolicyFiles', `names must be ConfigMap keys other than ${TRUST_POLICY_KEY}, got '${f.name}'`);
    }
  }
}

function policyData(props: ModelLoadVerificationOptions): Record<string, string> {
  return { [TRUST_POLICY_KEY]: props.trustPolicy, ...Object.fromEntries((props.trustPolicyFiles ?? []).map((f) => [f.name, f.content])) };
}

/** `pull [SOURCE DEST] --store URI --policy FILE --digest=$(MODELSEAL_DIGEST) [--region R]` (the contract's flags). */
function pullArguments(props: ModelLoadVerificationOptions, source?: string, dest?: string): string[] {
  return [
    'pull',
    ...(source !== undefined && dest !== undefined ? [source, dest] : []),
    '--store', props.storeUri,
    '--policy', `${VERIFIER_POLICY_DIR}/${TRUST_POLICY_KEY}`,
    // one argument, so the admission rules can check it (docs/ADMISSION.md): kubelet expands $(VAR) inside it
    shared.PULL_DIGEST_ARGUMENT,
    ...(props.region ? ['--region', props.region] : []),
  ];
}
