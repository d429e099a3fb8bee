import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ApplicationForm from '../src/pages/apply/ApplicationForm.vue'
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
