"""In-memory tables of the Connector mock: records in creation order, each with its JSON cached.

    table = Table("loyalty_programs", fields=("Id", "ChainId", "Name", ...))
    record = table.insert({"Id": ..., "Name": "Platinum Club", ...}, chain_id=..., created_us=...)
    record.json                      # the wire JSON of the record, rendered once per change
    table.newest_first(before=None)  # records newest first; before=record.seq continues after it
    table.replace(record, values, updated_us=...)   # a new version; the JSON is rendered again
    table.soft_delete(record, updated_us=...)       # hidden from the default listing, still there

A record keeps its values as a tuple in the order of the item schema's properties (compact: a
hundred thousand memberships fit in well under 200 MB) and its JSON as bytes, so a page is a join
of cached bytes. Times are integer microseconds since the Unix epoch (UTC).

``counted`` fields keep a count of the active records per value (e.g. memberships per program), so
"does this program still have active memberships" is a lookup, not a scan.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import orjson


class Record:
    """One stored version of a resource item."""

    __slots__ = ("chain_id", "created_us", "deleted", "id", "json", "seq", "updated_us", "values")

    def __init__(
        self,
        seq: int,
        values: tuple[Any, ...],
        json: bytes,
        *,
        id: str,
        chain_id: str,
        created_us: int,
        updated_us: int,
        deleted: bool,
    ) -> None:
        self.seq = seq  # position in creation order: larger is newer
        self.values = values
        self.json = json
        self.id = id
        self.chain_id = chain_id
        self.created_us = created_us
        self.updated_us = updated_us
        self.deleted = deleted

    def __repr__(self) -> str:
        return f"Record(seq={self.seq}, id={self.id!r}, deleted={self.deleted})"


class Table:
    """The records of one resource, in creation order, indexed by id."""

    def __init__(
        self,
        name: str,
        fields: tuple[str, ...],
        *,
        counted: Collection[str] = (),
        shared: Collection[str] = (),
    ) -> None:
        if "Id" not in fields:
            raise ValueError(f"{name}: an item needs an Id")
        self.name = name
        self.fields = fields
        self.position = {field: index for index, field in enumerate(fields)}
        self._rows: list[Record] = []
        self._by_id: dict[str, Record] = {}
        self._active_counts: dict[str, Counter[Any]] = {field: Counter() for field in counted}
        # Values that repeat across records (chain and program ids) are kept once, not per record.
        self._shared = tuple(self.position[field] for field in shared if field in self.position)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"Table({self.name!r}, records={len(self._rows)})"

    def get(self, record_id: str) -> Record | None:
        return self._by_id.get(record_id)

    def value(self, record: Record, field: str) -> Any:
        return record.values[self.position[field]]

    def as_dict(self, record: Record) -> dict[str, Any]:
        return dict(zip(self.fields, record.values, strict=True))

    def newest_first(self, before: int | None = None) -> Iterator[Record]:
        """Records newest first, starting just older than position ``before`` (all when None)."""
        rows = self._rows
        start = len(rows) - 1 if before is None else before - 1
        return map(rows.__getitem__, range(start, -1, -1))  # lazy: a page reads only what it returns

    def active_count(self, field: str, value: Any) -> int:
        return self._active_counts[field][value]

    def insert(
        self,
        values: Mapping[str, Any],
        *,
        chain_id: str,
        created_us: int,
        updated_us: int | None = None,
        deleted: bool = False,
    ) -> Record:
        record_id = str(values["Id"])
        if record_id in self._by_id:
            raise ValueError(f"{self.name}: {record_id} exists already")
        row = self._row(values)
        record = Record(
            len(self._rows),
            row,
            self._render(row),
            id=sys.intern(record_id),
            chain_id=sys.intern(chain_id),
            created_us=created_us,
            updated_us=created_us if updated_us is None else updated_us,
            deleted=deleted,
        )
        self._rows.append(record)
        self._by_id[record.id] = record
        self._count(record, +1)
        return record

    def replace(self, record: Record, values: Mapping[str, Any], *, updated_us: int) -> None:
        if str(values["Id"]) != record.id:
            raise ValueError(f"{self.name}: a record keeps its id")
        self._count(record, -1)
        record.values = self._row(values)
        record.json = self._render(record.values)
        record.updated_us = updated_us
        self._count(record, +1)

    def soft_delete(self, record: Record, *, updated_us: int) -> None:
        if record.deleted:
            return
        self._count(record, -1)
        record.deleted = True
        record.updated_us = updated_us

    def _render(self, row: tuple[Any, ...]) -> bytes:
        # orjson hands back its whole working buffer (4 KB and up) as the bytes object; a record
        # kept for its lifetime gets an exact-size copy, or 100k memberships would take ~800 MB.
        return memoryview(orjson.dumps(dict(zip(self.fields, row, strict=True)))).tobytes()

    def _row(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        row = [values.get(field) for field in self.fields]
        for index in self._shared:
            value = row[index]
            if isinstance(value, str):
                row[index] = sys.intern(value)
        return tuple(row)

    def _count(self, record: Record, change: int) -> None:
        if record.deleted:
            return
        for field, counts in self._active_counts.items():
            value = record.values[self.position[field]]
            if value is not None:
                counts[value] += change
                if not counts[value]:
                    del counts[value]


class ConnectorStore:
    """Every table of the mock, by the catalog's resource name (``loyalty_memberships``, ...)."""

    def __init__(self, tables: Mapping[str, Table]) -> None:
        self.tables = dict(tables)

    def __getitem__(self, resource: str) -> Table:
        return self.tables[resource]

    def __repr__(self) -> str:
        return f"ConnectorStore({', '.join(map(repr, self.tables.values()))})"
