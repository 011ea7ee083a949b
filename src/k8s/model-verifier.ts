import { ApiObject, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DEFAULT_VERIFIER_NAME, DEFAULT_VERIFIER_NAMESPACE, SYSTEM_NAMESPACES, VERIFIER_CONTAINER_PORT } from './contract';
import { checkCaPem, checkDnsLabel, checkStoreUri, durationFlag, k8sPropError, restrictedContainerSecurityContext, restrictedPodSecurityContext } from './private/util';
import { VerifierImage } from './verifier-image';
import { DEFAULT_KSERVE_URI_PREFIXES, WorkloadRuleOptions } from '../shared/admission';

/** Where the verifier mounts its TLS Secret (`tls.crt`, `tls.key`). */
export const VERIFIER_TLS_DIR = '/etc/modelseal/tls';

/** Where the verifier (and the load-time init container) mounts the trust policy ConfigMap. */
export const VERIFIER_POLICY_DIR = '/etc/modelseal/policy';

/** Where the verifier mounts the client CA ConfigMap (`ca.crt`) when it requires client certificates. */
export const VERIFIER_CLIENT_CA_DIR = '/etc/modelseal/client-ca';

/** The ConfigMap key of the trust policy document. */
export const TRUST_POLICY_KEY = 'policy.yaml';

/** The uid the verifier runs as (non-root; the distroless `nonroot` user). */
export const VERIFIER_UID = 65532;

/**
 * The minimum TLS version the verifier accepts (`--tls-min-version`).
 */
export enum VerifierTlsVersion {
  /** TLS 1.2 or later. Kyverno and the API server both speak TLS 1.3 too. */
  TLS_1_2 = '1.2',
  /** TLS 1.3 only: required by Gatekeeper's external-data client. */
  TLS_1_3 = '1.3',
}

/** One extra file in the trust policy ConfigMap (a PEM public key or trust anchor the policy names). */
export interface TrustPolicyFile {
  /**
   * The file name, as the policy references it (relative to the policy file), e.g. `ci.pub.pem`.
   *
   * Must be a valid ConfigMap key: letters, digits, `-`, `_` and `.`.
   */
  readonly name: string;

  /** The file's content (PEM text). */
  readonly content: string;
}

/**
 * Properties of a {@link ModelVerifier}.
 */
export interface ModelVerifierProps {
  /** The verifier image (digest-pinned). */
  readonly image: VerifierImage;

  /**
   * The attestation store the verifier reads: `s3://bucket[/prefix]` or `file:///path`.
   *
   * @see https://github.com/modelseal/modelseal/blob/main/docs/STORE.md
   */
  readonly storeUri: string;

  /**
   * The trust policy document (YAML or JSON text), mounted as `/etc/modelseal/policy/policy.yaml`.
   *
   * @see https://github.com/modelseal/modelseal/blob/main/docs/TRUST-POLICY.md
   */
  readonly trustPolicy: string;

  /**
   * Files the trust policy references (public keys, trust anchors), mounted beside it.
   *
   * @default - none (the policy uses inline PEM keys or KMS key ARNs)
   */
  readonly trustPolicyFiles?: TrustPolicyFile[];

  /**
   * The PEM certificate of the CA that issued the verifier's serving certificate.
   *
   * Kyverno's `http.Client(...)`, Gatekeeper's Provider `caBundle` and the native webhook's `caBundle` all need it
   * at synth time, so it is an input: make the CA and the serving Secret with `modelseal tls init --service NAME
   * --namespace NS --out DIR`, or with any CA you run (then let cert-manager issue and rotate the serving certificate
   * from it, see `certManagerCaSecretName`).
   */
  readonly caCertificatePem: string;

  /**
   * The PEM certificate of the CA whose client certificates the verifier requires on its decision routes (mutual TLS:
   * `--client-ca`, mounted from a ConfigMap as `/etc/modelseal/client-ca/ca.crt`).
   *
   * For Gatekeeper only: Gatekeeper presents its webhook certificate when it calls an external-data provider; Kyverno's
   * `http.Client` and the API server's webhook calls present none, so `KyvernoModelPolicy` and `NativeModelPolicy`
   * refuse a verifier that sets this. Gatekeeper's own cert-controller makes its CA inside the cluster, unknown at
   * synth: set this only when Gatekeeper's webhook certificate is issued by a CA you know (Gatekeeper installed with
   * its certificate rotation disabled and the `gatekeeper-webhook-server-cert` Secret written by your CA, e.g. with
   * cert-manager). The probes (`/healthz`, `/readyz`) and `/metrics` stay open to clients without a certificate (kubelet).
   *
   * @default - no client certificate required (the NetworkPolicy alone limits who can connect)
   * @see https://open-policy-agent.github.io/gatekeeper/website/docs/externaldata/
   */
  readonly clientCaCertificatePem?: string;

  /**
   * The `kubernetes.io/tls` Secret in the verifier's namespace that holds the serving certificate and key.
   *
   * You create it (e.g. `modelseal tls init` writes its manifest), unless `certManagerCaSecretName` is set, in which
   * case cert-manager writes and rotates it.
   *
   * @default 'modelseal-verifier-tls'
   */
  readonly tlsSecretName?: string;

  /**
   * Let cert-manager issue and rotate the serving certificate from your CA, stored in this `kubernetes.io/tls` Secret
   * of the verifier's namespace (the CA's certificate and key).
   *
   * Renders a cert-manager `Issuer` of type CA and a `Certificate` for the Service's DNS names that writes
   * `tlsSecretName`. The verifier reloads rotated certificate files without dropping connections. Needs cert-manager
   * in the cluster (`ModelAdmission` installs it when this is set).
   *
   * @default - no cert-manager objects; you create `tlsSecretName`
   * @see https://cert-manager.io/docs/configuration/ca/
   */
  readonly certManagerCaSecretName?: string;

  /**
   * The name of the Deployment, Service, ServiceAccount and the prefix of the other objects.
   *
   * @default 'modelseal-verifier'
   */
  readonly name?: string;

  /**
   * The namespace of the verifier.
   *
   * @default 'modelseal-system'
   */
  readonly namespace?: string;

  /**
   * Render the Namespace object, labelled to enforce the Kubernetes "restricted" Pod Security Standard.
   *
   * @default true
   * @see https://kubernetes.io/docs/concepts/security/pod-security-admission/
   */
  readonly createNamespace?: boolean;

  /**
   * Namespaces whose pods may connect to the verifier: the admission controller's (`kyverno`,
   * `gatekeeper-system`). The NetworkPolicy allows ingress to port `https` only from these and from
   * `controlPlaneCidrs`.
   *
   * @default - none
   */
  readonly clientNamespaces?: string[];

  /**
   * CIDRs the Kubernetes API server connects from (it is not a pod, so a namespace selector cannot name it): needed
   * by the native webhook. On EKS, the cluster's VPC subnets where the control plane's network interfaces live.
   *
   * @default - none
   * @see https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html
   */
  readonly controlPlaneCidrs?: string[];

  /**
   * Number of replicas (at least 2, so a node drain or a rollout never leaves admission without a verifier).
   *
   * @default 2
   */
  readonly replicas?: number;

  /**
   * The AWS region of the S3 store and the KMS keys (`--region`).
   *
   * @default - AWS_REGION of the pod (EKS Pod Identity sets it)
   */
  readonly region?: string;

  /**
   * How long an allow decision is cached (`--cache-ttl`). Revocation reaches admission within this time.
   *
   * @default Duration.seconds(60)
   */
  readonly cacheTtl?: Duration;

  /**
   * How long a denial is cached (`--deny-cache-ttl`).
   *
   * @default Duration.seconds(5)
   */
  readonly denyCacheTtl?: Duration;

  /**
   * The per-decision deadline (`--deadline`): past it the answer is a denial. The admission constructs check that
   * their webhook timeouts leave room for it.
   *
   * @default Duration.seconds(2)
   */
  readonly deadline?: Duration;

  /**
   * Decision cache size, in entries (`--cache-size`).
   *
   * @default 10000
   */
  readonly cacheSize?: number;

  /**
   * Namespaces whose workloads `/validate` allows without a model check (`--exempt-namespaces`). The policies of the
   * other engines take their own `exemptNamespaces`. Never read from a workload.
   *
   * @default - none
   */
  readonly exemptNamespaces?: string[];

  /**
   * The storage URI prefixes an InferenceService or LLMInferenceService may load its model from: those ModelSeal's
   * `KServeModelLoadVerification` handles (its `uriPrefixes`, which must match). Every engine refuses any other
   * scheme (`pvc://`, `oci://`, `hf://`, `gs://`, `http(s)://`, ...) because KServe would load it with its own,
   * unverifying storage initializer (`--kserve-uri-prefixes`). See docs/ADMISSION.md, "KServe".
   *
   * @default ['s3://']
   */
  readonly kserveUriPrefixes?: string[];

  /**
   * The name of ModelSeal's ClusterStorageContainer (`KServeModelLoadVerification`'s `name`). KServe picks an
   * arbitrary ClusterStorageContainer when two handle a URI, so every engine refuses (CREATE/UPDATE) any other enabled
   * one that handles `kserveUriPrefixes` — KServe's own `default` included: remove `s3://` from it
   * (`--kserve-storage-container`).
   *
   * @default 'modelseal'
   */
  readonly kserveStorageContainerName?: string;

  /**
   * Whether a model workload (a Pod or pod template carrying `modelseal.dev/model-digest`) must verify its model at
   * load with `ModelLoadVerification`'s init container: `modelseal-pull` running the verifier image with
   * `--digest=$(MODELSEAL_DIGEST)` from the annotation, into the `modelseal-model` emptyDir every other container
   * mounts read-only; InferenceServices must load through a storage URI (verified by `KServeModelLoadVerification`).
   *
   * **`false` weakens admission**: the digest annotation becomes an unchecked claim, and a workload can name a signed
   * digest and load any model. Every engine and `/validate` follow this one setting
   * (`--no-require-load-verification`).
   *
   * @default true
   */
  readonly requireLoadVerification?: boolean;

  /**
   * The minimum TLS version (`--tls-min-version`).
   *
   * @default VerifierTlsVersion.TLS_1_3
   */
  readonly tlsMinVersion?: VerifierTlsVersion;

  /**
   * The command that starts the CLI in the image, followed by `serve` and its flags.
   *
   * @default ['modelseal']
   */
  readonly command?: string[];

  /**
   * CPU request and limit of each replica, in millicores.
   *
   * @default - request 250, limit 1000
   */
  readonly cpuLimitMillis?: number;

  /**
   * Memory request and limit of each replica, in MiB (request = limit: the decision cache is bounded).
   *
   * @default 512
   */
  readonly memoryMebibytes?: number;
}

/**
 * The ModelSeal verifier service (`modelseal serve`) in Kubernetes: Deployment, Service, ServiceAccount,
 * PodDisruptionBudget, NetworkPolicy and the trust policy ConfigMap.
 *
 * One decision behind all three admission engines: Kyverno calls `/kyverno`, Gatekeeper `/gatekeeper`, the API
 * server `/validate`. Pods run at the Kubernetes "restricted" Pod Security Standard (non-root uid 65532, read-only
 * root filesystem, no privilege escalation, all capabilities dropped, seccomp `RuntimeDefault`), spread across zones
 * and nodes, with a PodDisruptionBudget.
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
 */
export class ModelVerifier extends Construct {
  /** The name of the Deployment, Service and ServiceAccount. */
  public readonly name: string;

  /** The verifier's namespace. */
  public readonly namespace: string;

  /** The ServiceAccount name (EKS Pod Identity associates the store-reading role with it). */
  public readonly serviceAccountName: string;

  /** The PEM of the CA that issued the serving certificate. */
  public readonly caCertificatePem: string;

  /** The trust policy ConfigMap's name. */
  public readonly trustPolicyConfigMapName: string;

  /** The store URI the verifier reads. */
  public readonly storeUri: string;

  /** The image (the load-time init container runs the same one). */
  public readonly image: VerifierImage;

  /** The command that starts the CLI in the image. */
  public readonly command: string[];

  /** The allow-cache TTL. */
  public readonly cacheTtl: Duration;

  /** The per-decision deadline. */
  public readonly deadline: Duration;

  /** The minimum TLS version the verifier accepts. */
  public readonly tlsMinVersion: VerifierTlsVersion;

  /** The region flag, if any. */
  public readonly region?: string;

  /** Whether the verifier requires client certificates on its decision routes (`clientCaCertificatePem` is set). */
  public readonly requiresClientCertificates: boolean;

  /** Whether cert-manager issues the serving certificate. */
  public readonly usesCertManager: boolean;

  /** The Deployment. */
  public readonly deployment: ApiObject;

  /** The storage URI prefixes an InferenceService or LLMInferenceService may load from. */
  public readonly kserveUriPrefixes: string[];

  /** The name of ModelSeal's ClusterStorageContainer, the only one allowed to handle `kserveUriPrefixes`. */
  public readonly kserveStorageContainerName: string;

  /** Whether model workloads must verify their model at load (`ModelLoadVerification`). */
  public readonly requireLoadVerification: boolean;

  constructor(scope: Construct, id: string, props: ModelVerifierProps) {
    super(scope, id);
    const type = 'ModelVerifier';
    this.name = props.name ?? DEFAULT_VERIFIER_NAME;
    this.namespace = props.namespace ?? DEFAULT_VERIFIER_NAMESPACE;
    checkDnsLabel(this, type, 'name', this.name);
    checkDnsLabel(this, type, 'namespace', this.namespace);
    checkCaPem(this, type, 'caCertificatePem', props.caCertificatePem);
    if (props.clientCaCertificatePem !== undefined) checkCaPem(this, type, 'clientCaCertificatePem', props.clientCaCertificatePem);
    checkStoreUri(this, type, 'storeUri', props.storeUri);
    const replicas = props.replicas ?? 2;
    if (!Number.isInteger(replicas) || replicas < 2) {
      throw k8sPropError(this, type, 'replicas', `must be an integer of at least 2 (one replica cannot survive a drain), got ${replicas}`);
    }
    const clientNamespaces = props.clientNamespaces ?? [];
    const controlPlaneCidrs = props.controlPlaneCidrs ?? [];
    if (clientNamespaces.length === 0 && controlPlaneCidrs.length === 0) {
      throw k8sPropError(this, type, 'clientNamespaces', 'and controlPlaneCidrs are both empty: the NetworkPolicy would let no admission controller reach the verifier');
    }
    for (const ns of clientNamespaces) checkDnsLabel(this, type, 'clientNamespaces', ns);
    for (const cidr of controlPlaneCidrs) {
      if (!/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/.test(cidr)) {
        throw k8sPropError(this, type, 'controlPlaneCidrs', `must hold CIDRs such as 10.0.0.0/16, got '${cidr}'`);
      }
    }
    const files = props.trustPolicyFiles ?? [];
    for (const f of files) {
      if (!/^[-._a-zA-Z0-9]+$/.test(f.name) || f.name === TRUST_POLICY_KEY) {
        throw k8sPropError(this, type, 'trustPolicyFiles', `names must be ConfigMap keys other than ${TRUST_POLICY_KEY}, got '${f.name}'`);
      }
    }
    if (props.trustPolicy.trim() === '') throw k8sPropError(this, type, 'trustPolicy', 'must not be empty');

    this.caCertificatePem = props.caCertificatePem;
    this.storeUri = props.storeUri;
    this.image = props.image;
    this.command = props.command ?? ['modelseal'];
    this.kserveUriPrefixes = props.kserveUriPrefixes ?? [...DEFAULT_KSERVE_URI_PREFIXES];
    if (this.kserveUriPrefixes.length === 0) throw k8sPropError(this, type, 'kserveUriPrefixes', 'must name at least one prefix');
    for (const p of this.kserveUriPrefixes) {
      if (!/^[a-z][a-z0-9+.-]*:\/\/[^,]*$/.test(p)) throw k8sPropError(this, type, 'kserveUriPrefixes', `must be URI prefixes (scheme://...) without commas, got '${p}'`);
    }
    this.requireLoadVerification = props.requireLoadVerification ?? true;
    this.kserveStorageContainerName = props.kserveStorageContainerName ?? 'modelseal';
    checkDnsLabel(this, type, 'kserveStorageContainerName', this.kserveStorageContainerName);
    this.cacheTtl = props.cacheTtl ?? Duration.seconds(60);
    this.deadline = props.deadline ?? Duration.seconds(2);
    this.tlsMinVersion = props.tlsMinVersion ?? VerifierTlsVersion.TLS_1_3;
    this.region = props.region;
    this.serviceAccountName = this.name;
    this.trustPolicyConfigMapName = `${this.name}-policy`;
    this.usesCertManager = props.certManagerCaSecretName !== undefined;
    this.requiresClientCertificates = props.clientCaCertificatePem !== undefined;
    const clientCaConfigMapName = `${this.name}-client-ca`;
    const tlsSecretName = props.tlsSecretName ?? `${this.name}-tls`;
    const labels = { 'app.kubernetes.io/name': this.name, 'app.kubernetes.io/component': 'verifier', 'app.kubernetes.io/part-of': 'modelseal' };
    const metadata = (name: string) => ({ name, namespace: this.namespace, labels });

    if (props.createNamespace ?? true) {
      new k8s.KubeNamespace(this, 'Namespace', {
        metadata: {
          name: this.namespace,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
          },
        },
      });
    }

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: metadata(this.serviceAccountName),
      // the verifier never calls the Kubernetes API (EKS Pod Identity injects its own token)
      automountServiceAccountToken: false,
    });

    new k8s.KubeConfigMap(this, 'TrustPolicy', {
      metadata: metadata(this.trustPolicyConfigMapName),
      data: { [TRUST_POLICY_KEY]: props.trustPolicy, ...Object.fromEntries(files.map((f) => [f.name, f.content])) },
    });

    if (props.clientCaCertificatePem !== undefined) {
      // a CA certificate is public: a ConfigMap, like the trust policy's keys
      new k8s.KubeConfigMap(this, 'ClientCa', {
        metadata: metadata(clientCaConfigMapName),
        data: { 'ca.crt': props.clientCaCertificatePem },
      });
    }

    const args = [
      'serve',
      '--listen', `0.0.0.0:${VERIFIER_CONTAINER_PORT}`,
      '--tls-cert', `${VERIFIER_TLS_DIR}/tls.crt`,
      '--tls-key', `${VERIFIER_TLS_DIR}/tls.key`,
      '--tls-min-version', this.tlsMinVersion,
      ...(this.requiresClientCertificates ? ['--client-ca', `${VERIFIER_CLIENT_CA_DIR}/ca.crt`] : []),
      '--store', this.storeUri,
      '--policy', `${VERIFIER_POLICY_DIR}/${TRUST_POLICY_KEY}`,
      '--cache-ttl', durationFlag(this.cacheTtl),
      '--deny-cache-ttl', durationFlag(props.denyCacheTtl ?? Duration.seconds(5)),
      '--cache-size', String(props.cacheSize ?? 10000),
      '--deadline', durationFlag(this.deadline),
      ...(this.region ? ['--region', this.region] : []),
      ...(props.exemptNamespaces && props.exemptNamespaces.length > 0 ? ['--exempt-namespaces', props.exemptNamespaces.join(',')] : []),
      '--kserve-uri-prefixes', this.kserveUriPrefixes.join(','),
      '--kserve-storage-container', this.kserveStorageContainerName,
      ...(this.requireLoadVerification ? [] : ['--no-require-load-verification']),
      '--load-verifier-image', this.image.reference,
      ...this.command.flatMap((c) => ['--load-verifier-command', c]),
    ];
    const memory = `${props.memoryMebibytes ?? 512}Mi`;
    const probe = (path: string, period: number) => ({
      httpGet: { scheme: 'HTTPS', path, port: k8s.IntOrString.fromString('https') },
      periodSeconds: period,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
    const spreadOn = (topologyKey: string, whenUnsatisfiable: string) => ({
      maxSkew: 1, topologyKey, whenUnsatisfiable, labelSelector: { matchLabels: labels },
    });

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: metadata(this.name),
      spec: {
        replicas,
        selector: { matchLabels: labels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: this.serviceAccountName,
            automountServiceAccountToken: false,
            securityContext: restrictedPodSecurityContext(VERIFIER_UID),
            // zones: best effort (single-zone clusters still schedule); nodes: two replicas never share one
            topologySpreadConstraints: [
              spreadOn('topology.kubernetes.io/zone', 'ScheduleAnyway'),
              spreadOn('kubernetes.io/hostname', 'DoNotSchedule'),
            ],
            containers: [{
              name: 'verifier',
              image: this.image.reference,
              imagePullPolicy: 'IfNotPresent',
              command: this.command,
              args,
              ports: [{ name: 'https', containerPort: VERIFIER_CONTAINER_PORT, protocol: 'TCP' }],
              securityContext: restrictedContainerSecurityContext(VERIFIER_UID),
              resources: {
                requests: { cpu: k8s.Quantity.fromString('250m'), memory: k8s.Quantity.fromString(memory) },
                limits: { cpu: k8s.Quantity.fromString(`${props.cpuLimitMillis ?? 1000}m`), memory: k8s.Quantity.fromString(memory) },
              },
              livenessProbe: probe('/healthz', 10),
              readinessProbe: probe('/readyz', 5),
              volumeMounts: [
                { name: 'tls', mountPath: VERIFIER_TLS_DIR, readOnly: true },
                { name: 'policy', mountPath: VERIFIER_POLICY_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
                ...(this.requiresClientCertificates ? [{ name: 'client-ca', mountPath: VERIFIER_CLIENT_CA_DIR, readOnly: true }] : []),
              ],
            }],
            volumes: [
              { name: 'tls', secret: { secretName: tlsSecretName, defaultMode: 0o440 } },
              { name: 'policy', configMap: { name: this.trustPolicyConfigMapName, defaultMode: 0o440 } },
              { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('64Mi') } },
              ...(this.requiresClientCertificates ? [{ name: 'client-ca', configMap: { name: clientCaConfigMapName, defaultMode: 0o440 } }] : []),
            ],
          },
        },
      },
    });

    new k8s.KubeService(this, 'Service', {
      metadata: metadata(this.name),
      spec: {
        type: 'ClusterIP',
        selector: labels,
        ports: [{ name: 'https', port: 443, targetPort: k8s.IntOrString.fromString('https'), protocol: 'TCP' }],
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
      metadata: metadata(this.name),
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: labels } },
    });

    new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: metadata(this.name),
      spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ['Ingress'],
        ingress: [{
          from: [
            ...clientNamespaces.map((ns) => ({
              // the API server sets this label to the namespace's name; no user can change it
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
            })),
            ...controlPlaneCidrs.map((cidr) => ({ ipBlock: { cidr } })),
          ],
          ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromString('https') }],
        }],
      },
    });

    if (props.certManagerCaSecretName !== undefined) {
      checkDnsLabel(this, type, 'certManagerCaSecretName', props.certManagerCaSecretName);
      const issuer = `${this.name}-ca`;
      new ApiObject(this, 'Issuer', {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Issuer',
        metadata: metadata(issuer),
        spec: { ca: { secretName: props.certManagerCaSecretName } },
      });
      new ApiObject(this, 'Certificate', {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: metadata(this.name),
        spec: {
          secretName: tlsSecretName,
          dnsNames: this.dnsNames,
          issuerRef: { name: issuer, kind: 'Issuer', group: 'cert-manager.io' },
          duration: '2160h',
          renewBefore: '720h',
          privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
          usages: ['server auth', 'digital signature', 'key encipherment'],
        },
      });
    }
  }

  /** The DNS names the serving certificate must carry (the Service's short and fully qualified names). */
  public get dnsNames(): string[] {
    const svc = `${this.name}.${this.namespace}.svc`;
    return [this.name, `${this.name}.${this.namespace}`, svc, `${svc}.cluster.local`];
  }

  /**
   * The options of the structural rules every engine renders and `/validate` applies (the same values as the `serve`
   * flags above).
   *
   * @internal
   */
  public _workloadRuleOptions(): WorkloadRuleOptions {
    return {
      kserveUriPrefixes: this.kserveUriPrefixes,
      requireLoadVerification: this.requireLoadVerification,
      loadVerifierImage: this.image.reference,
      loadVerifierCommand: this.command,
      kserveStorageContainer: this.kserveStorageContainerName,
    };
  }

  /**
   * The HTTPS URL of one of the verifier's endpoints, through its Service.
   *
   * @param path `/kyverno`, `/gatekeeper` or `/validate`
   */
  public url(path: string): string {
    return `https://${this.name}.${this.namespace}.svc${path}`;
  }

  /** The namespaces no policy applies to: the system namespaces and the verifier's own. */
  public get systemNamespaces(): string[] {
    return [...new Set([...SYSTEM_NAMESPACES, this.namespace])];
  }
}
