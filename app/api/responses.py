"""Responses serialised once, for the hot reads.

A sync endpoint that returns a model has FastAPI validate it against the response model once more, in another
worker thread, before serialising it. An endpoint that has built its public model already (validated when it was
made) hands back its JSON instead; the route still declares ``response_model``, so the schema is the same.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(model: BaseModel, headers: dict[str, str] | None = None) -> Response:
    """The model as FastAPI would write it for a response model (JSON by alias, every field), sent as it is."""
    return Response(model.__pydantic_serializer__.to_json(model, by_alias=True), media_type="application/json",
                    headers=headers)
