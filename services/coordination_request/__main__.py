from services.coordination_request.service import definition
from shared.runtime import run

run(definition)
