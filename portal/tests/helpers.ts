// Test helpers: a fake of the gateway's HTTP answers (by method and path), and the app's plugins.
import { vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import { i18n } from '../src/i18n'

export type Answer = { status?: number; body: unknown }
export type Route = (method: string, url: URL, init?: RequestInit) => Answer | undefined

/** Installs a fetch that answers from `route`, with empty lists for reference look-ups; returns the calls. */
export function fakeGateway(route: Route) {
  const calls: { method: string; path: string; init?: RequestInit }[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: string, init?: RequestInit) => {
      const method = init?.method ?? 'GET'
      const url = new URL(input, 'http://portal.test')
      calls.push({ method, path: url.pathname, init })
      const answer = route(method, url, init) ?? { body: { items: [] } }
      return new Response(JSON.stringify(answer.body), {
        status: answer.status ?? 200,
        headers: { 'Content-Type': 'application/json' },
      })
    }),
  )
  return calls
}

export function plugins() {
  const pinia = createPinia()
  setActivePinia(pinia)
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [{ path: '/:any(.*)*', name: 'any', component: { render: () => null } }],
  })
  return [pinia, router, i18n]
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0))
}

export function application(status: string, editable: boolean) {
  return {
    id: 'r1',
    requestNo: 'XT20260310000001',
    proofType: 'CUSTOMS_CO',
    proofTypeLabel: '海关原产地证书',
    creditCode: '91310115MA1K4B2X0T',
    enterpriseName: '上海华贸进出口有限公司',
    importCountry: 'JP',
    importPort: 'JPTYO',
    certificateNo: 'K2631000000001',
    agreementCode: '22',
    exportDeclarationNo: '310120260000123456',
    importDeclarationNo: 'JP-IMP-1',
    reason: '日本海关不认可原产地证书',
    status,
    statusLabel: '',
    statusReason: null,
    version: 3,
    attachmentsRevision: 1,
    editable,
    deletable: editable,
    withdrawable: status === 'PENDING',
    createdAt: '2026-03-10T02:00:00Z',
    updatedAt: '2026-03-10T02:00:00Z',
    submittedAt: null,
    history: [],
    attachments: [
      {
        id: 'a1',
        requestId: 'r1',
        filename: '证明材料.pdf',
        size: 2048,
        contentType: 'application/pdf',
        sha256: 'x',
        createdAt: '2026-03-10T02:00:00Z',
      },
    ],
  }
}
