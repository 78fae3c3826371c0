"""Prints how many tests `make test-python` ran, by suite, from pytest's JUnit
XML, and writes the same lines to the file given with --out (the top-level
`make test` prints every file of target/test-results/ at the end).

    report.py --out FILE OURS.xml FLASK.xml

OURS.xml is sessile's own run, with Django's SessionTestsMixin and
SessionMiddlewareTests; FLASK.xml is Flask's own suite run with
tests/flask_upstream.py. Fails when a test failed or errored, when a suite ran
short (fewer of Django's or Flask's tests than they have, a skip in Flask's
suite), or when a strict xfail passed (junit counts that as a failure).
"""

import argparse
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

MIXIN_TESTS = 65  # SessionTestsMixin in Django 5.2's tests/sessions_tests/tests.py
# Flask 3.1.3's tests/ with its optional dependencies installed (asgiref,
# greenlet, python-dotenv): every one passes or is an allowed difference.
FLASK_TESTS = 490


def outcomes(path):
    """(suite properties, [(classname, name, outcome, message)]) of one JUnit file;
    outcome is passed, failed, skipped or xfailed."""
    root = ET.parse(path).getroot()
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    cases = []
    for case in root.iter("testcase"):
        skipped = case.find("skipped")
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is not None:
            outcome, message = "failed", bad.get("message", "")
        elif skipped is not None:
            xfail = skipped.get("type") == "pytest.xfail"
            outcome, message = ("xfailed" if xfail else "skipped"), skipped.get("message", "")
        else:
            outcome, message = "passed", ""
        cases.append((case.get("classname", ""), case.get("name", ""), outcome, message))
    return props, cases


def count(cases, outcome):
    return sum(1 for c in cases if c[2] == outcome)


def tally(cases):
    """'N passed' with the failed and skipped counts when there are any."""
    parts = [f"{count(cases, 'passed')} passed"]
    for outcome in ("failed", "skipped"):
        if count(cases, outcome):
            parts.append(f"{count(cases, outcome)} {outcome}")
    return ", ".join(parts)


def reasons(cases, outcome):
    return "; ".join(f"{name} ({message})" for _, name, o, message in cases if o == outcome)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("ours")
    parser.add_argument("flask")
    args = parser.parse_args()

    problems = []
    try:
        _, own_cases = outcomes(args.ours)
    except (OSError, ET.ParseError) as exc:
        own_cases = []
        problems.append(f"no results from sessile's own run ({exc})")
    try:
        flask_props, flask_cases = outcomes(args.flask)
    except (OSError, ET.ParseError) as exc:
        flask_props, flask_cases = {}, []
        problems.append(f"no results from Flask's suite ({exc})")

    mixin = [c for c in own_cases if c[0].endswith("SessileSessionTests")]
    middleware = [c for c in own_cases if c[0].endswith("SessileSessionMiddlewareTests")]
    own = [c for c in own_cases if c not in mixin and c not in middleware]
    django, flask = version("django"), version("flask")

    lines = [f"Django {django} SessionTestsMixin (sdist): {tally(mixin)}"]
    line = f"Django {django} SessionMiddlewareTests (sdist): {tally(middleware)}"
    if count(middleware, "skipped"):
        line += f": {reasons(middleware, 'skipped')}"
    lines.append(line)
    lines.append(f"sessile's own Python tests: {tally(own)}")
    xfailed = count(flask_cases, "xfailed")
    line = (f"Flask {flask} test suite (sdist) on SessileSessionInterface: "
            f"{count(flask_cases, 'passed')} passed, {count(flask_cases, 'failed')} failed, ")
    if count(flask_cases, "skipped"):
        line += f"{count(flask_cases, 'skipped')} skipped, "
    line += f"{xfailed} allowed differences"
    if xfailed:
        line += f": {reasons(flask_cases, 'xfailed')}"
    lines.append(line)
    stored = flask_props.get("sessile_sessions_stored")
    lines.append(f"Flask {flask} test suite: {stored or 'no'} sessions stored by sessile during the run")

    for name, cases in (("Django's", mixin + middleware), ("sessile's own", own), ("Flask's", flask_cases)):
        if count(cases, "failed"):
            problems.append(f"{count(cases, 'failed')} of {name} tests failed")
    if count(mixin, "passed") < MIXIN_TESTS:
        problems.append(f"Django's SessionTestsMixin ran short: {count(mixin, 'passed')} of {MIXIN_TESTS} passed")
    if count(middleware, "passed") == 0:
        problems.append("no Django SessionMiddlewareTests passed")
    if count(own, "passed") == 0:
        problems.append("none of sessile's own tests passed")
    if count(flask_cases, "passed") + xfailed < FLASK_TESTS or count(flask_cases, "skipped"):
        problems.append(f"Flask's suite ran short: {count(flask_cases, 'passed')} passed and {xfailed} "
                        f"allowed differences of {FLASK_TESTS}, {count(flask_cases, 'skipped')} skipped")
    if not stored or stored == "0":
        problems.append("no session of Flask's suite reached sessile")
    lines += [f"FAILED: {p}" for p in problems]

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(f"{line}\n" for line in lines))
    for line in lines:
        print(f"python: {line}")
    if problems:
        sys.exit("python: the suite is incomplete or failed")


if __name__ == "__main__":
    main()
