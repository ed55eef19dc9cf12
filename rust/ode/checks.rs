//! Whole-system checks and the evaluation order, on names only.
//!
//! Every front end (text, SymPy) hands over, per equation, its left-hand side, its label
//! (for messages) and the names of the symbols its right-hand side uses; these checks then
//! refuse a system that assigns a declared name, misses a state's derivative or an
//! observable, uses an undeclared symbol or a name that is not an identifier, assigns what
//! looks like the derivative of an undeclared state, or has a cycle among its assignments,
//! and order the assignments so each is computed before it is used (ties by name).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

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
#[derive(Clone, Debug)]
pub struct Item {
    pub lhs: String,
    pub label: String,
    /// Names of the symbols the right-hand side uses (any order, no repeats).
    pub symbols: Vec<String>,
    /// The right-hand side, for the message about a cycle.
    pub shown: String,
}

/// Refuses a left-hand side given twice (`items` in input order).
pub fn check_unique(items: &[Item]) -> Result<(), String> {
    let mut first: HashMap<&str, &str> = HashMap::with_capacity(items.len());
    for item in items {
        if let Some(label) = first.insert(&item.lhs, &item.label) {
            return Err(format!(
                "{} is assigned twice: {} and {}",
                item.lhs,
                py_repr(label),
                py_repr(&item.label)
            ));
        }
    }
    Ok(())
}

/// Checks the system and returns the indices of `items` in evaluation order.
pub fn check_and_order(d: &Declared, items: &[Item]) -> Result<Vec<usize>, String> {
    check_unique(items)?;
    let states: HashSet<&str> = d.states.iter().map(String::as_str).collect();
    let fixed: HashSet<&str> = d
        .states
        .iter()
        .chain(&d.parameters)
        .chain(&d.constants)
        .chain(&d.drivers)
        .map(String::as_str)
        .collect();
    let index: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.lhs.as_str(), i))
        .collect();
    for item in items {
        if fixed.contains(item.lhs.as_str()) {
            return Err(format!(
                "equation {}: assigns to {}, which is declared",
                py_repr(&item.label),
                item.lhs
            ));
        }
    }
    if let Some(s) = d
        .states
        .iter()
        .find(|s| !index.contains_key(format!("d{s}").as_str()))
    {
        return Err(format!(
            "state {s} has no derivative: add an equation 'd{s} = ...'"
        ));
    }
    if let Some(o) = d
        .observables
        .iter()
        .find(|o| !index.contains_key(o.as_str()))
    {
        return Err(format!("observable {o} is declared but never assigned"));
    }
    let known = |n: &str| fixed.contains(n) || index.contains_key(n) || n == TIME;
    let observables: HashSet<&str> = d.observables.iter().map(String::as_str).collect();
    // Every symbol any equation uses, built only if some left-hand side needs it.
    let mut used: Option<HashSet<&str>> = None;
    for item in items {
        let name = item.lhs.as_str();
        let Some(target) = name.strip_prefix('d') else {
            continue;
        };
        if states.contains(target)
            || observables.contains(name)
            || !is_identifier(target)
            || known(target)
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
    for item in items {
        let mut symbols: Vec<&str> = item.symbols.iter().map(String::as_str).collect();
        symbols.sort_unstable();
        for s in symbols {
            if !is_identifier(s) || is_keyword(s) {
                return Err(format!(
                    "symbol in equation {}: name {} is not an identifier",
                    py_repr(&item.label),
                    py_repr(s)
                ));
            }
            if !known(s) {
                return Err(format!(
                    "equation {}: {s} is not declared (declare it as a state, parameter, \
                     constant or driver, or assign it)",
                    py_repr(&item.label)
                ));
            }
        }
    }
    order(items, &index)
}

/// Kahn's algorithm, ready assignments taken by name.
fn order(items: &[Item], index: &HashMap<&str, usize>) -> Result<Vec<usize>, String> {
    let mut waiting = vec![0usize; items.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    for (i, item) in items.iter().enumerate() {
        let mut deps: Vec<usize> = item
            .symbols
            .iter()
            .filter_map(|s| index.get(s.as_str()).copied())
            .collect();
        deps.sort_unstable();
        deps.dedup();
        waiting[i] = deps.len();
        for dep in deps {
            users[dep].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<(&str, usize)>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, &w)| w == 0)
        .map(|(i, _)| Reverse((items[i].lhs.as_str(), i)))
        .collect();
    let mut out = Vec::with_capacity(items.len());
    while let Some(Reverse((_, i))) = ready.pop() {
        out.push(i);
        for &user in &users[i] {
            waiting[user] -= 1;
            if waiting[user] == 0 {
                ready.push(Reverse((items[user].lhs.as_str(), user)));
            }
        }
    }
    if out.len() < items.len() {
        let mut stuck: Vec<&Item> = (0..items.len())
            .filter(|&i| waiting[i] > 0)
            .map(|i| &items[i])
            .collect();
        stuck.sort_by(|a, b| a.lhs.cmp(&b.lhs));
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
        let order = check_and_order(&declared(&["x"]), &items).unwrap();
        assert_eq!(order, [2, 1, 0]);
    }

    #[test]
    fn refusals_name_the_problem() {
        let d = declared(&["x"]);
        let err = |items: &[Item]| check_and_order(&d, items).unwrap_err();
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
