// The logged-in user: loaded once from /api/v1/session (null when nobody is: no 401 before anyone logged in),
// cleared on logout or when the server ends the session.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api, type Me } from '../api/client'

export const useSession = defineStore('session', () => {
  const me = ref<Me | null>(null)
  const checked = ref(false)

  async function ensure(): Promise<Me | null> {
    if (!checked.value) {
      try {
        me.value = (await api.session()).user
      } catch {
        me.value = null
      }
      checked.value = true
    }
    return me.value
  }

  function loggedIn(user: Me): void {
    me.value = user
    checked.value = true
  }

  function expire(): void {
    me.value = null
    checked.value = true
  }

  async function logout(): Promise<void> {
    try {
      await api.logout()
    } finally {
      expire()
    }
  }

  return { me, checked, ensure, loggedIn, expire, logout }
})
