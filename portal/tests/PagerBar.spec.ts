import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import PagerBar from '../src/components/PagerBar.vue'
import { plugins } from './helpers'

describe('PagerBar', () => {
  it('shows the exact total when the API counted every match', () => {
    const bar = mount(PagerBar, { props: { total: 37, page: 0, pages: 4, hasNext: true }, global: { plugins: plugins() } })
    expect(bar.get('[data-testid="total"]').text()).toBe('共 37 条')
    expect(bar.text()).toContain('/ 4')
    expect(bar.text()).not.toContain('4+')
  })

  it('says 1000+ when the API stopped counting', () => {
    const bar = mount(PagerBar, {
      props: { total: 1000, capped: true, page: 2, pages: 100, hasNext: true },
      global: { plugins: plugins() },
    })
    expect(bar.get('[data-testid="total"]').text()).toBe('共 1000+ 条')
    expect(bar.text()).toContain('/ 100+')
  })
})
