// Every string the portal shows, in one place (SPEC §6: all text zh-CN); each other language is a file beside it.
// JSON, so tests/unit can check the labels against the server's codes and the locales' keys against each other.
import labels from './labels.zh-CN.json'
import messages from './zh-CN.json'

export default { ...labels, ...messages }
