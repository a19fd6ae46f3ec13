"""`moviecdc deploy --check`: who we are on the target, and whether the pipeline's
privileges are granted (reference 1.8, 2.9, 3.10), before anything is deployed."""

from __future__ import annotations

from dataclasses import dataclass, field

from moviecdc.errors import MovieCdcError
from moviecdc.warehouse.base import Warehouse


@dataclass(frozen=True)
class Requirement:
    privilege: str
    on: str  # "ACCOUNT", "WAREHOUSE X", "DATABASE D", "SCHEMA D.S"
    granted: bool

    @property
    def fix(self) -> str:
        return f"GRANT {self.privilege} ON {self.on} TO ROLE <role>"


@dataclass
class ConnectionReport:
    target: str
    identity: dict[str, str | None] = field(default_factory=dict)
    requirements: list[Requirement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.granted for r in self.requirements)

    def as_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "identity": self.identity,
            "requirements": [{"privilege": r.privilege, "on": r.on, "granted": r.granted} for r in self.requirements],
            "notes": self.notes,
            "ok": self.ok,
        }


def _name(text: object) -> str:
    return ".".join(part.strip('"').upper() for part in str(text).split("."))


def role_grants(wh: Warehouse, role: str, *, depth: int = 10) -> set[tuple[str, str, str]]:
    """(privilege, granted_on, name) granted to ``role`` and to every role it inherits."""
    seen: set[str] = set()
    grants: set[tuple[str, str, str]] = set()
    todo = [role]
    while todo and len(seen) < 200 and depth > 0:
        current = todo.pop()
        if current.upper() in seen:
            continue
        seen.add(current.upper())
        for row in wh.execute(f'SHOW GRANTS TO ROLE "{current.replace(chr(34), "")}"').dicts():
            privilege, granted_on, name = str(row["privilege"]), str(row["granted_on"]), _name(row["name"])
            grants.add((privilege.upper(), granted_on.upper(), name))
            if granted_on.upper() == "ROLE" and privilege.upper() == "USAGE":
                todo.append(name)
    return grants


def check_connection(wh: Warehouse, database: str, schema: str, warehouse: str) -> ConnectionReport:
    """Identity and the privileges the pipeline needs on this target."""
    report = ConnectionReport(target=wh.target)
    if wh.target == "local":
        report.identity = {"database": database, "schema": schema}
        report.notes.append("local engine: no account, no roles; every statement is allowed")
        return report
    row = wh.execute(
        "SELECT CURRENT_ACCOUNT(), CURRENT_USER(), CURRENT_ROLE(), CURRENT_WAREHOUSE(),"
        " CURRENT_DATABASE(), CURRENT_SCHEMA()"
    ).rows[0]
    keys = ("account", "user", "role", "warehouse", "database", "schema")
    report.identity = {k: (None if v is None else str(v)) for k, v in zip(keys, row, strict=True)}
    role = report.identity["role"] or "PUBLIC"
    grants = role_grants(wh, role)
    db, sch, whn = _name(database), f"{_name(database)}.{_name(schema)}", _name(warehouse)

    def has(privilege: str, granted_on: str, name: str) -> bool:
        return (privilege, granted_on, name) in grants or ("OWNERSHIP", granted_on, name) in grants

    try:
        schema_exists = bool(wh.execute(f"SHOW SCHEMAS LIKE '{_name(schema)}' IN DATABASE {database}").rows)
    except MovieCdcError:
        schema_exists = False
        report.notes.append(f"database {database} is missing or not visible to role {role}")
    needs = [("USAGE", "WAREHOUSE", whn), ("USAGE", "DATABASE", db), ("EXECUTE TASK", "ACCOUNT", "")]
    if schema_exists:
        needs += [
            (p, "SCHEMA", sch)
            for p in ("USAGE", "CREATE TABLE", "CREATE STREAM", "CREATE TASK", "CREATE DYNAMIC TABLE")
        ]
    else:
        needs.append(("CREATE SCHEMA", "DATABASE", db))
        report.notes.append(f"schema {sch} does not exist yet: deploy creates it, then owns it")
    for privilege, granted_on, name in needs:
        ok = has(privilege, granted_on, name) if granted_on != "ACCOUNT" else any(
            g[0] == privilege and g[1] == "ACCOUNT" for g in grants
        )  # fmt: skip
        if granted_on == "SCHEMA" and has("OWNERSHIP", "SCHEMA", name):
            ok = True
        report.requirements.append(Requirement(privilege, f"{granted_on} {name}".strip(), ok))
    return report
