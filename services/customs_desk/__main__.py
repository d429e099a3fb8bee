from services.customs_desk.service import definition
from shared.runtime import run

run(definition)
