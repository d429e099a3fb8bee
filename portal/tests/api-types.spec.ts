// @vitest-environment node
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import openapiTS, { astToString } from 'openapi-typescript'

describe('API types', () => {
  it('src/api/schema.d.ts is generated from the committed OpenAPI document (run `make api-types`)', async () => {
    const document = JSON.parse(readFileSync('openapi.json', 'utf8'))
    const generated = astToString(await openapiTS(document))
    const committed = readFileSync('src/api/schema.d.ts', 'utf8')
    expect(committed.slice(committed.indexOf('export interface paths'))).toBe(
      generated.slice(generated.indexOf('export interface paths')),
    )
  })
})
