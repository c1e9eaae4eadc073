"""The STAR answer's self-review: :func:`review_star`, and the rules it applies.

Public on purpose: lesson 06 imports ``review_star`` (``from
mlcourse.exercises.interview import review_star``) so a learner can try any
draft; the ``interview.star_answer`` exercise judges with the same rules
(:func:`star_problems`), so a draft that passes here passes there. The rules
look for substance, never for particular wording:

* four non-trivial parts, and a whole answer short enough to say in about two
  minutes (:data:`MAX_WORDS`);
* an action that visits all four lifecycle stages (each spotted by a small,
  documented keyword set, :data:`STAGE_WORDS`), and for each stage a
  **decision with its reason**: a sentence about that stage, more than a list
  of keywords, that says why (:data:`REASON_WORDS`);
* a result with a **quantity** (in digits or in words: "0.78", "forty
  percent", "halved") and **what it measures** (:data:`MEASURE_WORDS`: recall,
  wait time, cost...), so "got 100% better" is not a result.

Rules of this kind can be gamed, so the exercise also asks an instructor to
read every graded answer (the engine's review flag).
"""
from __future__ import annotations

import difflib
import re
from typing import Any

from mlcourse.exercises.compare import show
from mlcourse.exercises.plain import TAG, kind

# ==========================================================================
# interview.star_answer: a STAR answer, checked for structure, never wording
# ==========================================================================
PARTS: dict[str, str] = {
    "situation": "the context: the organisation, the problem and why it mattered",
    "task": "what you were responsible for, and what success had to look like",
    "action": "what you did, stage by stage: data, training, deployment, monitoring",
    "result": "what changed, in numbers",
}

#: The fewest words each part needs to be more than a placeholder.
MIN_WORDS: dict[str, int] = {"situation": 8, "task": 6, "action": 25, "result": 6}
#: The most words the whole answer may have: about two minutes spoken.
MAX_WORDS = 400
#: The fewest words a sentence needs to state a decision and its reason.
MIN_DECISION_WORDS = 8

#: How a reason is introduced (shown to the learner, then the pattern that spots one).
REASON_WORDS = (
    "because, since, so, so that, in order to, to avoid / to keep / to catch (to + a purpose), which meant, "
    "otherwise, given that",
    r"\b(because|since|so|in order to|which meant|which means|otherwise|given that|due to|the reason|as a result|"
    r"to (avoid|keep|make|ensure|catch|check|see|prevent|reduce|limit|choose|protect|compare|detect|learn|measure|"
    r"stop|let|give|allow|meet|find|spot|know|tell|guard|cut|save|hit|reach|confirm|decide|handle|get))\b",
)
#: Numbers written as words count as quantities ("about forty percent", "halved").
NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million "
    "billion half halved third quarter twice double doubled tripled triple percent dozen dozens"
).split()
#: What a result can measure (shown to the learner, then the pattern that spots it).
MEASURE_WORDS = (
    "precision, recall, accuracy, F1, AUC, error(s), latency, time, wait, minutes, hours, days, ms, seconds, cost, "
    "revenue, savings / saved, sales, complaints, tickets, fraud, losses, churn, users, customers, orders, requests, "
    "conversion, clicks, rate, share, money (€, $, £)",
    r"(\b(precision|recall|accuracy|f1|auc|roc|pr-auc|errors?|latenc\w*|time|times|wait\w*|minutes?|hours?|days?|"
    r"weeks?|months?|ms|seconds?|costs?|revenue|savings?|saved|sales|complaints?|tickets?|fraud\w*|loss\w*|churn\w*|"
    r"users?|customers?|orders?|requests?|conversions?|clicks?|rates?|share|throughput|incidents?|calls?|"
    r"reviews?|workload|volume|analyst-hours|hours|budget|spend|chargebacks?|defects?|queue)\b|[€$£])",
)

#: stage -> (the words shown to the learner, the regular expression that spots them).
#: Words match as prefixes ("validat" matches validate, validated, validation).
#: Some phrases do not count: "data drift" is monitoring, "cross-validation" is
#: training, and "training data" / "training set" / "training-serving" say
#: nothing about training a model.
#: "model" alone counts for no stage: every stage talks about the model.
STAGE_WORDS: dict[str, tuple[str, str]] = {
    "data": (
        "data, dataset, collect, label, annotate, validate, clean, feature, schema, ingest, leak",
        r"\b(data|collect|label|annotat|(?<!cross-)(?<!cross )validat|clean|feature|schema|ingest|leak)",
    ),
    "training": (
        "train, fit, tune, hyperparameter, evaluate, cross-validation, baseline, experiment, "
        "or a model family (logistic regression, random forest, gradient boosting, XGBoost, neural network)",
        r"\b(train|fit|tun(e|ed|ing)\b|hyper-?parameter|evaluat|cross-?validat|baseline|experiment|"
        r"logistic|random forest|gradient[- ]boost|xgboost|lightgbm|neural net|grid search)",
    ),
    "deployment": (
        "deploy, serve/served/serving, service, API, endpoint, container, Docker, Kubernetes, canary, "
        "blue-green, shadow, rollout/roll out, release, package",
        r"\b(deploy|serv(e|ed|er|ers|es|ice|ices|ing)\b|api|endpoint|container|docker|kubernetes|canary|"
        r"blue[- ]green|shadow|roll(ed)?[- ]?out|releas|packag)",
    ),
    "monitoring": (
        "monitor, drift, alert, latency, dashboard, degrade, retrain, Prometheus, Grafana, feedback loop",
        r"\b(monitor|drift|alert|latenc|dashboard|degrad|retrain|prometheus|grafana|feedback loop)",
    ),
}

#: Phrases removed before looking for a stage, because they belong elsewhere.
_NOT_FOR: dict[str, str] = {
    "data": r"\bdata[- ]drift",
    "training": r"\btraining[- –]?(data|set|table|examples|labels|serving)",
}

_STAGE_HOW = {
    "data": "where the data came from and how you checked and prepared it",
    "training": "how you built, tuned and evaluated the model (and what you compared it against)",
    "deployment": "how the model reached users: packaged, served, rolled out",
    "monitoring": "how you watched the live model and when it would be retrained",
}


def stage_mentions(text: str) -> dict[str, list[str]]:
    """For each stage, the words in ``text`` that count for it.

    Examples
    --------
    >>> m = stage_mentions("Collected labels, trained a forest, served it as an API, monitored drift.")
    >>> m
    {'data': ['collected', 'labels'], 'training': ['trained'], 'deployment': ['served', 'api'], 'monitoring': ['monitored', 'drift']}
    >>> stage_mentions("We watched data drift.")["data"], stage_mentions("We cleaned the training data.")
    ([], {'data': ['cleaned', 'data'], 'training': [], 'deployment': [], 'monitoring': []})
    """
    low = text.lower()
    found = {}
    for stage, (_shown, pattern) in STAGE_WORDS.items():
        cleaned = re.sub(_NOT_FOR[stage], " ", low) if stage in _NOT_FOR else low
        words = []
        for m in re.finditer(f"(?:{pattern})[\\w-]*", cleaned):  # the whole word, for showing it
            w = m.group(0)
            if w not in words:
                words.append(w)
        found[stage] = words
    return found


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9%€$£]+", text)


def _sentences(text: str) -> list[str]:
    """The text cut into sentences (and list items): at . ! ? ; and line breaks, not inside numbers (0.78)."""
    parts = re.split(r"(?<!\d)[.!?;]+(?!\d)|\n+", text)
    return [p.strip() for p in parts if p.strip()]


def has_quantity(text: str) -> bool:
    """Whether ``text`` holds a number, in digits or in words.

    Examples
    --------
    >>> has_quantity("fell from 4 hours to 25 minutes"), has_quantity("about forty percent fewer complaints")
    (True, True)
    >>> has_quantity("much better, and the team was happy")
    False
    """
    low = text.lower()
    return bool(re.search(r"\d", low)) or any(w in NUMBER_WORDS for w in re.findall(r"[a-z]+", low))


def _measures(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(MEASURE_WORDS[1], text.lower())]


def stage_decision(sentences: list[str], stage: str) -> tuple[str | None, str]:
    """The sentence that states a decision about ``stage`` with its reason, or why none does.

    Sentences are tried most about the stage first (the most words for it,
    the fewest for other stages), so the one shown is that stage's. A
    sentence counts when it mentions the stage (:func:`stage_mentions`), has
    at least :data:`MIN_DECISION_WORDS` words, is more than a list of stage
    keywords, and gives a reason (:data:`REASON_WORDS`).

    Examples
    --------
    >>> stage_decision(["I split the data by month so that no future tickets leaked in"], "data")[0][:12]
    'I split the '
    >>> stage_decision(["Data: collect, label, validate"], "data")
    (None, 'keywords')
    >>> stage_decision(["I collected two years of labelled tickets from the helpdesk"], "data")
    (None, 'no reason')
    """
    # The sentence most about this stage first (its words for this stage less those for the others):
    # "split by week so that nothing leaked into training" is data's sentence, not training's.
    def focus(sentence: str) -> int:
        found = stage_mentions(sentence)
        return 2 * len(found[stage]) - sum(len(v) for v in found.values())

    about = sorted((s for s in sentences if stage_mentions(s)[stage]), key=focus, reverse=True)
    if not about:
        return None, "not mentioned"
    verdicts = []
    for sentence in about:
        words = _words(sentence)
        keywords = sum(len(v) for v in stage_mentions(sentence).values())
        if len(words) < MIN_DECISION_WORDS or keywords * 2 >= len(words):
            verdicts.append("keywords")
        elif not re.search(REASON_WORDS[1], sentence.lower()):
            verdicts.append("no reason")
        else:
            return sentence, "ok"
    return None, "no reason" if "no reason" in verdicts else "keywords"


def _part_text(value: Any, part: str) -> tuple[str | None, str | None]:
    """The text of one part (the action may be a list of steps), or what is wrong with it."""
    if type(value) is str:
        return value, None
    if part == "action":
        items = value["items"] if isinstance(value, dict) and value.get(TAG) == "tuple" else value
        if type(items) is list and items and all(type(v) is str for v in items):
            return "\n".join(items), None
        form = "a string, or a list of strings (one per step)"
    else:
        form = "a string"
    return None, f"the '{part}' part should be {form}, but it is {kind(value)} ({show(value)})"


def star_problems(got: Any) -> list[tuple[str, str, bool]]:
    """Everything wrong with a STAR answer (plain data), in the order of the tests.

    Returns ``(element, message, primary)`` triples; ``element`` is ``"parts"``,
    a stage name or ``"result"``. A non-primary message only repeats that an
    earlier problem blocks this element from being judged.
    """
    names = ", ".join(repr(p) for p in PARTS)
    if isinstance(got, dict) and got.get(TAG) == "dict":
        return [("parts", f"the keys of `star_answer` should be the strings {names}", True)] + [
            (e, "the keys must be fixed first", False) for e in (*STAGE_WORDS, "result")
        ]
    if not (isinstance(got, dict) and TAG not in got):
        msg = f"`star_answer` should be a dict with the keys {names}, but it is {kind(got)} ({show(got)})"
        return [("parts", msg, True)] + [(e, "the answer must be a dict first", False) for e in (*STAGE_WORDS, "result")]
    problems: list[tuple[str, str, bool]] = []
    texts: dict[str, str] = {}
    missing = [p for p in PARTS if p not in got]
    extra = [k for k in got if k not in PARTS]
    for part in missing:
        near = [k for k in extra if k.strip().lower() == part] or difflib.get_close_matches(part, extra, n=1, cutoff=0.6)
        if near:
            problems.append(("parts", f"your key {near[0]!r} should be spelt {part!r} (lowercase, exactly)", True))
            extra.remove(near[0])
        else:
            problems.append(("parts", f"your answer has no '{part}' part: add {PARTS[part]}", True))
    for key in extra:
        problems.append(("parts", f"{key!r} is not one of the four STAR parts ({names}); fold it into one of them", True))
    for part in PARTS:
        if part not in got:
            continue
        text, problem = _part_text(got[part], part)
        if problem:
            problems.append(("parts", problem, True))
            continue
        texts[part] = text  # a thin part is still searched for stages and numbers
        words = _words(text)
        if len(words) < MIN_WORDS[part] or len({w.lower() for w in words}) < MIN_WORDS[part] // 2:
            n = f"{len(words)} word{'' if len(words) == 1 else 's'}"
            problems.append(("parts", f"the '{part}' part is too thin ({n}; at least {MIN_WORDS[part]}): give {PARTS[part]}", True))
    total = sum(len(_words(t)) for t in texts.values())
    if total > MAX_WORDS:
        problems.append(("parts", f"your answer is {total} words: a two-minute answer is about 250 to 350 words, so "
                         f"cut it to at most {MAX_WORDS} (keep one decision per stage, and the numbers)", True))
    action = texts.get("action")
    sentences = _sentences(action) if action is not None else []
    mentions = stage_mentions(action) if action is not None else {}
    for stage, (shown, _pattern) in STAGE_WORDS.items():
        if action is None:
            problems.append((stage, "there is no usable 'action' text to look in yet", False))
            continue
        if not mentions[stage]:
            problems.append(
                (stage, f"your action never mentions {stage}: say {_STAGE_HOW[stage]} (words that count: {shown})", True)
            )
            continue
        found, why = stage_decision(sentences, stage)
        if found is None and why == "keywords":
            problems.append((stage, f"your action names {stage} ({', '.join(mentions[stage][:4])}) but only as "
                             f"keywords: write a sentence of at least {MIN_DECISION_WORDS} words saying what you "
                             f"decided for {stage} and why", True))
        elif found is None:
            problems.append((stage, f"your action says what you did for {stage} but not why: give the reason for "
                             f"that decision (words that introduce one: {REASON_WORDS[0]})", True))
    result = texts.get("result")
    if result is None:
        problems.append(("result", "there is no usable 'result' text to look in yet", False))
    elif not has_quantity(result):
        problems.append(
            (
                "result",
                "your result has no number: say how much changed and in what unit, in digits or in words, e.g. "
                "'recall rose from 0.61 to 0.78', 'p95 latency 40 ms', 'about forty percent fewer complaints'",
                True,
            )
        )
    elif not _measures(result):
        problems.append(
            (
                "result",
                "your result has a number but not what it measures ('100 % better': better at what?): name the "
                f"metric or the quantity that changed (for instance: {MEASURE_WORDS[0]})",
                True,
            )
        )
    return problems


def review_star(answer: Any) -> None:
    """Print what the STAR check would say about a draft answer (for trying drafts out)."""
    from mlcourse.exercises.plain import to_plain

    problems = [m for _e, m, primary in star_problems(to_plain(answer)) if primary]
    if not problems:
        print("Structure complete: four parts, a decision with its reason for each stage, a measured result.")
        if isinstance(answer, dict) and isinstance(answer.get("action"), (str, list, tuple)):
            action = answer["action"] if isinstance(answer["action"], str) else "\n".join(answer["action"])
            sentences = _sentences(action)
            for stage, words in stage_mentions(action).items():
                decision = stage_decision(sentences, stage)[0] or ""
                shown = decision if len(decision) <= 70 else decision[:67] + "..."
                print(f"  {stage:<11} spotted by: {', '.join(words)}")
                print(f"  {'':<11} decision: {shown}")
        return
    print(f"{len(problems)} thing(s) to fix:")
    for m in problems:
        print(f"- {m}")
