//! The EPICS menus (`menu(...)` blocks) referenced by the record types in
//! [`super::fields`], transcribed from EPICS base 7.0.8.1 (`menu*.dbd` and the
//! record-specific menus of `aoRecord.dbd`, `longoutRecord.dbd`,
//! `stringinRecord.dbd`, `stringoutRecord.dbd`, `waveformRecord.dbd`), choices
//! in index order.

use super::fields::Menu;

/// The menu called `name` (e.g. `menuScan`), among [`MENUS`].
pub fn menu(name: &str) -> Option<&'static Menu> {
    MENUS.iter().copied().find(|m| m.name == name)
}

/// `menu(menuAlarmSevr)`.
pub static MENU_ALARM_SEVR: Menu = Menu {
    name: "menuAlarmSevr",
    choices: &["NO_ALARM", "MINOR", "MAJOR", "INVALID"],
};

/// `menu(menuAlarmStat)`.
pub static MENU_ALARM_STAT: Menu = Menu {
    name: "menuAlarmStat",
    choices: &[
        "NO_ALARM",
        "READ",
        "WRITE",
        "HIHI",
        "HIGH",
        "LOLO",
        "LOW",
        "STATE",
        "COS",
        "COMM",
        "TIMEOUT",
        "HWLIMIT",
        "CALC",
        "SCAN",
        "LINK",
        "SOFT",
        "BAD_SUB",
        "UDF",
        "DISABLE",
        "SIMM",
        "READ_ACCESS",
        "WRITE_ACCESS",
    ],
};

/// `menu(menuConvert)`.
pub static MENU_CONVERT: Menu = Menu {
    name: "menuConvert",
    choices: &[
        "NO CONVERSION",
        "SLOPE",
        "LINEAR",
        "typeKdegF",
        "typeKdegC",
        "typeJdegF",
        "typeJdegC",
        "typeEdegF(ixe only)",
        "typeEdegC(ixe only)",
        "typeTdegF",
        "typeTdegC",
        "typeRdegF",
        "typeRdegC",
        "typeSdegF",
        "typeSdegC",
    ],
};

/// `menu(menuFtype)`.
pub static MENU_FTYPE: Menu = Menu {
    name: "menuFtype",
    choices: &[
        "STRING", "CHAR", "UCHAR", "SHORT", "USHORT", "LONG", "ULONG", "INT64", "UINT64", "FLOAT",
        "DOUBLE", "ENUM",
    ],
};

/// `menu(menuIvoa)`.
pub static MENU_IVOA: Menu = Menu {
    name: "menuIvoa",
    choices: &[
        "Continue normally",
        "Don't drive outputs",
        "Set output to IVOV",
    ],
};

/// `menu(menuOmsl)`.
pub static MENU_OMSL: Menu = Menu {
    name: "menuOmsl",
    choices: &["supervisory", "closed_loop"],
};

/// `menu(menuPini)`.
pub static MENU_PINI: Menu = Menu {
    name: "menuPini",
    choices: &["NO", "YES", "RUN", "RUNNING", "PAUSE", "PAUSED"],
};

/// `menu(menuPriority)`.
pub static MENU_PRIORITY: Menu = Menu {
    name: "menuPriority",
    choices: &["LOW", "MEDIUM", "HIGH"],
};

/// `menu(menuScan)`.
pub static MENU_SCAN: Menu = Menu {
    name: "menuScan",
    choices: &[
        "Passive",
        "Event",
        "I/O Intr",
        "10 second",
        "5 second",
        "2 second",
        "1 second",
        ".5 second",
        ".2 second",
        ".1 second",
    ],
};

/// `menu(menuSimm)`.
pub static MENU_SIMM: Menu = Menu {
    name: "menuSimm",
    choices: &["NO", "YES", "RAW"],
};

/// `menu(menuYesNo)`.
pub static MENU_YES_NO: Menu = Menu {
    name: "menuYesNo",
    choices: &["NO", "YES"],
};

/// `menu(aoOIF)` (record-specific).
pub static AO_OIF: Menu = Menu {
    name: "aoOIF",
    choices: &["Full", "Incremental"],
};

/// `menu(longoutOOPT)` (record-specific).
pub static LONGOUT_OOPT: Menu = Menu {
    name: "longoutOOPT",
    choices: &[
        "Every Time",
        "On Change",
        "When Zero",
        "When Non-zero",
        "Transition To Zero",
        "Transition To Non-zero",
    ],
};

/// `menu(stringinPOST)` (record-specific).
pub static STRINGIN_POST: Menu = Menu {
    name: "stringinPOST",
    choices: &["On Change", "Always"],
};

/// `menu(stringoutPOST)` (record-specific).
pub static STRINGOUT_POST: Menu = Menu {
    name: "stringoutPOST",
    choices: &["On Change", "Always"],
};

/// `menu(waveformPOST)` (record-specific).
pub static WAVEFORM_POST: Menu = Menu {
    name: "waveformPOST",
    choices: &["Always", "On Change"],
};

/// Every menu referenced by the served record types, by name.
pub static MENUS: &[&Menu] = &[
    &MENU_ALARM_SEVR,
    &MENU_ALARM_STAT,
    &MENU_CONVERT,
    &MENU_FTYPE,
    &MENU_IVOA,
    &MENU_OMSL,
    &MENU_PINI,
    &MENU_PRIORITY,
    &MENU_SCAN,
    &MENU_SIMM,
    &MENU_YES_NO,
    &AO_OIF,
    &LONGOUT_OOPT,
    &STRINGIN_POST,
    &STRINGOUT_POST,
    &WAVEFORM_POST,
];
