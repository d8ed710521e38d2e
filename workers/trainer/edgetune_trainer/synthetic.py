"""Synthetic chat dataset: support-ticket routing (keyword -> label).

Used by the trainer tests and by the TypeScript tests (through the CLI) as a task that a tiny
model can learn on CPU in about a minute while an untrained model scores ~0: each user message
hides one category keyword inside random filler, and the assistant answers with the category.
Train and eval sentences are drawn from disjoint random streams, so eval examples are held out.

The same task as preference pairs (`--preference`): chosen is the right category, rejected a
wrong one; half the records write the sides as strings, half as message arrays.

    python -m edgetune_trainer.synthetic --out DIR [--train 300] [--eval 60] [--seed 42] [--preference]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

SYSTEM_PROMPT = "Route the support ticket. Answer with one word: billing, shipping, login or refund."

# Category -> keywords that identify it. Labels are single words so exact match is simple.
CATEGORIES: dict[str, list[str]] = {
    "billing": ["invoice", "charge", "payment", "card", "subscription", "price"],
    "shipping": ["package", "delivery", "courier", "parcel", "tracking", "address"],
    "login": ["password", "username", "sign", "locked", "code", "email"],
    "refund": ["return", "money", "cancel", "broken", "damaged", "replacement"],
}

SUBJECTS = ["my", "the", "our", "this", "that", "a"]
OPENERS = ["hello", "hi", "please help", "good morning", "hey team", "excuse me", "urgent", "thanks"]
FILLERS = [
    "i think",
    "today",
    "again",
    "since monday",
    "for my family",
    "right now",
    "as soon as possible",
    "on the website",
    "in the app",
    "last week",
    "yesterday",
    "at home",
    "for work",
    "somehow",
]
VERBS = [
    "is wrong",
    "does not work",
    "has a problem",
    "looks strange",
    "is missing",
    "needs help",
    "was confusing",
    "is not clear",
    "keeps failing",
    "seems odd",
]

ALL_WORDS: list[str] = sorted(
    {w for ws in CATEGORIES.values() for w in ws}
    | set(CATEGORIES)
    | {w for phrase in SUBJECTS + OPENERS + FILLERS + VERBS for w in phrase.split()}
    | set(SYSTEM_PROMPT.replace(",", " ").replace(".", " ").replace(":", " ").lower().split())
)


def _sentence(rng: random.Random, keyword: str) -> str:
    parts = [
        rng.choice(OPENERS) + ",",
        rng.choice(SUBJECTS),
        keyword,
        rng.choice(VERBS),
        rng.choice(FILLERS),
    ]
    if rng.random() < 0.5:
        parts.insert(1, rng.choice(FILLERS))
    return " ".join(parts) + "."


def make_example(rng: random.Random) -> dict[str, Any]:
    label = rng.choice(sorted(CATEGORIES))
    keyword = rng.choice(CATEGORIES[label])
    return {
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": _sentence(rng, keyword)},
            {"role": "assistant", "content": label},
        ]
    }


def make_split(n: int, seed: int, *, exclude: set[str] | None = None) -> list[dict[str, Any]]:
    """`n` examples; with `exclude`, user messages seen there are skipped (held-out eval)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    seen = set(exclude or ())
    while len(out) < n:
        ex = make_example(rng)
        user = ex["messages"][1]["content"]
        if exclude is not None and user in seen:
            continue
        seen.add(user)
        out.append(ex)
    return out


def make_dataset(n_train: int, n_eval: int, seed: int = 42) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    train = make_split(n_train, seed)
    train_users = {ex["messages"][1]["content"] for ex in train}
    # A different stream and no sentence shared with train: eval measures generalization.
    evals = make_split(n_eval, seed + 1_000_003, exclude=train_users)
    return train, evals


def as_preference(rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Chat examples as preference pairs: the label is chosen, another category rejected."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i, ex in enumerate(rows):
        *prompt, answer = ex["messages"]
        label = answer["content"]
        wrong = rng.choice([c for c in sorted(CATEGORIES) if c != label])
        if i % 2 == 0:
            out.append({"prompt": prompt, "chosen": label, "rejected": wrong})
        else:
            out.append(
                {
                    "prompt": prompt[-1]["content"],
                    "chosen": [{"role": "assistant", "content": label}],
                    "rejected": [{"role": "assistant", "content": wrong}],
                }
            )
    return out


def make_preference_dataset(
    n_train: int, n_eval: int, seed: int = 42
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    train, evals = make_dataset(n_train, n_eval, seed)
    return as_preference(train, seed), as_preference(evals, seed + 1)


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="directory for train.jsonl and eval.jsonl")
    ap.add_argument("--train", type=int, default=300)
    ap.add_argument("--eval", type=int, default=60)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--preference", action="store_true", help="preference pairs instead of chat")
    args = ap.parse_args(argv)
    make = make_preference_dataset if args.preference else make_dataset
    train, evals = make(args.train, args.eval, args.seed)
    write_jsonl(train, args.out / "train.jsonl")
    write_jsonl(evals, args.out / "eval.jsonl")
    print(json.dumps({"train": str(args.out / "train.jsonl"), "eval": str(args.out / "eval.jsonl")}))


if __name__ == "__main__":
    main()
