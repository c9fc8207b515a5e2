"""The union directory for territorial dispatch: which local union a ticket goes to, or nobody if unclear."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Union:
    """A local union that receives tickets: a district's, or a township's (street) within it."""

    id: str
    district: str
    township: str | None
    contact: str
    phone: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceMatch:
    """What the caller's words say about the place: one union, several candidates, or nothing."""

    union: Union | None
    candidates: tuple[Union, ...]
    words: tuple[str, ...]

    @property
    def ambiguous(self) -> bool:
        return self.union is None and len(self.candidates) > 1


@dataclass(frozen=True)
class UnionDirectory:
    """The unions of one city, looked up by what a caller said."""

    city: str
    unions: tuple[Union, ...]
    dispatcher_phone: str

    def get(self, union_id: str) -> Union | None:
        return next((u for u in self.unions if u.id == union_id), None)

    def district_menu(self) -> list[Union]:
        """The districts a caller can choose by key 1-9 (or by saying them), in directory order, one union each."""
        seen, options = set(), []
        for union in self.unions:
            if union.township is None and union.district not in seen:
                seen.add(union.district)
                options.append(union)
        return options[:9]

    def district_phrases(self) -> dict[str, list[str]]:
        """What a caller may say for each key of the district menu: the district's name and its aliases."""
        return {str(n): [union.district, *union.aliases] for n, union in enumerate(self.district_menu(), 1)}

    def match(self, text: str, district_hint: str | None = None) -> PlaceMatch:
        """The union for the place named in `text` (a township beats its district); ambiguity is not guessed."""
        hits: dict[str, tuple[Union, str]] = {}
        for union in self.unions:
            for name in filter(None, (union.township, union.district, *union.aliases)):
                if name in text or (district_hint and name in district_hint):
                    hits.setdefault(union.id, (union, name))
                    break
        found = [u for u, _ in hits.values()]
        words = tuple(w for _, w in hits.values())
        townships = [u for u in found if u.township]
        if townships:
            # A named township settles its district; two townships remain two places.
            if len(townships) == 1:
                return PlaceMatch(townships[0], tuple(found), words)
            return PlaceMatch(None, tuple(townships), words)
        districts = {u.district for u in found}
        if len(districts) == 1:
            return PlaceMatch(next(u for u in found if u.township is None), tuple(found), words)
        return PlaceMatch(None, tuple(found), words)


def parse_directory(data: dict) -> UnionDirectory:
    unions = tuple(
        Union(
            str(u["id"]),
            str(u["district"]),
            u.get("township"),
            str(u["contact"]),
            str(u["phone"]),
            tuple(u.get("aliases") or ()),
        )
        for u in data["unions"]
    )
    return UnionDirectory(str(data.get("city", "")), unions, str((data.get("dispatcher") or {}).get("phone", "")))


@lru_cache(maxsize=4)
def load_directory(path: Path | None = None) -> UnionDirectory:
    """The directory file (default: the shipped routing/data/unions.yaml)."""
    text = (
        Path(path).read_text(encoding="utf-8")
        if path
        else resources.files("routing.data").joinpath("unions.yaml").read_text(encoding="utf-8")
    )
    return parse_directory(yaml.safe_load(text))
