// The one 提示 dialog that asks before an action: resolves true on 确定, false on 取消 or closing.
import { ElMessageBox } from 'element-plus'
import { t } from './i18n'

export async function confirmed(question: string): Promise<boolean> {
  try {
    await ElMessageBox.confirm(question, t('app.notice'), {
      type: 'warning',
      confirmButtonText: t('app.confirm'),
      cancelButtonText: t('app.cancel'),
    })
    return true
  } catch {
    return false
  }
}
