// 进口国家/地区 and 口岸 as the form's picker names them, "名称（English）CODE", for screens that show a saved code
// (the officer's case). Looked up through the same reference API as the picker; a code not found stays as it is.
import { ref, watch, type Ref } from 'vue'
import { api } from '../api/client'

export interface Place {
  code: string
  nameZh: string
  nameEn: string
}

/** The picker's rendering of a country or port. */
export function placeLabel(place: Place): string {
  return `${place.nameZh}（${place.nameEn}）${place.code}`
}

const known = new Map<string, Promise<string>>()

/** The label of a country code; the reference API has no look-up by code, so a search by it, exact match kept. */
export function countryName(code: string): Promise<string> {
  return cached(`country:${code}`, async () => (await api.countries(code)).items, code)
}

/** The label of a port code of a country. */
export function portName(country: string, code: string): Promise<string> {
  return cached(`port:${country}:${code}`, async () => (await api.ports(country, code)).items, code)
}

function cached(key: string, search: () => Promise<Place[]>, code: string): Promise<string> {
  if (!code) return Promise.resolve('')
  let name = known.get(key)
  if (!name) {
    name = search().then(
      (items) => {
        const exact = items.find((p) => p.code === code)
        if (!exact) known.delete(key)
        return exact ? placeLabel(exact) : code
      },
      () => {
        known.delete(key) // asked again next time
        return code
      },
    )
    known.set(key, name)
  }
  return name
}

/** The names of a country and port that may change (a reloaded case): the codes until the names are known. */
export function usePlaceNames(source: () => { country?: string | null; port?: string | null } | null): {
  country: Ref<string>
  port: Ref<string>
} {
  const country = ref('')
  const port = ref('')
  watch(
    () => [source()?.country ?? '', source()?.port ?? ''] as const,
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
