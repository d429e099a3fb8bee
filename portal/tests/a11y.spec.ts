import { afterEach, describe, expect, it } from 'vitest'
import { defineComponent, h, nextTick } from 'vue'
import { mount } from '@vue/test-utils'
import { describeFieldErrors, dropMisplacedAriaChecked, keyboardScroll } from '../src/a11y'

afterEach(() => {
  document.body.innerHTML = ''
})

const flush = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('dropMisplacedAriaChecked', () => {
  it('takes aria-checked off labels, added or set later, and leaves real checkboxes alone', async () => {
    const observer = dropMisplacedAriaChecked(document.body)
    const label = document.createElement('label')
    label.innerHTML = '<input type="checkbox">'
    document.body.append(label)
    label.setAttribute('aria-checked', 'mixed')
    const inserted = document.createElement('div')
    inserted.innerHTML = '<label aria-checked="mixed"><input type="checkbox"></label><span role="checkbox" aria-checked="true"></span>'
    document.body.append(inserted)
    await flush()
    expect(label.hasAttribute('aria-checked')).toBe(false)
    expect(inserted.querySelector('label')!.hasAttribute('aria-checked')).toBe(false)
    expect(inserted.querySelector('[role=checkbox]')!.getAttribute('aria-checked')).toBe('true')
    observer.disconnect()
  })
})

describe('v-keyboard-scroll', () => {
  it("makes a table's scrolling body a named region the keyboard can focus", async () => {
    const Table = defineComponent({
      directives: { keyboardScroll },
      setup: () => () =>
        h('div', { class: 'el-table' }, [
          h('div', { class: 'el-table__body-wrapper' }, [h('div', { class: 'el-scrollbar__wrap' })]),
        ]),
    })
    const Host = defineComponent({
      components: { Table },
      directives: { keyboardScroll },
      template: '<Table v-keyboard-scroll="\'审计记录\'" />',
    })
    const wrapper = mount(Host)
    await nextTick()
    const wrap = wrapper.find('.el-scrollbar__wrap').element as HTMLElement
    expect(wrap.tabIndex).toBe(0)
    expect(wrap.getAttribute('role')).toBe('region')
    expect(wrap.getAttribute('aria-label')).toBe('审计记录')
  })
})

describe('describeFieldErrors', () => {
  it('ties a red hint to its control while it is shown, and unties it when it goes', async () => {
    document.body.innerHTML = `
      <div class="el-form-item is-error"><div class="el-form-item__content">
        <input id="country" aria-describedby="country-help"><div class="el-form-item__error" role="alert">请选择进口国家/地区</div>
      </div></div>
      <div class="el-form-item"><div class="el-form-item__content"><textarea id="reason"></textarea></div></div>`
    const observer = describeFieldErrors(document.body)
    const country = document.getElementById('country')!
    const reason = document.getElementById('reason')!
    const hint = document.querySelector('.el-form-item__error')!
    expect(country.getAttribute('aria-invalid')).toBe('true')
    expect(country.getAttribute('aria-describedby')).toBe(`country-help ${hint.id}`)
    expect(reason.hasAttribute('aria-invalid')).toBe(false)

    hint.remove() // corrected: the hint goes
    const later = document.createElement('div')
    later.className = 'el-form-item__error'
    later.textContent = '请填写申请事由'
    reason.parentElement!.append(later) // and another field's appears
    await flush()
    expect(country.hasAttribute('aria-invalid')).toBe(false)
    expect(country.getAttribute('aria-describedby')).toBe('country-help')
    expect(reason.getAttribute('aria-invalid')).toBe('true')
    expect(reason.getAttribute('aria-describedby')).toBe(later.id)
    expect(document.getElementById(reason.getAttribute('aria-describedby')!)!.textContent).toBe('请填写申请事由')
    observer.disconnect()
  })
})
