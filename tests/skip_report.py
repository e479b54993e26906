#!/usr/bin/env python3
"""Says what a ctest run skipped, from its JUnit file (ctest --output-junit FILE).

    python3 tests/skip_report.py build/ctest-results.xml

Two kinds of skip: a whole test executable that exited with its SKIP_RETURN_CODE (test_cuda
without a GPU), and single Qt Test functions that called QSKIP (their "SKIP   :" lines in the
test's output, with the reason). Prints a count of each and every reason; ctest alone counts
a test whose functions were partly skipped as passed. Exit status 0 unless the file cannot be
read.
"""
import re
import sys
import xml.etree.ElementTree as ET


def main(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"skip report: cannot read {path}: {e}")
        return 1
    cases = root.iter("testcase")
    total, whole, functions = 0, [], []
    for case in cases:
        total += 1
        name = case.get("name", "?")
        out = case.findtext("system-out") or ""
        skips = [re.match(r"SKIP\s+:\s+(\S+)\s*(.*)", line) for line in out.splitlines()]
        skips = [m for m in skips if m]
        if case.get("status") in ("notrun", "skipped") or case.find("skipped") is not None:
            whole.append((name, " ".join(skips[0].groups()) if skips else "(no reason printed)"))
            continue
        # Qt Test prints "SKIP   : Class::function() reason" for each QSKIP.
        functions += [(name, m.group(1), m.group(2).strip()) for m in skips]
    print(f"skip report: {total} tests, {len(whole)} skipped whole, {len(functions)} test functions skipped")
    for test, reason in whole:
        print(f"  {test}: {reason}")
    for test, function, reason in functions:
        print(f"  {test}: {function} {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/ctest-results.xml"))
