"""Writes the orders task: customer messages that mention one order number, labeled with the
house order id (`ORD-` and the six digits), in train.jsonl, dev.jsonl and test.jsonl.

    python3 testdata/tasks/orders/generate.py     # rewrites the three files (deterministic)

The messages name the order the way customers do ("order #482913", "order number 482913",
"my 482913 order"), often beside other numbers (a price, a quantity, a date, a phone
extension). The label is the house convention, which no message spells out: the six digits
after `ORD-`. A model told only to extract the order id answers the digits as written; demos
show it the convention. Every order number is drawn once, so no split shares one with another.
"""

import json
import random
from pathlib import Path

SEED = 20261203
SIZES = {"train": 40, "dev": 50, "test": 50}

MENTIONS = [
    "order #{n}",
    "order {n}",
    "order number {n}",
    "order no. {n}",
    "my {n} order",
    "purchase #{n}",
    "order ref {n}",
    "the order {n}",
]

TEMPLATES = [
    "Hi, {m} arrived with a cracked screen. I paid ${price} and want a refund.",
    "Where is {m}? It was supposed to arrive on {date}.",
    "I was charged twice for {m}, ${price} each time. Please fix this.",
    "Can I change the delivery address for {m}? I moved on {date}.",
    "{M} is missing {qty} of the items I ordered.",
    "Please cancel {m}. I found it cheaper elsewhere for ${price}.",
    "The tracking page for {m} has not updated since {date}.",
    "I'd like to return {m}; it is the wrong size. Call me at extension {ext}.",
    "Hello! Just checking that {m} includes the {qty} gift cards.",
    "{M} came without an invoice. I need it for my company by {date}.",
    "The courier left {m} at the wrong door. My flat is number {flat}.",
    "Why was {m} split into {qty} parcels?",
    "I never received the discount code on {m}, which cost ${price}.",
    "Could you resend the confirmation email for {m}?",
    "My package for {m} was damaged in transit; {qty} plates are broken.",
    "Is it too late to add an item to {m}? I placed it on {date}.",
]

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
QUANTITIES = ["two", "three", "four", "2", "3", "5"]


def message(rng: random.Random, number: str) -> str:
    mention = rng.choice(MENTIONS).format(n=number)
    text = rng.choice(TEMPLATES)
    return text.format(
        m=mention,
        M=mention[0].upper() + mention[1:],
        price=f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}",
        date=f"{rng.randint(1, 28)} {rng.choice(MONTHS)}",
        qty=rng.choice(QUANTITIES),
        ext=rng.randint(100, 999),
        flat=rng.randint(1, 120),
    )


def main() -> None:
    rng = random.Random(SEED)
    total = sum(SIZES.values())
    numbers = rng.sample(range(100000, 1000000), total)
    here = Path(__file__).parent
    start = 0
    for split, size in SIZES.items():
        lines = []
        for n in numbers[start:start + size]:
            digits = str(n)
            lines.append(json.dumps({"message": message(rng, digits), "order_id": f"ORD-{digits}"}))
        start += size
        (here / f"{split}.jsonl").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
