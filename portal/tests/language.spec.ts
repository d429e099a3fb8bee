import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { defineComponent, h } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import { createPinia, setActivePinia } from 'pinia'
import { ElPagination } from 'element-plus'
import App from '../src/App.vue'
import LanguageSwitch from '../src/components/LanguageSwitch.vue'
import ApplicationForm from '../src/pages/apply/ApplicationForm.vue'
import { ApiError } from '../src/api/client'
import { i18n, setLanguage, t } from '../src/i18n'
import { fakeGateway, plugins, settle } from './helpers'

afterEach(() => {
  setLanguage('zh-CN')
  localStorage.clear()
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

/** The app's root (its ElConfigProvider) around a page with the switch, a portal text and an Element Plus pager. */
async function mountApp() {
  const page = defineComponent({
    render: () =>
      h('div', [
        h(LanguageSwitch),
        h('h1', t('menu.apply')),
        h(ElPagination, { total: 50, pageSize: 10, layout: 'total, prev, pager, next, jumper' }),
      ]),
  })
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/', component: page }] })
  await router.push('/')
  await router.isReady()
  setActivePinia(createPinia())
  return mount(App, { global: { plugins: [router, i18n] } })
}

function button(wrapper: ReturnType<typeof mount>, text: string) {
  const found = wrapper.findAll('button').find((b) => b.text() === text)
  if (!found) throw new Error(`no button ${text}`)
  return found
}

describe('the language switch', () => {
  it('shows zh-CN by default, then English in the portal and in Element Plus, and back', async () => {
    const app = await mountApp()
    expect(app.get('h1').text()).toBe('享惠受阻协调申请')
    expect(app.text()).toContain('共 50 条')
    expect(app.text()).toContain('前往')
    expect(document.documentElement.lang).toBe('zh-CN')
    expect(button(app, '中文').attributes('aria-pressed')).toBe('true')

    await button(app, 'English').trigger('click')
    expect(app.get('h1').text()).toBe('Apply for Coordination')
    expect(app.text()).toContain('Total 50')
    expect(app.text()).toContain('Go to')
    expect(app.text()).not.toContain('共 50 条')
    expect(document.documentElement.lang).toBe('en-US')
    expect(document.title).toBe('Coordination on Denied Preferential Treatment - China International Trade Single Window')
    expect(button(app, 'English').attributes('aria-pressed')).toBe('true')

    await button(app, '中文').trigger('click')
    expect(app.get('h1').text()).toBe('享惠受阻协调申请')
    expect(app.text()).toContain('共 50 条')
  })

  it('is remembered: a page loaded again starts in the language chosen', async () => {
    const app = await mountApp()
    await button(app, 'English').trigger('click')
    expect(localStorage.getItem('portal.language')).toBe('en-US')

    vi.resetModules() // a reload: the i18n module starts again from what is stored
    document.documentElement.lang = '' // as a fresh page has it: only the reloaded module may set it
    const reloaded = await import('../src/i18n')
    expect(reloaded.language()).toBe('en-US')
    expect(reloaded.t('apply.save')).toBe('Save draft')
    expect(document.documentElement.lang).toBe('en-US')
  })

  it('starts in zh-CN when nothing or something unknown is stored', async () => {
    localStorage.setItem('portal.language', 'xx-XX')
    vi.resetModules()
    const reloaded = await import('../src/i18n')
    expect(reloaded.language()).toBe('zh-CN')
    expect(reloaded.t('apply.save')).toBe('暂存')
  })
})

describe('refusals in English', () => {
  const refusal = () =>
    new ApiError(422, 'VALIDATION_FAILED', '填写内容有误，请按提示修改', [
      { field: 'reason', message: '请填写申请事由' },
      { field: 'somethingNew', message: '格式有误' },
    ])

  it('keep the server’s Chinese in zh-CN', () => {
    const error = refusal()
    expect(error.message).toBe('填写内容有误，请按提示修改')
    expect(error.fields.map((f) => f.message)).toEqual(['请填写申请事由', '格式有误'])
  })

  it('say in English what the code and each field mean, the server’s words kept beside', () => {
    setLanguage('en-US')
    const error = refusal()
    expect(error.message).toBe('Some entries are invalid. Correct them as indicated.')
    expect(error.fields).toEqual([
      { field: 'reason', message: 'Enter 1 to 2000 characters' },
      { field: 'somethingNew', message: 'This field is invalid' },
    ])
    expect(error.serverMessage).toBe('填写内容有误，请按提示修改')
    expect(new ApiError(400, 'SOMETHING_NEW', '新的错误').message).toBe(
      'The system is busy. Please try again later. (SOMETHING_NEW)',
    )
  })

  it('show on the form beside their fields', async () => {
    setLanguage('en-US')
    fakeGateway((method, url) =>
      method === 'POST' && url.pathname === '/api/v1/coordination-requests'
        ? {
            status: 422,
            body: {
              code: 'VALIDATION_FAILED',
              message: '填写内容有误',
              fields: [
                { field: 'importCountry', message: '请选择进口国家/地区' },
                { field: 'exportDeclarationNo', message: '请填写出口报关单号' },
              ],
            },
          }
        : undefined,
    )
    const form = mount(ApplicationForm, {
      props: { tabKey: '/xh/apply/CUSTOMS_CO', proofType: 'CUSTOMS_CO' },
      global: { plugins: plugins() },
      attachTo: document.body,
    })
    await settle()
    expect(form.text()).toContain('Certificate of Origin issued by Customs — Coordination Application')
    await button(form, 'Save draft').trigger('click')
    await settle()
    await new Promise((r) => setTimeout(r, 150)) // Element Plus shows a field's error 100 ms after it is set
    const hints = form.findAll('.el-form-item__error').map((e) => e.text())
    expect(hints).toEqual([
      'Choose the importing country/region',
      'Enter 18 digits (the 9th is 0)',
    ])
    expect(form.text()).not.toMatch(/[\u4e00-\u9fff]/)
  })
})
