from shared.runtime import run
from services.customs_desk.service import definition

run(definition)
