from shared.runtime import run
from services.coordination_request.service import definition

run(definition)
