from services.attachment.service import definition
from shared.runtime import run

run(definition)
