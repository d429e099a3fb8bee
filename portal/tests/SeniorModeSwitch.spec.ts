import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import SeniorModeSwitch from '../src/components/SeniorModeSwitch.vue'
import { useSession } from '../src/stores/session'
import { SENIOR_CLASS, SENIOR_KEY, seniorKey } from '../src/stores/senior'
import { plugins, settle } from './helpers'

const html = document.documentElement
const user = (username: string) => ({
  userId: username,
  username,
  displayName: username,
  role: 'ENTERPRISE' as const,
  enterprise: null,
})

function mountSwitch() {
  const installed = plugins()
  return mount(SeniorModeSwitch, { global: { plugins: installed } })
}

beforeEach(() => {
  localStorage.clear()
  sessionStorage.clear()
  html.classList.remove(SENIOR_CLASS)
})
afterEach(() => {
  document.body.innerHTML = ''
})

describe('长辈版 switch', () => {
  it('is a toggle button named 长辈版 that sets the class on <html>, and back', async () => {
    const wrapper = mountSwitch()
    const button = wrapper.get('button')
    expect(button.text()).toBe('长辈版')
    expect(button.attributes('aria-pressed')).toBe('false')
    expect(html.classList.contains(SENIOR_CLASS)).toBe(false)

    await button.trigger('click')
    expect(button.attributes('aria-pressed')).toBe('true')
    expect(html.classList.contains(SENIOR_CLASS)).toBe(true)

    await button.trigger('click')
    expect(button.attributes('aria-pressed')).toBe('false')
    expect(html.classList.contains(SENIOR_CLASS)).toBe(false)
    expect(html.className).toBe('') // exactly the standard look: nothing else left on <html>
  })

  it('before login remembers the device choice; a logged-in user has a choice of their own', async () => {
    const wrapper = mountSwitch()
    await wrapper.get('button').trigger('click')
    expect(localStorage.getItem(SENIOR_KEY)).toBe('1')

    // demo never chose: starts from the device's choice (logging in does not change the look) ...
    const session = useSession()
    session.loggedIn(user('demo'))
    await settle()
    expect(html.classList.contains(SENIOR_CLASS)).toBe(true)
    // ... and turning it off is demo's own choice, leaving the device's choice alone.
    await wrapper.get('button').trigger('click')
    expect(localStorage.getItem(seniorKey('demo'))).toBe('0')
    expect(localStorage.getItem(SENIOR_KEY)).toBe('1')
    expect(html.classList.contains(SENIOR_CLASS)).toBe(false)

    // Another user on this browser does not get demo's choice.
    session.expire()
    await settle()
    expect(html.classList.contains(SENIOR_CLASS)).toBe(true) // 登录 again: the device's choice
    session.loggedIn(user('officer'))
    await settle()
    expect(wrapper.get('button').attributes('aria-pressed')).toBe('true')
    await wrapper.get('button').trigger('click')
    await wrapper.get('button').trigger('click')
    expect(localStorage.getItem(seniorKey('officer'))).toBe('1')

    // demo again: demo's own choice is restored.
    session.loggedIn(user('demo'))
    await settle()
    expect(html.classList.contains(SENIOR_CLASS)).toBe(false)
    expect(wrapper.get('button').attributes('aria-pressed')).toBe('false')
  })

  it('on a reload shows the user of this tab their choice before the server has said who is logged in', async () => {
    localStorage.setItem(seniorKey('demo'), '1')
    sessionStorage.setItem(`${SENIOR_KEY}.session`, 'demo')
    const wrapper = mountSwitch()
    expect(html.classList.contains(SENIOR_CLASS)).toBe(true)
    useSession().expire() // the session had ended: 登录 shows the device's choice
    await settle()
    expect(html.classList.contains(SENIOR_CLASS)).toBe(false)
    expect(wrapper.get('button').attributes('aria-pressed')).toBe('false')
    expect(sessionStorage.getItem(`${SENIOR_KEY}.session`)).toBeNull()
  })

  it('restores the choice on a reload (a fresh store reading localStorage)', async () => {
    localStorage.setItem(seniorKey('demo'), '1')
    mountSwitch()
    useSession().loggedIn(user('demo'))
    await settle()
    expect(html.classList.contains(SENIOR_CLASS)).toBe(true)
  })
})
