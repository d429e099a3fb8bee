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
