import { AdmissionMode } from '../admission-mode';

/** The Kubernetes-style validation actions of a mode (Kyverno and VAP share them). */
export function validationActions(mode: AdmissionMode): string[] {
  switch (mode) {
    case AdmissionMode.ENFORCE: return ['Deny'];
    case AdmissionMode.WARN: return ['Warn', 'Audit'];
    case AdmissionMode.AUDIT: return ['Audit'];
  }
}

/** Gatekeeper's `enforcementAction` of a mode. */
export function gatekeeperEnforcementAction(mode: AdmissionMode): string {
  switch (mode) {
    case AdmissionMode.ENFORCE: return 'deny';
    case AdmissionMode.WARN: return 'warn';
    case AdmissionMode.AUDIT: return 'dryrun';
  }
}
