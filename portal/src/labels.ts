// The labels of the server's codes, from the locale (keyed by code): statuses, history actions, outcomes, proof types,
// and the audit trail's actions, results and services.
import { i18n, t } from './i18n'

export type LabelKind =
  | 'status'
  | 'action'
  | 'outcome'
  | 'proofType'
  | 'proofNumber'
  | 'auditAction'
  | 'auditResult'
  | 'auditService'

/** The label of a code; `fallback` (the code itself unless given) for a code this portal does not know. */
export function label(kind: LabelKind, code: string | null | undefined, fallback = code ?? ''): string {
  const key = `${kind}.${code}`
  return code && i18n.global.te(key) ? t(key) : fallback
}

/** Every code of a kind, in the server's order (tests/unit/test_portal_labels.py checks the locale against it). */
export function codes(kind: LabelKind): string[] {
  return Object.keys(i18n.global.tm(kind))
}
