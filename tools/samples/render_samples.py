#!/usr/bin/env python3
"""Renders the sample document images in assets/samples/ (an invoice with a total, a
receipt, a small table, a bar chart) so the demo and the tests have project-made inputs.

Tooling only: the images are committed; the product never runs Python. Deterministic for a
given Pillow version and font (DejaVu Sans from Debian's fonts-dejavu-core, else Pillow's
built-in font). Usage:  python3 tools/samples/render_samples.py [OUT_DIR]
"""
import os
import sys

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"


def font(size, bold=False):
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = os.path.join(FONT_DIR, name)
    if os.path.exists(path):
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def invoice(path):
    w, h = 800, 1000
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w, 110], fill=(32, 64, 128))
    d.text((40, 30), "INVOICE", font=font(44, True), fill="white")
    d.text((520, 30), "Invoice no. INV-2024-0173", font=font(18), fill="white")
    d.text((520, 60), "Date: 2024-03-14", font=font(18), fill="white")
    d.text((40, 140), "Bill to:", font=font(20, True), fill="black")
    for i, line in enumerate(["Acme Robotics Ltd.", "12 Harbour Street", "Springfield"]):
        d.text((40, 170 + 26 * i), line, font=font(20), fill="black")
    d.text((450, 140), "From:", font=font(20, True), fill="black")
    for i, line in enumerate(["Northwind Supplies", "7 Mill Lane", "Riverton"]):
        d.text((450, 170 + 26 * i), line, font=font(20), fill="black")
    top = 300
    cols = [40, 420, 540, 660]
    d.rectangle([30, top, w - 30, top + 40], fill=(225, 230, 240))
    for x, head in zip(cols, ["Description", "Qty", "Unit", "Amount"]):
        d.text((x, top + 8), head, font=font(20, True), fill="black")
    items = [("Servo motor SM-20", 4, 35.00), ("Controller board", 2, 89.50),
             ("Cable set (10 pcs)", 3, 12.25), ("Assembly service", 1, 120.00)]
    y = top + 55
    subtotal = 0.0
    for desc, qty, unit in items:
        amount = qty * unit
        subtotal += amount
        for x, val in zip(cols, [desc, str(qty), f"{unit:.2f}", f"{amount:.2f}"]):
            d.text((x, y), val, font=font(20), fill="black")
        y += 40
    d.line([30, y, w - 30, y], fill="black", width=2)
    tax = round(subtotal * 0.08, 2)
    total = subtotal + tax
    y += 20
    for label, val, bold in [("Subtotal", subtotal, False), ("Tax (8%)", tax, False), ("TOTAL DUE", total, True)]:
        d.text((420, y), label, font=font(22, bold), fill="black")
        d.text((660, y), f"${val:.2f}", font=font(22, bold), fill="black")
        y += 36
    d.text((40, h - 80), "Payment due within 30 days. Thank you for your business!", font=font(18), fill=(80, 80, 80))
    im.save(path, optimize=True)


def receipt(path):
    w, h = 420, 640
    im = Image.new("RGB", (w, h), (250, 248, 240))
    d = ImageDraw.Draw(im)
    d.text((110, 20), "CORNER CAFE", font=font(30, True), fill="black")
    d.text((120, 60), "Table 7  -  Server: Ana", font=font(16), fill="black")
    items = [("Cappuccino", 2, 3.80), ("Croissant", 2, 2.50), ("Orange juice", 1, 4.20), ("Bagel", 1, 3.10)]
    y = 110
    total = 0.0
    for name, qty, price in items:
        d.text((30, y), f"{qty} x {name}", font=font(20), fill="black")
        d.text((310, y), f"{qty * price:.2f}", font=font(20), fill="black")
        total += qty * price
        y += 34
    d.line([30, y + 5, w - 30, y + 5], fill="black", width=2)
    d.text((30, y + 20), "TOTAL", font=font(26, True), fill="black")
    d.text((290, y + 20), f"{total:.2f}", font=font(26, True), fill="black")
    d.text((30, y + 70), "Paid by card", font=font(18), fill="black")
    d.text((80, h - 50), "Thank you, come again!", font=font(18), fill=(90, 90, 90))
    im.save(path, optimize=True)


def table(path):
    rows = [("City", "Population", "Area km2"), ("Lisbon", "545,000", "100"), ("Porto", "232,000", "41"),
            ("Braga", "193,000", "183"), ("Coimbra", "140,000", "319")]
    w, h = 640, 300
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    d.text((20, 12), "Table 1: Largest cities", font=font(22, True), fill="black")
    x0, y0, cw, rh = 20, 55, 200, 44
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            box = [x0 + c * cw, y0 + r * rh, x0 + (c + 1) * cw, y0 + (r + 1) * rh]
            d.rectangle(box, outline="black", fill=(220, 228, 240) if r == 0 else "white")
            d.text((box[0] + 10, box[1] + 10), cell, font=font(20, r == 0), fill="black")
    im.save(path, optimize=True)


def chart(path):
    data = [("Q1", 42), ("Q2", 57), ("Q3", 35), ("Q4", 68)]
    w, h = 600, 420
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    d.text((150, 12), "Quarterly sales (units)", font=font(24, True), fill="black")
    base, left = 360, 70
    d.line([left, 60, left, base], fill="black", width=2)
    d.line([left, base, w - 30, base], fill="black", width=2)
    for v in range(0, 80, 20):
        y = base - v * 4
        d.text((25, y - 10), str(v), font=font(16), fill="black")
        d.line([left - 5, y, left, y], fill="black")
    colors = [(70, 130, 180), (60, 179, 113), (218, 165, 32), (205, 92, 92)]
    for i, ((label, v), col) in enumerate(zip(data, colors)):
        x = left + 30 + i * 125
        d.rectangle([x, base - v * 4, x + 80, base], fill=col)
        d.text((x + 25, base + 10), label, font=font(18), fill="black")
        d.text((x + 25, base - v * 4 - 24), str(v), font=font(16), fill="black")
    im.save(path, optimize=True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../assets/samples")
    os.makedirs(out, exist_ok=True)
    invoice(os.path.join(out, "invoice.png"))
    receipt(os.path.join(out, "receipt.png"))
    table(os.path.join(out, "table.png"))
    chart(os.path.join(out, "chart.png"))


if __name__ == "__main__":
    main()
