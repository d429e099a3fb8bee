// vue-i18n with one message file per language (zh-CN the default); `t` is also usable outside components.
// The chosen language is kept in localStorage (it outlives a reload and a logout) and set on <html lang>.
import { createI18n } from 'vue-i18n'
import zhCN from './locales/zh-CN'
import enUS from './locales/en-US'

export const LANGUAGES = ['zh-CN', 'en-US'] as const
export type Language = (typeof LANGUAGES)[number]
export const DEFAULT_LANGUAGE: Language = 'zh-CN'
const STORAGE_KEY = 'portal.language'

function stored(): Language {
  try {
    const value = localStorage.getItem(STORAGE_KEY)
    return (LANGUAGES as readonly string[]).includes(value ?? '') ? (value as Language) : DEFAULT_LANGUAGE
  } catch {
    return DEFAULT_LANGUAGE // storage disabled: the default, every time
  }
}

export const i18n = createI18n({
  legacy: false,
  locale: stored(),
  fallbackLocale: DEFAULT_LANGUAGE,
  messages: { 'zh-CN': zhCN, 'en-US': enUS },
})
export const t = i18n.global.t

export function language(): Language {
  return i18n.global.locale.value as Language
}

function showIn(lang: Language): void {
  if (typeof document === 'undefined') return
  document.documentElement.lang = lang
  document.title = `${t('app.title')} - ${t('app.singleWindow')}`
}

/** Switches every text of the portal (and Element Plus's own) to `lang`, and remembers the choice. */
export function setLanguage(lang: Language): void {
  i18n.global.locale.value = lang
  try {
    localStorage.setItem(STORAGE_KEY, lang)
  } catch {
    // storage disabled: the choice lasts until the page is reloaded
  }
  showIn(lang)
}

showIn(language())

/**
 * What a person reads for the server's `message`: the server's own Chinese in zh-CN (SPEC: server messages stay
 * Chinese); in another language the locale's text at `key`, or `fallback()` when the locale has none.
 */
export function serverText(message: string, key: string, fallback: () => string = () => message): string {
  if (language() === DEFAULT_LANGUAGE) return message
  return i18n.global.te(key) ? t(key) : fallback()
}
