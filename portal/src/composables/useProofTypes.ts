// The four proof types (SPEC §2) from the API, fetched once and shared by every screen.
import { ref } from 'vue'
import { api, type ProofType } from '../api/client'

const proofTypes = ref<ProofType[]>([])
let loading: Promise<void> | null = null

export function useProofTypes() {
  if (!loading) {
    loading = api
      .proofTypes()
      .then((r) => {
        proofTypes.value = r.items
      })
      .catch(() => {
        loading = null
      })
  }
  const byCode = (code: string) => proofTypes.value.find((p) => p.code === code)
  return { proofTypes, byCode, ready: () => loading ?? Promise.resolve() }
}
