import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import CardLogin from '../src/pages/login/CardLogin.vue'
import { fakeGateway, plugins, settle } from './helpers'

const AGENT = 'http://127.0.0.1:8765'
const CHALLENGE = { challengeId: 'c1', nonce: 'ab'.repeat(32), expiresInSeconds: 120, agentUrl: AGENT }
const USER = { userId: 'u1', username: 'demo', displayName: '张敏', role: 'ENTERPRISE', enterprise: null }

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

async function fillAndSubmit(wrapper: ReturnType<typeof mount>): Promise<void> {
  const [cardNo, pin] = wrapper.findAll('input')
  await cardNo.setValue('8800000000001')
  await pin.setValue('123456')
  await wrapper.find('form').trigger('submit')
  await settle()
}

describe('卡介质登录', () => {
  it('asks for a challenge, has the agent sign it with the PIN, then logs in', async () => {
    const calls = fakeGateway((method, url) => {
      if (url.pathname === '/api/v1/auth/card/challenge') return { body: CHALLENGE }
      if (url.pathname === '/sign') return { body: { cardNo: '8800000000001', signature: 'cd'.repeat(64) } }
      if (url.pathname === '/api/v1/auth/card/login') return { body: { message: '登录成功', user: USER } }
      return undefined
    })
    const wrapper = mount(CardLogin, { global: { plugins: plugins() }, attachTo: document.body })
    await fillAndSubmit(wrapper)
    expect(calls.map((c) => c.path)).toEqual(['/api/v1/auth/card/challenge', '/sign', '/api/v1/auth/card/login'])
    expect(JSON.parse(String(calls[1].init?.body))).toEqual({
      cardNo: '8800000000001',
      pin: '123456',
      challenge: CHALLENGE.nonce,
    })
    // The PIN goes only to the agent, never to the gateway.
    expect(String(calls[2].init?.body)).not.toContain('123456')
    expect(JSON.parse(String(calls[2].init?.body))).toEqual({
      cardNo: '8800000000001',
      challengeId: 'c1',
      signature: 'cd'.repeat(64),
    })
    expect(wrapper.emitted('loggedIn')?.[0]).toEqual([USER])
  })

  it('says so when no card agent answers', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: string) => {
        if (input.startsWith(AGENT)) throw new TypeError('Failed to fetch')
        return new Response(JSON.stringify(CHALLENGE), { headers: { 'Content-Type': 'application/json' } })
      }),
    )
    const wrapper = mount(CardLogin, { global: { plugins: plugins() }, attachTo: document.body })
    await fillAndSubmit(wrapper)
    expect(document.body.textContent).toContain('未检测到卡介质客户端控件，请先启动')
    expect(wrapper.emitted('loggedIn')).toBeUndefined()
    expect((wrapper.findAll('input')[1].element as HTMLInputElement).value).toBe('')
  })
})
