// 长辈版 (MIIT 适老化): large text and high contrast, a class on <html> that senior.css styles.
// Remembered per user in localStorage; before anyone logs in (登录), a device-wide choice. A user who never chose
// starts from the device's choice, so logging in never changes the look; turning it off is exactly the standard look.
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import { useSession } from './session'

export const SENIOR_CLASS = 'senior-mode'
export const SENIOR_KEY = 'xianghui.senior'

/** The localStorage key of a user's choice, or of the device's choice when no one is logged in. */
export function seniorKey(username?: string | null): string {
  return username ? `${SENIOR_KEY}.user.${username}` : SENIOR_KEY
}

function stored(key: string): boolean | null {
  try {
    const value = localStorage.getItem(key)
    return value === '1' ? true : value === '0' ? false : null
  } catch {
    return null // storage refused (private mode): the standard look
  }
}

// Who was logged in in this browser tab, so a reload shows their choice before /api/v1/me answers (no flash).
const SESSION_USER = `${SENIOR_KEY}.session`

function sessionUser(): string {
  try {
    return sessionStorage.getItem(SESSION_USER) ?? ''
  } catch {
    return ''
  }
}

export const useSeniorMode = defineStore('senior', () => {
  const session = useSession()
  const revision = ref(0) // bumped on each write, so `on` reads the storage again
  const lastUser = sessionUser()
  const username = computed(() => session.me?.username ?? (session.checked ? '' : lastUser))
  watch(
    () => [session.me?.username, session.checked] as const,
    ([name]) => {
      try {
        if (name) sessionStorage.setItem(SESSION_USER, name)
        else if (session.checked) sessionStorage.removeItem(SESSION_USER)
      } catch {
        // not kept: a reload starts from the device's choice until the user is known
      }
    },
  )

  const on = computed(() => {
    void revision.value
    const own = username.value ? stored(seniorKey(username.value)) : null
    return own ?? stored(SENIOR_KEY) ?? false
  })

  function set(value: boolean): void {
    try {
      localStorage.setItem(seniorKey(username.value), value ? '1' : '0')
    } catch {
      // not remembered; still applied below for this page
    }
    revision.value += 1
    apply(on.value)
  }

  function toggle(): void {
    set(!on.value)
  }

  function apply(value: boolean): void {
    document.documentElement.classList.toggle(SENIOR_CLASS, value)
  }
  watch(on, apply, { immediate: true })

  return { on, set, toggle }
})

/** A table column's width for its props: in 长辈版 its text is 1.5×, so the column is 1.6× (with the thicker
 * padding) and a table wider than its card scrolls inside it instead of cutting its cells. */
export function useColumnWidth(): (px: number) => number {
  const senior = useSeniorMode()
  return (px: number) => (senior.on ? Math.round(px * 1.6) : px)
}
