import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import PasswordPage from '../src/pages/account/PasswordPage.vue'
import { fakeGateway, plugins, settle } from './helpers'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

async function fill(wrapper: ReturnType<typeof mount>, old: string, next: string, again: string): Promise<void> {
  const inputs = wrapper.findAll('input[type="password"]')
  await inputs[0].setValue(old)
  await inputs[1].setValue(next)
  await inputs[2].setValue(again)
  await wrapper.find('form').trigger('submit')
  await settle()
  await new Promise((r) => setTimeout(r, 150)) // Element Plus shows a field's error 100 ms after it is set
}

function hints(wrapper: ReturnType<typeof mount>): string[] {
  return wrapper.findAll('.el-form-item__error').map((e) => e.text())
}

describe('修改密码', () => {
  it('says the two new passwords differ without asking the server', async () => {
    const calls = fakeGateway(() => undefined)
    const wrapper = mount(PasswordPage, { global: { plugins: plugins() }, attachTo: document.body })
    await fill(wrapper, 'Old#Pass2026', 'Brand#New2026', 'Brand#New2027')
    expect(hints(wrapper)).toEqual(['两次输入的新密码不一致'])
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0)
  })

  it('shows every refusal on its field at once', async () => {
    const calls = fakeGateway(() => ({
      status: 422,
      body: {
        code: 'VALIDATION_FAILED',
        message: '密码修改失败，请按提示修改',
        fields: [
          { field: 'oldPassword', message: '原密码错误' },
          { field: 'newPassword', message: '密码长度不能少于8位' },
          { field: 'newPassword', message: '密码过于常见，容易被猜中，请换一个' },
        ],
      },
    }))
    const wrapper = mount(PasswordPage, { global: { plugins: plugins() }, attachTo: document.body })
    await fill(wrapper, 'Wrong#1', 'abc', 'abc')
    const post = calls.find((c) => c.method === 'POST')!
    expect(post.path).toBe('/api/v1/me/password')
    expect(JSON.parse(String(post.init?.body))).toEqual({ oldPassword: 'Wrong#1', newPassword: 'abc' })
    expect(hints(wrapper)).toEqual(['原密码错误', '密码长度不能少于8位；密码过于常见，容易被猜中，请换一个'])
  })

  it('clears the form once the password is changed', async () => {
    fakeGateway(() => ({ body: { message: '密码修改成功', sessionsEnded: 0 } }))
    const wrapper = mount(PasswordPage, { global: { plugins: plugins() }, attachTo: document.body })
    await fill(wrapper, 'Old#Pass2026', 'Brand#New2026', 'Brand#New2026')
    expect(document.body.textContent).toContain('密码修改成功')
    for (const input of wrapper.findAll('input[type="password"]')) expect((input.element as HTMLInputElement).value).toBe('')
  })
})
