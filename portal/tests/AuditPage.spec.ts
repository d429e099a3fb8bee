import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import AuditPage from '../src/pages/customs/AuditPage.vue'
import { fakeGateway, plugins, settle } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

function record(action: string, result: string, service: string, at = '2026-03-10T02:00:00.123456Z') {
  return { service, at, actor: 'demo', enterprise: '', action, target: 'XT1', result, client: '127.0.0.1', requestId: 'r' }
}

describe('审计记录 (issue 18)', () => {
  it('shows actions, results and services by their Chinese labels; a refusal as one', async () => {
    fakeGateway((method, url) =>
      url.pathname === '/api/v1/customs/audit-records'
        ? {
            body: {
              items: [
                record('LOGIN', 'SUCCESS', 'identity'),
                record('REQUEST_ACCEPT', 'SUCCESS', 'coordination_request'),
                record('CARD_LOGIN', 'CARD_SIGNATURE_INVALID', 'identity'),
                record('GET /api/v1/coordination-requests/{request_id}', 'REQUEST_NOT_FOUND', 'identity'),
              ],
            },
          }
        : undefined,
    )
    const wrapper = mount(AuditPage, { global: { plugins: plugins() } })
    await settle()
    const cells = wrapper.findAll('.el-table__body td').map((c) => c.text())
    for (const shown of ['登录', '成功', '身份认证', '受理', '协调申请', '卡介质登录', '卡介质签名无效']) {
      expect(cells).toContain(shown)
    }
    expect(cells).toContain('拒绝请求 GET /api/v1/coordination-requests/{request_id}')
    expect(cells).toContain('拒绝（REQUEST_NOT_FOUND）')
    for (const code of ['LOGIN', 'SUCCESS', 'identity', 'REQUEST_ACCEPT', 'coordination_request']) {
      expect(cells).not.toContain(code)
    }
  })

  it('pages with before= the time of the last record shown, and back', async () => {
    const last = '2026-03-10T02:00:00.123456Z'
    const calls = fakeGateway((method, url) => {
      if (url.pathname !== '/api/v1/customs/audit-records') return undefined
      return url.searchParams.get('before') === last
        ? { body: { items: [record('LOGOUT', 'SUCCESS', 'identity', '2026-03-10T01:00:00Z')], nextBefore: null } }
        : { body: { items: [record('LOGIN', 'SUCCESS', 'identity', last)], nextBefore: last } }
    })
    const wrapper = mount(AuditPage, { global: { plugins: plugins() } })
    await settle()
    const button = (name: string) => wrapper.findAll('button').find((b) => b.text() === name)!
    expect(wrapper.text()).toContain('第 1 页')
    expect(button('上一页').attributes('disabled')).toBeDefined()
    await button('下一页').trigger('click')
    await settle()
    expect(calls.filter((c) => c.path === '/api/v1/customs/audit-records')).toHaveLength(2)
    expect(wrapper.text()).toContain('第 2 页')
    expect(wrapper.findAll('.el-table__body td').map((c) => c.text())).toContain('退出')
    expect(button('下一页').attributes('disabled')).toBeDefined()
    await button('上一页').trigger('click')
    await settle()
    expect(wrapper.findAll('.el-table__body td').map((c) => c.text())).toContain('登录')
  })
})
