"""Field types shared by the resource schemas, the routes' parameters and the UI's forms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError


def as_utc(moment: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive (they are stored in UTC).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


#: A time the API always writes with its UTC offset, whatever the database returned.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]

#: The largest id: ids are 32-bit integers on PostgreSQL, so a larger one names nothing
#: (and would fail to bind). The same bound on SQLite keeps both databases alike.
MAX_ID = 2**31 - 1
#: The largest row offset: a signed 64-bit integer, what both databases can bind.
MAX_OFFSET = 2**63 - 1
#: JSON Schema for "no NUL character", so a schema-driven client knows the rule too.
NO_NUL_PATTERN = "^[^\\x00]*$"


def refuse_nul(value: str) -> str:
    """``value`` unchanged; a validation error if it holds a NUL character."""
    # PostgreSQL text cannot store NUL, and no name, password or comment needs one.
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "must not contain a NUL character (\\u0000)")
    return value


#: White space as ``str.strip`` sees it, spelled out: JSON Schema's ``\\s`` (ECMA) and
#: Python's differ, and the pattern must mean the same to a client as to us.
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: ... with a character that is not white space (what the service strips).
NAME_PATTERN = f"^[^\\x00]*[^\\x00{_SPACE}][^\\x00]*$"
#: ... neither starting nor ending with white space.
TRIMMED_PATTERN = f"^[^\\x00{_SPACE}]([^\\x00]*[^\\x00{_SPACE}])?$"
#: ... without any white space (an entity type: BIO tags are ``B-<type>``).
TOKEN_PATTERN = f"^[^\\x00{_SPACE}]+$"
_NAME = re.compile(NAME_PATTERN.removesuffix("$"), re.DOTALL)
_TOKEN = re.compile(TOKEN_PATTERN.removesuffix("$"), re.DOTALL)
_TRIMMED = re.compile(TRIMMED_PATTERN.removesuffix("$"), re.DOTALL)


def refuse_blank(value: str) -> str:
    if _NAME.fullmatch(value) is None:
        raise PydanticCustomError("blank", "must hold a character that is not white space")
    return value


def refuse_untrimmed(value: str) -> str:
    if _TRIMMED.fullmatch(value) is None:
        raise PydanticCustomError("untrimmed", "must not start or end with white space")
    return value


def refuse_spaces(value: str) -> str:
    if _TOKEN.fullmatch(value) is None:
        raise PydanticCustomError(
            "spaces", "must not contain white space (BIO tags are 'B-<type>'); use '_' instead"
        )
    return value


@dataclass(frozen=True)
class _Pattern:
    """States a validator's rule as a JSON Schema pattern (the validator gives the message)."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


#: Every string a client sends: any text but NUL. Length bounds go beside it.
Text = Annotated[str, AfterValidator(refuse_nul), _Pattern(NO_NUL_PATTERN)]
#: A name the service strips: some text besides white space.
Name = Annotated[
    str, AfterValidator(refuse_nul), AfterValidator(refuse_blank), _Pattern(NAME_PATTERN)
]
#: A label name: stored as written, so no white space around it.
LabelName = Annotated[
    str, AfterValidator(refuse_nul), AfterValidator(refuse_untrimmed), _Pattern(TRIMMED_PATTERN)
]
#: An entity type: no white space at all (it becomes part of a BIO tag).
EntityType = Annotated[
    str, AfterValidator(refuse_nul), AfterValidator(refuse_spaces), _Pattern(TOKEN_PATTERN)
]

#: An id in a request body.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

_ID_RULE = f"Ids run from 1 to {MAX_ID:,}; any other number answers 422."
ProjectIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description=f"A project id. {_ID_RULE}")]
ItemIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description=f"An item id. {_ID_RULE}")]
OffsetQuery = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip (at most 2**63 - 1).")
]


class BatchErrorOut(BaseModel):
    """Why one entry of a batch (a traffic message, a feedback report) was refused."""

    model_config = ConfigDict(from_attributes=True)

    index: int = Field(description="The entry's place in the batch, from 0.")
    field: str
    message: str
