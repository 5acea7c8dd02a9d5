"""Seed data of the demo shop, Northwind Store (fictional)."""

POLICIES = {
    "payment_methods": (
        "We accept Visa, Mastercard and American Express (credit or debit), PayPal, Apple Pay, "
        "Google Pay, and bank transfer for orders over €50. Klarna \"pay in 30 days\" is offered at "
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
