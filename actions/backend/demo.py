"""Demo backend: a SQLite file seeded with Northwind Store data.

Reset it with `python -m actions.backend.reset`.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from actions.backend import seed
from actions.backend.base import NotFound, Order, Refund, Refused

SCHEMA = """
CREATE TABLE policies (topic TEXT PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE customers (email TEXT PRIMARY KEY, name TEXT NOT NULL, newsletter INTEGER NOT NULL);
CREATE TABLE orders (
    number TEXT PRIMARY KEY, status TEXT NOT NULL, items TEXT NOT NULL, total TEXT NOT NULL,
    address TEXT NOT NULL, carrier TEXT, tracking_url TEXT, eta TEXT, payment TEXT NOT NULL
);
CREATE TABLE refunds (
    order_number TEXT PRIMARY KEY REFERENCES orders(number), status TEXT NOT NULL,
    amount TEXT NOT NULL, updated TEXT NOT NULL
);
"""

UNSHIPPED = "processing"


def reset(path: Path) -> None:
    """Recreate the database from the seed data, discarding every change."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO policies VALUES (?, ?)", seed.POLICIES.items())
        db.executemany("INSERT INTO customers VALUES (?, ?, ?)", seed.CUSTOMERS)
        db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", seed.ORDERS)
        db.executemany("INSERT INTO refunds VALUES (?, ?, ?, ?)", seed.REFUNDS)


class DemoBackend:
    def __init__(self, path: Path) -> None:
        if not path.exists():
            reset(path)
        self._path = path

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path)
        db.row_factory = sqlite3.Row
        return db

    def policy(self, topic: str) -> str:
        with self._connect() as db:
            row = db.execute("SELECT text FROM policies WHERE topic = ?", (topic,)).fetchone()
        if row is None:
            raise NotFound(f"no policy {topic!r}")
        return row["text"]

    def order(self, number: str) -> Order:
        with self._connect() as db:
            row = db.execute("SELECT * FROM orders WHERE number = ?", (number,)).fetchone()
        if row is None:
            raise NotFound(f"no order {number}")
        return Order(**dict(row))

    def _update_unshipped(self, number: str, column: str, value: str, refusal: str) -> Order:
        current = self.order(number)
        if current.status != UNSHIPPED:
            raise Refused(refusal.format(status=current.status))
        with self._connect() as db:
            db.execute(f"UPDATE orders SET {column} = ? WHERE number = ?", (value, number))
        return self.order(number)

    def cancel_order(self, number: str) -> Order:
        return self._update_unshipped(
            number,
            "status",
            "cancelled",
            "it has already been {status}, so it can't be cancelled any more; you can return it "
            "within 30 days instead",
        )

    def change_address(self, number: str, address: str) -> Order:
        return self._update_unshipped(
            number,
            "address",
            address,
            "it has already been {status}, so the address can't change now",
        )

    def refund(self, number: str) -> Refund:
        self.order(number)
        with self._connect() as db:
            row = db.execute("SELECT * FROM refunds WHERE order_number = ?", (number,)).fetchone()
        if row is None:
            raise NotFound(f"no refund for order {number}")
        return Refund(**dict(row))

    def request_refund(self, number: str) -> Refund:
        order = self.order(number)
        try:
            return self.refund(number)
        except NotFound:
            pass
        if order.status != "delivered":
            raise Refused(
                f"order {number} is {order.status}: refunds are for delivered orders "
                "(cancel an unshipped order instead)"
            )
        refund = Refund(number, "requested", order.total, date.today().isoformat())
        with self._connect() as db:
            db.execute(
                "INSERT INTO refunds VALUES (?, ?, ?, ?)",
                (refund.order_number, refund.status, refund.amount, refund.updated),
            )
        return refund

    def invoice_url(self, number: str) -> str:
        self.order(number)
        return f"https://northwind.example/invoices/{number}.pdf"

    def unsubscribe(self, email: str) -> None:
        # Unknown addresses succeed silently: saying "not subscribed" would leak who is a customer.
        with self._connect() as db:
            db.execute("UPDATE customers SET newsletter = 0 WHERE email = ?", (email.lower(),))

    def password_reset_url(self, email: str) -> str:
        return "https://northwind.example/account/reset"
