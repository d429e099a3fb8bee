from shared.runtime import run
from services.attachment.service import definition

run(definition)
