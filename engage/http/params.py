"""Bounded integer types for path and query parameters: every door's ids, cursors and counts use these.

An unbounded `int` parameter lets `?after=99999999999999999999` reach the database, which cannot compare
it with a bigint (or an int4) column: a 500. These declare their range, so such a request is a 400 with
the parameter named, and the OpenAPI schema says what is accepted (a test checks every integer
parameter declares a maximum).
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from engage.platform.db import BIGINT_MAX, INT_MAX

Id = Annotated[int, Parameter(gt=0, le=BIGINT_MAX, description="an id")]
OptionalId = Annotated[int | None, Parameter(gt=0, le=BIGINT_MAX, description="an id")]
# A position in a numbered stream (`?after=`, `?before=`): 0 is "from the start".
Seq = Annotated[int, Parameter(ge=0, le=BIGINT_MAX)]
OptionalSeq = Annotated[int | None, Parameter(ge=0, le=BIGINT_MAX)]
Offset = Annotated[int, Parameter(ge=0, le=1_000_000, description="rows to skip")]
# Money in minor units, as a filter (the catalog's prices are at most 100,000,000).
OptionalCents = Annotated[int | None, Parameter(ge=0, le=INT_MAX, description="minor units")]

__all__ = ["BIGINT_MAX", "INT_MAX", "Id", "Offset", "OptionalCents", "OptionalId", "OptionalSeq", "Seq"]
