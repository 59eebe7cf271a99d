"""Document templates: receipts, invoices, forms and tables, three layout variants each.

make_doc(kind, variant, font_path, rng) -> Doc with the page image, question/answer pairs
(every answer is a string printed on the page, or a count) and a reading-order transcript.
Variant 2 of every kind is held out of training (see HELDOUT_VARIANT).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import content as C
from fonts import BOLD_OF
from render import Page, degrade, font, palette

KINDS = ["receipt", "invoice", "form", "table"]
VARIANTS = 3
HELDOUT_VARIANT = 2


@dataclass
class QA:
    question: str
    answers: list[str]
    qtype: str


@dataclass
class Doc:
    image: object
    qas: list[QA]
    transcript: str
    kind: str
    variant: int
    font: str
    meta: dict = field(default_factory=dict)


def _q(rng, forms, **kw):
    return C.pick(rng, forms).format(**kw)


def _bold(path: str) -> str:
    import os
    b = BOLD_OF.get(os.path.basename(path))
    return os.path.join(os.path.dirname(path), b) if b else path


def _cur(rng):
    return C.pick(rng, C.CURRENCIES)


# ------------------------------------------------------------------ receipt
def receipt(rng, fpath, variant, caps=False):
    size = int(rng.integers(15, 24))
    f, fb, fbig = font(fpath, size), font(_bold(fpath), size), font(_bold(fpath), size + int(rng.integers(3, 12)))
    paper, ink, accent = palette(rng)
    w = int(rng.integers(330, 470)) + 3 * (size - 15)
    qx_style = rng.random() < 0.4  # "2 x Item" on one line
    pg = Page(w, 1800, paper, ink, caps)
    lh = int(size * 1.45)
    m = int(rng.integers(10, 24))
    cur = _cur(rng)
    vendor, (street, city), ph = C.vendor(rng), C.address(rng), C.phone(rng)
    date, tm = C.date(rng), C.time_of_day(rng)
    rno = C.code(rng, C.pick(rng, ["", "R", "#", "No. "]), int(rng.integers(4, 7)))
    n = int(rng.integers(2, 8))
    names = C.picks(rng, C.ITEMS, n)
    qty = [int(rng.integers(1, 5)) if rng.random() < 0.4 else 1 for _ in range(n)]
    unit = [C.price_cents(rng, 50, 3000) for _ in range(n)]
    amt = [q * u for q, u in zip(qty, unit)]
    sub = sum(amt)
    rate = C.pick(rng, [0, 5, 7, 8, 10, 20])
    tax = round(sub * rate / 100)
    total = sub + tax
    pay = C.pick(rng, C.PAYMENTS)
    total_label = C.pick(rng, ["TOTAL", "Total", "TOTAL DUE", "Amount Due"] if variant != 2 else ["AMOUNT DUE", "Balance"])
    y = m
    cx = w // 2
    if variant == 0:
        pg.text(cx, y, vendor, fbig, "ma", fill=accent); y += int(lh * 1.4)
        pg.text(cx, y, street, f, "ma"); y += lh
        pg.text(cx, y, city, f, "ma"); y += lh
        pg.text(cx, y, f"Tel {ph}", f, "ma"); y += lh
        pg.text(m, y, date, f); pg.text(w - m, y, tm, f, "ra"); y += lh
        pg.text(m, y, f"Receipt {rno}", f); y += lh
    elif variant == 1:
        pg.text(m, y, vendor.upper(), fbig, fill=accent); y += int(lh * 1.4)
        pg.text(m, y, f"{street}, {city}", f); y += lh
        pg.text(m, y, f"Date: {date}  {tm}", f); y += lh
        pg.text(m, y, f"Receipt no: {rno}", f); y += lh
    else:
        pg.rect(m, y, w - m, y + int(lh * 1.8), outline=accent, width=2)
        pg.text(cx, y + int(lh * 0.35), vendor.upper(), fbig, "ma", fill=accent); y += int(lh * 2.2)
        pg.text(cx, y, f"{street} - {city}", f, "ma"); y += lh
        pg.text(cx, y, ph, f, "ma"); y += lh
    pg.dashes(m, w - m, y, f); y += lh
    if variant == 1:
        pg.text(m, y, "QTY", fb); pg.text(m + 50, y, "ITEM", fb); pg.text(w - m, y, "PRICE", fb, "ra"); y += lh
    for i in range(n):
        a = f"{cur}{C.money(amt[i])}" if variant == 2 else C.money(amt[i])
        if variant == 0 and qx_style:
            pg.text(m, y, f"{qty[i]} x {names[i]}", f); pg.text(w - m, y, C.money(amt[i]), f, "ra"); y += lh
        elif variant == 0:
            pg.text(m, y, names[i], f); pg.text(w - m, y, C.money(amt[i]), f, "ra"); y += lh
            if qty[i] > 1:
                pg.text(m + 20, y, f"{qty[i]} x {C.money(unit[i])}", f); y += lh
        elif variant == 1:
            pg.text(m, y, str(qty[i]), f); pg.text(m + 50, y, names[i], f); pg.text(w - m, y, C.money(amt[i]), f, "ra"); y += lh
        else:
            pg.text(m, y, f"{qty[i]} {names[i]}", f); pg.text(w - m, y, a, f, "ra"); y += lh
    pg.dashes(m, w - m, y, f); y += lh
    if rate:
        pg.text(m, y, "Subtotal", f); pg.text(w - m, y, C.money(sub), f, "ra"); y += lh
        pg.text(m, y, f"Tax {rate}%", f); pg.text(w - m, y, C.money(tax), f, "ra"); y += lh
    tstr = f"{cur}{C.money(total)}"
    pg.text(m, y, total_label, fb); pg.text(w - m, y, tstr, fb, "ra"); y += int(lh * 1.3)
    pg.text(m, y, f"Paid by {pay}", f); y += lh
    if variant == 2:
        pg.text(m, y, f"{date} {tm}", f); y += lh
        pg.text(m, y, f"Receipt {rno}", f); y += lh
    pg.text(cx, y + lh // 2, C.pick(rng, ["Thank you!", "Thank you for shopping", "Have a nice day", "See you soon"]),
            f, "ma"); y += 2 * lh
    y += int(rng.integers(0, 3)) * int(rng.integers(0, 120))  # blank paper below, sometimes
    pg.img = pg.img.crop((0, 0, w, y + m))
    qas = [
        QA(_q(rng, ["What is the total?", "What is the total amount?", "How much is the total?",
                    "What is the total amount due?"]), [tstr, C.money(total)], "total"),
        QA(_q(rng, ["What is the date?", "What is the date on the receipt?", "When was this purchase made?"]),
           [date], "date"),
        QA(_q(rng, ["What is the name of the store?", "Who is the vendor?", "What is the store name?"]),
           [vendor, vendor.upper()], "vendor"),
        QA(_q(rng, ["How many items are listed?", "How many different items were bought?"]), [str(n)], "count"),
        QA(_q(rng, ["How was the purchase paid?", "What payment method was used?"]), [pay], "field"),
        QA(_q(rng, ["What is the receipt number?"]), [rno], "id"),
    ]
    for i in C.picks(rng, list(range(n)), min(n, 3)):
        a = [C.money(amt[i])] + ([f"{cur}{C.money(amt[i])}"] if variant == 2 else [])
        qas.append(QA(_q(rng, ["What is the price of the {x}?", "How much did the {x} cost?",
                               "What amount is charged for {x}?"], x=names[i]), a, "price"))
        qas.append(QA(_q(rng, ["How many {x} were bought?", "What is the quantity of {x}?"], x=names[i]),
                      [str(qty[i])], "quantity"))
    if rate:
        qas.append(QA(_q(rng, ["What is the tax amount?", "How much tax was charged?"]), [C.money(tax)], "total"))
        qas.append(QA(_q(rng, ["What is the subtotal?"]), [C.money(sub)], "total"))
    return pg, qas


# ------------------------------------------------------------------ invoice
def invoice(rng, fpath, variant, caps=False):
    size = int(rng.integers(14, 18))
    f, fb = font(fpath, size), font(_bold(fpath), size)
    fbig = font(_bold(fpath), size + int(rng.integers(8, 16)))
    paper, ink, accent = palette(rng)
    w = int(rng.integers(580, 780))
    pg = Page(w, 2000, paper, ink, caps)
    lh = int(size * 1.5)
    m = int(rng.integers(20, 40))
    cur = _cur(rng)
    seller, (s1, s2) = C.company(rng), C.address(rng)
    cust_org, cust, (c1, c2) = C.company(rng), C.person(rng), C.address(rng)
    inv, date, due = C.invoice_number(rng), C.date(rng), C.date(rng)
    n = int(rng.integers(2, 7))
    pool = C.SERVICES + C.ITEMS
    names = C.picks(rng, pool, n)
    qty = [int(rng.integers(1, 20)) for _ in range(n)]
    unit = [C.price_cents(rng, 500, 50000) for _ in range(n)]
    amt = [q * u for q, u in zip(qty, unit)]
    sub = sum(amt)
    rate = C.pick(rng, [0, 5, 8, 10, 19, 20])
    tax = round(sub * rate / 100)
    total = sub + tax
    y = m
    if variant == 0:
        pg.text(m, y, seller, fbig, fill=accent)
        pg.text(w - m, y, "INVOICE", fbig, "ra"); y += int(lh * 2)
        pg.text(m, y, s1, f); pg.text(w - m, y, f"Invoice No: {inv}", f, "ra"); y += lh
        pg.text(m, y, s2, f); pg.text(w - m, y, f"Date: {date}", f, "ra"); y += lh
        pg.text(w - m, y, f"Due date: {due}", f, "ra"); y += int(lh * 1.5)
        pg.text(m, y, "Bill to:", fb); y += lh
    elif variant == 1:
        pg.text(w // 2, y, "INVOICE", fbig, "ma", fill=accent); y += int(lh * 2)
        pg.text(m, y, "From:", fb); pg.text(w // 2, y, "Invoice #", fb); pg.text(w - m, y, inv, f, "ra"); y += lh
        pg.text(m, y, seller, f); pg.text(w // 2, y, "Issued", fb); pg.text(w - m, y, date, f, "ra"); y += lh
        pg.text(m, y, f"{s1}, {s2}", f); pg.text(w // 2, y, "Due", fb); pg.text(w - m, y, due, f, "ra")
        y += int(lh * 1.5)
        pg.text(m, y, "Customer:", fb); y += lh
    else:
        pg.rect(0, 0, w, int(lh * 2.6), fill=accent)
        pg.text(m, int(lh * 0.6), seller, fbig, fill=paper); y = int(lh * 3.2)
        pg.text(m, y, "BILLED TO", fb); pg.text(w // 2 + 20, y, "INVOICE NUMBER", fb); y += lh
        pg.text(w // 2 + 20, y + lh, inv, f)
    pg.text(m, y, cust, f); y += lh
    pg.text(m, y, cust_org, f); y += lh
    pg.text(m, y, f"{c1}, {c2}", f); y += int(lh * 1.5)
    if variant == 2:
        pg.text(m, y, f"Date of issue: {date}", f); pg.text(w // 2 + 20, y, f"Payment due: {due}", f)
        y += int(lh * 1.5)
    cols = [m, int(w * 0.55), int(w * 0.72), w - m]
    heads = C.pick(rng, [["Description", "Qty", "Unit Price", "Amount"], ["Item", "Quantity", "Rate", "Total"]])
    if variant == 2:
        pg.rect(m - 4, y - 3, w - m + 4, y + lh - 2, fill=(225, 225, 225))
    pg.text(cols[0], y, heads[0], fb); pg.text(cols[1], y, heads[1], fb, "ra")
    pg.text(cols[2] + 60, y, heads[2], fb, "ra"); pg.text(cols[3], y, heads[3], fb, "ra"); y += lh
    pg.line(m, y - 3, w - m, y - 3)
    for i in range(n):
        pg.text(cols[0], y, names[i], f); pg.text(cols[1], y, str(qty[i]), f, "ra")
        pg.text(cols[2] + 60, y, C.money(unit[i]), f, "ra"); pg.text(cols[3], y, C.money(amt[i]), f, "ra"); y += lh
        if variant == 1:
            pg.line(m, y - 3, w - m, y - 3, fill=(190, 190, 190))
    pg.line(m, y, w - m, y); y += lh // 2
    lx = int(w * 0.55)
    pg.text(lx, y, "Subtotal", f); pg.text(w - m, y, C.money(sub), f, "ra"); y += lh
    pg.text(lx, y, f"Tax ({rate}%)", f); pg.text(w - m, y, C.money(tax), f, "ra"); y += lh
    tl = C.pick(rng, ["Total", "Total due", "Amount due", "TOTAL"] if variant != 2 else ["Balance due", "Grand total"])
    tstr = f"{cur}{C.money(total)}"
    pg.text(lx, y, tl, fb); pg.text(w - m, y, tstr, fb, "ra"); y += int(lh * 2)
    pg.text(m, y, C.pick(rng, ["Thank you for your business.", "Payment within 30 days.",
                               "Please include the invoice number with your payment."]), f); y += lh
    pg.img = pg.img.crop((0, 0, w, y + m))
    qas = [
        QA(_q(rng, ["What is the invoice number?", "What is the number of this invoice?"]), [inv], "id"),
        QA(_q(rng, ["What is the invoice date?", "When was the invoice issued?", "What is the date of the invoice?"]),
           [date], "date"),
        QA(_q(rng, ["What is the due date?", "When is the payment due?"]), [due], "date"),
        QA(_q(rng, ["Who issued the invoice?", "What is the name of the vendor?", "Which company sent this invoice?"]),
           [seller], "vendor"),
        QA(_q(rng, ["Who is the customer?", "To whom is the invoice billed?", "What is the customer's name?"]),
           [cust], "customer"),
        QA(_q(rng, ["What is the total?", "What is the total amount due?", "How much is due in total?"]),
           [tstr, C.money(total)], "total"),
        QA(_q(rng, ["What is the subtotal?"]), [C.money(sub)], "total"),
        QA(_q(rng, ["What is the tax amount?", "How much tax is charged?"]), [C.money(tax)], "total"),
        QA(_q(rng, ["How many line items are on the invoice?", "How many items are listed?"]), [str(n)], "count"),
    ]
    for i in C.picks(rng, list(range(n)), min(n, 3)):
        qas.append(QA(_q(rng, ["What is the quantity of {x}?", "How many units of {x} are billed?"], x=names[i]),
                      [str(qty[i])], "quantity"))
        qas.append(QA(_q(rng, ["What is the unit price of {x}?"], x=names[i]), [C.money(unit[i])], "price"))
        qas.append(QA(_q(rng, ["What is the amount for {x}?", "What is the total for {x}?"], x=names[i]),
                      [C.money(amt[i])], "price"))
    return pg, qas
