// 进口国家/地区 and 口岸 as the form's picker names them, "名称（English）CODE" (in English "English (名称) CODE"), for
// screens that show a saved code (the officer's case). Looked up through the same reference API as the picker; a
// code not found stays as it is.
import { ref, watch, type Ref } from 'vue'
import { api } from '../api/client'
import { language, t } from '../i18n'

export interface Place {
  code: string
  nameZh: string
  nameEn: string
}

/** The picker's rendering of a country or port, in the current language. */
export function placeLabel(place: Place): string {
  return t('app.placeName', { zh: place.nameZh, en: place.nameEn, code: place.code })
}

const known = new Map<string, Promise<Place | null>>()

/** The label of a country code; the reference API has no look-up by code, so a search by it, exact match kept. */
async function countryName(code: string): Promise<string> {
  const place = await cached(`country:${code}`, async () => (await api.countries(code)).items, code)
  return place ? placeLabel(place) : code
}

/** The label of a port code of a country. */
async function portName(country: string, code: string): Promise<string> {
  const place = await cached(`port:${country}:${code}`, async () => (await api.ports(country, code)).items, code)
  return place ? placeLabel(place) : code
}

function cached(key: string, search: () => Promise<Place[]>, code: string): Promise<Place | null> {
  if (!code) return Promise.resolve(null)
  let place = known.get(key)
  if (!place) {
    place = search().then(
      (items) => {
        const exact = items.find((p) => p.code === code) ?? null
        if (!exact) known.delete(key)
        return exact
      },
      () => {
        known.delete(key) // asked again next time
        return null
      },
    )
    known.set(key, place)
  }
  return place
}

/** The names of a country and port that may change (a reloaded case): the codes until the names are known. */
export function usePlaceNames(source: () => { country?: string | null; port?: string | null } | null): {
  country: Ref<string>
  port: Ref<string>
} {
  const country = ref('')
  const port = ref('')
  watch(
    // The language too: a switch renders the names anew.
    () => [source()?.country ?? '', source()?.port ?? '', language()] as const,
    async ([c, p]) => {
      country.value = c
      port.value = p
      const [cn, pn] = await Promise.all([countryName(c), c ? portName(c, p) : Promise.resolve(p)])
      if ((source()?.country ?? '') === c && (source()?.port ?? '') === p) {
        country.value = cn
        port.value = pn
      }
    },
    { immediate: true },
  )
  return { country, port }
}
