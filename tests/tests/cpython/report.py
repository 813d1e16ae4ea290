"""Run one CPython regression test module and print each test case's outcome.

Runs inside the moat-pytest image (tests/tests/cpython.rs passes this file
with `python3 -c`): `python3 -m test` in a worker process (-j1, so that
--timeout kills only the worker and the report survives), with a JUnit XML
report, then prints one JSON object per line:
  {"case": "test.test_os.StatAttributeTests.test_stat_attributes",
   "outcome": "pass" | "fail" | "error" | "skip", "detail": "..."}
A module that crashed or timed out before reporting its cases becomes one
case named after the module with outcome "error".
"""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

MARK = "@@case "


def main():
    suite, timeout = sys.argv[1], sys.argv[2]
    xml_path = "/tmp/moat-cpython-junit.xml"
    run = subprocess.run(
        [sys.executable, "-m", "test", "-j1", "--timeout", timeout,
         "--junit-xml", xml_path, suite],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        errors="replace")
    # regrtest's own output, for whoever reads the test log.
    sys.stderr.write(run.stdout)
    try:
        cases = ET.parse(xml_path).getroot().iter("testcase")
    except (OSError, ET.ParseError) as e:
        cases = []
        sys.stderr.write(f"no JUnit report: {e}\n")
    seen = 0
    for case in cases:
        seen += 1
        outcome, detail = "pass", ""
        for child, name in (("failure", "fail"), ("error", "error"),
                            ("skipped", "skip")):
            node = case.find(child)
            if node is not None:
                outcome = name
                detail = node.get("message") or (node.text or "")
                break
        print(MARK + json.dumps({"case": case.get("name"), "outcome": outcome,
                                 "detail": detail.strip()[-2000:]}))
    if seen == 0 or run.returncode not in (0, 2, 3):
        # 2: some cases failed (they are listed), 3: the environment changed;
        # anything else is a crash or a timeout worth a line of its own.
        tail = "\n".join(run.stdout.strip().splitlines()[-15:])
        print(MARK + json.dumps({"case": f"test.{suite}", "outcome": "error",
                                 "detail": f"regrtest exit {run.returncode}: {tail}"}))


main()
