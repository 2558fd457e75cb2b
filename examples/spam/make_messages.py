"""Write messages.csv: a few hundred short SMS-like messages labelled ham or spam.

Seeded, so ``python examples/spam/make_messages.py`` always writes the same file (committed
beside it). The texts are generated from templates with varied fillers, casing, typos and
punctuation; spam campaigns repeat some messages word for word (duplicates), and a couple of
messages arrived empty.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 1234

NAMES = ["Sam", "Jo", "mum", "Alex", "babe", "Priya", "Tom", "Kim", "dad", "Leo"]
PLACES = ["the station", "tesco", "uni", "the gym", "work", "the pub", "town", "home"]
TIMES = ["5", "half 6", "7ish", "tonight", "tmrw", "later", "after lunch", "in 10 mins"]
FOODS = ["pizza", "curry", "chips", "pasta", "sushi", "tacos"]

HAM = [
    "hey {name} are we still on for {time}?",
    "im at {place}, where r u",
    "ok see you at {place} {time}",
    "can you pick up some milk on the way home",
    "running late sorry, be there {time}",
    "did you see the match last night?? unreal",
    "thanks for today x",
    "call me when you get this",
    "fancy {food} {time}?",
    "haha yes that's so true",
    "just got home, so tired",
    "don't forget {name}'s birthday on saturday",
    "what time does the film start",
    "lol ok",
    "i'll be at {place} till {time}",
    "can't talk now, in a meeting. text you after",
    "have you fed the cat",
    "good luck with the exam tomorrow!",
    "yeah fine by me",
    "where did you park",
    "the train is delayed again :(",
    "love you, night night",
    "sorry missed your call, whats up",
    "bring the charger pls",
    "meeting moved to {time}, same room",
    # ham that looks a bit like spam
    "are you free {time}? call me",
    "we won the pub quiz!! drinks on {name}",
    "check this out {url2}",
    "i owe you {money} for the tickets, will send tonight",
    "new number, this is {name}. save it: {phone}",
    "URGENT: bring your passport tomorrow or they won't let us board",
]

SPAM = [
    "WINNER!! You have been selected to receive a {prize}. Call {phone} now to claim",
    "URGENT! Your account has been suspended. Verify at {url} within 24 hours",
    "Congratulations you won {money}! Text CLAIM to {short} to receive your prize",
    "FREE entry to win a {prize}! Txt WIN to {short}. T&Cs apply 18+",
    "You have an unclaimed refund of {money}. Visit {url} to get it today",
    "Hot singles in your area want to meet you! Reply YES to {short}",
    "Your parcel could not be delivered. Pay the {money} fee at {url}",
    "Get a loan of {money} today, no credit checks! Call {phone}",
    "Final notice: your {prize} is waiting. Claim at {url} before midnight",
    "Cheap meds online, 80% off! Order now {url}",
    "You are our lucky customer! Collect your {prize} at {url}",
    # spam that looks a bit like ham
    "hi its Sarah, been trying to reach you, call me back when you can {phone}",
    "hey, are you still looking for work? reply for details",
    "your friend {name} sent you a gift, see it here {url}",
    "PRIVATE: your mobile number has won {money} in our draw. Call {phone}",
]
PRIZES = ["iPhone 15", "£1000 Tesco voucher", "holiday to Ibiza", "brand new car",
          "cash prize", "free gift card"]
MONEY = ["£500", "£1,000", "$2500", "£150", "£3.99", "£900"]


def _fill(rng: np.random.Generator, template: str) -> str:
    fills = {
        "name": NAMES, "place": PLACES, "time": TIMES, "food": FOODS, "prize": PRIZES,
        "money": MONEY,
        "phone": [f"0{rng.integers(7000, 7999)} {rng.integers(100000, 999999)}"],
        "short": [str(rng.integers(80000, 89999))],
        "url": [f"http://{rng.choice(['win', 'claim', 'secure', 'bonus'])}-"
                f"{rng.integers(10, 99)}.{rng.choice(['co', 'net', 'biz'])}/{rng.integers(1000, 9999)}"],
        "url2": [f"https://www.{rng.choice(['youtube.com/watch?v=', 'bbc.co.uk/news/', 'instagram.com/p/'])}"
                 f"{rng.integers(100000, 999999)}"],
    }
    for key, options in fills.items():
        template = template.replace("{" + key + "}", str(rng.choice(options)))
    return template


def _mess_up(rng: np.random.Generator, text: str, spam: bool) -> str:
    if rng.random() < 0.15:
        text = text.capitalize()
    if spam and rng.random() < 0.25:
        text = text.upper()
    if rng.random() < 0.1:
        text = text + rng.choice([" !!", " :)", " xx", "...", " ??"])
    if not spam and rng.random() < 0.2:  # two thoughts in one message
        text = text + ". " + _fill(rng, str(rng.choice(HAM)))
    return text


def main() -> None:
    rng = np.random.default_rng(SEED)
    rows = []
    for _ in range(420):
        spam = rng.random() < 0.22
        text = _mess_up(rng, _fill(rng, str(rng.choice(SPAM if spam else HAM))), spam)
        if rng.random() < 0.02:  # the user clicked the wrong button
            spam = not spam
        rows.append({"label": "spam" if spam else "ham", "text": text})
    df = pd.DataFrame(rows)
    campaign = df[df.label == "spam"].sample(12, random_state=3)  # the same spam sent again
    df = pd.concat([df, campaign, df[df.label == "ham"].sample(4, random_state=4)],
                   ignore_index=True)
    df = df.sample(frac=1.0, random_state=5).reset_index(drop=True)
    df.loc[rng.choice(len(df), 2, replace=False), "text"] = ""
    start = pd.Timestamp("2024-02-01 08:00")
    minutes = np.sort(rng.integers(0, 60 * 24 * 30, len(df)))
    df.insert(0, "received_at", [(start + pd.Timedelta(minutes=int(m))).strftime("%Y-%m-%d %H:%M")
                                 for m in minutes])
    df.insert(0, "message_id", np.arange(1, len(df) + 1))
    df.to_csv(HERE / "messages.csv", index=False)
    print(f"messages.csv: {len(df)} messages, {int((df.label == 'spam').sum())} spam")


if __name__ == "__main__":
    main()
