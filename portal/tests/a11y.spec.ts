import { afterEach, describe, expect, it } from 'vitest'
import { defineComponent, h, nextTick } from 'vue'
import { mount } from '@vue/test-utils'
import { dropMisplacedAriaChecked, keyboardScroll } from '../src/a11y'

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
