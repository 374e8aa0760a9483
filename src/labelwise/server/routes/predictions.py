"""Predictions for a production bot: labels and probabilities from the production model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from labelwise.server.deps import ScopedCaller, SessionDep, project_scope
from labelwise.server.schemas.predictions import PredictIn, PredictionsOut
from labelwise.service import predictions

router = APIRouter(prefix="/projects/{project_id}", tags=["predictions"])

PredictCaller = Annotated[ScopedCaller, Depends(project_scope("predict"))]


@router.post("/predict", response_model=PredictionsOut)
def predict(body: PredictIn, session: SessionDep, caller: PredictCaller) -> PredictionsOut:
    """Labels and probabilities for a batch of texts, from the model version in production
    (or the ``version`` named).

    A service token with the ``predict`` scope, or any project member, may call it. The
    probabilities are exactly those of the model ``labelwise export-model`` writes for the
    same version. 409 while no version is in production and none is named.
    """
    result = predictions.predict(
        session, project_id=caller.project_id, texts=body.texts, version=body.version
    )
    return PredictionsOut.from_result(result)
