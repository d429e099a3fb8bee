// The portal in English, key for key as zh-CN (tests/unit/test_portal_locales.py), plus the English texts of the
// server's error codes and field errors, which zh-CN takes from the server's own Chinese message.
import labels from './labels.en-US.json'
import messages from './en-US.json'

export default { ...labels, ...messages }
