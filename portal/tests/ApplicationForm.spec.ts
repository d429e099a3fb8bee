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
