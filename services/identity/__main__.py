from services.identity.service import definition
from shared.runtime import run

run(definition)
