// vue-i18n with the one zh-CN message file; `t` is also usable outside components.
import { createI18n } from 'vue-i18n'
import zhCN from './locales/zh-CN'

export const i18n = createI18n({ legacy: false, locale: 'zh-CN', messages: { 'zh-CN': zhCN } })
export const t = i18n.global.t
