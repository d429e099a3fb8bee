// A page in a tab stays mounted while another tab is shown (AppLayout keeps every open tab's page, hidden), so what
// it loaded first would be shown again. This calls `refresh` whenever the page's tab is shown again: when the tab
// is clicked, and when the page is opened again from elsewhere (the 协调单号 in 查询 focuses its open tab).
// AppLayout uses v-show, not <keep-alive>, so onActivated never runs there; should it wrap the pages in
// <keep-alive> one day, onActivated is the same moment, and is handled too (not twice: the tab watch skips it).
import { onActivated, watch } from 'vue'
import { useTabs } from '../stores/tabs'

export function useTabShown(tabKey: () => string | undefined, refresh: () => void): void {
  const tabs = useTabs()
  let viaTab = false
  watch(
    () => tabs.active,
    (active, before) => {
      if (active && active === tabKey() && before !== active) {
        viaTab = true
        refresh()
      }
    },
  )
  let first = true
  onActivated(() => {
    if (first) first = false // the first activation is the mount, which loads by itself
    else if (!viaTab) refresh()
    viaTab = false
  })
}
