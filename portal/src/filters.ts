// The filters of 查询 and of the officers' queue (SPEC §4), as the screens hold them and as the API reads them.
import type { RequestFilterQuery } from './api/client'

export interface RequestFilterValues {
  requestNo: string
  enterprise: string // the officers' queue only
  certificateNo: string
  exportDeclarationNo: string
  status: string
  proofType: string
  agreementCode: string
  submitted: [string, string] | null
}

export function blankFilters(): RequestFilterValues {
  return {
    requestNo: '',
    enterprise: '',
    certificateNo: '',
    exportDeclarationNo: '',
    status: '',
    proofType: '',
    agreementCode: '',
    submitted: null,
  }
}

export function filterQuery(f: RequestFilterValues): RequestFilterQuery {
  return {
    requestNo: f.requestNo.trim(),
    enterprise: f.enterprise.trim(),
    certificateNo: f.certificateNo.trim(),
    exportDeclarationNo: f.exportDeclarationNo.trim(),
    status: f.status,
    proofType: f.proofType,
    agreementCode: f.agreementCode,
    submittedFrom: f.submitted?.[0],
    submittedTo: f.submitted?.[1],
  }
}
