//! Groups of PVs under a common prefix, nestable: `prefix:motor1:VAL`
//! comes from a group `motor1:` inside a group `prefix:`.

use std::collections::BTreeMap;

use crate::pv::{Pv, PvBuilder};

/// PVs and sub-groups under a name prefix.
///
/// ```
/// use caproto_server::{Group, Pv};
/// let mut motor = Group::new("motor1:");
/// let val = motor.pv("VAL", Pv::double(0.0));
/// let mut ioc = Group::new("sim:");
/// ioc.add_group(motor);
/// assert_eq!(val.name(), "motor1:VAL");
/// assert!(ioc.names().contains(&"sim:motor1:VAL".to_owned()));
/// ```
///
/// The name served is the concatenation of every enclosing prefix,
/// resolved when a [`crate::Server`] is built ([`Pv::name`] gives the
/// name within the PV's own group until then).
#[derive(Debug, Default)]
pub struct Group {
    prefix: String,
    pvs: Vec<(String, Pv)>,
    groups: Vec<Group>,
}

impl Group {
    /// An empty group whose names all start with `prefix`.
    pub fn new(prefix: impl Into<String>) -> Group {
        Group {
            prefix: prefix.into(),
            pvs: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Adds a PV named `prefix + name` and returns its handle (to post
    /// values from background tasks).
    pub fn pv(&mut self, name: &str, builder: PvBuilder) -> Pv {
        let full = format!("{}{}", self.prefix, name);
        let pv = builder.build(full);
        self.pvs.push((name.to_owned(), pv.clone()));
        pv
    }

    /// Nests a group: its names get this group's prefix in front.
    pub fn add_group(&mut self, group: Group) -> &mut Self {
        self.groups.push(group);
        self
    }

    /// Every served name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.flatten().into_keys().collect()
    }

    /// Every PV by served name. A name registered twice keeps the first.
    pub fn flatten(&self) -> BTreeMap<String, Pv> {
        let mut out = BTreeMap::new();
        self.collect("", &mut out);
        out
    }

    fn collect(&self, outer: &str, out: &mut BTreeMap<String, Pv>) {
        let prefix = format!("{outer}{}", self.prefix);
        for (name, pv) in &self.pvs {
            out.entry(format!("{prefix}{name}"))
                .or_insert_with(|| pv.clone());
        }
        for g in &self.groups {
            g.collect(&prefix, out);
        }
    }
}
