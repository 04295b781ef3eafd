"""Validated configuration of a ``files`` source (a dataset folder served as telemetry)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tracehound.connectors.files import generic, nezha


class FilesConfig(BaseModel):
    """``{"path": DIR, "layout": "nezha"|"generic", "date": ..., "case": ...}``.

    nezha: ``date`` picks the ``rca_data/<date>`` folder (optional when there is only one); ``case`` (a case id
    such as ``TrainTicket_2023-01-29_092539`` or just its ``HHMMSS``) limits the data to that case's horizon.
    generic: ``case`` picks a case of ``cases.csv``; without it ``path`` is one folder of telemetry.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    layout: Literal["nezha", "generic"] = "generic"
    date: str | None = None
    case: str | None = None
    separator: str = Field(default="_", min_length=1, max_length=4)

    @model_validator(mode="after")
    def _check(self) -> FilesConfig:
        root = Path(self.path)
        if not root.is_dir():
            raise ValueError(f"path: {self.path!r} is not a readable directory")
        if self.layout == "nezha":
            available = nezha.dates(root)
            if not available:
                raise ValueError(f"path: no rca_data/<date> folders under {self.path!r} (not the nezha layout)")
            if self.date is None and len(available) > 1:
                raise ValueError(f"date: required, one of {', '.join(available)}")
            if self.date is not None and self.date not in available:
                raise ValueError(f"date: {self.date!r} not found; choose one of {', '.join(available)}")
            if self.case is not None and self.nezha_case() is None:
                raise ValueError(f"case: no case {self.case!r} in {self.nezha_date()}")
        elif self.case is not None and self.generic_case() is None:
            raise ValueError(f"case: no case {self.case!r} in the cases file of {self.path!r}")
        return self

    def nezha_date(self) -> str:
        return self.date or nezha.dates(Path(self.path))[0]

    def nezha_case(self) -> nezha.NezhaCase | None:
        if self.case is None:
            return None
        for c in nezha.cases(Path(self.path), self.nezha_date()):
            if self.case in (c.case_id, c.case_id.rsplit("_", 1)[-1]):
                return c
        return None

    def generic_case(self) -> generic.GenericCase | None:
        return next((c for c in generic.cases(Path(self.path)) if c.case_id == self.case), None)
