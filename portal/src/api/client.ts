// The one client of the public API: same origin, session cookie, typed by the gateway's OpenAPI document.
import type { components, paths } from './schema'

export type Schemas = components['schemas']
export type CoordinationRequest = Schemas['CoordinationRequest']
export type RequestPage = Schemas['RequestPage']
export type AttachmentInfo = Schemas['AttachmentInfo']
export type HistoryEntry = Schemas['HistoryEntry']
export type Country = Schemas['Country']
export type Port = Schemas['Port']
export type Agreement = Schemas['Agreement']
export type ExportDeclarationLink = Schemas['ExportDeclarationLink']
export type Case = Schemas['Case']
export type CasePage = Schemas['CasePage']
export type AuditRecord = Schemas['AuditRecord']
export type AuditPage = Schemas['AuditPage']

/** A case as GET /customs/coordination-requests/{id} returns it: the case, the application with history, files. */
export interface CaseDetail {
  case: Case
  request: CoordinationRequest
  attachments: AttachmentInfo[]
}

/** What an officer decides, and the body DecisionIn expects for it. */
export type CaseAction = 'accept' | 'return' | 'conclude'
export interface DecisionBody {
  version: number
  reason?: string
  outcome?: string
  reply?: string
}

/** A detail as GET /coordination-requests/{id} returns it: the application and its attachments. */
export type RequestDetail = CoordinationRequest & { attachments: AttachmentInfo[] }

export interface Me {
  userId: string
  username: string
  displayName: string
  role: 'ENTERPRISE' | 'OFFICER'
  enterprise: { name: string; creditCode: string; customsCode: string } | null
}

export interface ProofType {
  code: string
  label: string
  numberLabel: string
}

export interface FieldError {
  field: string
  message: string
}

/** The gateway's error shape: a stable code for programs, a Chinese message for people, field errors. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message)
  }
}

type Path = keyof paths
type Query = Record<string, string | number | undefined | null>

export interface CallOptions {
  params?: Record<string, string>
  query?: Query
  body?: unknown
  form?: FormData
}

/** Called when the server says the session is gone; the session store installs it. */
let onUnauthenticated: (() => void) | null = null
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler
}

export function url(path: Path, params: Record<string, string> = {}, query: Query = {}): string {
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''))
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value))
  }
  const qs = search.toString()
  return qs ? `${filled}?${qs}` : filled
}

/** Calls that ask about the session itself: a 401 there is an answer, not an expired session. */
const SESSION_PATHS: Path[] = ['/api/v1/auth/login', '/api/v1/auth/card/login', '/api/v1/auth/logout', '/api/v1/me']

export async function call<T>(method: string, path: Path, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  let body: BodyInit | undefined
  if (options.form) body = options.form
  else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  let response: Response
  try {
    response = await fetch(url(path, options.params, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
    })
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', '网络连接失败，请检查网络后重试')
  }
  const text = await response.text()
  let data: unknown = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  if (!response.ok) {
    const err = (data ?? {}) as Partial<{ code: string; message: string; fields: FieldError[] }>
    const error = new ApiError(
      response.status,
      err.code ?? 'HTTP_ERROR',
      err.message ?? '系统繁忙，请稍后重试',
      err.fields ?? [],
    )
    if (response.status === 401 && !SESSION_PATHS.includes(path) && onUnauthenticated) {
      onUnauthenticated()
      // The page is left for 登录 (which says why); its own error handling must not add a second message.
      return new Promise<T>(() => undefined)
    }
    throw error
  }
  return data as T
}

export const api = {
  captcha: () => call<{ captchaId: string; image: string }>('GET', '/api/v1/auth/captcha'),
  login: (body: { username: string; password: string; captchaId: string; captchaCode: string }) =>
    call<{ message: string; user: Me }>('POST', '/api/v1/auth/login', { body }),
  logout: () => call<{ message: string }>('POST', '/api/v1/auth/logout'),
  cardChallenge: (body: { cardNo: string }) =>
    call<{ challengeId: string; nonce: string; expiresInSeconds: number; agentUrl: string }>(
      'POST',
      '/api/v1/auth/card/challenge',
      { body },
    ),
  cardLogin: (body: { cardNo: string; challengeId: string; signature: string }) =>
    call<{ message: string; user: Me }>('POST', '/api/v1/auth/card/login', { body }),
  me: () => call<Me>('GET', '/api/v1/me'),
  changePassword: (body: { oldPassword: string; newPassword: string }) =>
    call<{ message: string; sessionsEnded: number }>('POST', '/api/v1/me/password', { body }),

  proofTypes: () => call<{ items: ProofType[] }>('GET', '/api/v1/reference/proof-types'),
  agreements: () => call<Schemas['AgreementList']>('GET', '/api/v1/reference/agreements'),
  countries: (q: string) => call<Schemas['CountryList']>('GET', '/api/v1/reference/countries', { query: { q } }),
  ports: (country: string, q: string) =>
    call<Schemas['PortList']>('GET', '/api/v1/reference/ports', { query: { country, q } }),
  lookupCertificate: (type: string, number: string) =>
    call<{ proofType: string; certificateNo: string; agreementCode: string; agreementName: string }>(
      'GET',
      '/api/v1/certificates/lookup',
      { query: { type, number } },
    ),

  links: () => call<Schemas['LinkPage']>('GET', '/api/v1/export-declaration-links'),
  createLink: (body: { proofType: string; certificateNo: string; exportDeclarationNo: string }) =>
    call<{ message: string; link: ExportDeclarationLink }>('POST', '/api/v1/export-declaration-links', { body }),

  listRequests: (query: Query) => call<RequestPage>('GET', '/api/v1/coordination-requests', { query }),
  getRequest: (id: string) =>
    call<RequestDetail>('GET', '/api/v1/coordination-requests/{request_id}', { params: { request_id: id } }),
  createRequest: (body: object) =>
    call<{ message: string; request: CoordinationRequest }>('POST', '/api/v1/coordination-requests', { body }),
  updateRequest: (id: string, body: object) =>
    call<{ message: string; request: CoordinationRequest }>('PUT', '/api/v1/coordination-requests/{request_id}', {
      params: { request_id: id },
      body,
    }),
  deleteRequest: (id: string, version?: number) =>
    call<{ message: string }>('DELETE', '/api/v1/coordination-requests/{request_id}', {
      params: { request_id: id },
      query: { version },
    }),
  submitRequest: (id: string, version: number) =>
    call<{ message: string; request: CoordinationRequest }>('POST', '/api/v1/coordination-requests/{request_id}/submit', {
      params: { request_id: id },
      body: { version },
    }),
  withdrawRequest: (id: string, version: number) =>
    call<{ message: string; request: CoordinationRequest }>(
      'POST',
      '/api/v1/coordination-requests/{request_id}/withdraw',
      { params: { request_id: id }, body: { version } },
    ),

  uploadAttachment: (id: string, file: File) => {
    const form = new FormData()
    form.append('file', file, file.name)
    return call<{ message: string; attachment: AttachmentInfo }>(
      'POST',
      '/api/v1/coordination-requests/{request_id}/attachments',
      { params: { request_id: id }, form },
    )
  },
  deleteAttachment: (id: string, attachmentId: string) =>
    call<{ message: string }>('DELETE', '/api/v1/coordination-requests/{request_id}/attachments/{attachment_id}', {
      params: { request_id: id, attachment_id: attachmentId },
    }),
  attachmentUrl: (id: string, attachmentId: string) =>
    url('/api/v1/coordination-requests/{request_id}/attachments/{attachment_id}', {
      request_id: id,
      attachment_id: attachmentId,
    }),

  customsQueue: (query: Query) => call<CasePage>('GET', '/api/v1/customs/coordination-requests', { query }),
  customsCase: (id: string) =>
    call<CaseDetail>('GET', '/api/v1/customs/coordination-requests/{request_id}', { params: { request_id: id } }),
  decide: (id: string, action: CaseAction, body: DecisionBody) =>
    call<{ message: string; case: Case }>(
      'POST',
      `/api/v1/customs/coordination-requests/{request_id}/${action}` as Path,
      { params: { request_id: id }, body },
    ),
  auditRecords: (query: Query) => call<AuditPage>('GET', '/api/v1/customs/audit-records', { query }),
}
