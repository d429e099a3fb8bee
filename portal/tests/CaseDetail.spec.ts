import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import CaseDetail from '../src/pages/customs/CaseDetail.vue'
import { useTabs } from '../src/stores/tabs'
import { application, fakeGateway, plugins, settle } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

function kase(status: string, can: { accept?: boolean; return?: boolean; conclude?: boolean }, awaiting = false) {
  return {
    id: 'c1',
    requestId: 'r1',
    requestNo: 'XT20260310000001',
    creditCode: '91310115MA1K4B2X0T',
    enterpriseName: '上海华贸进出口有限公司',
    proofType: 'CUSTOMS_CO',
    certificateNo: 'K2631000000001',
    agreementCode: '22',
    exportDeclarationNo: '310120260000123456',
    importDeclarationNo: 'JP-IMP-1',
    importCountry: 'JP',
    importPort: 'JPTYO',
    reason: '日本海关不认可原产地证书',
    status,
    statusLabel: '',
    receivedAt: '2026-03-10T02:00:00Z',
    dueAt: '2026-03-20T02:00:00Z',
    version: 4,
    canAccept: can.accept ?? false,
    canReturn: can.return ?? false,
    canConclude: can.conclude ?? false,
    awaitingConfirmation: awaiting,
  }
}

async function open(status: string, can: Parameters<typeof kase>[1]) {
  const calls = fakeGateway((method, url) => {
    if (method === 'GET' && url.pathname === '/api/v1/customs/coordination-requests/r1') {
      return { body: { case: kase(status, can), request: application(status, false), attachments: application(status, false).attachments } }
    }
    if (method === 'POST' && url.pathname.startsWith('/api/v1/customs/coordination-requests/r1/')) {
      return { body: { message: '办结成功', case: kase('CONCLUDED', {}) } }
    }
    return undefined
  })
  const wrapper = mount(CaseDetail, {
    props: { tabKey: '/xh/customs/r1', id: 'r1' },
    global: { plugins: plugins() },
    attachTo: document.body,
  })
  await settle()
  return { wrapper, calls }
}

function enabled(wrapper: ReturnType<typeof mount>, name: string): boolean {
  const button = wrapper.findAll('button').find((b) => b.text() === name)
  expect(button, name).toBeDefined()
  return button!.attributes('disabled') === undefined
}

describe('decision buttons follow canAccept / canReturn / canConclude', () => {
  it.each([
    ['PENDING', { accept: true, return: true }, [true, true, false]],
    ['COORDINATING', { return: true, conclude: true }, [false, true, true]],
    ['CONCLUDED', {}, [false, false, false]],
    ['PENDING', {}, [false, false, false]], // awaiting a confirmation: the server allows nothing yet
  ] as const)('%s %o', async (status, can, [accept, ret, conclude]) => {
    const { wrapper } = await open(status, can)
    expect(enabled(wrapper, '受理')).toBe(accept)
    expect(enabled(wrapper, '退回')).toBe(ret)
    expect(enabled(wrapper, '办结')).toBe(conclude)
    expect(wrapper.text()).toContain('上海华贸进出口有限公司')
    expect(wrapper.find('a[download]').exists()).toBe(true)
  })
})

describe('办结 asks for an outcome and a reply and sends them with the version', () => {
  it('refuses empty fields, then posts {version, outcome, reply}', async () => {
    const { wrapper, calls } = await open('COORDINATING', { return: true, conclude: true })
    const button = (name: string) => wrapper.findAll('button').find((b) => b.text() === name)!
    await button('办结').trigger('click')
    await settle()
    await button('确定').trigger('click')
    await settle()
    await new Promise((r) => setTimeout(r, 150)) // Element Plus shows a field's error 100 ms after it is set
    expect(wrapper.text()).toContain('请选择办结结果')
    expect(wrapper.text()).toContain('请填写海关回复')
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0)

    await wrapper.findAll('.el-dialog input[type="radio"]').find((r) => r.attributes('value') === 'SUCCESS')!.setValue(true)
    await wrapper.find('.el-dialog textarea').setValue('已与日本海关沟通，同意给予协定税率。')
    await button('确定').trigger('click')
    await settle()
    const post = calls.find((c) => c.method === 'POST')
    expect(post?.path).toBe('/api/v1/customs/coordination-requests/r1/conclude')
    expect(JSON.parse(String(post?.init?.body))).toEqual({
      version: 4,
      outcome: 'SUCCESS',
      reply: '已与日本海关沟通，同意给予协定税率。',
    })
  })
})

describe('the case as the clerk sees it, and as it is now (issue 18)', () => {
  it('names the country and port as the form does: 名称（English）CODE, the exact code of the search', async () => {
    const places = fakeGateway((method, url) => {
      if (url.pathname === '/api/v1/customs/coordination-requests/r1') {
        return { body: { case: kase('PENDING', {}), request: application('PENDING', false), attachments: [] } }
      }
      if (url.pathname === '/api/v1/reference/countries') {
        return {
          body: {
            items: [
              { code: 'JM', nameZh: '牙买加', nameEn: 'Jamaica', pinyin: '', initials: '' },
              { code: 'JP', nameZh: '日本', nameEn: 'Japan', pinyin: '', initials: '' },
            ],
          },
        }
      }
      if (url.pathname === '/api/v1/reference/ports' && url.searchParams.get('country') === 'JP') {
        return { body: { items: [{ code: 'JPTYO', country: 'JP', nameZh: '东京', nameEn: 'Tokyo' }] } }
      }
      return undefined
    })
    const wrapper = mount(CaseDetail, { props: { tabKey: '/xh/customs/r1', id: 'r1' }, global: { plugins: plugins() } })
    await settle()
    const cells = wrapper.findAll('.el-descriptions__content').map((c) => c.text())
    expect(cells).toContain('日本（Japan）JP')
    expect(cells).toContain('东京（Tokyo）JPTYO')
    expect(places.find((c) => c.path === '/api/v1/reference/countries')).toBeDefined()
  })

  it('shown again after the application changed elsewhere: the new status and a notice', async () => {
    let status = 'PENDING'
    let version = 4
    fakeGateway((method, url) =>
      url.pathname === '/api/v1/customs/coordination-requests/r1'
        ? {
            body: {
              case: { ...kase(status, { accept: status === 'PENDING' }), version },
              request: { ...application(status, false), version },
              attachments: [],
            },
          }
        : undefined,
    )
    const wrapper = mount(CaseDetail, { props: { tabKey: '/xh/customs/r1', id: 'r1' }, global: { plugins: plugins() } })
    await settle()
    const tabs = useTabs()
    tabs.active = '/xh/customs/r1'
    await settle()
    expect(wrapper.get('[data-testid="case-status"]').text()).toContain('待办')
    tabs.active = '/xh/customs'
    status = 'WITHDRAWN'
    version = 5
    await settle()
    tabs.active = '/xh/customs/r1'
    await settle()
    expect(wrapper.get('[data-testid="case-status"]').text()).toContain('已撤回')
    expect(wrapper.get('[data-testid="changed"]').text()).toContain('该申请已更新')
    expect(enabled(wrapper, '受理')).toBe(false)
  })
})
