//! A checked system in canonical form: what every front end builds and every back end reads.
//!
//! [`Canonical::assemble`] takes the equations a front end lowered (text through
//! [`super::text`], SymPy trees through `sympy_walk`), runs the whole-system checks of
//! [`super::checks`] on their names and keeps the equations in evaluation order.  The hash,
//! the readable rendering and generated code all read the one [`System`] it holds.

use rayon::prelude::*;

use super::checks::{check_and_order, Declared, Item};
use super::encoding::Expr;
use super::system::System;
use super::text::{is_blank, parse_line, py_strip, Equation};

/// One lowered equation, with what the checks and lazy consumers need to know of it.
#[derive(Clone, Debug)]
pub struct Lowered {
    pub item: Item,
    pub rhs: Expr,
    /// The right-hand side's text when it was given as text.
    pub rhs_text: Option<String>,
}

impl Lowered {
    /// A text equation, labelled `label`.
    pub fn from_text(eq: Equation, label: String) -> Lowered {
        Lowered {
            item: Item {
                lhs: eq.lhs,
                label,
                symbols: eq.symbols,
                shown: eq.rhs_text.clone(),
            },
            rhs: eq.rhs,
            rhs_text: Some(eq.rhs_text),
        }
    }
}

fn parse_one(line: &str) -> Result<Lowered, String> {
    let label = py_strip(line);
    let eq = parse_line(label).map_err(|e| e.describe(label))?;
    Ok(Lowered::from_text(eq, label.to_owned()))
}

/// Texts with fewer equations than this are parsed on the calling thread: handing work to
/// rayon's workers costs more than parsing them.  So is any text when rayon has one worker:
/// the hand-off, and freeing on one thread what another allocated, would make it slower
/// (about 1.4x on generated(340)) than parsing in place.
const PARALLEL_EQUATIONS: usize = 64;

/// Every equation of a multi-line text, or the message of the first problem.
///
/// Equations are independent until the whole-system checks, so a long text is parsed on
/// rayon's workers; the results keep the text's order and the first problem in that order
/// is the one reported, as on one thread.
pub fn parse_text(text: &str) -> Result<Vec<Lowered>, String> {
    let lines: Vec<&str> = super::text::split_lines(text)
        .into_iter()
        .filter(|line| !is_blank(line))
        .collect();
    if lines.len() < PARALLEL_EQUATIONS || rayon::current_num_threads() < 2 {
        return lines.into_iter().map(parse_one).collect();
    }
    let parsed: Vec<Result<Lowered, String>> = lines
        .into_par_iter()
        .with_min_len(PARALLEL_EQUATIONS / 2)
        .map(parse_one)
        .collect();
    parsed.into_iter().collect()
}

/// A checked system: its canonical form and, per equation in evaluation order, its names.
#[derive(Clone, Debug)]
pub struct Canonical {
    system: System,
    items: Vec<Item>,
    rhs_texts: Vec<Option<String>>,
}

impl Canonical {
    /// Checks the system and orders its equations; `Err` holds the message.
    pub fn assemble(
        declared: Declared,
        constants: Vec<(String, Expr)>,
        equations: Vec<Lowered>,
    ) -> Result<Canonical, String> {
        let mut items = Vec::with_capacity(equations.len());
        let mut rest = Vec::with_capacity(equations.len());
        for eq in equations {
            items.push(eq.item);
            rest.push(Some((eq.rhs, eq.rhs_text)));
        }
        let order = check_and_order(&declared, &items)?;
        let mut slots: Vec<Option<Item>> = items.into_iter().map(Some).collect();
        let mut system = System {
            states: declared.states,
            parameters: declared.parameters,
            drivers: declared.drivers,
            observables: declared.observables,
            constants,
            equations: Vec::with_capacity(order.len()),
        };
        let mut items = Vec::with_capacity(order.len());
        let mut rhs_texts = Vec::with_capacity(order.len());
        for i in order {
            let item = slots[i].take().expect("each index once");
            let (rhs, text) = rest[i].take().expect("each index once");
            system.equations.push((item.lhs.clone(), rhs));
            items.push(item);
            rhs_texts.push(text);
        }
        Ok(Canonical {
            system,
            items,
            rhs_texts,
        })
    }

    /// The canonical form: equations in evaluation order, layouts, constants.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// Per equation, in evaluation order: left-hand side, label and symbol names.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Per equation, in evaluation order: the right-hand side's text, if given as text.
    pub fn rhs_texts(&self) -> &[Option<String>] {
        &self.rhs_texts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_to_a_checked_ordered_system() {
        let eqs = parse_text("dx = -k*a  # decay\n\n   a = x**2\n").unwrap();
        let declared = Declared {
            states: vec!["x".into()],
            parameters: vec!["k".into()],
            ..Declared::default()
        };
        let c = Canonical::assemble(declared, Vec::new(), eqs).unwrap();
        let lhs: Vec<&str> = c.items().iter().map(|i| i.lhs.as_str()).collect();
        assert_eq!(lhs, ["a", "dx"]);
        assert_eq!(c.items()[1].label, "dx = -k*a  # decay");
        assert_eq!(c.rhs_texts()[1].as_deref(), Some("-k*a"));
        assert!(c
            .system()
            .render()
            .unwrap()
            .ends_with("a = Pow(x, 2)\ndx = Mul(-1, a, k)\n"));
    }

    #[test]
    fn a_long_text_keeps_its_order_and_reports_its_first_problem() {
        let mut lines: Vec<String> = (0..300).map(|i| format!("a{i} = x*{i}")).collect();
        let eqs = parse_text(&lines.join("\n")).unwrap();
        let lhs: Vec<&str> = eqs.iter().map(|e| e.item.lhs.as_str()).collect();
        assert_eq!(lhs[..3], ["a0", "a1", "a2"]);
        assert_eq!(lhs.len(), 300);
        lines[250] = "b = (".into();
        lines[100] = "c = )".into();
        let err = parse_text(&lines.join("\n")).unwrap_err();
        assert!(err.starts_with("equation 'c = )'"), "{err}");
    }

    #[test]
    fn errors_name_the_equation() {
        let err = parse_text("dx = x\ndy = (x +\n").unwrap_err();
        assert!(
            err.starts_with("equation 'dy = (x +': syntax error at column"),
            "{err}"
        );
    }
}
