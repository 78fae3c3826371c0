"""Prints how many tests `make test-python` ran, by suite, from pytest's JUnit
XML; fails when nothing ran or when Django's SessionTestsMixin is short."""

import sys
import xml.etree.ElementTree as ET

MIXIN_TESTS = 65  # SessionTestsMixin in Django 5.2's tests/sessions_tests/tests.py

cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
counts = {"mixin": [0, 0, 0], "middleware": [0, 0, 0], "own": [0, 0, 0]}  # passed, failed, skipped
for case in cases:
    cls = case.get("classname", "")
    suite = ("mixin" if cls.endswith("SessileSessionTests")
             else "middleware" if cls.endswith("SessileSessionMiddlewareTests") else "own")
    outcome = 2 if case.find("skipped") is not None else 1 if (
        case.find("failure") is not None or case.find("error") is not None) else 0
    counts[suite][outcome] += 1

total = [sum(c[i] for c in counts.values()) for i in range(3)]
print(f"python: Django SessionTestsMixin {counts['mixin'][0]} passed, "
      f"Django SessionMiddlewareTests {counts['middleware'][0]} passed "
      f"({counts['middleware'][2]} skipped), sessile's own {counts['own'][0]} passed")
print(f"python: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
if sum(total) == 0 or total[1] or counts["mixin"][0] < MIXIN_TESTS or counts["middleware"][0] == 0:
    sys.exit("python: the suite is incomplete or failed")
