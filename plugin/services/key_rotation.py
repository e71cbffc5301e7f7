"""`keys rotate`: every stored secret re-encrypted under the first ENCRYPTION_KEY, so older keys can be dropped.

Batched by primary key, one transaction per batch, safe beside running processes: a row is only overwritten if
it still holds the ciphertext that was read (a compare-and-set, no lock held while decrypting), so a secret a
merchant changes meanwhile keeps their new value, and those processes write under the first key already.
A secret no configured key reads is left as it is and reported, never lost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, select, tuple_, update

from plugin.crypto import SecretBox, SecretDecryptionError
from plugin.extensions import db
from plugin.models import ShopSecret, WebhookEndpoint
from plugin.services import audit

DEFAULT_BATCH = 200


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    """A column of ciphertexts, the key of its rows, and where its shop is."""

    table: Table
    ciphertext: str
    key: tuple[str, ...]
    shop: str = "shop_id"


# Every column written with SecretBox.encrypt (tests/api/test_key_rotation.py checks the models have no other).
ENCRYPTED_COLUMNS = (
    EncryptedColumn(ShopSecret.__table__, "ciphertext", ("shop_id", "name")),  # type: ignore[arg-type]
    EncryptedColumn(WebhookEndpoint.__table__, "secret_ciphertext", ("id",)),  # type: ignore[arg-type]
)


@dataclass
class RotationReport:
    """What a run did, per table; the rows no key could read, by their key (never their content)."""

    reencrypted: Counter[str] = field(default_factory=Counter)
    current: Counter[str] = field(default_factory=Counter)
    changed_meanwhile: Counter[str] = field(default_factory=Counter)
    undecryptable: list[dict[str, str]] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """The JSON form printed by `keys rotate --json`."""
        tables = [column.table.name for column in ENCRYPTED_COLUMNS]
        return {
            "reencrypted": sum(self.reencrypted.values()),
            "already_current": sum(self.current.values()),
            "changed_meanwhile": sum(self.changed_meanwhile.values()),
            "undecryptable": self.undecryptable,
            "tables": {
                name: {
                    "reencrypted": self.reencrypted[name],
                    "already_current": self.current[name],
                    "changed_meanwhile": self.changed_meanwhile[name],
                }
                for name in tables
            },
        }


Key = tuple[Any, ...]


def _rotate_batch(
    column: EncryptedColumn, box: SecretBox, after: Key | None, size: int, now: datetime, out: RotationReport
) -> Key | None:
    """Re-encrypt one batch in one transaction; the key of its last row, or None when the table is done."""
    table = column.table
    key_columns = [table.c[name] for name in column.key]
    ciphertext = table.c[column.ciphertext]
    query = select(*key_columns, table.c[column.shop], ciphertext).order_by(*key_columns).limit(size)
    if after is not None:
        query = query.where(tuple_(*key_columns) > tuple_(*after))
    rows = db.session.execute(query).all()
    per_shop: Counter[str] = Counter()
    for row in rows:
        key, shop_id, old = tuple(row[: len(key_columns)]), row[-2], row[-1]
        try:
            new = box.reencrypt(old)
        except SecretDecryptionError:
            out.undecryptable.append({"table": table.name, **dict(zip(column.key, map(str, key), strict=True))})
            continue
        if new is None:
            out.current[table.name] += 1
            continue
        match: list[ColumnElement[bool]] = [c == v for c, v in zip(key_columns, key, strict=True)]
        values: dict[str, Any] = {column.ciphertext: new}
        if "updated_at" in table.c:
            values["updated_at"] = table.c.updated_at  # the secret did not change: keep its date
        result = db.session.execute(update(table).where(*match, ciphertext == old).values(values))
        if result.rowcount:  # type: ignore[attr-defined]
            out.reencrypted[table.name] += 1
            per_shop[shop_id] += 1
        else:  # rewritten by a running process meanwhile, with the keys it has
            out.changed_meanwhile[table.name] += 1
    for shop_id, count in per_shop.items():
        audit.record(shop_id, "cli", "secrets.reencrypted", now, target=table.name, after={"count": count})
    db.session.commit()
    return tuple(rows[-1][: len(key_columns)]) if len(rows) == size else None


def rotate(box: SecretBox, now: datetime, batch_size: int = DEFAULT_BATCH) -> RotationReport:
    """Re-encrypt every stored secret under the box's first key, a batch per transaction."""
    out = RotationReport()
    for column in ENCRYPTED_COLUMNS:
        after: tuple[Any, ...] | None = None
        while True:
            after = _rotate_batch(column, box, after, batch_size, now, out)
            if after is None:
                break
    return out
