import { describe, expect, it } from 'vitest'
import { MAX_ATTACHMENT_BYTES, mapFieldErrors, oversize } from '../src/domain'
import { chinaTime } from '../src/format'

describe('field errors from the API', () => {
  it('puts every field error on its field at once and keeps the rest as general messages', () => {
    const { byField, other } = mapFieldErrors([
      { field: 'importCountry', message: '请选择进口国家/地区' },
      { field: 'importPort', message: '请选择进口国家/地区口岸' },
      { field: 'reason', message: '请填写申请事由' },
      { field: 'version', message: '缺少数据版本号，请刷新后重试' },
    ])
    expect(byField).toEqual({
      importCountry: '请选择进口国家/地区',
      importPort: '请选择进口国家/地区口岸',
      reason: '请填写申请事由',
    })
    expect(other).toEqual(['缺少数据版本号，请刷新后重试'])
  })

  it('joins two errors of one field instead of hiding one', () => {
    const { byField } = mapFieldErrors([
      { field: 'importPort', message: '进口国家/地区口岸不存在，请从列表中选择' },
      { field: 'importPort', message: '该口岸不属于所选进口国家/地区' },
    ])
    expect(byField.importPort).toBe('进口国家/地区口岸不存在，请从列表中选择；该口岸不属于所选进口国家/地区')
  })
})

describe('the 4 MiB check before sending', () => {
  it('accepts exactly 4 MiB and refuses one byte more', () => {
    expect(MAX_ATTACHMENT_BYTES).toBe(4194304)
    expect(oversize({ size: 4194304 })).toBe(false)
    expect(oversize({ size: 4194305 })).toBe(true)
  })
})

describe('dates in China time', () => {
  it('shows 16:00 UTC as midnight of the next China day, whatever the browser zone', () => {
    expect(chinaTime('2026-03-10T15:59:59Z')).toBe('2026-03-10 23:59:59')
    expect(chinaTime('2026-03-10T16:00:00Z')).toBe('2026-03-11 00:00:00')
    expect(chinaTime(null)).toBe('')
  })
})
