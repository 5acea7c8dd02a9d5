"""Demo backend: a SQLite file seeded with Northwind Store data.

It keeps what a real shop keeps for the assistant: which customer owns each order, failed order
checks per source (a browser, a chat), and the emails it sent (the `emails` table stands in for
the mail server). Reset it to the seed data with `make reset-shop` (`python -m
actions.backend.reset`; COMMERCE_DB names another file), running stack or not.
"""

from __future__ import annotations

import hmac
import sqlite3
import time
from datetime import date
from pathlib import Path

from actions.backend import seed
from actions.backend.base import (
    Customer,
    NotFound,
    Order,
    OrderProof,
    Refund,
    Refused,
    Requester,
    TooManyAttempts,
)

SCHEMA = """
CREATE TABLE policies (topic TEXT PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE customers (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    newsletter INTEGER NOT NULL
);
CREATE TABLE orders (
    number TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL, items TEXT NOT NULL, total TEXT NOT NULL, address TEXT NOT NULL,
    postcode TEXT NOT NULL, carrier TEXT, tracking_url TEXT, eta TEXT, payment TEXT NOT NULL
);
CREATE TABLE refunds (
    order_number TEXT PRIMARY KEY REFERENCES orders(number), status TEXT NOT NULL,
    amount TEXT NOT NULL, updated TEXT NOT NULL
);
CREATE TABLE failed_checks (source TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE emails (
    id INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL, subject TEXT NOT NULL,
    body TEXT NOT NULL, sent_at REAL NOT NULL
);
"""

UNSHIPPED = "processing"
ORDER_FIELDS = "number, status, items, total, address, carrier, tracking_url, eta, payment"
# Failed order checks a source may make in FAILED_CHECKS_WINDOW_S before it gets no more tries.
FAILED_CHECKS_ALLOWED = 5
FAILED_CHECKS_WINDOW_S = 3600
SHOP = "https://northwind.example"


def reset(path: Path) -> None:
    """Recreate the database from the seed data, discarding every change.

    In place and in one transaction, so an action server using the file (a running `make
    run`) reads the old data or the seed, never a half-reset table or a deleted file; tables
    are recreated, so a file from an older schema is brought up to date too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None)  # transaction managed here
    try:
        db.execute("BEGIN IMMEDIATE")  # waits for a writer in progress
        tables = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        for (table,) in tables:
            db.execute(f'DROP TABLE "{table}"')  # also drops its AUTOINCREMENT counter
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.executemany("INSERT INTO policies VALUES (?, ?)", seed.POLICIES.items())
        db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", seed.CUSTOMERS)
        db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", seed.ORDERS)
        db.executemany("INSERT INTO refunds VALUES (?, ?, ?, ?)", seed.REFUNDS)
        db.execute("COMMIT")
    finally:
        db.close()  # without the COMMIT, closing rolls everything back


def normalise_postcode(text: str) -> str:
    return "".join(text.split()).upper()


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

    def prove_order(self, number: str, secret: str, source: str) -> OrderProof:
        now = time.time()
        with self._connect() as db:
            failed = db.execute(
                "SELECT COUNT(*) FROM failed_checks WHERE source = ? AND at > ?",
                (source, now - FAILED_CHECKS_WINDOW_S),
            ).fetchone()[0]
            if failed >= FAILED_CHECKS_ALLOWED:
                raise TooManyAttempts(f"{failed} failed order checks from {source}")
            proof = OrderProof(number, secret)
            matched = self._owner_row(db, number, proof) is not None
            if not matched:
                db.execute("INSERT INTO failed_checks VALUES (?, ?)", (source, now))
        if not matched:  # raised after the block, which would roll the failure back
            raise NotFound(f"order {number} does not match")
        return proof

    def order(self, number: str, requester: Requester) -> Order:
        with self._connect() as db:
            return self._order(db, number, requester)

    def _order(self, db: sqlite3.Connection, number: str, requester: Requester) -> Order:
        if self._owner_row(db, number, requester) is None:
            raise NotFound(f"no order {number} for this customer")
        row = db.execute(f"SELECT {ORDER_FIELDS} FROM orders WHERE number = ?", (number,))
        return Order(**dict(row.fetchone()))

    def _owner_row(
        self, db: sqlite3.Connection, number: str, requester: Requester
    ) -> sqlite3.Row | None:
        """The order's owner (id, email, name), if `requester` may see the order."""
        row = db.execute(
            "SELECT c.id, c.email, c.name, o.postcode FROM orders o "
            "JOIN customers c ON c.id = o.customer_id WHERE o.number = ?",
            (number,),
        ).fetchone()
        if row is None:
            return None
        if isinstance(requester, Customer):
            return row if hmac.compare_digest(row["id"].encode(), requester.id.encode()) else None
        if requester.number != number:
            return None
        given = requester.secret.strip()
        by_email = hmac.compare_digest(given.lower().encode(), row["email"].lower().encode())
        by_postcode = hmac.compare_digest(
            normalise_postcode(given).encode(), normalise_postcode(row["postcode"]).encode()
        )
        return row if by_email or by_postcode else None

    def _update_unshipped(
        self, number: str, requester: Requester, column: str, value: str, refusal: str
    ) -> Order:
        with self._connect() as db:
            current = self._order(db, number, requester)
            if current.status != UNSHIPPED:
                raise Refused(refusal.format(status=current.status))
            db.execute(f"UPDATE orders SET {column} = ? WHERE number = ?", (value, number))
            return self._order(db, number, requester)

    def cancel_order(self, number: str, requester: Requester) -> Order:
        order = self._update_unshipped(
            number,
            requester,
            "status",
            "cancelled",
            "it has already been {status}, so it can't be cancelled any more; you can return it "
            "within 30 days instead",
        )
        self._confirm(
            number,
            f"Order {number} is cancelled",
            f"We cancelled order {number} ({order.items}, {order.total}). "
            "The refund goes back to your original payment method within 5 working days.",
        )
        return order

    def change_address(self, number: str, address: str, requester: Requester) -> Order:
        order = self._update_unshipped(
            number,
            requester,
            "address",
            address,
            "it has already been {status}, so the address can't change now",
        )
        self._confirm(
            number,
            f"New delivery address for order {number}",
            f"Order {number} ({order.items}) will now be delivered to: {order.address}.",
        )
        return order

    def refund(self, number: str, requester: Requester) -> Refund:
        with self._connect() as db:
            self._order(db, number, requester)
            row = db.execute("SELECT * FROM refunds WHERE order_number = ?", (number,)).fetchone()
        if row is None:
            raise NotFound(f"no refund for order {number}")
        return Refund(**dict(row))

    def request_refund(self, number: str, requester: Requester) -> Refund:
        order = self.order(number, requester)
        try:
            return self.refund(number, requester)
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
        self._confirm(
            number,
            f"Refund requested for order {number}",
            f"We received your refund request for order {number} ({refund.amount}). "
            "We'll email you a returns label within 1 working day.",
        )
        return refund

    def invoice_url(self, number: str, requester: Requester) -> str:
        self.order(number, requester)
        return f"{SHOP}/invoices/{number}.pdf"

    def unsubscribe(self, customer: Customer) -> None:
        with self._connect() as db:
            db.execute("UPDATE customers SET newsletter = 0 WHERE id = ?", (customer.id,))

    def send_unsubscribe_link(self, email: str) -> None:
        if self._customer_email(email) is not None:
            link = f"{SHOP}/newsletter/unsubscribe?token=…"
            self._email(email, "Unsubscribe from the Northwind newsletter", f"One click: {link}")

    def send_password_reset(self, email: str) -> None:
        if self._customer_email(email) is not None:
            link = f"{SHOP}/account/reset?token=…"
            self._email(email, "Reset your Northwind password", f"Single-use link: {link}")

    def sent_emails(self, recipient: str) -> list[tuple[str, str]]:
        """(subject, body) of what was sent to `recipient`, oldest first (for tests and demos)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT subject, body FROM emails WHERE recipient = ? ORDER BY id", (recipient,)
            ).fetchall()
        return [(row["subject"], row["body"]) for row in rows]

    def _customer_email(self, email: str) -> str | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT email FROM customers WHERE email = ?", (email.strip().lower(),)
            ).fetchone()
        return None if row is None else str(row["email"])

    def _confirm(self, number: str, subject: str, body: str) -> None:
        """The change in writing, to the order's owner."""
        with self._connect() as db:
            row = db.execute(
                "SELECT c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
                "WHERE o.number = ?",
                (number,),
            ).fetchone()
        self._email(str(row["email"]), subject, body)

    def _email(self, recipient: str, subject: str, body: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO emails (recipient, subject, body, sent_at) VALUES (?, ?, ?, ?)",
                (recipient, subject, body, time.time()),
            )
