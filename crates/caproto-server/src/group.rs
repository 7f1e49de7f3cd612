//! Groups of PVs under a common prefix, nestable: `prefix:motor1:VAL`
//! comes from a group `motor1:` inside a group `prefix:`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::pv::{Pv, PvBuilder};

/// PVs made on demand, for name spaces too large or too dynamic to build
/// up front: a database of records serves `rec.FIELD` for every field of
/// every record, but only the fields clients ask for become [`Pv`]s.
///
/// The server asks its fixed PVs first, then the sources in the order
/// they were added. Names passed in are relative to the enclosing groups'
/// prefixes.
pub trait PvSource: Send + Sync {
    /// Whether `name` is served (answers a search).
    fn contains(&self, name: &str) -> bool;
    /// The PV serving `name`, made if needed. A source should hand out the
    /// same PV for a name while clients use it, so that monitors of two
    /// clients see the same changes.
    fn resolve(&self, name: &str) -> Option<Pv>;
    /// The largest element count of any PV it may make (sizes the
    /// circuits' receive limit, as rsrv sizes it from its largest field).
    fn max_capacity(&self) -> usize {
        1
    }
    /// The names to list for `--list-pvs` (may leave out derived names
    /// such as fields).
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A source with the full prefix of its group.
pub(crate) type PrefixedSource = (String, Arc<dyn PvSource>);

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
#[derive(Default)]
pub struct Group {
    prefix: String,
    pvs: Vec<(String, Pv)>,
    groups: Vec<Group>,
    sources: Vec<Arc<dyn PvSource>>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("prefix", &self.prefix)
            .field("pvs", &self.pvs)
            .field("groups", &self.groups)
            .field("sources", &self.sources.len())
            .finish()
    }
}

impl Group {
    /// An empty group whose names all start with `prefix`.
    pub fn new(prefix: impl Into<String>) -> Group {
        Group {
            prefix: prefix.into(),
            pvs: Vec::new(),
            groups: Vec::new(),
            sources: Vec::new(),
        }
    }

    /// Adds a source of PVs made on demand, under this group's prefix.
    pub fn add_source(&mut self, source: Arc<dyn PvSource>) -> &mut Self {
        self.sources.push(source);
        self
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

    /// Every served name, sorted (with the names the sources list).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.flatten().into_keys().collect();
        for (prefix, source) in self.sources_flat() {
            names.extend(source.names().into_iter().map(|n| format!("{prefix}{n}")));
        }
        names.sort();
        names.dedup();
        names
    }

    /// Every source with the full prefix of its group, in order.
    pub(crate) fn sources_flat(&self) -> Vec<PrefixedSource> {
        let mut out = Vec::new();
        self.collect_sources("", &mut out);
        out
    }

    fn collect_sources(&self, outer: &str, out: &mut Vec<PrefixedSource>) {
        let prefix = format!("{outer}{}", self.prefix);
        for s in &self.sources {
            out.push((prefix.clone(), s.clone()));
        }
        for g in &self.groups {
            g.collect_sources(&prefix, out);
        }
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
