"""How an account's CRM names a deal stage: by a positive number (a status id), or by a code (a STATUS_ID:
`NEW`, `C1:WON`, `C3:UC_AB12CD`, a smart process's `DT130_4:NEW`) with its pipeline (category) id, 0 being the
default pipeline. The CRM adapter says which (crm.port.stage_ids_of); the settings check a stage by it."""
import re

STAGE_IDS = ("number", "code", "either")  # "either": reading what was stored
STAGE_CODE = re.compile(r"^(?:(?:C(?P<category>\d{1,9})|DT\d{1,9}_\d{1,9}):)?[A-Za-z][A-Za-z0-9_]*$")
MAX_STAGE_CODE_LENGTH = 50  # the CRM keeps a STATUS_ID in 50 characters


class NotAStageCode(ValueError):
    """`reason`: "code" (not a stage code at all) or "pipeline" (a stage of another pipeline)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def stage_code_check(code: str, pipeline_id: int | None) -> str:
    """The code itself, or NotAStageCode. A pipeline's own stages carry its id (`C3:…`); the default
    pipeline's (0) carry none; a smart process's stage says nothing of a deal pipeline."""
    match = STAGE_CODE.match(code)
    if match is None or len(code) > MAX_STAGE_CODE_LENGTH:
        raise NotAStageCode("code")
    if match["category"] is not None:
        stage_pipeline: int | None = int(match["category"])
    elif ":" in code:
        stage_pipeline = None
    else:
        stage_pipeline = 0
    if pipeline_id is not None and stage_pipeline is not None and pipeline_id != stage_pipeline:
        raise NotAStageCode("pipeline")
    return code
