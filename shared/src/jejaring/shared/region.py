"""Region configuration (kecamatan and its kelurahan): data, not code.

Another kecamatan is a different JSON file, named by each service's `REGION_FILE` setting.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_REGION_FILE = Path(__file__).parent / "data" / "region.json"


class Kelurahan(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
    name: str


class Kecamatan(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}$")
    name: str
    city: str
    province: str


class Region(BaseModel):
    model_config = ConfigDict(frozen=True)
    kecamatan: Kecamatan
    reference_prefix: str = Field(pattern=r"^[A-Z]{2,6}$")
    timezone: str
    kelurahan: tuple[Kelurahan, ...] = Field(min_length=1)

    def kelurahan_by_code(self, code: str) -> Kelurahan | None:
        """The kelurahan with Kemendagri code `code`, if it is in this region."""
        return next((k for k in self.kelurahan if k.code == code), None)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(k.code for k in self.kelurahan)


@lru_cache(maxsize=8)
def load_region(path: Path | str = DEFAULT_REGION_FILE) -> Region:
    """Read and validate a region file."""
    return Region.model_validate_json(Path(path).read_text(encoding="utf-8"))
