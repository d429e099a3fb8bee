import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import AttachmentPanel from '../src/components/AttachmentPanel.vue'
import { fakeGateway, plugins, settle } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

function choose(wrapper: ReturnType<typeof mount>, file: File): Promise<void> {
  const input = wrapper.find('input[type="file"]')
  Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
  return input.trigger('change')
}

describe('附件', () => {
  it('refuses a file over 4 MiB before sending, with the manual message', async () => {
    const calls = fakeGateway(() => undefined)
    const wrapper = mount(AttachmentPanel, {
      props: { requestId: 'r1', editable: true, items: [] },
      global: { plugins: plugins() },
      attachTo: document.body,
    })
    await choose(wrapper, new File([new Uint8Array(4 * 1024 * 1024 + 1)], 'big.pdf'))
    await settle()
    expect(document.body.textContent).toContain('文件大小不能超过4M')
    const upload = wrapper.findAll('button').find((b) => b.text() === '上传')!
    expect(upload.attributes('disabled')).toBeDefined()
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0)
  })

  it('sends a file of exactly 4 MiB and says 上传成功', async () => {
    const calls = fakeGateway((method) =>
      method === 'POST' ? { status: 201, body: { message: '上传成功', attachment: {} } } : undefined,
    )
    const wrapper = mount(AttachmentPanel, {
      props: { requestId: 'r1', editable: true, items: [] },
      global: { plugins: plugins() },
      attachTo: document.body,
    })
    await choose(wrapper, new File([new Uint8Array(4 * 1024 * 1024)], 'ok.pdf'))
    await settle()
    await wrapper.findAll('button').find((b) => b.text() === '上传')!.trigger('click')
    await settle()
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([
      '/api/v1/coordination-requests/r1/attachments',
    ])
    expect(document.body.textContent).toContain('上传成功')
    expect(wrapper.emitted('changed')).toHaveLength(1)
  })

  it('is disabled until the application is saved, and offers delete only while editable', async () => {
    fakeGateway(() => undefined)
    const item = {
      id: 'a1',
      requestId: 'r1',
      filename: '证明材料.pdf',
      size: 2048,
      contentType: 'application/pdf',
      sha256: 'x',
      createdAt: '2026-03-10T02:00:00Z',
      damaged: false,
    }
    const unsaved = mount(AttachmentPanel, {
      props: { requestId: null, editable: true, items: [] },
      global: { plugins: plugins() },
    })
    expect(unsaved.text()).toContain('请先暂存申请单，再上传附件')
    expect(unsaved.find('input[type="file"]').attributes('disabled')).toBeDefined()

    const readOnly = mount(AttachmentPanel, {
      props: { requestId: 'r1', editable: false, items: [item] },
      global: { plugins: plugins() },
    })
    await settle()
    expect(readOnly.find('input[type="file"]').exists()).toBe(false)
    expect(readOnly.text()).toContain('证明材料.pdf')
    expect(readOnly.find('a[download]').attributes('href')).toBe('/api/v1/coordination-requests/r1/attachments/a1')
    expect(readOnly.findAll('button').some((b) => b.text() === '删除')).toBe(false)
    expect(readOnly.text()).not.toContain('已损坏')

    const damaged = mount(AttachmentPanel, {
      props: { requestId: 'r1', editable: true, items: [{ ...item, damaged: true }] },
      global: { plugins: plugins() },
    })
    await settle()
    expect(damaged.text()).toContain('已损坏，请删除后重新上传')
  })
})
