// Open pages as tabs (SPEC §6): one tab per page, focused when opened again; closing asks if its form is unsaved.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

export interface Tab {
  key: string // the route path: one tab per page
  name: string // the route name
  title: string
  params: Record<string, string>
  query: Record<string, string>
}

export const useTabs = defineStore('tabs', () => {
  const tabs = ref<Tab[]>([])
  const active = ref('')
  const dirty = ref<Record<string, boolean>>({})
  /** Form state per tab, kept across a re-login so an expired session never loses what was typed. */
  const drafts = ref<Record<string, unknown>>({})
  const owner = ref('')

  const anyDirty = computed(() => Object.values(dirty.value).some(Boolean))

  function open(tab: Tab): void {
    const existing = tabs.value.find((t) => t.key === tab.key)
    if (existing) existing.query = tab.query // its title may have been named by its page (详情 XT…)
    else tabs.value.push(tab)
    active.value = tab.key
  }

  function rename(key: string, title: string): void {
    const tab = tabs.value.find((t) => t.key === key)
    if (tab) tab.title = title
  }

  function forget(key: string): void {
    delete dirty.value[key]
    delete drafts.value[key]
  }

  /** Removes tabs; returns the key to show next (the neighbour of the active one), or '' when none is left. */
  function close(keys: string[]): string {
    const index = tabs.value.findIndex((t) => t.key === active.value)
    tabs.value = tabs.value.filter((t) => !keys.includes(t.key))
    keys.forEach(forget)
    if (!keys.includes(active.value)) return active.value
    const next = tabs.value[Math.min(Math.max(index - 1, 0), tabs.value.length - 1)]
    active.value = next ? next.key : ''
    return active.value
  }

  /** The page in a tab became another (a new form, once saved, is that application's detail). */
  function retarget(key: string, tab: Tab): void {
    const index = tabs.value.findIndex((t) => t.key === key)
    forget(key)
    const duplicate = tabs.value.findIndex((t) => t.key === tab.key)
    if (duplicate >= 0 && duplicate !== index) tabs.value.splice(duplicate, 1)
    const at = tabs.value.findIndex((t) => t.key === key)
    if (at >= 0) tabs.value.splice(at, 1, tab)
    else tabs.value.splice(Math.max(index, 0), 0, tab)
    active.value = tab.key
  }

  function setDirty(key: string, value: boolean): void {
    dirty.value[key] = value
  }

  /** A new user starts with no tabs; the same user coming back after an expired session keeps them. */
  function startSession(username: string): void {
    if (owner.value !== username) reset()
    owner.value = username
  }

  function reset(): void {
    tabs.value = []
    active.value = ''
    dirty.value = {}
    drafts.value = {}
    owner.value = ''
  }

  return { tabs, active, dirty, drafts, anyDirty, open, rename, close, retarget, setDirty, startSession, reset }
})
