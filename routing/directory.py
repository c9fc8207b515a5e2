"""The union directory for territorial dispatch: which local union a ticket goes to, or nobody if unclear."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from hotline.data_files import DataModel, Wrong, load_yaml


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


Text = Annotated[str, Field(min_length=1)]


class _Union(DataModel):
    id: Text
    district: Text
    township: str | None = None
    contact: str
    phone: Text
    aliases: tuple[str, ...] = ()

    def union(self) -> Union:
        return Union(self.id, self.district, self.township, self.contact, self.phone, self.aliases)


class _Dispatcher(DataModel):
    name: str = ""
    phone: str = ""


class DirectoryFile(DataModel):
    """The union directory file (routing/data/unions.yaml) as written."""

    city: str = ""
    dispatcher: _Dispatcher = _Dispatcher()
    unions: Annotated[tuple[_Union, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _ids_once(self) -> DirectoryFile:
        ids = [u.id for u in self.unions]
        for n, union_id in enumerate(ids):
            if union_id in ids[:n]:
                raise Wrong(f"the id {union_id} is used twice", "unions", n)
        return self

    def directory(self) -> UnionDirectory:
        """The directory this file describes."""
        return UnionDirectory(self.city, tuple(u.union() for u in self.unions), self.dispatcher.phone)


@lru_cache(maxsize=4)
def load_directory(path: Path | None = None) -> UnionDirectory:
    """The directory file (default: the shipped routing/data/unions.yaml)."""
    return load_yaml(DirectoryFile, path, ("routing.data", "unions.yaml")).directory()
