// Screens of the manual as routes; pages under /xh open as tabs in the layout.
import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router'
import { useSession } from './stores/session'
import { useTabs } from './stores/tabs'
import { ENTERPRISE_PAGES, OFFICER_PAGES, homePageOf } from './domain'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    title?: string // a locale key: the tab's title, in the language shown
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
        { path: 'apply', name: 'apply', component: () => import('./pages/apply/ProofTypeChooser.vue'), meta: { title: 'menu.apply' } },
        { path: 'apply/:proofType', name: 'new', component: () => import('./pages/apply/ApplicationForm.vue'), props: true },
        { path: 'requests/:id', name: 'detail', component: () => import('./pages/apply/ApplicationForm.vue'), props: true },
        { path: 'query', name: 'query', component: () => import('./pages/query/QueryPage.vue'), meta: { title: 'menu.query' } },
        { path: 'links', name: 'links', component: () => import('./pages/links/LinksPage.vue'), meta: { title: 'menu.link' } },
        { path: 'customs', name: 'customs', component: () => import('./pages/customs/CustomsPage.vue'), meta: { title: 'menu.customs' } },
        { path: 'customs/:id', name: 'case', component: () => import('./pages/customs/CaseDetail.vue'), props: true },
        { path: 'audit', name: 'audit', component: () => import('./pages/customs/AuditPage.vue'), meta: { title: 'menu.audit' } },
        { path: 'account/password', name: 'password', component: () => import('./pages/account/PasswordPage.vue'), meta: { title: 'account.changePassword' } },
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
  // Each role has its own pages (SPEC §6); the other role's page opens the role's first menu item instead.
  const name = String(to.name ?? '')
  const foreign = me.role === 'OFFICER' ? ENTERPRISE_PAGES : OFFICER_PAGES
  if (foreign.includes(name)) return { name: homePageOf(me.role) }
  return true
})
