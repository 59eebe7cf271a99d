"""Form and table templates (three layout variants each; variant 2 is held out of training)."""
from __future__ import annotations

import content as C
from render import Page, font, palette
from templates import QA, _bold, _q

FORM_TITLES = ["Registration Form", "Employee Information", "Application Form", "Customer Details",
               "Membership Form", "Patient Intake Form", "Order Form", "Change of Address"]


def _form_fields(rng):
    name, org = C.person(rng), C.company(rng)
    street, city = C.address(rng)
    pool = [
        ("Name", name), ("Full name", name), ("Date of birth", C.date(rng)), ("Phone", C.phone(rng)),
        ("Email", C.email(rng, name, org)), ("Address", street), ("City", city), ("Company", org),
        ("Department", C.pick(rng, C.DEPTS)), ("Employee ID", C.code(rng, "E", 5)),
        ("Start date", C.date(rng)), ("Member number", C.code(rng, "M", 6)), ("Reference", C.code(rng, "REF-", 5)),
        ("Account number", C.code(rng, "", 8)), ("Position", C.pick(rng, ["Manager", "Engineer", "Clerk",
                                                                          "Analyst", "Designer", "Driver"])),
        ("Amount", C.money(C.price_cents(rng, 1000, 900000))), ("Signature date", C.date(rng)),
        ("Country", C.pick(rng, ["Canada", "Germany", "Japan", "Brazil", "Kenya", "Norway", "India", "Spain"])),
    ]
    k = int(rng.integers(5, 10))
    chosen, seen = [], set()
    for i in rng.permutation(len(pool)):
        lab, val = pool[int(i)]
        base = "name" if lab in ("Name", "Full name") else lab
        if base in seen:
            continue
        seen.add(base)
        chosen.append((lab, val))
        if len(chosen) == k:
            break
    return chosen


def form(rng, fpath, variant, caps=False):
    size = int(rng.integers(15, 20))
    f, fb = font(fpath, size), font(_bold(fpath), size)
    fbig = font(_bold(fpath), size + int(rng.integers(5, 10)))
    fsmall = font(fpath, max(11, size - 4))
    paper, ink, accent = palette(rng)
    w = int(rng.integers(520, 760))
    pg = Page(w, 1600, paper, ink, caps)
    lh = int(size * 1.6)
    m = int(rng.integers(20, 40))
    title = C.pick(rng, FORM_TITLES)
    fields = _form_fields(rng)
    y = m
    pg.text(w // 2 if variant != 1 else m, y, title, fbig, "ma" if variant != 1 else "la", fill=accent)
    y += int(lh * 1.8)
    if variant == 0:
        lw = max(pg.width(lab + ":", fb) for lab, _ in fields) + 14
        for lab, val in fields:
            pg.text(m, y, lab + ":", fb); pg.text(m + lw, y, val, f)
            pg.line(m + lw - 4, y + size + 4, w - m, y + size + 4, fill=(150, 150, 150)); y += int(lh * 1.2)
    elif variant == 1:
        colw = (w - 2 * m) // 2
        for i, (lab, val) in enumerate(fields):
            x = m + (i % 2) * colw
            if i % 2 == 0 and i:
                y += int(lh * 2.2)
            pg.text(x, y, lab, fsmall, fill=accent)
            pg.text(x, y + int(size * 1.1), val, f)
            pg.line(x, y + int(size * 2.3), x + colw - 20, y + int(size * 2.3), fill=(120, 120, 120))
        y += int(lh * 2.4)
    else:
        colw = (w - 2 * m) // 2
        bh = int(size * 2.8)
        for i, (lab, val) in enumerate(fields):
            x = m + (i % 2) * colw
            if i % 2 == 0 and i:
                y += bh
            pg.rect(x, y, x + colw, y + bh, outline=ink)
            pg.text(x + 5, y + 3, lab.upper(), fsmall, fill=accent)
            pg.text(x + 8, y + int(size * 1.25), val, f)
        y += bh + lh
    pg.text(m, y, C.pick(rng, ["Please print clearly.", "Office use only: ____", "Signature: ______________"]),
            fsmall); y += lh
    pg.img = pg.img.crop((0, 0, w, y + m))
    qas = [QA(_q(rng, ["What is the title of the form?", "What form is this?"]), [title], "field")]
    for lab, val in fields:
        ql = lab.lower()
        qas.append(QA(_q(rng, ["What is the {l}?", "What is written in the {L} field?",
                               "What is the value of the field '{L}'?"], l=ql, L=lab), [val], "field"))
    qas.append(QA(_q(rng, ["How many fields are filled in?"]), [str(len(fields))], "count"))
    return pg, qas


TABLE_ROWS = [("Region", C.REGIONS), ("Department", C.DEPTS), ("Product", C.PRODUCTS), ("City", C.CITIES)]
TABLE_COLS = [["Q1", "Q2", "Q3", "Q4"], ["2021", "2022", "2023", "2024", "2025"], ["Jan", "Feb", "Mar", "Apr", "May", "Jun"],
              ["Units", "Price", "Revenue"], ["Budget", "Actual", "Variance"], ["Min", "Max", "Mean"]]
TABLE_TITLES = ["Quarterly Sales", "Annual Report", "Monthly Summary", "Budget Overview", "Inventory Report",
                "Performance by", "Results by", "Statistics by"]


def table(rng, fpath, variant, caps=False):
    size = int(rng.integers(14, 19))
    f, fb = font(fpath, size), font(_bold(fpath), size)
    fbig = font(_bold(fpath), size + int(rng.integers(4, 9)))
    paper, ink, accent = palette(rng)
    rowname, rowpool = TABLE_ROWS[int(rng.integers(len(TABLE_ROWS)))]
    cols = list(TABLE_COLS[int(rng.integers(len(TABLE_COLS)))])
    ncols = int(rng.integers(2, len(cols) + 1))
    cols = cols[:ncols]
    nrows = int(rng.integers(2, 7))
    rows = C.picks(rng, rowpool, nrows)
    decimals = rng.random() < 0.4
    vals = [[(f"{rng.uniform(0, 999):.1f}" if decimals else f"{int(rng.integers(0, 9999)):,}") for _ in cols]
            for _ in rows]
    title = C.pick(rng, TABLE_TITLES)
    if title.endswith("by"):
        title = f"{title} {rowname}"
    cw = max(int(max(pg_w(fb, c, caps) for c in cols + ["8,888.8"]) + 30), 80)
    rw = int(max(pg_w(fb, r, caps) for r in rows + [rowname]) + 30)
    m = int(rng.integers(16, 36))
    w = max(m * 2 + rw + cw * ncols, 360)
    rh = int(size * (1.8 if variant != 1 else 1.6))
    pg = Page(w, m * 2 + rh * (nrows + 4), paper, ink, caps)
    y = m
    pg.text(m, y, title, fbig, fill=accent); y += int(rh * 1.5)
    top = y
    xs = [m, m + rw] + [m + rw + cw * (j + 1) for j in range(ncols)]
    if variant == 2:
        pg.rect(m, y, xs[-1], y + rh, fill=accent)
    hdr_fill = paper if variant == 2 else None
    pg.text(m + 6, y + (rh - size) // 2, rowname, fb, fill=hdr_fill)
    for j, c in enumerate(cols):
        pg.text(xs[j + 2] - 8, y + (rh - size) // 2, c, fb, "ra", fill=hdr_fill)
    y += rh
    if variant == 1:
        pg.line(m, y - 2, xs[-1], y - 2, width=2)
    for i, r in enumerate(rows):
        if variant == 1 and i % 2 == 1:
            pg.rect(m, y, xs[-1], y + rh - 1, fill=(235, 238, 242))
        pg.text(m + 6, y + (rh - size) // 2, r, f)
        for j in range(ncols):
            pg.text(xs[j + 2] - 8, y + (rh - size) // 2, vals[i][j], f, "ra")
        y += rh
    if variant == 0:
        for k in range(nrows + 2):
            pg.line(m, top + k * rh, xs[-1], top + k * rh)
        for x in xs:
            pg.line(x, top, x, top + (nrows + 1) * rh)
    elif variant == 2:
        pg.rect(m, top, xs[-1], y, outline=ink)
    pg.img = pg.img.crop((0, 0, w, y + m))
    qas = [QA(_q(rng, ["What is the title of the table?"]), [title], "field"),
           QA(_q(rng, ["How many rows of data does the table have?", "How many {r} entries are in the table?"],
                 r=rowname.lower()), [str(nrows)], "count")]
    for _ in range(min(4, nrows * ncols)):
        i, j = int(rng.integers(nrows)), int(rng.integers(ncols))
        qas.append(QA(_q(rng, ["What is the value for {r} in {c}?", "In the table, what is the {c} value of {r}?",
                               "What is the {c} for {r}?"], r=rows[i], c=cols[j]), [vals[i][j]], "cell"))
    return pg, qas


def pg_w(fnt, s, caps=False) -> float:  # Page.width before the Page exists
    return fnt.getlength(s.upper() if caps else s)
