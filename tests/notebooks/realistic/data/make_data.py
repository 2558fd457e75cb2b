"""Write the small, messy CSV files the realistic test notebooks read.

Run from anywhere: ``python tests/notebooks/realistic/data/make_data.py``. Seeded, so the
output is the same every time; the CSVs it writes are committed beside it. Each file is kept
well under 100 KB. The messiness is deliberate: missing values, string categories with stray
spaces and case, id columns the models never read, dates stored as text, free-text columns,
a few outliers and duplicated rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20240611


def _dates(rng: np.random.Generator, n: int, start: str, days: int) -> pd.Series:
    base = pd.Timestamp(start)
    return pd.Series([(base + pd.Timedelta(days=int(d))).strftime("%Y-%m-%d")
                      for d in rng.integers(0, days, n)])


def _blank(rng: np.random.Generator, values: pd.Series, rate: float) -> pd.Series:
    values = values.astype(object).copy()
    values[rng.random(len(values)) < rate] = np.nan
    return values


def houses(rng: np.random.Generator, n: int = 520) -> pd.DataFrame:
    """House sales: price from size, rooms, age, neighbourhood and condition."""
    hoods = np.array(["Northside", "Riverside", "Old Town", "Hillcrest", "Eastgate"])
    hood_premium = {"Northside": 40_000, "Riverside": 65_000, "Old Town": 25_000,
                    "Hillcrest": 90_000, "Eastgate": 0}
    conditions = np.array(["poor", "fair", "good", "excellent"])
    hood = rng.choice(hoods, n, p=[0.25, 0.2, 0.2, 0.15, 0.2])
    sqft = rng.normal(1650, 480, n).clip(450, 4200).round()
    bedrooms = np.clip((sqft / 550 + rng.normal(0, 0.8, n)).round(), 1, 7).astype(int)
    bathrooms = np.clip((bedrooms * 0.6 + rng.normal(0, 0.5, n)).round() / 1, 1, 5)
    year_built = rng.integers(1925, 2022, n)
    condition = rng.choice(conditions, n, p=[0.08, 0.27, 0.45, 0.2])
    lot = (sqft * rng.uniform(1.8, 4.5, n)).round(-1)
    garage = rng.choice(["yes", "no"], n, p=[0.65, 0.35])
    sold = _dates(rng, n, "2019-01-01", 5 * 365)
    cond_bonus = pd.Series(condition).map({"poor": -30_000, "fair": -8_000, "good": 0,
                                           "excellent": 35_000}).to_numpy()
    price = (55_000 + 142 * sqft + 6_500 * bathrooms - 420 * (2023 - year_built)
             + pd.Series(hood).map(hood_premium).to_numpy() + cond_bonus
             + 12_000 * (garage == "yes") + rng.normal(0, 22_000, n)).round(-2)
    words = {"poor": ["needs work", "fixer-upper", "sold as is"],
             "fair": ["solid bones", "dated kitchen", "quiet street"],
             "good": ["well kept", "updated bath", "sunny yard"],
             "excellent": ["fully renovated", "chef's kitchen", "move-in ready"]}
    description = [f"{rng.choice(words[c])}, {b} bed, {rng.choice(['near park', 'corner lot', 'close to schools', 'cul-de-sac', 'busy road'])}"
                   for c, b in zip(condition, bedrooms)]
    df = pd.DataFrame({
        "house_id": [f"H{1000 + i}" for i in range(n)],
        "sold_on": sold,
        "neighborhood": hood,
        "sqft": sqft,
        "bedrooms": bedrooms,
        "bathrooms": bathrooms,
        "year_built": year_built,
        "lot_size": _blank(rng, pd.Series(lot), 0.09),
        "garage": _blank(rng, pd.Series(garage), 0.05),
        "condition": condition,
        "description": description,
        "price": price,
    })
    # a few data-entry outliers (an extra zero) and typo'd categories
    bad = rng.choice(n, 6, replace=False)
    df.loc[bad, "sqft"] = df.loc[bad, "sqft"] * 10
    df.loc[rng.choice(n, 8, replace=False), "neighborhood"] = " northside"
    df.loc[rng.choice(n, 5, replace=False), "price"] = np.nan
    return df


def loans(rng: np.random.Generator, n: int = 640) -> pd.DataFrame:
    """Loan applications and whether the loan defaulted."""
    purposes = ["car", "home_improvement", "education", "debt_consolidation", "medical",
                "other"]
    employment = ["salaried", "self-employed", "unemployed", "retired"]
    age = rng.integers(19, 76, n)
    income = rng.lognormal(10.6, 0.45, n).round(-2)
    amount = (rng.lognormal(9.1, 0.6, n)).round(-2)
    term = rng.choice([36, 60], n, p=[0.7, 0.3])
    purpose = rng.choice(purposes, n, p=[0.2, 0.15, 0.1, 0.35, 0.08, 0.12])
    emp = rng.choice(employment, n, p=[0.62, 0.2, 0.08, 0.1])
    history = np.clip(age - 18 - rng.integers(0, 10, n), 0, None).astype(float)
    late = rng.poisson(0.7, n)
    logit = (-2.2 + 2.2 * amount / income + 0.55 * late - 0.035 * history
             + 0.5 * (term == 60) + 1.1 * (emp == "unemployed") + 0.4 * (purpose == "medical"))
    defaulted = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({
        "applicant_id": rng.permutation(np.arange(50_000, 50_000 + n)),
        "applied_on": _dates(rng, n, "2021-03-01", 700),
        "age": age,
        "income": _blank(rng, pd.Series(income), 0.07),
        "loan_amount": amount,
        "term_months": term,
        "purpose": purpose,
        "employment": _blank(rng, pd.Series(emp), 0.06),
        "credit_history_years": _blank(rng, pd.Series(history), 0.1),
        "late_payments": late,
        "defaulted": defaulted,
    })
    df.loc[rng.choice(n, 4, replace=False), "income"] = 0.0  # "prefer not to say" typed as 0
    df.loc[rng.choice(n, 3, replace=False), "age"] = 999     # sentinel ages
    return pd.concat([df, df.sample(6, random_state=1)], ignore_index=True)  # duplicated rows


def passengers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """A ferry passenger list (who made it to the lifeboats)."""
    first_m = ["John", "William", "James", "George", "Charles", "Thomas", "Henry", "Arthur"]
    first_f = ["Mary", "Anna", "Elizabeth", "Margaret", "Alice", "Edith", "Helen", "Rose"]
    last = ["Smith", "Brown", "Olsen", "Murphy", "Kelly", "Andersson", "Baker", "Hughes",
            "Wright", "Novak", "Rossi", "Dubois"]
    sex = rng.choice(["male", "female"], n, p=[0.62, 0.38])
    pclass = rng.choice([1, 2, 3], n, p=[0.22, 0.22, 0.56])
    age = rng.normal(30, 13, n).clip(0.5, 78).round(1)
    child = age < 13
    titles = np.where(sex == "male", np.where(child, "Master", "Mr"),
                      np.where(child | (rng.random(n) < 0.35), "Miss", "Mrs"))
    titles[rng.random(n) < 0.015] = "Dr"
    names = [f"{rng.choice(last)}, {t}. {rng.choice(first_m if s == 'male' else first_f)}"
             for t, s in zip(titles, sex)]
    sibsp = rng.poisson(0.5, n)
    parch = rng.poisson(0.4, n)
    fare = (rng.lognormal(2.4, 0.6, n) * (4 - pclass) ** 1.6).round(2)
    embarked = rng.choice(["S", "C", "Q"], n, p=[0.7, 0.2, 0.1])
    cabin = np.where((pclass == 1) & (rng.random(n) < 0.7),
                     [f"{rng.choice(list('ABCDE'))}{rng.integers(1, 120)}" for _ in range(n)],
                     None)
    logit = (1.2 - 2.4 * (sex == "male") - 0.9 * (pclass - 1) + 1.3 * child
             - 0.35 * (sibsp + parch > 3) + rng.normal(0, 0.4, n))
    survived = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({
        "pclass": pclass, "name": names, "sex": sex,
        "age": _blank(rng, pd.Series(age), 0.19), "sibsp": sibsp, "parch": parch,
        "fare": fare, "cabin": cabin, "embarked": _blank(rng, pd.Series(embarked), 0.01),
        "survived": survived,
    })
    df.loc[rng.choice(n, 2, replace=False), "fare"] = np.nan
    return df


TICKET_TEXT = {
    "billing": ["I was charged twice for my {m} invoice", "refund still not on my card",
                "why did my bill go up this {m}", "please cancel the extra charge",
                "payment failed but money left my account", "need a copy of the invoice",
                "discount code not applied to my bill", "overcharged on the last payment"],
    "technical": ["app crashes when I open settings", "cannot connect to wifi after update",
                  "error 504 on the dashboard", "the page keeps loading forever",
                  "sync stopped working on my phone", "login screen is blank on {d}",
                  "export to csv gives an error", "notifications not arriving since {d}"],
    "account": ["how do I change my email address", "reset password link expired",
                "please delete my account", "cannot log in, account locked",
                "add a second user to my plan", "update my phone number",
                "two factor code never arrives", "merge my two accounts please"],
    "shipping": ["my parcel has not arrived yet", "tracking number does not work",
                 "package delivered to wrong address", "order {o} is late",
                 "box arrived damaged", "can I change the delivery date",
                 "courier left without ringing", "still waiting for order {o}"],
}


def tickets(rng: np.random.Generator, n: int = 560) -> pd.DataFrame:
    """Support tickets, free text, and the queue an agent filed them under."""
    cats = list(TICKET_TEXT)
    category = rng.choice(cats, n, p=[0.3, 0.3, 0.2, 0.2])
    fill = {"m": ["March", "April", "May", "monthly"], "d": ["Monday", "Friday", "the update"],
            "o": ["#4412", "#9981", "#1203", "AB-77"]}
    extras = ["", " thanks", " asap!!", " please help", " :(", " - sent from my phone",
              " this is the second time", ""]
    texts = []
    for cat in category:
        template = str(rng.choice(TICKET_TEXT[cat]))
        for key, options in fill.items():
            template = template.replace("{" + key + "}", str(rng.choice(options)))
        if rng.random() < 0.25:  # people mention other topics too
            other = str(rng.choice(TICKET_TEXT[str(rng.choice(cats))]))
            template += " and also " + other.split("{")[0]
        text = template + str(rng.choice(extras))
        texts.append(text.upper() if rng.random() < 0.05 else text)
    df = pd.DataFrame({
        "ticket_id": [f"T-{70000 + i}" for i in range(n)],
        "created_at": _dates(rng, n, "2023-01-01", 300),
        "channel": rng.choice(["email", "chat", "phone", "Email"], n, p=[0.45, 0.35, 0.15, 0.05]),
        "text": texts,
        "category": category,
    })
    df.loc[rng.choice(n, 4, replace=False), "text"] = np.nan
    return df


def reviews(rng: np.random.Generator, n: int = 520) -> pd.DataFrame:
    """Product reviews with a star rating."""
    good = ["love it", "works great", "excellent quality", "fast delivery", "would buy again",
            "exactly as described", "very comfortable", "great value for money", "five stars"]
    bad = ["broke after a week", "waste of money", "does not work", "poor quality",
           "arrived late and damaged", "very disappointed", "returned it", "cheap plastic",
           "stopped charging"]
    meh = ["it is ok", "average", "does the job", "nothing special", "a bit small"]
    stars = rng.choice([1, 2, 3, 4, 5], n, p=[0.12, 0.1, 0.14, 0.28, 0.36])
    texts = []
    for s in stars:
        pool = good if s >= 4 else bad if s <= 2 else meh
        parts = list(rng.choice(pool, rng.integers(1, 3), replace=False))
        if rng.random() < 0.2:
            parts.append(str(rng.choice(good + bad + meh)))  # mixed feelings
        texts.append(", ".join(parts) + str(rng.choice([".", "!", "", "!!"])))
    df = pd.DataFrame({
        "review_id": np.arange(1, n + 1),
        "posted": _dates(rng, n, "2022-06-01", 400),
        "product": rng.choice(["headphones", "kettle", "backpack", "charger", "lamp"], n),
        "stars": stars,
        "review": texts,
        "helpful_votes": rng.poisson(1.5, n),
    })
    df.loc[rng.choice(n, 3, replace=False), "review"] = ""
    return df


def _with_ids(frame: pd.DataFrame, first: int) -> pd.DataFrame:
    frame.insert(0, "passenger_id", np.arange(first, first + len(frame)))
    return frame


def main() -> None:
    rng = np.random.default_rng(SEED)
    out = {
        "houses.csv": houses(rng),
        "loans.csv": loans(rng),
        "passengers_train.csv": _with_ids(passengers(rng, 460), 1),
        "tickets.csv": tickets(rng),
        "reviews.csv": reviews(rng),
    }
    out["passengers_test.csv"] = _with_ids(passengers(rng, 180), 1001)
    for name, frame in out.items():
        frame.to_csv(HERE / name, index=False)
        size = (HERE / name).stat().st_size
        assert size < 100_000, (name, size)
        print(f"{name}: {len(frame)} rows, {size // 1024} KB")


if __name__ == "__main__":
    main()
