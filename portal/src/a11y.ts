// Accessibility mends for what Element Plus renders itself (issue 18), kept in one place.
import type { Directive } from 'vue'

/**
 * Element Plus 2.14 puts aria-checked="mixed" on the <label> of an indeterminate checkbox (the "select all" box
 * of a table with some rows ticked). A label has no role that takes aria-checked (axe: aria-allowed-attr,
 * critical), and the native input inside already says "mixed" through its indeterminate property; so the
 * attribute is taken off the label whenever it appears.
 */
export function dropMisplacedAriaChecked(root: Node = document.body): MutationObserver {
  const strip = (el: Element): void => {
    if (el.tagName === 'LABEL' && el.hasAttribute('aria-checked')) el.removeAttribute('aria-checked')
  }
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') strip(r.target as Element)
      else r.addedNodes.forEach((n) => n instanceof Element && n.querySelectorAll('label[aria-checked]').forEach(strip))
    }
  })
  observer.observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-checked'] })
  return observer
}

/**
 * v-keyboard-scroll="name" on an el-table whose rows hold nothing focusable: its scrolling body becomes a named,
 * focusable region, so the keyboard can scroll it too (WCAG 2.1.1; axe: scrollable-region-focusable).
 */
export const keyboardScroll: Directive<HTMLElement, string> = {
  mounted(el, binding) {
    const wrap = el.querySelector<HTMLElement>('.el-table__body-wrapper .el-scrollbar__wrap')
    if (!wrap) return
    wrap.tabIndex = 0
    wrap.setAttribute('role', 'region')
    wrap.setAttribute('aria-label', binding.value)
  },
}

/**
 * A field's red hint (Element Plus renders it as the form item's `.el-form-item__error`, role=alert, so it is
 * announced) is tied to its control: the control gets aria-invalid="true" and aria-describedby naming the hint,
 * so a screen reader says what is wrong when the field is reached again; both go when the hint goes.
 */
export function describeFieldErrors(root: HTMLElement = document.body): MutationObserver {
  let pending = false
  let next = 0
  const sync = (): void => {
    pending = false
    for (const item of root.querySelectorAll<HTMLElement>('.el-form-item')) {
      const hint = item.querySelector<HTMLElement>(':scope > .el-form-item__content > .el-form-item__error')
      if (hint && !hint.id) hint.id = `field-hint-${++next}`
      const controls = item.querySelectorAll<HTMLElement>(
        ':scope > .el-form-item__content input:not([type="hidden"]), :scope > .el-form-item__content textarea',
      )
      for (const control of controls) {
        const described = (control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean)
        const others = described.filter((id) => !id.startsWith('field-hint-'))
        const wanted = hint ? [...others, hint.id] : others
        if (wanted.join(' ') !== described.join(' ')) {
          if (wanted.length) control.setAttribute('aria-describedby', wanted.join(' '))
          else control.removeAttribute('aria-describedby')
        }
        if (hint) control.setAttribute('aria-invalid', 'true')
        else if (control.getAttribute('aria-invalid') === 'true') control.removeAttribute('aria-invalid')
      }
    }
  }
  const observer = new MutationObserver(() => {
    if (!pending) {
      pending = true
      queueMicrotask(sync) // one pass for a burst of changes (a 暂存 shows every hint at once)
    }
  })
  observer.observe(root, { subtree: true, childList: true })
  sync()
  return observer
}
