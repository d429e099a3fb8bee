// Keyset paging of a list the API pages with nextCursor: the cursors of the pages seen, so 上一页 can go back.
import { computed, ref, type Ref } from 'vue'
import { ElMessage } from 'element-plus'
import { ApiError } from '../api/client'

export interface Page<T> {
  items: T[]
  // Counted on the first page only (later pages leave it out), up to 1,000; more: totalCapped, shown as 1000+.
  total?: number | null
  totalCapped?: boolean
  nextCursor?: string | null
}

export function useKeysetPages<T>(fetch: (cursor: string | null, limit: number) => Promise<Page<T>>, size = 10) {
  const rows = ref([]) as Ref<T[]>
  const total = ref(0)
  const totalCapped = ref(false)
  const loading = ref(false)
  const cursors = ref<(string | null)[]>([null])
  const page = ref(0)
  const nextCursor = ref<string | null>(null)
  const pages = computed(() => Math.max(1, Math.ceil(total.value / size)))

  async function load(): Promise<void> {
    loading.value = true
    try {
      const result = await fetch(cursors.value[page.value], size)
      rows.value = result.items
      if (result.total != null) {
        total.value = result.total
        totalCapped.value = result.totalCapped ?? false
      }
      nextCursor.value = result.nextCursor ?? null
    } catch (e) {
      // A refused filter (a reversed date range …) says which and why.
      ElMessage.error(e instanceof ApiError ? e.summary : String(e))
    } finally {
      loading.value = false
    }
  }

  function first(): Promise<void> {
    cursors.value = [null]
    page.value = 0
    return load()
  }

  function next(): void {
    if (!nextCursor.value) return
    cursors.value[page.value + 1] = nextCursor.value
    page.value += 1
    void load()
  }

  function prev(): void {
    if (page.value === 0) return
    page.value -= 1
    void load()
  }

  return { rows, total, totalCapped, loading, page, pages, nextCursor, load, first, next, prev }
}
