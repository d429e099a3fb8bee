// What the portal knows of the domain: the 4 MiB limit, the form's fields, tag colours and pages by role. The server
// decides every rule; the labels of its codes are in the locale (labels.ts).
import type { FieldError } from './api/client'

export const MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024

/** Element Plus tag types by status: grey drafts, orange waiting, red problems, green done. */
export const STATUS_TAG: Record<string, 'info' | 'warning' | 'danger' | 'success' | 'primary'> = {
  DRAFT: 'info',
  DECLARED: 'primary',
  RECEIPT_FAILED: 'danger',
  PENDING: 'warning',
  WITHDRAWN: 'info',
  RETURNED: 'danger',
  COORDINATING: 'primary',
  CONCLUDED: 'success',
}

/** The browser's early check of SPEC §3 (the server checks again): null when the file may be sent. */
export function oversize(file: { size: number }): boolean {
  return file.size > MAX_ATTACHMENT_BYTES
}

/** The form fields of SPEC §3 in reading order, as the API names them. */
export const FORM_FIELDS = [
  'importCountry',
  'importPort',
  'certificateNo',
  'exportDeclarationNo',
  'importDeclarationNo',
  'reason',
] as const
export type FormField = (typeof FORM_FIELDS)[number]
export const REQUIRED_FIELDS: readonly FormField[] = FORM_FIELDS

/** Maps the API's field errors onto the form: every field error at once, the rest as one general message. */
export function mapFieldErrors(
  fields: FieldError[],
  known: readonly string[] = FORM_FIELDS,
): { byField: Record<string, string>; other: string[] } {
  const byField: Record<string, string> = {}
  const other: string[] = []
  for (const { field, message } of fields) {
    if (known.includes(field)) byField[field] = byField[field] ? `${byField[field]}；${message}` : message
    else other.push(message)
  }
  return { byField, other }
}

/** Which pages belong to which role; the other role's pages send it to its own first page. */
export const ENTERPRISE_PAGES = ['apply', 'new', 'detail', 'query', 'links']
export const OFFICER_PAGES = ['customs', 'case', 'audit']
export function homePageOf(role: string | undefined): string {
  return role === 'OFFICER' ? 'customs' : 'apply'
}
