from services.certificate_registry.service import definition
from shared.runtime import run

run(definition)
