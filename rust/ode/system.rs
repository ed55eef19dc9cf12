//! The canonical encoding of a whole system: layouts, constants and equations.
//!
//! ```text
//! str "cubie_hash/ode"  u32 FORMAT_VERSION
//! 's' states      count, names in layout order
//! 'p' parameters  count, names in layout order
//! 'd' drivers     count, names in layout order
//! 'o' observables count, names in layout order
//! 'c' constants   count, (name, value) sorted by name
//! 'e' equations   count, (left-hand side, right-hand side) sorted by left-hand side
//! ```
//!
//! Strings are length-prefixed (u32 big-endian), values and right-hand sides are expression
//! encodings ([`super::encoding`]).  Layout order is hashed because it decides the array
//! indices of generated code; equation and constant order are not.

use std::fmt;

use super::encoding::{put_layouts, put_len, put_str, Expr, FORMAT_VERSION};

/// Tag at the start of every system encoding.
pub const MAGIC: &str = "cubie_hash/ode";

/// A system, as the parts the canonical form is built from.
#[derive(Clone, Debug, Default)]
pub struct System {
    pub states: Vec<String>,
    pub parameters: Vec<String>,
    pub drivers: Vec<String>,
    pub observables: Vec<String>,
    pub constants: Vec<(String, Expr)>,
    pub equations: Vec<(String, Expr)>,
}

/// A name given two values: two equations for one left-hand side, or one constant twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub what: &'static str,
    pub name: String,
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?} is given twice", self.what, self.name)
    }
}

/// Bytes reserved per equation or constant, and per layout name, before a system is written:
/// a generous guess (generated(340) takes about 105 per equation), so that most systems are
/// written without growing the buffer, each growth copying all written so far.  Reserved
/// bytes never written cost no more than address space.
const BYTES_PER_EQUATION: usize = 160;
const BYTES_PER_NAME: usize = 16;

fn sorted_unique<'a>(
    items: &'a [(String, Expr)],
    what: &'static str,
) -> Result<Vec<&'a (String, Expr)>, Duplicate> {
    let mut sorted: Vec<&(String, Expr)> = items.iter().collect();
    // Evaluation order takes ready equations by name, so they often come sorted already:
    // then one pass shows them sorted and without a name given twice.
    if sorted.is_sorted_by(|a, b| a.0 < b.0) {
        return Ok(sorted);
    }
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Duplicate {
            what,
            name: pair[0].0.clone(),
        });
    }
    Ok(sorted)
}

impl System {
    /// The versioned canonical bytes that `hash_system_definition` digests.
    pub fn encode(&self) -> Result<Vec<u8>, Duplicate> {
        let constants = sorted_unique(&self.constants, "constant")?;
        let equations = sorted_unique(&self.equations, "left-hand side")?;
        let layouts = [
            &self.states,
            &self.parameters,
            &self.drivers,
            &self.observables,
        ];
        let names: usize = layouts.iter().map(|l| l.len()).sum();
        let mut out = Vec::with_capacity(
            BYTES_PER_EQUATION * (equations.len() + constants.len()) + BYTES_PER_NAME * names,
        );
        put_str(&mut out, MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        put_layouts(&mut out, layouts);
        for (tag, items) in [(b'c', &constants), (b'e', &equations)] {
            out.push(tag);
            put_len(&mut out, items.len());
            for (name, value) in items.iter() {
                put_str(&mut out, name);
                value.encode_into(&mut out);
            }
        }
        Ok(out)
    }

    /// The readable rendering of the same canonical form, one item a line.
    pub fn render(&self) -> Result<String, Duplicate> {
        let constants = sorted_unique(&self.constants, "constant")?;
        let equations = sorted_unique(&self.equations, "left-hand side")?;
        let mut out = format!("{MAGIC} v{FORMAT_VERSION}\n");
        for (label, names) in [
            ("states", &self.states),
            ("parameters", &self.parameters),
            ("drivers", &self.drivers),
            ("observables", &self.observables),
        ] {
            out.push_str(label);
            out.push_str(": [");
            out.push_str(&names.join(", "));
            out.push_str("]\n");
        }
        for (name, value) in constants {
            out.push_str(&format!("constant {name} = {}\n", value.render()));
        }
        for (name, rhs) in equations {
            out.push_str(&format!("{name} = {}\n", rhs.render()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lorenz(order: &[usize]) -> System {
        let x = || Expr::symbol("x");
        let y = || Expr::symbol("y");
        let eqs = [
            (
                "dx",
                Expr::mul(vec![
                    Expr::symbol("sigma"),
                    Expr::add(vec![y(), Expr::mul(vec![Expr::int(-1), x()])]),
                ]),
            ),
            ("dy", Expr::mul(vec![x(), y()])),
            ("dz", Expr::symbol("z")),
        ];
        System {
            states: vec!["x".into(), "y".into(), "z".into()],
            parameters: vec!["sigma".into()],
            constants: vec![(
                "rho".into(),
                Expr::number(super::super::number::Number::Float(28.0)),
            )],
            equations: order
                .iter()
                .map(|&i| (eqs[i].0.to_owned(), eqs[i].1.clone()))
                .collect(),
            ..System::default()
        }
    }

    #[test]
    fn equation_order_does_not_matter_but_layout_does() {
        let a = lorenz(&[0, 1, 2]).encode().unwrap();
        let b = lorenz(&[2, 0, 1]).encode().unwrap();
        assert_eq!(a, b);
        let mut swapped = lorenz(&[0, 1, 2]);
        swapped.states.swap(0, 1);
        assert_ne!(swapped.encode().unwrap(), a);
        assert!(a.starts_with(b"\x00\x00\x00\x0ecubie_hash/ode\x00\x00\x00\x02"));
    }

    #[test]
    fn duplicates_are_refused() {
        let mut sys = lorenz(&[0, 1, 2, 0]);
        assert_eq!(
            sys.encode().unwrap_err().to_string(),
            "left-hand side \"dx\" is given twice"
        );
        sys = lorenz(&[0]);
        sys.constants.push(("rho".into(), Expr::int(1)));
        assert!(sys.encode().is_err());
    }

    #[test]
    fn sorted_or_not_the_same_names_are_refused() {
        // In name order (the one-pass check) and out of it (sorted first).
        for (order, twice) in [
            ([0, 0, 1], "dx"),
            ([0, 1, 1], "dy"),
            ([1, 0, 1], "dy"),
            ([2, 1, 2], "dz"),
        ] {
            let err = lorenz(&order).encode().unwrap_err();
            assert_eq!((err.what, err.name.as_str()), ("left-hand side", twice));
        }
        assert_eq!(
            lorenz(&[0, 1, 2]).render().unwrap(),
            lorenz(&[2, 1, 0]).render().unwrap()
        );
    }

    #[test]
    fn rendering_lists_everything() {
        let text = lorenz(&[1, 0, 2]).render().unwrap();
        assert_eq!(
            text,
            "cubie_hash/ode v2\nstates: [x, y, z]\nparameters: [sigma]\ndrivers: []\n\
             observables: []\nconstant rho = 28.0\ndx = Mul(Add(Mul(-1, x), y), sigma)\n\
             dy = Mul(x, y)\ndz = z\n"
        );
    }
}
