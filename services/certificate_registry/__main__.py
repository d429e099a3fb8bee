from shared.runtime import run
from services.certificate_registry.service import definition

run(definition)
