// What the portal knows of the domain: labels and the 4 MiB limit. The server decides every rule.
export const MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024

export const STATUSES: Record<string, string> = {
  DRAFT: '暂存',
  DECLARED: '已申报',
  RECEIPT_FAILED: '海关接收失败',
  PENDING: '待办',
  WITHDRAWN: '已撤回',
  RETURNED: '退回',
  COORDINATING: '协调中',
  CONCLUDED: '已办结',
}

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
  fields: { field: string; message: string }[],
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

/** How the status history names each move. */
export const ACTIONS: Record<string, string> = {
  CREATE: '新建暂存',
  SAVE: '暂存',
  SUBMIT: '提交申报',
  RECEIPT_ACCEPT: '海关接收',
  RECEIPT_REJECT: '海关接收失败',
  WITHDRAW: '撤回',
  ACCEPT: '海关受理',
  RETURN: '海关退回',
  CONCLUDE: '办结',
}

/** 办结 outcomes (SPEC §5) as the officers' API names them. */
export const OUTCOMES: Record<string, string> = {
  SUCCESS: '协调成功',
  UNRESOLVED: '协调未果',
  NOT_ACCEPTED: '不予受理',
}

/** Which pages belong to which role; the other role's pages send it to its own first page. */
export const ENTERPRISE_PAGES = ['apply', 'new', 'detail', 'query', 'links']
export const OFFICER_PAGES = ['customs', 'case', 'audit']
export function homePageOf(role: string | undefined): string {
  return role === 'OFFICER' ? 'customs' : 'apply'
}
