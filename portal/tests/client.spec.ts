import { afterEach, describe, expect, it, vi } from 'vitest'
import { api, ApiError } from '../src/api/client'
import { fakeGateway, type Answer } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
})

const LINK = { proofType: 'CUSTOMS_CO', certificateNo: 'K2631000000002', exportDeclarationNo: '310120260000123456' }
const CREATED = { status: 201, body: { message: '补录成功', link: {} } }

/** A gateway that gives the answers in turn (a thrown TypeError: the answer was lost on the way). */
function answers(...given: (Answer | 'lost')[]) {
  const keys: (string | undefined)[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_input: string, init?: RequestInit) => {
      keys.push((init?.headers as Record<string, string>)['Idempotency-Key'])
      const answer = given.shift()
      if (!answer || answer === 'lost') throw new TypeError('Failed to fetch')
      return new Response(JSON.stringify(answer.body), { status: answer.status ?? 200 })
    }),
  )
  return keys
}

function keyOf(init?: RequestInit): string | undefined {
  return (init?.headers as Record<string, string>)['Idempotency-Key']
}

describe('every write carries an Idempotency-Key', () => {
  it('on POST, PUT, DELETE and uploads, as a UUID; reads and the session calls carry none', async () => {
    const calls = fakeGateway(() => ({ body: { message: 'ok' } }))
    await api.createLink(LINK)
    await api.updateRequest('r1', { reason: '日本海关不认可原产地证书', version: 3 })
    await api.deleteRequest('r1', 3)
    await api.uploadAttachment('r1', new File(['%PDF-1.7'], '证明材料.pdf'))
    await api.decide('r1', 'accept', { version: 4 })
    await api.links()
    await api.login({ username: 'demo', password: 'Demo@2026', captchaId: 'c1', captchaCode: '8888' })
    await api.logout()
    await api.changePassword({ oldPassword: 'Old#Pass2026', newPassword: 'Brand#New2026' })
    const keyed = calls.map((c) => [c.method, c.path, keyOf(c.init) !== undefined])
    expect(keyed).toEqual([
      ['POST', '/api/v1/export-declaration-links', true],
      ['PUT', '/api/v1/coordination-requests/r1', true],
      ['DELETE', '/api/v1/coordination-requests/r1', true],
      ['POST', '/api/v1/coordination-requests/r1/attachments', true],
      ['POST', '/api/v1/customs/coordination-requests/r1/accept', true],
      ['GET', '/api/v1/export-declaration-links', false],
      ['POST', '/api/v1/auth/login', false],
      ['POST', '/api/v1/auth/logout', false],
      ['POST', '/api/v1/me/password', false],
    ])
    for (const c of calls.filter((x) => keyOf(x.init))) {
      expect(keyOf(c.init)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }
    expect(new Set(calls.map((c) => keyOf(c.init)).filter(Boolean)).size).toBe(5)
  })

  it('also where crypto.randomUUID is missing (a page served over plain HTTP)', async () => {
    const real = globalThis.crypto
    vi.stubGlobal('crypto', { getRandomValues: (b: Uint8Array) => real.getRandomValues(b) })
    const calls = fakeGateway(() => ({ body: { message: 'ok' } }))
    await api.createLink(LINK)
    await api.createLink({ ...LINK, certificateNo: 'K2631000000003' })
    const keys = calls.map((c) => keyOf(c.init))
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(keys[0]).not.toBe(keys[1])
  })
})

describe('a retried write keeps its key until a definite answer', () => {
  it('reuses the key after a lost answer, then takes a new one after a 2xx', async () => {
    const keys = answers('lost', CREATED, CREATED)
    await expect(api.createLink(LINK)).rejects.toMatchObject({ code: 'NETWORK_ERROR' })
    await api.createLink(LINK)
    await api.createLink(LINK)
    expect(keys[1]).toBe(keys[0])
    expect(keys[2]).not.toBe(keys[1])
  })

  it('reuses it after a 503 and after 409 REQUEST_IN_PROGRESS, not after another 4xx', async () => {
    const busy = { status: 409, body: { code: 'REQUEST_IN_PROGRESS', message: '相同的请求正在处理中，请稍后重试', fields: [] } }
    const stale = { status: 409, body: { code: 'VERSION_CONFLICT', message: '数据已被修改，请刷新后重试', fields: [] } }
    const down = { status: 503, body: { code: 'SERVICE_UNAVAILABLE', message: '服务暂不可用', fields: [] } }
    const keys = answers(down, busy, stale, CREATED)
    for (let i = 0; i < 4; i++) await api.createLink(LINK).catch((e) => expect(e).toBeInstanceOf(ApiError))
    expect(keys[1]).toBe(keys[0])
    expect(keys[2]).toBe(keys[0])
    expect(keys[3]).not.toBe(keys[2]) // the refusal was an answer: the next try is a new write
  })

  it('gives a changed body a new key, and the first body its own key back', async () => {
    const keys = answers('lost', 'lost', CREATED)
    await api.createLink(LINK).catch(() => undefined)
    await api.createLink({ ...LINK, certificateNo: 'K2631000000003' }).catch(() => undefined)
    await api.createLink(LINK)
    expect(keys[1]).not.toBe(keys[0])
    expect(keys[2]).toBe(keys[0])
  })

  it('knows an upload retried by its file', async () => {
    const keys = answers('lost', 'lost', { status: 201, body: { message: '上传成功', attachment: {} } })
    const file = new File(['%PDF-1.7'], '证明材料.pdf', { lastModified: 1 })
    await api.uploadAttachment('r1', file).catch(() => undefined)
    await api.uploadAttachment('r1', new File(['%PDF-1.7 other'], '其他材料.pdf', { lastModified: 1 })).catch(() => undefined)
    await api.uploadAttachment('r1', file)
    expect(keys[1]).not.toBe(keys[0])
    expect(keys[2]).toBe(keys[0])
  })
})
