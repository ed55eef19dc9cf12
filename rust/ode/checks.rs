//! Whole-system checks and the evaluation order, on names only.
//!
//! Every front end (text, SymPy) hands over, per equation, its left-hand side, its label
//! (for messages) and the names of the symbols its right-hand side uses; these checks then
//! refuse a system that assigns a declared name, misses a state's derivative or an
//! observable, uses an undeclared symbol or a name that is not an identifier, assigns what
//! looks like the derivative of an undeclared state, or has a cycle among its assignments,
//! and order the assignments so each is computed before it is used (ties by name).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHashSet};

use super::text::lexer::{is_identifier, is_keyword};
use super::text::py_repr;

/// The independent variable: usable in every equation without being declared.
pub const TIME: &str = "t";

/// Declared names, in layout order.
#[derive(Clone, Debug, Default)]
pub struct Declared {
    pub states: Vec<String>,
    pub parameters: Vec<String>,
    pub constants: Vec<String>,
    pub drivers: Vec<String>,
    pub observables: Vec<String>,
}

/// What the checks read from one equation.
#[derive(Clone, Debug, Default)]
pub struct Item {
    pub lhs: String,
    pub label: String,
    /// Names of the symbols the right-hand side uses (any order, no repeats).
    pub symbols: Vec<String>,
    /// The right-hand side, for the message about a cycle.
    pub shown: String,
}

/// A declared state.
const STATE: u8 = 1;
/// A state, parameter, constant or driver: known, and never assigned.
const FIXED: u8 = 2;
const OBSERVABLE: u8 = 4;
/// The independent variable.
const TIMELIKE: u8 = 8;
/// A state with an equation for its derivative.
const DERIVED: u8 = 16;
/// A name some right-hand side uses that was found to be an identifier, not a keyword.
const SPELLED_WELL: u8 = 32;

/// What the checks know of one name.
#[derive(Clone, Copy)]
struct Slot {
    flags: u8,
    /// The equation assigning it, or [`UNASSIGNED`].
    lhs: u32,
}

const UNASSIGNED: u32 = u32::MAX;

impl Slot {
    fn known(self) -> bool {
        self.flags & (FIXED | TIMELIKE) != 0 || self.lhs != UNASSIGNED
    }
}

/// A name as the table of names keys it: two eight-byte windows on its bytes (the first and
/// the last eight, or fewer for a shorter name) and the name itself.  For a name of at most
/// sixteen bytes the windows and its length cover every byte, so two such names are compared
/// as two integers, without reading their bytes again; most names are that short.
#[derive(Clone, Copy)]
struct Key<'a> {
    head: u64,
    tail: u64,
    name: &'a str,
}

impl<'a> Key<'a> {
    fn new(name: &'a str) -> Key<'a> {
        let b = name.as_bytes();
        let n = b.len();
        let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let half = |at: usize| {
            u64::from(u32::from_le_bytes(
                b[at..at + 4].try_into().expect("4 bytes"),
            ))
        };
        let (head, tail) = match n {
            8.. => (word(0), word(n - 8)),
            4..=7 => (half(0), half(n - 4)),
            1..=3 => (
                u64::from(b[0]),
                u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]),
            ),
            0 => (0, 0),
        };
        Key { head, tail, name }
    }
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.head == other.head
            && self.tail == other.tail
            && self.name.len() == other.name.len()
            && (self.name.len() <= 16 || self.name == other.name)
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.head);
        state.write_u64(self.tail ^ self.name.len() as u64);
    }
}

/// Every declared and assigned name, each looked up once by its spelling (hashed with
/// rustc's FxHash: the keys are short names, and a system's own names are its only input).
struct Names<'a> {
    index: FxHashMap<Key<'a>, u32>,
    slots: Vec<Slot>,
}

impl<'a> Names<'a> {
    fn slot(&mut self, name: &'a str) -> u32 {
        let next = self.slots.len() as u32;
        let id = *self.index.entry(Key::new(name)).or_insert(next);
        if id == next {
            self.slots.push(Slot {
                flags: 0,
                lhs: UNASSIGNED,
            });
        }
        id
    }

    fn declare(&mut self, names: &'a [String], flags: u8) -> Vec<u32> {
        names
            .iter()
            .map(|n| {
                let id = self.slot(n);
                self.slots[id as usize].flags |= flags;
                id
            })
            .collect()
    }

    fn id(&self, name: &str) -> Option<u32> {
        self.index.get(&Key::new(name)).copied()
    }

    fn get(&self, name: &str) -> Option<Slot> {
        self.id(name).map(|id| self.slots[id as usize])
    }
}

/// Checks the system and returns the indices of `items` in evaluation order.
///
/// The problems are looked for in a fixed order, each in input order, so the one reported
/// does not depend on how the checks are carried out: a left-hand side given twice, an
/// assignment to a declared name, a state without derivative, an observable never
/// assigned, what looks like the derivative of an undeclared state, a bad or undeclared
/// symbol (first in the first equation using one, by name), a cycle.
pub fn check_and_order(d: &Declared, items: &[&Item]) -> Result<Vec<usize>, String> {
    let declared = d.states.len()
        + d.parameters.len()
        + d.constants.len()
        + d.drivers.len()
        + d.observables.len();
    let mut names = Names {
        index: FxHashMap::with_capacity_and_hasher(declared + items.len() + 1, Default::default()),
        slots: Vec::with_capacity(declared + items.len() + 1),
    };
    let time = names.slot(TIME);
    names.slots[time as usize].flags |= TIMELIKE;
    let states = names.declare(&d.states, STATE | FIXED);
    for fixed in [&d.parameters, &d.constants, &d.drivers] {
        names.declare(fixed, FIXED);
    }
    let observables = names.declare(&d.observables, OBSERVABLE);
    let mut lhs_slots = Vec::with_capacity(items.len());
    let mut assigns_fixed = None;
    for (i, item) in items.iter().enumerate() {
        let id = names.slot(&item.lhs);
        let slot = &mut names.slots[id as usize];
        if slot.lhs != UNASSIGNED {
            return Err(format!(
                "{} is assigned twice: {} and {}",
                item.lhs,
                py_repr(&items[slot.lhs as usize].label),
                py_repr(&item.label)
            ));
        }
        slot.lhs = i as u32;
        if slot.flags & FIXED != 0 {
            assigns_fixed.get_or_insert(i);
        }
        lhs_slots.push(id);
    }
    if let Some(i) = assigns_fixed {
        return Err(format!(
            "equation {}: assigns to {}, which is declared",
            py_repr(&items[i].label),
            items[i].lhs
        ));
    }
    // Left-hand sides `dX` whose `X` is not a state: derivatives of undeclared states?
    let mut suspects = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(target) = item.lhs.strip_prefix('d') else {
            continue;
        };
        match names.id(target) {
            Some(id) if names.slots[id as usize].flags & STATE != 0 => {
                names.slots[id as usize].flags |= DERIVED;
            }
            _ => suspects.push(i),
        }
    }
    if let Some(i) = states
        .iter()
        .position(|&id| names.slots[id as usize].flags & DERIVED == 0)
    {
        let s = &d.states[i];
        return Err(format!(
            "state {s} has no derivative: add an equation 'd{s} = ...'"
        ));
    }
    if let Some(i) = observables
        .iter()
        .position(|&id| names.slots[id as usize].lhs == UNASSIGNED)
    {
        return Err(format!(
            "observable {} is declared but never assigned",
            d.observables[i]
        ));
    }
    // Every symbol any equation uses, built only if some left-hand side needs it.
    let mut used: Option<FxHashSet<&str>> = None;
    for i in suspects {
        let item = &items[i];
        let name = item.lhs.as_str();
        let target = &name[1..];
        if names.slots[lhs_slots[i] as usize].flags & OBSERVABLE != 0
            || !is_identifier(target)
            || names.get(target).is_some_and(Slot::known)
        {
            continue;
        }
        let used = used.get_or_insert_with(|| {
            items
                .iter()
                .flat_map(|it| it.symbols.iter().map(String::as_str))
                .collect()
        });
        if used.contains(target) || !used.contains(name) {
            return Err(format!(
                "equation {}: {name} looks like the derivative of {target}, which is not a \
                 declared state",
                py_repr(&item.label)
            ));
        }
    }
    // The assignments each equation uses (as many times as it names them: Kahn's
    // algorithm below only needs each use counted as often as it is released).
    let mut deps: Vec<u32> = Vec::with_capacity(items.iter().map(|it| it.symbols.len()).sum());
    let mut dep_ends: Vec<u32> = Vec::with_capacity(items.len());
    for item in items {
        for s in &item.symbols {
            let slot = match names.id(s) {
                Some(id) => &mut names.slots[id as usize],
                None => return Err(symbol_error(item, &names)),
            };
            if slot.flags & SPELLED_WELL == 0 {
                if !is_identifier(s) || is_keyword(s) || !slot.known() {
                    return Err(symbol_error(item, &names));
                }
                slot.flags |= SPELLED_WELL;
            }
            if slot.lhs != UNASSIGNED {
                deps.push(slot.lhs);
            }
        }
        dep_ends.push(deps.len() as u32);
    }
    order(items, &deps, &dep_ends)
}

/// The message for the first bad or undeclared symbol of `item`, by name.
fn symbol_error(item: &Item, names: &Names<'_>) -> String {
    let mut symbols: Vec<&str> = item.symbols.iter().map(String::as_str).collect();
    symbols.sort_unstable();
    for s in symbols {
        if !is_identifier(s) || is_keyword(s) {
            return format!(
                "symbol in equation {}: name {} is not an identifier",
                py_repr(&item.label),
                py_repr(s)
            );
        }
        if !names.get(s).is_some_and(Slot::known) {
            return format!(
                "equation {}: {s} is not declared (declare it as a state, parameter, \
                 constant or driver, or assign it)",
                py_repr(&item.label)
            );
        }
    }
    unreachable!("called for an equation with a bad symbol")
}

/// The first eight bytes of `name`, zero-padded, as a big-endian integer: integers compare
/// as the byte strings do, except that a name and the same name followed by zero bytes are
/// equal here.
fn prefix(name: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let head = &name.as_bytes()[..name.len().min(8)];
    bytes[..head.len()].copy_from_slice(head);
    u64::from_be_bytes(bytes)
}

/// A ready assignment, ordered by its left-hand side as a byte string: by the first eight
/// bytes as an integer (most names are shorter, so most comparisons end there), then, where
/// those are equal, by the whole name.  Nothing is sorted up front: each assignment's key is
/// made when it becomes ready.
struct Ready<'a> {
    prefix: u64,
    name: &'a str,
    index: u32,
}

impl<'a> Ready<'a> {
    fn new(items: &[&'a Item], index: usize) -> Reverse<Ready<'a>> {
        let name = items[index].lhs.as_str();
        Reverse(Ready {
            prefix: prefix(name),
            name,
            index: index as u32,
        })
    }
}

impl Ord for Ready<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.name.cmp(other.name))
    }
}

impl PartialOrd for Ready<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ready<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ready<'_> {}

/// Kahn's algorithm, ready assignments taken by name: `deps[dep_ends[i-1]..dep_ends[i]]`
/// are the equations equation `i` uses.  The ready assignments wait in a heap by name; left-
/// hand sides are unique (checked before), so no two of them tie.
fn order(items: &[&Item], deps: &[u32], dep_ends: &[u32]) -> Result<Vec<usize>, String> {
    let n = items.len();
    // Users of each equation, grouped by equation (a counting sort of the uses).
    let mut user_starts = vec![0u32; n + 1];
    for &dep in deps {
        user_starts[dep as usize + 1] += 1;
    }
    for i in 0..n {
        user_starts[i + 1] += user_starts[i];
    }
    let mut fill = user_starts.clone();
    let mut users = vec![0u32; deps.len()];
    let mut waiting = vec![0u32; n];
    let mut start = 0;
    for (i, &end) in dep_ends.iter().enumerate() {
        for &dep in &deps[start as usize..end as usize] {
            users[fill[dep as usize] as usize] = i as u32;
            fill[dep as usize] += 1;
        }
        waiting[i] = end - start;
        start = end;
    }
    let mut ready: BinaryHeap<Reverse<Ready<'_>>> = (0..n)
        .filter(|&i| waiting[i] == 0)
        .map(|i| Ready::new(items, i))
        .collect();
    let mut out = Vec::with_capacity(n);
    while let Some(Reverse(next)) = ready.pop() {
        let i = next.index as usize;
        out.push(i);
        for &user in &users[user_starts[i] as usize..user_starts[i + 1] as usize] {
            let user = user as usize;
            waiting[user] -= 1;
            if waiting[user] == 0 {
                ready.push(Ready::new(items, user));
            }
        }
    }
    if out.len() < n {
        let mut stuck: Vec<&Item> = (0..n)
            .filter(|&i| waiting[i] > 0)
            .map(|i| items[i])
            .collect();
        stuck.sort_unstable_by(|a, b| a.lhs.cmp(&b.lhs));
        let names: Vec<&str> = stuck.iter().map(|it| it.lhs.as_str()).collect();
        return Err(format!(
            "cycle among assignments: {} depend on each other (e.g. {} = {})",
            names.join(", "),
            stuck[0].lhs,
            stuck[0].shown
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(lhs: &str, symbols: &[&str]) -> Item {
        Item {
            lhs: lhs.into(),
            label: format!("{lhs} = ..."),
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            shown: "...".into(),
        }
    }

    fn refs(items: &[Item]) -> Vec<&Item> {
        items.iter().collect()
    }

    fn declared(states: &[&str]) -> Declared {
        Declared {
            states: states.iter().map(|s| s.to_string()).collect(),
            ..Declared::default()
        }
    }

    #[test]
    fn orders_by_dependency_then_name() {
        let items = [
            item("dx", &["b", "x"]),
            item("b", &["a"]),
            item("a", &["t"]),
        ];
        let order = check_and_order(&declared(&["x"]), &refs(&items)).unwrap();
        assert_eq!(order, [2, 1, 0]);
    }

    #[test]
    fn ready_assignments_go_by_name_past_eight_bytes() {
        let names = [
            "abcdefgh1",
            "b",
            "abcdefgh",
            "abcdefg\0",
            "abcdefgha",
            "abcdefg",
        ];
        let mut items: Vec<Item> = names.iter().map(|n| item(n, &[])).collect();
        items.push(item("dx", &["x"]));
        let order = check_and_order(&declared(&["x"]), &refs(&items)).unwrap();
        let got: Vec<&str> = order.iter().map(|&i| items[i].lhs.as_str()).collect();
        let mut want: Vec<&str> = names.to_vec();
        want.push("dx");
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn a_cycle_lists_every_stuck_assignment_by_name() {
        let items = [
            item("dx", &["bbbbbbbbb2", "x"]),
            item("bbbbbbbbb2", &["a"]),
            item("c", &["x"]),
            item("a", &["bbbbbbbbb10"]),
            item("bbbbbbbbb10", &["bbbbbbbbb2"]),
        ];
        let err = check_and_order(&declared(&["x"]), &refs(&items)).unwrap_err();
        assert_eq!(
            err,
            "cycle among assignments: a, bbbbbbbbb10, bbbbbbbbb2, dx depend on each other \
             (e.g. a = ...)"
        );
    }

    #[test]
    fn the_first_kind_of_problem_is_reported_whatever_its_place() {
        let d = Declared {
            parameters: vec!["k".into()],
            ..declared(&["x"])
        };
        let err = |items: &[Item]| check_and_order(&d, &refs(items)).unwrap_err();
        let twice = err(&[item("k", &[]), item("dx", &[]), item("dx", &["x"])]);
        assert!(twice.starts_with("dx is assigned twice"), "{twice}");
        let fixed = err(&[item("a", &["zz"]), item("k", &[]), item("dy", &[])]);
        assert!(fixed.contains("assigns to k"), "{fixed}");
        let undeclared = err(&[item("dx", &["x", "zz", "if"])]);
        assert!(
            undeclared.contains("name 'if' is not an identifier"),
            "{undeclared}"
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        let d = declared(&["x"]);
        let err = |items: &[Item]| check_and_order(&d, &refs(items)).unwrap_err();
        assert!(err(&[item("dy", &["x"])]).contains("x has no derivative"));
        assert!(err(&[item("dx", &["k"])]).contains("k is not declared"));
        assert!(
            err(&[item("dx", &["a"]), item("a", &["b"]), item("b", &["a"])])
                .starts_with("cycle among assignments: a, b")
        );
        assert!(err(&[item("dx", &[]), item("dx", &[])]).contains("assigned twice"));
        assert!(err(&[item("dx", &["x"]), item("dy", &["y"])]).contains("derivative of y"));
        assert!(err(&[item("dx", &["if"])]).contains("not an identifier"));
    }
}
