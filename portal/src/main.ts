import { createApp } from 'vue'
import { createPinia } from 'pinia'
import 'element-plus/es/components/message/style/css'
import 'element-plus/es/components/message-box/style/css'
import './theme.css'
import './styles.css'
import './senior.css'
import App from './App.vue'
import { router } from './router'
import { i18n } from './i18n'
import { setUnauthenticatedHandler } from './api/client'
import { useSession } from './stores/session'
import { describeFieldErrors, dropMisplacedAriaChecked } from './a11y'
import { useSeniorMode } from './stores/senior'

const app = createApp(App)
app.use(createPinia()).use(router).use(i18n)
useSeniorMode() // 长辈版 from the first paint (the device's choice, then the user's once known)

// The server ended the session (idle timeout, logout elsewhere): back to 登录, then back to this page.
setUnauthenticatedHandler(() => {
  const current = router.currentRoute.value
  useSession().expire()
  if (current.name !== 'login') void router.push({ name: 'login', query: { redirect: current.fullPath, expired: '1' } })
})

app.mount('#app')
dropMisplacedAriaChecked()
describeFieldErrors()
