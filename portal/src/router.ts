// Screens of the manual as routes; pages under /xh open as tabs in the layout.
import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router'
import { useSession } from './stores/session'
import { useTabs } from './stores/tabs'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    title?: string
  }
}

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', name: 'login', component: () => import('./pages/login/LoginPage.vue'), meta: { public: true } },
    { path: '/', name: 'home', component: () => import('./pages/home/PortalHome.vue') },
    {
      path: '/xh',
      component: () => import('./layout/AppLayout.vue'),
      children: [
        { path: '', name: 'workspace', component: { render: () => null } },
        { path: 'apply', name: 'apply', component: () => import('./pages/apply/ProofTypeChooser.vue'), meta: { title: '享惠受阻协调申请' } },
        { path: 'apply/:proofType', name: 'new', component: () => import('./pages/apply/ApplicationForm.vue'), props: true },
        { path: 'requests/:id', name: 'detail', component: () => import('./pages/apply/ApplicationForm.vue'), props: true },
        { path: 'query', name: 'query', component: () => import('./pages/query/QueryPage.vue'), meta: { title: '享惠受阻协调查询' } },
        { path: 'links', name: 'links', component: () => import('./pages/links/LinksPage.vue'), meta: { title: '出口报关单补录' } },
        { path: 'account/password', name: 'password', component: () => import('./pages/account/PasswordPage.vue'), meta: { title: '修改密码' } },
      ],
    },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach(async (to: RouteLocationNormalized) => {
  if (to.meta.public) return true
  const me = await useSession().ensure()
  if (!me) return { name: 'login', query: { redirect: to.fullPath } }
  useTabs().startSession(me.username) // open tabs and unsaved drafts belong to this user
  return true
})
