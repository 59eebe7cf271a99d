"""Random document content: company and person names, items, prices, dates, ids, addresses.

Everything draws from a numpy Generator passed in, so a seed fixes a document.
"""
from __future__ import annotations

import numpy as np

ADJ = ["Blue", "Green", "Golden", "Silver", "Red", "Old", "New", "North", "South", "East", "West", "Sunny",
       "Royal", "Happy", "Little", "Grand", "Bright", "Quiet", "Rapid", "Urban", "Central", "Coastal", "Maple",
       "Cedar", "Iron", "Crystal", "Prime", "Smart", "Fresh", "Lucky", "Star", "River", "Harbor", "Valley"]
NOUN = ["Market", "Cafe", "Bakery", "Hardware", "Books", "Pharmacy", "Grocer", "Deli", "Bistro", "Outlet",
        "Supply", "Traders", "Foods", "Kitchen", "Station", "Depot", "Store", "Shop", "Mart", "Works",
        "Garden", "Electronics", "Tools", "Office", "Pizza", "Coffee", "Diner", "Florist", "Print", "Goods"]
CORP = ["Ltd", "Inc", "LLC", "Co", "GmbH", "Group", "Corp", "& Sons", "Partners", "Systems", "Solutions",
        "Logistics", "Consulting", "Labs", "Industries", "Services"]
FIRST = ["Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Karin", "Liam",
         "Maria", "Nina", "Omar", "Paula", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Will", "Xena",
         "Yuki", "Zoe", "Alex", "Bruno", "Chloe", "Diego", "Emma", "Felix", "Hana", "Ivan", "Julia", "Kenji",
         "Lena", "Marco", "Noor", "Oscar", "Priya", "Rafael", "Sofia", "Tom", "Lucia", "Victor", "Wendy"]
LAST = ["Smith", "Novak", "Garcia", "Muller", "Rossi", "Tanaka", "Khan", "Silva", "Jensen", "Kowalski",
        "Dubois", "Okafor", "Larsen", "Petrov", "Moreau", "Weber", "Santos", "Ito", "Cohen", "Nguyen",
        "Fischer", "Brown", "Lopez", "Meyer", "Horvat", "Berg", "Walsh", "Costa", "Kim", "Schmidt",
        "Ward", "Price", "Young", "Hill", "Lindqvist", "Haddad", "Sato", "Ortiz", "Bauer", "Evans"]
ITEMS = ["Milk", "Bread", "Eggs", "Butter", "Coffee", "Tea", "Apples", "Bananas", "Rice", "Pasta",
         "Cheese", "Yogurt", "Orange Juice", "Chicken", "Tomatoes", "Onions", "Potatoes", "Flour", "Sugar",
         "Salt", "Olive Oil", "Cereal", "Chocolate", "Cookies", "Water", "Soda", "Soap", "Shampoo",
         "Toothpaste", "Paper Towels", "Notebook", "Pen Set", "Stapler", "Printer Paper", "Batteries",
         "Light Bulb", "Hammer", "Screws", "Tape", "Glue", "Scissors", "Envelopes", "Folder", "Marker",
         "Sandwich", "Salad", "Soup", "Muffin", "Croissant", "Latte", "Espresso", "Bagel", "Pizza Slice",
         "Burger", "Fries", "Lemonade", "Candles", "Mug", "Towel", "Charger", "USB Cable", "Headphones",
         "Mouse Pad", "Desk Lamp", "Plant Pot", "Seeds", "Gloves", "Socks", "Umbrella", "Backpack"]
SERVICES = ["Consulting hours", "Design work", "Web hosting", "Maintenance", "Installation", "Training session",
            "Software license", "Support plan", "Delivery", "Cleaning service", "Repair labor", "Photo shoot",
            "Translation", "Data backup", "Network setup", "Site visit", "Audit", "Catering", "Printing",
            "Legal review", "Storage rental", "Equipment rental", "Copy editing", "Survey", "Inspection"]
STREETS = ["Main St", "Oak Ave", "Pine Rd", "Elm St", "Lake Dr", "Hill Rd", "Park Ave", "Mill Ln", "River Rd",
           "King St", "Queen Ave", "Station Rd", "Market Sq", "Church St", "High St", "Bridge St", "Rose Ln"]
CITIES = ["Springfield", "Riverton", "Lakeside", "Fairview", "Kingston", "Milford", "Ashford", "Brookfield",
          "Greenville", "Newport", "Oakdale", "Westfield", "Clayton", "Dover", "Hampton", "Lincoln",
          "Madison", "Salem", "Weston", "Bristol"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
DEPTS = ["Sales", "Support", "Finance", "Research", "Marketing", "Operations", "Legal", "Design", "Logistics",
         "Quality", "Training", "Security"]
REGIONS = ["North", "South", "East", "West", "Central", "Europe", "Asia", "Americas", "Pacific", "Nordic"]
PRODUCTS = ["Alpha", "Beta", "Gamma", "Delta", "Orion", "Vega", "Nova", "Atlas", "Echo", "Zephyr", "Titan",
            "Lumen", "Pixel", "Quartz", "Comet"]
CURRENCIES = ["$", "$", "$", "EUR ", "GBP ", ""]
PAYMENTS = ["Cash", "Visa", "Mastercard", "Debit", "Amex", "Card", "Check", "Bank transfer"]


def pick(rng: np.random.Generator, xs):
    return xs[int(rng.integers(len(xs)))]


def picks(rng: np.random.Generator, xs, n):
    idx = rng.choice(len(xs), size=n, replace=False)
    return [xs[int(i)] for i in idx]


def vendor(rng) -> str:
    r = rng.random()
    if r < 0.45:
        return f"{pick(rng, ADJ)} {pick(rng, NOUN)}"
    if r < 0.75:
        return f"{pick(rng, LAST)}'s {pick(rng, NOUN)}"
    return f"{pick(rng, ADJ)} {pick(rng, NOUN)} {pick(rng, CORP)}"


def company(rng) -> str:
    if rng.random() < 0.5:
        return f"{pick(rng, LAST)} {pick(rng, CORP)}"
    return f"{pick(rng, ADJ)} {pick(rng, PRODUCTS)} {pick(rng, CORP)}"


def person(rng) -> str:
    return f"{pick(rng, FIRST)} {pick(rng, LAST)}"


def address(rng) -> tuple[str, str]:
    return (f"{int(rng.integers(1, 999))} {pick(rng, STREETS)}",
            f"{pick(rng, CITIES)} {int(rng.integers(10000, 99999))}")


def phone(rng) -> str:
    a, b, c = int(rng.integers(200, 999)), int(rng.integers(100, 999)), int(rng.integers(1000, 9999))
    return pick(rng, [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"+1 {a} {b} {c}"])


def date(rng) -> str:
    y, m, d = int(rng.integers(2015, 2027)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    style = int(rng.integers(5))
    if style == 0:
        return f"{y}-{m:02d}-{d:02d}"
    if style == 1:
        return f"{m:02d}/{d:02d}/{y}"
    if style == 2:
        return f"{d:02d}.{m:02d}.{y}"
    if style == 3:
        return f"{MONTHS[m - 1]} {d}, {y}"
    return f"{d} {MONTHS[m - 1][:3]} {y}"


def time_of_day(rng) -> str:
    return f"{int(rng.integers(7, 23)):02d}:{int(rng.integers(0, 60)):02d}"


def money(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def price_cents(rng, lo=50, hi=5000) -> int:
    c = int(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    if rng.random() < 0.4:
        c = c - c % 100 + int(pick(rng, [0, 49, 50, 95, 99]))
    return max(c, lo)


def invoice_number(rng) -> str:
    n = int(rng.integers(1000, 999999))
    return pick(rng, [f"INV-{n}", f"{n}", f"A{n:06d}", f"INV{int(rng.integers(2015, 2027))}-{n % 10000:04d}",
                      f"#{n}", f"IN-{n:06d}"])


def code(rng, prefix: str, digits: int = 6) -> str:
    return f"{prefix}{int(rng.integers(10 ** (digits - 1), 10 ** digits))}"


def email(rng, name: str, org: str) -> str:
    first = name.split()[0].lower()
    dom = "".join(ch for ch in org.split()[0].lower() if ch.isalpha()) or "mail"
    return f"{first}@{dom}.{pick(rng, ['com', 'net', 'org', 'io'])}"
