// The one client of the public API: same origin, session cookie, typed by the gateway's OpenAPI document.
import { serverText, t } from '../i18n'
import type { components, paths } from './schema'

type Schemas = components['schemas']
export type CoordinationRequest = Schemas['CoordinationRequest']
export type RequestDetail = Schemas['RequestDetail']
export type AttachmentInfo = Schemas['AttachmentInfo']
export type HistoryEntry = Schemas['HistoryEntry']
export type Agreement = Schemas['Agreement']
export type ExportDeclarationLink = Schemas['ExportDeclarationLink']
export type Case = Schemas['Case']
export type CaseDetail = Schemas['CaseDetail']
export type AuditRecord = Schemas['AuditRecord']
export type Me = Schemas['Me']
export type FieldError = Schemas['FieldError']

type Path = keyof paths
type Method = 'get' | 'post' | 'put' | 'delete'
/** The methods the OpenAPI document declares for a path. */
type MethodOf<P extends Path> = { [M in Method]: paths[P][M] extends undefined ? never : M }[Method]
type Operation<P extends Path, M extends Method> = NonNullable<paths[P][M]>

type PathParams<O> = O extends { parameters: { path: infer X } } ? X : never
type QueryParams<O> = O extends { parameters: { query?: infer Q } } ? ([Q] extends [undefined] ? never : Q) : never
type Content<O> = O extends { requestBody?: infer B }
  ? NonNullable<B> extends { content: infer C }
    ? C
    : never
  : never
type JsonIn<O> = Content<O> extends { 'application/json': infer J } ? J : never
type FormIn<O> = Content<O> extends { 'multipart/form-data': unknown } ? FormData : never
type Success<R> = keyof R & (200 | 201)
/** The JSON of the operation's 200 or 201 answer. */
type JsonOut<O> = O extends { responses: infer R }
  ? { [C in Success<R>]: R[C] extends { content: { 'application/json': infer J } } ? J : never }[Success<R>]
  : never

/** What a call of an operation sends: its path parameters, query, and JSON body or multipart form, as declared. */
type Options<O> = ([PathParams<O>] extends [never] ? { params?: never } : { params: PathParams<O> }) &
  ([QueryParams<O>] extends [never] ? { query?: never } : { query?: QueryParams<O> }) &
  ([JsonIn<O>] extends [never] ? { body?: never } : { body: JsonIn<O> }) &
  ([FormIn<O>] extends [never] ? { form?: never } : { form: FormIn<O> })

/** The JSON body an operation expects (the OpenAPI document names no schema for these). */
type RequestBody<P extends Path, M extends MethodOf<P>> = JsonIn<Operation<P, M>>
/** The query an operation reads. */
type QueryOf<P extends Path> = QueryParams<Operation<P, 'get' & MethodOf<P>>>

/**
 * The gateway's error shape: a stable code for programs, a Chinese message for people, field errors. Here, the one
 * place where refusals become what a person reads: in zh-CN the server's messages as they are; in another language
 * the locale's `errors.<code>`, and for each field `fieldErrors.<field>` (the server's field message is Chinese
 * text with no code, so the English says what the field needs). `serverMessage` and `serverFields` keep the server's.
 */
export class ApiError extends Error {
  readonly fields: FieldError[]
  constructor(
    readonly status: number,
    readonly code: string,
    readonly serverMessage: string,
    readonly serverFields: FieldError[] = [],
  ) {
    super(serverText(serverMessage, `errors.${code}`, () => `${t('app.serverError')} (${code})`))
    this.fields = serverFields.map(({ field, message }) => ({
      field,
      message: serverText(message, `fieldErrors.${field}`, () => t('fieldErrors.default')),
    }))
  }

  /** The refusal in one line: its field messages (each once), or its message when it names no field. */
  get summary(): string {
    return [...new Set(this.fields.map((f) => f.message))].join(t('app.listSeparator')) || this.message
  }
}

/** Called when the server says the session is gone; the session store installs it. */
let onUnauthenticated: (() => void) | null = null
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler
}

type Query = Record<string, string | number | undefined | null>

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
const SESSION_PATHS: Path[] = [
  '/api/v1/auth/login',
  '/api/v1/auth/card/login',
  '/api/v1/auth/logout',
  '/api/v1/me',
  '/api/v1/session',
]

/** The writes that take no Idempotency-Key: every other write route is `@idempotent` in the gateway. */
const UNKEYED_PATHS: Path[] = [
  '/api/v1/auth/login',
  '/api/v1/auth/logout',
  '/api/v1/auth/card/challenge',
  '/api/v1/auth/card/login',
  '/api/v1/me/password',
]

/**
 * Idempotency keys of writes that have had no definite answer yet, by what they send (method, URL, body): the
 * same write sent again (a click retried after a lost answer) reuses its key, so the gateway replays the first
 * answer instead of applying it twice; another write, or the same one with another body, gets a new key.
 */
/** A random key (UUID v4). crypto.randomUUID exists only in secure contexts (HTTPS, localhost): elsewhere the
 * same 122 random bits come from getRandomValues, which every browser has. */
function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const pendingKeys = new Map<string, string>()

function fingerprint(method: string, target: string, body: BodyInit | undefined): string {
  // A file is known by what the user chose; its bytes are not read again to compare.
  const sent =
    body instanceof FormData
      ? [...body.entries()].map(([name, value]) =>
          typeof value === 'string' ? [name, value] : [name, value.name, value.size, value.type, value.lastModified],
        )
      : (body ?? null)
  return JSON.stringify([method, target, sent])
}

/** A 2xx, or a 4xx other than 409 REQUEST_IN_PROGRESS, says what became of the write: its key is spent. */
function definite(status: number, code: string): boolean {
  return status < 500 && !(status === 409 && code === 'REQUEST_IN_PROGRESS')
}

export async function call<P extends Path, M extends MethodOf<P>>(
  method: M,
  path: P,
  ...[options]: {} extends Options<Operation<P, M>> ? [Options<Operation<P, M>>?] : [Options<Operation<P, M>>]
): Promise<JsonOut<Operation<P, M>>> {
  const { params, query, body: json, form } = (options ?? {}) as {
    params?: Record<string, string>
    query?: Query
    body?: unknown
    form?: FormData
  }
  const verb = method.toUpperCase()
  const target = url(path, params, query)
  const headers: Record<string, string> = { Accept: 'application/json' }
  let body: BodyInit | undefined
  if (form) body = form
  else if (json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(json)
  }
  let pending: string | null = null
  if (verb !== 'GET' && !UNKEYED_PATHS.includes(path)) {
    pending = fingerprint(verb, target, body)
    const key = pendingKeys.get(pending) ?? newKey()
    pendingKeys.set(pending, key)
    headers['Idempotency-Key'] = key
  }
  let response: Response
  try {
    response = await fetch(target, { method: verb, headers, body, credentials: 'same-origin' })
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', t('app.networkError'))
  }
  const text = await response.text()
  let data: unknown = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  const err = response.ok ? {} : ((data ?? {}) as Partial<Schemas['ApiError']>)
  const code = err.code ?? 'HTTP_ERROR'
  if (pending !== null && definite(response.status, code)) pendingKeys.delete(pending)
  if (!response.ok) {
    const error = new ApiError(response.status, code, err.message ?? t('app.serverError'), err.fields ?? [])
    if (response.status === 401 && !SESSION_PATHS.includes(path) && onUnauthenticated) {
      onUnauthenticated()
      // The page is left for 登录 (which says why); its own error handling must not add a second message.
      return new Promise(() => undefined)
    }
    throw error
  }
  return data as JsonOut<Operation<P, M>>
}

const REQUEST = '/api/v1/coordination-requests/{request_id}'
const ATTACHMENT = '/api/v1/coordination-requests/{request_id}/attachments/{attachment_id}'
/** What an officer decides, and the route of each decision. */
const DECISIONS = {
  accept: '/api/v1/customs/coordination-requests/{request_id}/accept',
  return: '/api/v1/customs/coordination-requests/{request_id}/return',
  conclude: '/api/v1/customs/coordination-requests/{request_id}/conclude',
} as const
export type CaseAction = keyof typeof DECISIONS
export type DecisionBody = RequestBody<(typeof DECISIONS)[CaseAction], 'post'>
export type RequestFilterQuery = QueryOf<'/api/v1/customs/coordination-requests'>

export const api = {
  captcha: () => call('get', '/api/v1/auth/captcha'),
  login: (body: RequestBody<'/api/v1/auth/login', 'post'>) => call('post', '/api/v1/auth/login', { body }),
  logout: () => call('post', '/api/v1/auth/logout'),
  cardChallenge: (body: RequestBody<'/api/v1/auth/card/challenge', 'post'>) =>
    call('post', '/api/v1/auth/card/challenge', { body }),
  cardLogin: (body: RequestBody<'/api/v1/auth/card/login', 'post'>) => call('post', '/api/v1/auth/card/login', { body }),
  /** Who is logged in, if anyone: 200 with user null (never a 401, which the browser would log in its console). */
  session: () => call('get', '/api/v1/session'),
  changePassword: (body: RequestBody<'/api/v1/me/password', 'post'>) => call('post', '/api/v1/me/password', { body }),

  agreements: () => call('get', '/api/v1/reference/agreements'),
  countries: (q: string) => call('get', '/api/v1/reference/countries', { query: { q } }),
  ports: (country: string, q: string) => call('get', '/api/v1/reference/ports', { query: { country, q } }),
  lookupCertificate: (type: string, number: string) =>
    call('get', '/api/v1/certificates/lookup', { query: { type, number } }),

  links: () => call('get', '/api/v1/export-declaration-links'),
  createLink: (body: RequestBody<'/api/v1/export-declaration-links', 'post'>) =>
    call('post', '/api/v1/export-declaration-links', { body }),

  listRequests: (query: QueryOf<'/api/v1/coordination-requests'>) =>
    call('get', '/api/v1/coordination-requests', { query }),
  getRequest: (id: string) => call('get', REQUEST, { params: { request_id: id } }),
  createRequest: (body: RequestBody<'/api/v1/coordination-requests', 'post'>) => call('post', '/api/v1/coordination-requests', { body }),
  updateRequest: (id: string, body: RequestBody<typeof REQUEST, 'put'>) =>
    call('put', REQUEST, { params: { request_id: id }, body }),
  deleteRequest: (id: string, version?: number) =>
    call('delete', REQUEST, { params: { request_id: id }, query: { version } }),
  submitRequest: (id: string, version: number) =>
    call('post', '/api/v1/coordination-requests/{request_id}/submit', { params: { request_id: id }, body: { version } }),
  withdrawRequest: (id: string, version: number) =>
    call('post', '/api/v1/coordination-requests/{request_id}/withdraw', {
      params: { request_id: id },
      body: { version },
    }),

  uploadAttachment: (id: string, file: File) => {
    const form = new FormData()
    form.append('file', file, file.name)
    return call('post', '/api/v1/coordination-requests/{request_id}/attachments', { params: { request_id: id }, form })
  },
  deleteAttachment: (id: string, attachmentId: string) =>
    call('delete', ATTACHMENT, { params: { request_id: id, attachment_id: attachmentId } }),
  attachmentUrl: (id: string, attachmentId: string) => url(ATTACHMENT, { request_id: id, attachment_id: attachmentId }),

  customsQueue: (query: RequestFilterQuery) => call('get', '/api/v1/customs/coordination-requests', { query }),
  customsCase: (id: string) =>
    call('get', '/api/v1/customs/coordination-requests/{request_id}', { params: { request_id: id } }),
  decide: (id: string, action: CaseAction, body: DecisionBody) =>
    call('post', DECISIONS[action], { params: { request_id: id }, body }),
  auditRecords: (query: QueryOf<'/api/v1/customs/audit-records'>) =>
    call('get', '/api/v1/customs/audit-records', { query }),
}
