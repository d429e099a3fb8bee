import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ApplicationForm from '../src/pages/apply/ApplicationForm.vue'
import ReferenceSelect from '../src/components/ReferenceSelect.vue'
import { useTabs } from '../src/stores/tabs'
import { application, fakeGateway, plugins, settle } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

function buttons(wrapper: ReturnType<typeof mount>): string[] {
  return wrapper.findAll('button').map((b) => b.text())
}

async function detail(status: string, editable: boolean) {
  fakeGateway((method, url) =>
    url.pathname === '/api/v1/coordination-requests/r1' ? { body: application(status, editable) } : undefined,
  )
  const wrapper = mount(ApplicationForm, {
    props: { tabKey: '/xh/requests/r1', id: 'r1' },
    global: { plugins: plugins() },
  })
  await settle()
  return wrapper
}

describe('buttons follow the status', () => {
  it.each(['DRAFT', 'WITHDRAWN', 'RECEIPT_FAILED', 'RETURNED'])('%s: 暂存 and 提交, fields editable', async (status) => {
    const wrapper = await detail(status, true)
    expect(buttons(wrapper)).toEqual(expect.arrayContaining(['暂存', '提交', '上传', '删除']))
    expect(wrapper.text()).not.toContain('当前状态的申请不可修改')
    expect(wrapper.find('input[aria-label="进口报关单号"]').attributes('disabled')).toBeUndefined()
  })

  it.each(['DECLARED', 'PENDING', 'COORDINATING', 'CONCLUDED'])('%s: read-only, attachments still downloadable', async (status) => {
    const wrapper = await detail(status, false)
    expect(buttons(wrapper)).not.toContain('暂存')
    expect(buttons(wrapper)).not.toContain('提交')
    expect(buttons(wrapper)).not.toContain('删除')
    expect(wrapper.text()).toContain('当前状态的申请不可修改，仅可查看')
    expect(wrapper.find('input[aria-label="进口报关单号"]').attributes('disabled')).toBeDefined()
    expect(wrapper.find('a[download]').exists()).toBe(true)
  })
})

describe('暂存 shows every field error the API returns, each on its field', () => {
  it('maps all of them at once', async () => {
    fakeGateway((method, url) =>
      method === 'POST' && url.pathname === '/api/v1/coordination-requests'
        ? {
            status: 422,
            body: {
              code: 'VALIDATION_FAILED',
              message: '填写内容有误',
              fields: [
                { field: 'importCountry', message: '请选择进口国家/地区' },
                { field: 'importPort', message: '请选择进口国家/地区口岸' },
                { field: 'certificateNo', message: '请填写原产地证书号' },
                { field: 'exportDeclarationNo', message: '请填写出口报关单号' },
                { field: 'importDeclarationNo', message: '请填写进口报关单号' },
                { field: 'reason', message: '请填写申请事由' },
              ],
            },
          }
        : undefined,
    )
    const wrapper = mount(ApplicationForm, {
      props: { tabKey: '/xh/apply/CUSTOMS_CO', proofType: 'CUSTOMS_CO' },
      global: { plugins: plugins() },
      attachTo: document.body,
    })
    await settle()
    await wrapper.findAll('button').find((b) => b.text() === '暂存')!.trigger('click')
    await settle()
    await new Promise((r) => setTimeout(r, 150)) // Element Plus shows a field's error 100 ms after it is set
    const hints = wrapper.findAll('.el-form-item__error').map((e) => e.text())
    expect(hints).toEqual([
      '请选择进口国家/地区',
      '请选择进口国家/地区口岸',
      '请填写原产地证书号',
      '请填写出口报关单号',
      '请填写进口报关单号',
      '请填写申请事由',
    ])
  })

  it('labels the number field as the manual does for the proof type', async () => {
    fakeGateway(() => undefined)
    const wrapper = mount(ApplicationForm, {
      props: { tabKey: '/xh/apply/APPROVED_EXPORTER', proofType: 'APPROVED_EXPORTER' },
      global: { plugins: plugins() },
    })
    await settle()
    expect(wrapper.find('input[aria-label="原产地声明号"]').exists()).toBe(true)
    expect(wrapper.text()).toContain('经核准出口商原产地声明享惠受阻协调申请')
  })
})

describe('a refused 提交 is told apart by its code, never by its text', () => {
  const NOT_LINKED = '提交失败:出口报关单号未与证书号关联，请点击此处进行出口报关单补录！'

  async function refusedSubmit(code: string, message: string) {
    fakeGateway((method, url) => {
      if (method === 'POST' && url.pathname === '/api/v1/coordination-requests/r1/submit') {
        return { status: 422, body: { code, message, fields: [] } }
      }
      return url.pathname === '/api/v1/coordination-requests/r1' ? { body: application('DRAFT', true) } : undefined
    })
    const wrapper = mount(ApplicationForm, {
      props: { tabKey: '/xh/requests/r1', id: 'r1' },
      global: { plugins: plugins() },
      attachTo: document.body,
    })
    await settle()
    await wrapper.findAll('button').find((b) => b.text() === '提交')!.trigger('click')
    await settle()
    const confirm = [...document.querySelectorAll<HTMLButtonElement>('.el-message-box button')].find(
      (b) => b.textContent?.trim() === '确定',
    )!
    confirm.click()
    await settle()
    return wrapper.get('[data-testid="problem"]')
  }

  it('EXPORT_DECLARATION_NOT_LINKED: the message with 请点击此处 as the link to 补录', async () => {
    const problem = await refusedSubmit('EXPORT_DECLARATION_NOT_LINKED', NOT_LINKED)
    expect(problem.text()).toBe(NOT_LINKED)
    expect(problem.findAll('a').map((a) => a.text())).toEqual(['请点击此处'])
  })

  it('another code: the message as it came, with no link even where its text says 请点击此处', async () => {
    const problem = await refusedSubmit('CERTIFICATE_NOT_OWNED', '企业填写证书有误，请点击此处')
    expect(problem.text()).toBe('企业填写证书有误，请点击此处')
    expect(problem.findAll('a')).toHaveLength(0)
  })
})

describe('labels come from the locale by code, not from the API', () => {
  it('shows the status, proof type, outcome and history moves in the server words', async () => {
    const concluded = {
      ...application('CONCLUDED', false),
      statusLabel: 'API的标签',
      proofTypeLabel: 'API的标签',
      outcome: 'UNRESOLVED',
      outcomeLabel: 'API的标签',
      history: [
        { action: 'SUBMIT', actor: '张敏', at: '2026-03-10T02:00:00Z', fromStatus: 'DRAFT', toStatus: 'DECLARED' },
        { action: 'ACCEPT', actor: '王海', at: '2026-03-11T02:00:00Z', fromStatus: 'PENDING', toStatus: 'COORDINATING' },
      ],
    }
    fakeGateway((method, url) => (url.pathname === '/api/v1/coordination-requests/r1' ? { body: concluded } : undefined))
    const wrapper = mount(ApplicationForm, {
      props: { tabKey: '/xh/requests/r1', id: 'r1' },
      global: { plugins: plugins() },
    })
    await settle()
    expect(wrapper.get('h2').text()).toBe('海关原产地证书享惠受阻协调申请')
    expect(wrapper.get('.meta .el-tag').text()).toBe('已办结')
    expect(wrapper.text()).toContain('办结结果：协调未果')
    expect(wrapper.findAll('.el-timeline-item strong').map((s) => s.text())).toEqual(['提交', '受理'])
    expect(wrapper.text()).toContain('暂存 → 已申报')
    expect(wrapper.text()).not.toContain('API的标签')
  })
})

describe('a detail tab shown again shows the application as it is now (issue 18)', () => {
  async function shownAgain(first: object, then: object, links: unknown[] = []) {
    let current = first
    const calls = fakeGateway((method, url) => {
      if (url.pathname === '/api/v1/coordination-requests/r1' && method === 'GET') return { body: current }
      if (url.pathname === '/api/v1/export-declaration-links') return { body: { items: links } }
      return undefined
    })
    const wrapper = mount(ApplicationForm, {
      props: { tabKey: '/xh/requests/r1', id: 'r1' },
      global: { plugins: plugins() },
      attachTo: document.body,
    })
    await settle()
    const tabs = useTabs()
    tabs.active = '/xh/requests/r1'
    await settle()
    const showAgain = async () => {
      current = then
      tabs.active = '/xh/query' // 查询, where the application changed
      await settle()
      tabs.active = '/xh/requests/r1' // its 协调单号 clicked: the open tab is focused
      await settle()
    }
    return { wrapper, calls, showAgain }
  }

  it('a 撤回 made meanwhile: 已撤回, editable, the move in its history, and a notice', async () => {
    const pending = { ...application('PENDING', false), version: 5 }
    const withdrawn = {
      ...application('WITHDRAWN', true),
      version: 6,
      history: [{ action: 'WITHDRAW', actor: '张敏', at: '2026-03-11T02:00:00Z', fromStatus: 'PENDING', toStatus: 'WITHDRAWN' }],
    }
    const { wrapper, showAgain } = await shownAgain(pending, withdrawn)
    expect(wrapper.get('.meta .el-tag').text()).toBe('待办')
    expect(wrapper.text()).toContain('当前状态的申请不可修改')
    await showAgain()
    expect(wrapper.get('.meta .el-tag').text()).toBe('已撤回')
    expect(wrapper.text()).not.toContain('当前状态的申请不可修改')
    expect(wrapper.findAll('button').map((b) => b.text())).toContain('暂存')
    expect(wrapper.findAll('.el-timeline-item strong').map((s) => s.text())).toEqual(['撤回'])
    expect(wrapper.get('[data-testid="changed"]').text()).toContain('该申请已更新')
  })

  it('unsaved edits are kept, with a warning, when the application changed meanwhile', async () => {
    const draft = { ...application('DRAFT', true), version: 3 }
    const { wrapper, showAgain } = await shownAgain(draft, { ...draft, reason: '别处的修改', version: 4 })
    await wrapper.get('textarea[aria-label="申请事由"]').setValue('我正在输入的事由')
    await showAgain()
    expect((wrapper.get('textarea[aria-label="申请事由"]').element as HTMLTextAreaElement).value).toBe('我正在输入的事由')
    expect(wrapper.get('[data-testid="changed"]').text()).toContain('您有未暂存的修改')
    await wrapper.findAll('button').find((b) => b.text().startsWith('载入最新内容'))!.trigger('click')
    await settle()
    expect((wrapper.get('textarea[aria-label="申请事由"]').element as HTMLTextAreaElement).value).toBe('别处的修改')
    expect(wrapper.find('[data-testid="changed"]').exists()).toBe(false)
  })

  it('nothing changed: no notice', async () => {
    const draft = application('DRAFT', true)
    const { wrapper, showAgain, calls } = await shownAgain(draft, draft)
    const before = calls.filter((c) => c.path === '/api/v1/coordination-requests/r1').length
    await showAgain()
    expect(calls.filter((c) => c.path === '/api/v1/coordination-requests/r1').length).toBe(before + 1)
    expect(wrapper.find('[data-testid="changed"]').exists()).toBe(false)
  })
})

describe('a red hint goes as soon as its field is changed (issue 18)', () => {
  it('the country, port and text fields each lose their own hint; the others stay', async () => {
    fakeGateway((method, url) =>
      method === 'PUT' && url.pathname === '/api/v1/coordination-requests/r1'
        ? {
            status: 422,
            body: {
              code: 'VALIDATION_FAILED',
              message: '填写内容有误',
              fields: [
                { field: 'importCountry', message: '请选择进口国家/地区' },
                { field: 'importPort', message: '请选择进口国家/地区口岸' },
                { field: 'importDeclarationNo', message: '请填写进口报关单号' },
                { field: 'reason', message: '请填写申请事由' },
              ],
            },
          }
        : url.pathname === '/api/v1/coordination-requests/r1'
          ? { body: { ...application('DRAFT', true), importCountry: '', importPort: '' } }
          : undefined,
    )
    const wrapper = mount(ApplicationForm, {
      props: { tabKey: '/xh/requests/r1', id: 'r1' },
      global: { plugins: plugins() },
      attachTo: document.body,
    })
    await settle()
    await wrapper.get('textarea[aria-label="申请事由"]').setValue('改过的事由')
    await wrapper.findAll('button').find((b) => b.text() === '暂存')!.trigger('click')
    await settle()
    const hints = async () => {
      await settle()
      await new Promise((r) => setTimeout(r, 150)) // Element Plus shows a field's error 100 ms after it is set
      return wrapper.findAll('.el-form-item__error').map((e) => e.text())
    }
    expect(await hints()).toEqual(['请选择进口国家/地区', '请选择进口国家/地区口岸', '请填写进口报关单号', '请填写申请事由'])

    const [country, port] = wrapper.findAllComponents(ReferenceSelect)
    country.vm.$emit('update:modelValue', 'JP')
    expect(await hints()).toEqual(['请选择进口国家/地区口岸', '请填写进口报关单号', '请填写申请事由'])
    port.vm.$emit('update:modelValue', 'JPTYO')
    await wrapper.get('input[aria-label="进口报关单号"]').setValue('JP-IMP-2')
    expect(await hints()).toEqual(['请填写申请事由'])
  })
})

describe('the unlinked-declaration refusal goes once 补录 linked them (issue 18)', () => {
  it('shown again after 补录 of this certificate and declaration: the banner is gone', async () => {
    const draft = application('DRAFT', true)
    let links: unknown[] = []
    fakeGateway((method, url) => {
      if (method === 'POST' && url.pathname === '/api/v1/coordination-requests/r1/submit') {
        return { status: 422, body: { code: 'EXPORT_DECLARATION_NOT_LINKED', message: '提交失败', fields: [] } }
      }
      if (url.pathname === '/api/v1/export-declaration-links') return { body: { items: links } }
      return url.pathname === '/api/v1/coordination-requests/r1' ? { body: draft } : undefined
    })
    const wrapper = mount(ApplicationForm, {
      props: { tabKey: '/xh/requests/r1', id: 'r1' },
      global: { plugins: plugins() },
      attachTo: document.body,
    })
    await settle()
    const tabs = useTabs()
    tabs.active = '/xh/requests/r1'
    await wrapper.findAll('button').find((b) => b.text() === '提交')!.trigger('click')
    await settle()
    ;[...document.querySelectorAll<HTMLButtonElement>('.el-message-box button')].find((b) => b.textContent?.trim() === '确定')!.click()
    await settle()
    expect(wrapper.find('[data-testid="problem"]').exists()).toBe(true)

    tabs.active = '/xh/links' // 请点击此处: 出口报关单补录, where another certificate is linked first
    await settle()
    links = [{ proofType: 'CUSTOMS_CO', certificateNo: 'K2631000000001', exportDeclarationNo: '310120260000999999', createdAt: '' }]
    tabs.active = '/xh/requests/r1'
    await settle()
    expect(wrapper.find('[data-testid="problem"]').exists()).toBe(true)

    tabs.active = '/xh/links'
    await settle()
    links.push({ proofType: 'CUSTOMS_CO', certificateNo: draft.certificateNo, exportDeclarationNo: draft.exportDeclarationNo, createdAt: '' })
    tabs.active = '/xh/requests/r1'
    await settle()
    expect(wrapper.find('[data-testid="problem"]').exists()).toBe(false)
  })
})

describe('the history shows a creation as what it is (issue 18)', () => {
  it('新建 and the status it was created in, not 暂存 → 暂存', async () => {
    const draft = {
      ...application('DRAFT', true),
      history: [
        { action: 'SAVE', actor: '张敏', at: '2026-03-10T02:00:00Z', fromStatus: null, toStatus: 'DRAFT' },
        { action: 'SAVE', actor: '张敏', at: '2026-03-10T03:00:00Z', fromStatus: 'RETURNED', toStatus: 'DRAFT' },
      ],
    }
    fakeGateway((method, url) => (url.pathname === '/api/v1/coordination-requests/r1' ? { body: draft } : undefined))
    const wrapper = mount(ApplicationForm, { props: { tabKey: '/xh/requests/r1', id: 'r1' }, global: { plugins: plugins() } })
    await settle()
    const items = wrapper.findAll('.el-timeline-item')
    expect(items[0].get('strong').text()).toBe('新建')
    expect(items[0].get('.history-move').text()).toBe('暂存')
    expect(items[1].get('strong').text()).toBe('暂存')
    expect(items[1].get('.history-move').text()).toBe('退回 → 暂存')
  })
})
