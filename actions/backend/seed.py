"""Seed data of the demo shop, Northwind Store (fictional)."""

POLICIES = {
    "payment_methods": (
        "We accept Visa, Mastercard and American Express (credit or debit), PayPal, Apple Pay, "
        'Google Pay, and bank transfer for orders over €50. Klarna "pay in 30 days" is offered at '
        "checkout in Germany, Austria and the Netherlands. We don't take cash on delivery or cheques."
    ),
    "delivery_options": (
        "Standard delivery: 3–5 working days, €4.95, free over €50. Express: next working day when "
        "ordered before 2 pm Mon–Fri, €9.95. Click & Collect: free, ready at a Northwind pickup point "
        "in 2 working days. International (EU, UK, US): 5–10 working days, from €14.95."
    ),
    "delivery_period": (
        "Orders leave our warehouse within 1 working day. Standard delivery then takes 3–5 working "
        "days, Express arrives the next working day if you order before 2 pm Mon–Fri, and "
        "international parcels take 5–10 working days. You get a tracking link by email on dispatch."
    ),
    "cancellation_fee": (
        "Cancelling is free until your order ships. A shipped order can't be cancelled, but you can "
        "return it within 30 days: returns are free within the country, €4.95 from abroad. "
        "Made-to-order items carry a 15% cancellation fee once production has started."
    ),
    "refund_policy": (
        "Return most items within 30 days of delivery for a full refund to your original payment "
        "method. Items must be unused and in their original packaging; personalised items, "
        "underwear and opened software can't be returned. We refund within 5 working days of "
        "receiving your return, and your bank may take 3–5 more days to show it."
    ),
}

POLICIES.update(
    {
        "place_order": (
            "Add items to your basket on northwind.example and check out; you can order as a guest "
            "or with an account. Phone orders aren't possible, but a person can help if you're stuck."
        ),
        "create_account": "Create your account at https://northwind.example/account/signup — it takes a minute.",
        "edit_account": "Change your name, email, phone or password at https://northwind.example/account/settings.",
        "switch_account": (
            "Sign out under Account › Sign out, then sign in with the other account's email. "
            "Your basket stays with the account it was created in."
        ),
        "delete_account": (
            "Delete your account at https://northwind.example/account/delete. It is removed within "
            "30 days, except invoices we must keep for tax purposes."
        ),
        "registration_problems": (
            "Most sign-up problems are fixed by: using an email not already registered (try "
            "https://northwind.example/account/reset if it is), checking spam for the confirmation "
            "email, and a password of at least 10 characters."
        ),
        "set_up_shipping_address": (
            "Add or change saved addresses at https://northwind.example/account/addresses; mark one as "
            "default and it's pre-filled at checkout."
        ),
        "review": "Thanks! Review anything you bought at https://northwind.example/account/orders › Write a review.",
        "subscribe": "Subscribe at https://northwind.example/newsletter — one email a week, unsubscribe any time.",
    }
)

# number, customer id, status, items, total, address, postcode, carrier, tracking_url, eta,
# payment
ORDERS = [
    (
        "10234",
        "c-ana",
        "processing",
        "2 × linen shirt",
        "€79.90",
        "12 Elm Road, Leeds LS1 4AB",
        "LS1 4AB",
        None,
        None,
        "3–5 working days",
        "paid",
    ),
    (
        "10235",
        "c-tom",
        "shipped",
        "Espresso machine",
        "€249.00",
        "4 Rue Victor Hugo, 69002 Lyon",
        "69002",
        "DHL",
        "https://track.example/DHL/00340434161094042557",
        "tomorrow",
        "paid",
    ),
    (
        "10236",
        "c-ana",
        "delivered",
        "Running shoes",
        "€119.00",
        "Kastanienallee 8, 10435 Berlin",
        "10435",
        "DPD",
        "https://track.example/DPD/01505012345678",
        None,
        "paid",
    ),
    (
        "10237",
        "c-li",
        "processing",
        "Desk lamp",
        "€39.50",
        "7 Harbour St, Cork T12 X8P4",
        "T12 X8P4",
        None,
        None,
        "3–5 working days",
        "failed",
    ),
    (
        "10238",
        "c-tom",
        "delivered",
        "Wool blanket",
        "€64.00",
        "Via Roma 21, 20121 Milano",
        "20121",
        "GLS",
        "https://track.example/GLS/ZX81234",
        None,
        "refunded",
    ),
    (
        "10239",
        "c-li",
        "cancelled",
        "Phone case",
        "€15.00",
        "22 King St, Bristol BS1 4ER",
        "BS1 4ER",
        None,
        None,
        None,
        "refunded",
    ),
]

# order_number, status, amount, updated
REFUNDS = [
    ("10238", "paid", "€64.00", "2026-11-18"),
    ("10239", "paid", "€15.00", "2026-11-02"),
    ("10236", "requested", "€119.00", "2026-11-21"),
]

# id, email, name, newsletter (1: subscribed)
CUSTOMERS = [
    ("c-ana", "ana@example.com", "Ana García", 1),
    ("c-tom", "tom@example.com", "Tom Becker", 1),
    ("c-li", "li@example.com", "Li Wei", 0),
]
