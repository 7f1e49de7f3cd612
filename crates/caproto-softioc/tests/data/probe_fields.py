#!/usr/bin/env python3
"""Measures the field reference of README-fields.md from a C softIoc.

Usage (with the CA environment of a C `softIoc -S -d records.db` in the
environment, and caget/cainfo/caput on PATH):

    python3 probe_fields.py > /tmp/fields.md

For every field of every record type of issue 6 it prints: the native DBR
type and element count (cainfo), the access rights (cainfo), whether a
caput of the field's own current value is accepted, the value in the fully
configured record t:<type> and in the bare record t:<type>0, and the
metadata that DBR_CTRL_<native> returns for the field PV of t:<type>.
It writes (puts back current values), so run it on a throwaway IOC.
"""
import re
import subprocess

COMMON = ["VAL", "DESC", "SCAN", "DISP", "UDF", "TSE", "STAT", "SEVR", "RTYP", "FLNK"]
ALARM = ["HIHI", "HIGH", "LOW", "LOLO", "HHSV", "HSV", "LSV", "LLSV", "HYST"]
MBB = ["ZRST", "ONST", "TWST", "THST", "FRST", "FVST", "SXST", "SVST",
       "EIST", "NIST", "TEST", "ELST", "TVST", "TTST", "FTST", "FFST"]
TYPES = [
    ("ai", "t:ai", ["EGU", "PREC", "HOPR", "LOPR"] + ALARM),
    ("ao", "t:ao", ["EGU", "PREC", "HOPR", "LOPR", "DRVH", "DRVL"] + ALARM),
    ("bi", "t:bi", ["ZNAM", "ONAM"]),
    ("bo", "t:bo", ["ZNAM", "ONAM"]),
    ("mbbi", "t:mbbi", MBB),
    ("mbbo", "t:mbbo", MBB),
    ("longin", "t:li", ["EGU", "HOPR", "LOPR"] + ALARM),
    ("longout", "t:lo", ["EGU", "HOPR", "LOPR", "DRVH", "DRVL"] + ALARM),
    ("stringin", "t:si", []),
    ("stringout", "t:so", []),
    ("waveform", "t:wf", ["EGU", "PREC", "HOPR", "LOPR", "NELM", "NORD", "FTVL"]),
    ("calc", "t:calc", ["CALC"] + ["INP" + c for c in "ABCDEFGHIJKL"]
     + list("ABCDEFGHIJKL") + ["EGU", "PREC", "HOPR", "LOPR"] + ALARM),
]


def run(args):
    p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    return p


def blocks(out):
    res, cur = {}, None
    for line in out.splitlines():
        if line and not line.startswith(" "):
            cur = line.strip()
            res[cur] = {}
            continue
        m = re.match(r"\s+([^:\[]+):\s*(.*)$", line)
        if cur is None:
            continue
        if m:
            res[cur][m.group(1).strip()] = m.group(2).strip()
        else:
            res[cur].setdefault("enums", []).append(re.sub(r"^\[\s*\d+\]\s*", "", line.strip()))
    return res


def meta(c):
    if "enums" in c:
        e = c["enums"]
        return f"{len(e)} strings: " + ", ".join(e) if e else "0 strings"
    if "Units" not in c:
        return ""
    parts = [f'units "{c["Units"]}"']
    if "Precision" in c:
        parts.append(f'prec {c["Precision"]}')
    parts.append(f'disp [{c["Lo disp limit"]}, {c["Hi disp limit"]}]')
    al = [c[k] for k in ("Lo alarm limit", "Lo warn limit", "Hi warn limit", "Hi alarm limit")]
    parts.append("alarm [" + ", ".join(al) + "]")
    parts.append(f'ctrl [{c["Lo ctrl limit"]}, {c["Hi ctrl limit"]}]')
    return "; ".join(parts)


def value(pv):
    out = run(["caget", "-t", "-w", "2", pv]).stdout.strip()
    return out


rows = {}
# Pass 1: read everything (before any put processes a record).
for rtyp, rec, extra in TYPES:
    fields = COMMON + extra
    pvs = [f"{rec}.{f}" for f in fields]
    info = blocks(run(["cainfo"] + pvs).stdout)
    for f, pv in zip(fields, pvs):
        i = info[pv]
        nat = i["Native data type"].replace("DBF_", "")
        c = blocks(run(["caget", "-d", f"DBR_CTRL_{nat}", pv]).stdout).get(pv, {})
        acc = "rw" if i["Access"] == "read, write" else "r"
        rows[pv] = [f, nat, i["Element count"], acc, None, value(pv), value(f"{rec}0.{f}"), meta(c)]
# Pass 2: put each field's own value back.
for pv, row in rows.items():
    p = run(["caput", "-c", "-w", "2", pv, row[5]])
    err = p.stderr
    if p.returncode == 0 and not err:
        row[4] = "ok"
    else:
        m = re.search(r'Warning: "([^"]*)"', err) or re.search(r"ERROR\S* (.*)", err)
        detail = m.group(1) if m else (err.strip().splitlines()[0] if err.strip() else "")
        row[4] = f"rc {p.returncode}" + (f": {detail}" if detail else "")
for rtyp, rec, extra in TYPES:
    print(f"\n### {rtyp} (`{rec}` configured, `{rec}0` bare)\n")
    print("| field | DBF | n | access | put-back | value | bare | DBR_CTRL metadata of the field PV |")
    print("|---|---|---|---|---|---|---|---|")
    for f in COMMON + extra:
        f, nat, n, acc, put, v, bare, md = rows[f"{rec}.{f}"]
        print(f"| {f} | {nat} | {n} | {acc} | {put} | `{v}` | `{bare}` | {md} |")
