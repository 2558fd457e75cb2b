"""Write the small CSV files the realistic_more test notebooks read (issue 11).

Run from anywhere: ``python tests/notebooks/realistic_more/data/make_data.py``. Seeded, so the
output is the same every time; the CSVs it writes are committed beside it. Each file is kept
well under 100 KB. As in the issue 10 corpus the data is a little messy on purpose: ids the
models never read, dates stored as text, stray case in categories, and categories so rare that
a train/test split or a single scored record can miss them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20240702


def _dates(rng: np.random.Generator, n: int, start: str, days: int) -> pd.Series:
    base = pd.Timestamp(start)
    return pd.Series([(base + pd.Timedelta(days=int(d))).strftime("%Y-%m-%d")
                      for d in rng.integers(0, days, n)])


FEEDBACK = {
    "complaint": ["the app keeps crashing when I open {x}", "waited forty minutes for {x}",
                  "charged twice for {x}, not happy", "{x} arrived cold and late",
                  "nobody answered about {x}", "terrible experience with {x}",
                  "{x} was broken again", "refund for {x} still not processed"],
    "praise": ["really happy with {x}", "{x} was quick and friendly",
               "great job on {x}, thank you", "love the new {x}", "{x} exceeded expectations",
               "smooth experience with {x}", "staff were lovely about {x}",
               "five stars for {x}"],
}
THINGS = ["delivery", "the order", "checkout", "support", "the driver", "my booking",
          "the update", "the menu", "the refund"]

TICKETS = {
    "billing": ["invoice {n} shows the wrong amount", "card declined on renewal",
                "please cancel my subscription and refund", "double charge on invoice {n}",
                "how do I change the billing address", "vat number missing on invoice {n}"],
    "technical": ["error {n} when uploading a file", "sync stopped working on android",
                  "page times out after login", "export to csv produces an empty file",
                  "api returns 500 for endpoint {n}", "cannot connect the printer"],
    "account": ["reset my password please", "locked out after too many attempts",
                "change the email on my account", "add a second user to the team",
                "two factor code never arrives", "delete my account and data"],
}


def feedback(rng: np.random.Generator, n: int = 600) -> pd.DataFrame:
    """Short customer feedback messages labelled complaint or praise."""
    label = rng.choice(["complaint", "praise"], n, p=[0.45, 0.55])
    texts = []
    for lab in label:
        text = str(rng.choice(FEEDBACK[lab])).replace("{x}", str(rng.choice(THINGS)))
        if rng.random() < 0.15:  # mixed messages
            other = "praise" if lab == "complaint" else "complaint"
            text += ", but " + str(rng.choice(FEEDBACK[other])).replace("{x}", "the app")
        text += str(rng.choice(["", "!", ".", "!!", " :)", " :("]))
        texts.append(text.capitalize() if rng.random() < 0.5 else text)
    return pd.DataFrame({
        "feedback_id": np.arange(1, n + 1),
        "received": _dates(rng, n, "2023-03-01", 200),
        "text": texts,
        "label": label,
    })


def tickets(rng: np.random.Generator, n: int = 540) -> pd.DataFrame:
    """Helpdesk tickets and the team that handled them."""
    team = rng.choice(list(TICKETS), n, p=[0.35, 0.4, 0.25])
    texts = []
    for t in team:
        text = str(rng.choice(TICKETS[t])).replace("{n}", str(rng.integers(100, 9999)))
        if rng.random() < 0.2:
            text += " " + str(rng.choice(["thanks", "urgent", "asap", "please help", "again"]))
        texts.append(text.upper() if rng.random() < 0.04 else text)
    return pd.DataFrame({
        "ticket": [f"HD-{40000 + i}" for i in range(n)],
        "opened": _dates(rng, n, "2023-06-01", 120),
        "subject": texts,
        "team": team,
    })


def rentals(rng: np.random.Generator, n: int = 420) -> pd.DataFrame:
    """Flat rents: monthly rent from size, rooms, floor, distance to the centre, balcony."""
    area = rng.normal(62, 20, n).clip(18, 160).round()
    rooms = np.clip((area / 25 + rng.normal(0, 0.6, n)).round(), 1, 6).astype(int)
    floor = rng.integers(0, 12, n)
    dist = rng.gamma(2.0, 2.2, n).round(1)
    balcony = rng.choice(["yes", "no"], n, p=[0.4, 0.6])
    district = rng.choice(["centre", "north", "south", "harbour"], n, p=[0.3, 0.3, 0.3, 0.1])
    rent = (350 + 13.5 * area + 40 * rooms + 8 * floor - 38 * dist
            + 60 * (balcony == "yes") + rng.normal(0, 90, n)).round()
    return pd.DataFrame({
        "listing_id": [f"L{5000 + i}" for i in range(n)],
        "listed_on": _dates(rng, n, "2023-01-01", 365),
        "district": district,
        "area_m2": area,
        "rooms": rooms,
        "floor": floor,
        "dist_centre_km": dist,
        "balcony": balcony,
        "rent": rent,
    })


def bikes(rng: np.random.Generator, n: int = 900) -> pd.DataFrame:
    """Hourly bike-share rentals with the weather at the time."""
    hour = rng.integers(0, 24, n)
    workingday = rng.choice([0, 1], n, p=[0.3, 0.7])
    temp = rng.normal(16, 7, n).round(1)
    humidity = rng.uniform(25, 98, n).round()
    wind = rng.gamma(2.0, 5.0, n).round(1)
    weather = rng.choice(["clear", "cloudy", "rain"], n, p=[0.55, 0.3, 0.15])
    rush = np.where(workingday == 1, np.exp(-((hour - 8) ** 2) / 3) + np.exp(-((hour - 17.5) ** 2) / 4),
                    0.8 * np.exp(-((hour - 14) ** 2) / 12))
    base = 30 + 260 * rush + 6 * temp.clip(0, 30) - 0.8 * humidity - 1.5 * wind
    base = base * np.where(weather == "rain", 0.45, np.where(weather == "cloudy", 0.85, 1.0))
    count = np.maximum(0, base + rng.normal(0, 25, n)).round().astype(int)
    return pd.DataFrame({
        "timestamp": [f"2023-{m:02d}-{d:02d} {h:02d}:00" for m, d, h in
                      zip(rng.integers(1, 13, n), rng.integers(1, 29, n), hour)],
        "hour": hour,
        "workingday": workingday,
        "weather": weather,
        "temp": temp,
        "humidity": humidity,
        "windspeed": wind,
        "count": count,
    })


def loans(rng: np.random.Generator, n: int = 700) -> pd.DataFrame:
    """Personal loans and whether they defaulted."""
    income = rng.lognormal(10.6, 0.45, n).round(-2)
    amount = (income * rng.uniform(0.1, 0.8, n)).round(-2)
    term = rng.choice([12, 24, 36, 60], n, p=[0.2, 0.3, 0.35, 0.15])
    score = rng.normal(670, 60, n).clip(420, 850).round()
    years = rng.integers(0, 25, n)
    home = rng.choice(["rent", "own", "mortgage"], n, p=[0.45, 0.15, 0.4])
    logit = (-2.0 + 3.2 * amount / income - 0.012 * (score - 670) - 0.05 * years
             + 0.015 * term + 0.35 * (home == "rent"))
    default = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "loan_id": np.arange(90001, 90001 + n),
        "applied": _dates(rng, n, "2022-01-01", 500),
        "income": income,
        "loan_amount": amount,
        "term_months": term,
        "credit_score": score,
        "years_employed": years,
        "home": home,
        "default": default,
    })


def plans(rng: np.random.Generator, n: int = 360) -> pd.DataFrame:
    """Subscribers of a SaaS product: plan, region, usage and churn. 'enterprise' and the
    'islands' region are rare on purpose (a split or one scored record can miss them)."""
    plan = rng.choice(["basic", "standard", "premium", "enterprise"], n,
                      p=[0.42, 0.35, 0.19, 0.04])
    region = rng.choice(["north", "south", "east", "west", "islands"], n,
                        p=[0.3, 0.25, 0.2, 0.22, 0.03])
    fee = pd.Series(plan).map({"basic": 9, "standard": 19, "premium": 39,
                               "enterprise": 99}).to_numpy() * rng.uniform(0.9, 1.1, n)
    tenure = rng.integers(1, 60, n)
    seats = np.where(plan == "enterprise", rng.integers(20, 200, n), rng.integers(1, 12, n))
    logins = rng.poisson(12, n)
    logit = (0.6 - 0.05 * tenure - 0.08 * logins + 0.6 * (plan == "basic")
             - 0.9 * (plan == "enterprise") + 0.4 * (region == "islands"))
    churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "customer": [f"C{3000 + i}" for i in range(n)],
        "signup": _dates(rng, n, "2020-01-01", 1200),
        "plan": plan,
        "region": region,
        "monthly_fee": fee.round(2),
        "tenure_months": tenure,
        "seats": seats,
        "logins_per_month": logins,
        "churned": churn,
    })


def main() -> None:
    rng = np.random.default_rng(SEED)
    out = {
        "feedback.csv": feedback(rng),
        "tickets.csv": tickets(rng),
        "rentals.csv": rentals(rng),
        "bikes.csv": bikes(rng),
        "loans.csv": loans(rng),
        "plans.csv": plans(rng),
    }
    for name, frame in out.items():
        frame.to_csv(HERE / name, index=False)
        size = (HERE / name).stat().st_size
        assert size < 100_000, (name, size)
        print(f"{name}: {len(frame)} rows, {size // 1024} KB")


if __name__ == "__main__":
    main()
