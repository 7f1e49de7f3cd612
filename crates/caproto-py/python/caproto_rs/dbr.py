"""DBR type codes, event masks and names, with pyepics' spelling
(``epics.dbr``): the numbers are those of EPICS base ``db_access.h``."""

STRING, INT, SHORT, FLOAT, ENUM, CHAR, LONG, DOUBLE = 0, 1, 1, 2, 3, 4, 5, 6

TIME_STRING, TIME_INT, TIME_SHORT, TIME_FLOAT = 14, 15, 15, 16
TIME_ENUM, TIME_CHAR, TIME_LONG, TIME_DOUBLE = 17, 18, 19, 20

CTRL_STRING, CTRL_INT, CTRL_SHORT, CTRL_FLOAT = 28, 29, 29, 30
CTRL_ENUM, CTRL_CHAR, CTRL_LONG, CTRL_DOUBLE = 31, 32, 33, 34

DBE_VALUE, DBE_LOG, DBE_ALARM, DBE_PROPERTY = 1, 2, 4, 8

#: Seconds from the POSIX epoch to the EPICS epoch (1990-01-01 UTC).
EPICS2UNIX_EPOCH = 631152000.0

_NATIVE_NAMES = ("STRING", "INT", "FLOAT", "ENUM", "CHAR", "LONG", "DOUBLE")
_NAMES = {}
for _i, _n in enumerate(_NATIVE_NAMES):
    _NAMES[_i] = _n
    _NAMES[_i + TIME_STRING] = "TIME_" + ("SHORT" if _n == "INT" else _n)
    _NAMES[_i + CTRL_STRING] = "CTRL_" + ("SHORT" if _n == "INT" else _n)


def Name(ftype, reverse=False):
    """The name of a DBR type code ('DOUBLE', 'TIME_DOUBLE', ...), or with
    ``reverse=True`` the code of a name."""
    if reverse:
        want = str(ftype).upper()
        for code, name in _NAMES.items():
            if name == want:
                return code
        return None
    return _NAMES.get(ftype, "unknown")


def native_type(ftype):
    """The native type (0..6) of a plain, TIME or CTRL type code."""
    if ftype >= CTRL_STRING:
        return ftype - CTRL_STRING
    if ftype >= TIME_STRING:
        return ftype - TIME_STRING
    return ftype


def promote_type(native, form):
    """The DBR type a PV of ``form`` ('native', 'time', 'ctrl') reads."""
    if form == "ctrl":
        return native + CTRL_STRING
    if form == "time":
        return native + TIME_STRING
    return native


#: numpy dtype names of the numeric native types.
NP_DTYPES = {INT: "int16", FLOAT: "float32", ENUM: "uint16", CHAR: "uint8",
             LONG: "int32", DOUBLE: "float64"}

ALARM_STATUS = ("NO_ALARM", "READ", "WRITE", "HIHI", "HIGH", "LOLO", "LOW",
                "STATE", "COS", "COMM", "TIMEOUT", "HWLIMIT", "CALC", "SCAN",
                "LINK", "SOFT", "BAD_SUB", "UDF", "DISABLE", "SIMM",
                "READ_ACCESS", "WRITE_ACCESS")
ALARM_SEVERITY = ("NO_ALARM", "MINOR", "MAJOR", "INVALID")
