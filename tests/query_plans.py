#!/usr/bin/env python3
"""Reads the query plans evcap logged while the tests ran (EVCAP_QUERY_PLANS,
written by store_prepare) and fails each statement that reads a whole
evidence table where it should look rows up through an index:

- a full scan inside a correlated subquery (run once per outer row), always;
- any other full scan of a table that grows with the evidence, unless the
  statement is a whole-table read by design, listed in query-plans.allow.

Prints PASS/FAIL lines for tests/run.sh. usage: query_plans.py LOG ALLOW
"""
import re
import sys

# tables that grow with the cards, the tracks and the cases
GROWING = {"items", "custody", "fixes", "derivatives", "notes", "readings",
           "sightings", "foreign_custody", "sync_state", "bundles", "capture_seen"}


def records(path):
    """Yields (sql, [(id, parent, detail)]) for each statement logged."""
    with open(path, encoding="utf-8", errors="replace") as f:
        sql, plan = None, []
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("SQL "):
                sql, plan = line[4:], []
            elif line.startswith("PLAN ") and sql is not None:
                parts = line[5:].split(" ", 2)
                if len(parts) == 3:
                    plan.append((int(parts[0]), int(parts[1]), parts[2]))
            elif line == "" and sql is not None:
                yield sql, plan
                sql = None


def full_scans(plan):
    """(table, correlated) for each full scan of a growing table."""
    by_id = {i: (parent, detail) for i, parent, detail in plan}
    out = []
    for i, parent, detail in plan:
        m = re.match(r"SCAN (\w+)(?: AS \w+)?$", detail)
        if not m:
            continue  # SEARCH, SCAN ... USING [COVERING] INDEX, constant rows
        # an alias is printed in its place: find the table it names
        table = m.group(1)
        correlated = False
        p = parent
        while p in by_id:
            if by_id[p][1].startswith("CORRELATED"):
                correlated = True
            p = by_id[p][0]
        out.append((table, correlated))
    return out


def table_of(sql, name):
    """The table an alias stands for in sql (the name itself if a table)."""
    if name in GROWING:
        return name
    # only where a table is named: after FROM, JOIN or a comma of a FROM
    # list (in "SELECT e.seq ... FROM custody e" the first "e" follows
    # SELECT, which is no table)
    m = re.search(r"(?:\bFROM|\bJOIN|,)\s+(\w+)\s+(?:AS\s+)?%s\b" % re.escape(name), sql,
                  re.IGNORECASE)
    return m.group(1) if m else name


def main():
    log, allow_path = sys.argv[1], sys.argv[2]
    allowed = []
    with open(allow_path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                allowed.append(line)
    used = set()
    statements, failures = {}, []
    for sql, plan in records(log):
        statements[sql] = plan
    for sql, plan in sorted(statements.items()):
        for alias, correlated in full_scans(plan):
            table = table_of(sql, alias)
            if table not in GROWING:
                continue
            if correlated:
                failures.append("reads all of %s once per row of its outer query: %s"
                                % (table, sql[:200]))
                continue
            hit = [a for a in allowed if sql.startswith(a)]
            if hit:
                used.update(hit)
            else:
                failures.append("reads all of %s (add an index, or list it in "
                                "tests/query-plans.allow if that is the point): %s"
                                % (table, sql[:200]))
    print("# %d distinct statements in %s" % (len(statements), log))
    if not statements:
        print("SKIP query_plans: no statement was logged")
        return 0
    for f in failures:
        print("FAIL query_plans: " + f)
    if not failures:
        print("PASS query_plans: no statement reads a growing table where an index "
              "would find its rows (%d statements)" % len(statements))
    for a in allowed:
        if a not in used:
            print("# allowed but not seen in this run: " + a)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
