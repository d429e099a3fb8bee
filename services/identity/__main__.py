from shared.runtime import run
from services.identity.service import definition

run(definition)
