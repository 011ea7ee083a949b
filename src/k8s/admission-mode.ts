/**
 * How a model policy acts on a workload it refuses: enforce, or only report while you roll out.
 *
 * | mode | Kyverno `validationActions` | Gatekeeper `enforcementAction` | ValidatingAdmissionPolicy binding |
 * |---|---|---|---|
 * | ENFORCE | `[Deny]` | `deny` | `[Deny]` |
 * | WARN | `[Warn, Audit]` | `warn` | `[Warn, Audit]` |
 * | AUDIT | `[Audit]` | `dryrun` | `[Audit]` |
 *
 * The native webhook has no report-only mode: in WARN and AUDIT, `NativeModelPolicy` renders no webhook.
 *
 * @see https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/#validation-actions
 */
export enum AdmissionMode {
  /** Refuse the workload. */
  ENFORCE = 'ENFORCE',
  /** Admit it, return a warning to the client and record an audit annotation. */
  WARN = 'WARN',
  /** Admit it silently; the refusal is only recorded (audit log, policy reports, Gatekeeper audit). */
  AUDIT = 'AUDIT',
}
