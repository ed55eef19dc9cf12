//! The Numba module of a system, printed from its canonical form.
//!
//! The module is a pure function of (canonical system, target, precision,
//! [`GENERATOR_VERSION`]): nothing here sees how the system was typed, so every input form
//! that hashes alike prints the same bytes and computes the same bits.
//!
//! # Stages
//!
//! 1. **Order.**  Assignments are ordered by the free symbols of their canonical right-hand
//!    sides (each one after what it uses, ties broken by name); each function (`dxdt`,
//!    `observables`) keeps only the assignments its outputs need.
//! 2. **Lowering.**  Each canonical node becomes a node of a small code graph ([`Op`]) with
//!    one fixed evaluation formula (`a*b/(c*d)`, `a - b`, `math.exp(a)`, `a if c else b`, …),
//!    hash-consed, so identical canonical subtrees become one node.
//! 3. **Common subexpressions.**  A node evaluated unconditionally more than once — or
//!    unconditionally once and again inside a Piecewise branch — is computed once, into
//!    `_c0`, `_c1`, … (numbered in the order they are first printed).  Nothing is hoisted out
//!    of a Piecewise branch: a branch may guard a division or a log, and Numba's `njit` raises
//!    `ZeroDivisionError` for `x/0`.  A temporary holds exactly the value its formula computes
//!    inline, so CSE never changes a bit.
//! 4. **Printing.**  Numbers are `_precision(<double>)` literals in their shortest round-trip
//!    form (exact rationals and integers beyond int64 correctly rounded, or `math.inf`);
//!    bound once per function (`_k0`, `_k1`, …); integer exponents stay integers (`x**2`);
//!    user symbols are `v_<name>` locals.  Expressions too deep or too long for CPython are
//!    split into temporaries where that is safe.
//!
//! `lower` holds stages 2 and 3 (the code graph and which of its nodes are shared), `print`
//! stage 4, `templates` the module text around the two functions.

mod lower;
mod print;
mod templates;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::fmt;

use super::encoding::{Expr, View};
use super::system::System;
use crate::algorithm::Algorithm;
use lower::{double, float_literal, Graph, Lower, Op};
use print::Printer;
use templates::{CPU_BATCH, CUDA_BATCH, HEADER, RK4};

/// Version of the code printed here.  It is written into every module and into the cache
/// entry's metadata; a change to what this module prints must bump it, so cached entries of
/// the old printer are rebuilt instead of mixed with new ones.
pub const GENERATOR_VERSION: u32 = 1;

/// The independent variable: usable without being declared.
pub const TIME: &str = "t";

/// Where the module runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Cpu,
    Cuda,
}

/// The floating-point type of every array and literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    Float64,
    Float32,
}

impl Target {
    /// `"cpu"` or `"cuda"`.
    pub fn parse(name: &str) -> Result<Target, EmitError> {
        match name {
            "cpu" => Ok(Target::Cpu),
            "cuda" => Ok(Target::Cuda),
            _ => Err(EmitError(format!(
                "target must be 'cpu' or 'cuda', got {name:?}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Target::Cpu => "cpu",
            Target::Cuda => "cuda",
        }
    }
}

impl Precision {
    /// `"float64"` or `"float32"`.
    pub fn parse(name: &str) -> Result<Precision, EmitError> {
        match name {
            "float64" => Ok(Precision::Float64),
            "float32" => Ok(Precision::Float32),
            _ => Err(EmitError(format!(
                "precision must be 'float64' or 'float32', got {name:?}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::Float64 => "float64",
            Precision::Float32 => "float32",
        }
    }
}

/// What cannot be generated, with the equation it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmitError(pub String);

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the module is printed.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Compute common subexpressions once (the default).  Off, every expression is printed
    /// inline: the same values, a longer module (for tests and benchmarks).
    pub cse: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { cse: true }
    }
}

/// The Python source of the Numba module for `system`.
///
/// ```
/// use _core::ode::emit::{generate, Options, Precision, Target};
/// use _core::ode::{encoding::Expr, system::System};
/// let system = System {
///     states: vec!["x".into()],
///     parameters: vec!["k".into()],
///     equations: vec![(
///         "dx".into(),
///         Expr::mul(vec![Expr::int(-1), Expr::symbol("k"), Expr::symbol("x")]),
///     )],
///     ..System::default()
/// };
/// let source = generate(&system, Target::Cpu, Precision::Float64, Options::default())
///     .unwrap();
/// assert!(source.contains("    v_dx = -(v_k*v_x)\n    out[0] = v_dx\n"));
/// ```
pub fn generate(
    system: &System,
    target: Target,
    precision: Precision,
    options: Options,
) -> Result<String, EmitError> {
    // Lowering and printing recurse once per level of the canonical tree: on a stack of its
    // own the depth the front ends accept is what decides, not the caller's thread stack.
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("cubie_hash-emit".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, || generate_here(system, target, precision, options))
            .map_err(|e| EmitError(format!("cannot start the code generator: {e}")))?;
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Stack of the generating thread (reserved, touched only as deep as the tree goes).
const STACK_BYTES: usize = 256 << 20;

fn generate_here(
    system: &System,
    target: Target,
    precision: Precision,
    options: Options,
) -> Result<String, EmitError> {
    let plan = Plan::new(system)?;
    let encoding = system.encode().map_err(|e| EmitError(e.to_string()))?;
    let alg = Algorithm::Blake3;
    let fn_hash = alg.hexdigest(&encoding, alg.hex_len());
    let p = precision.name();
    let derivatives: Vec<&str> = system
        .states
        .iter()
        .map(|s| plan.index[format!("d{s}").as_str()])
        .map(|i| system.equations[i].0.as_str())
        .collect();
    let observed: Vec<&str> = system.observables.iter().map(String::as_str).collect();
    let (device, rk4_device, target_import, batch) = match target {
        Target::Cpu => (
            format!("@njit(\"void({p}[::1], {p}[::1], {p}[::1], {p}, {p}[::1])\", cache=True)"),
            "@njit(cache=True)".to_owned(),
            "from numba import njit",
            CPU_BATCH,
        ),
        Target::Cuda => (
            "@cuda.jit(device=True)".to_owned(),
            "@cuda.jit(device=True)".to_owned(),
            "from numba import cuda",
            CUDA_BATCH,
        ),
    };
    let header = HEADER
        .replace("{generator}", &GENERATOR_VERSION.to_string())
        .replace("{fn_hash}", &fn_hash)
        .replace("{target}", target.name())
        .replace("{precision}", p)
        .replace("{target_import}", target_import)
        .replace("{n_states}", &system.states.len().to_string())
        .replace("{n_parameters}", &system.parameters.len().to_string())
        .replace("{n_drivers}", &system.drivers.len().to_string())
        .replace("{n_observables}", &observed.len().to_string())
        .replace("{states}", &py_tuple(&system.states))
        .replace("{parameters}", &py_tuple(&system.parameters))
        .replace("{drivers}", &py_tuple(&system.drivers))
        .replace("{observables}", &py_tuple(&system.observables));
    let mut parts = vec![header];
    for (name, outputs) in [("dxdt", &derivatives), ("observables", &observed)] {
        let body = plan.function(system, outputs, options)?;
        let mut text = format!("\n\n{device}\ndef {name}(state, parameters, drivers, t, out):");
        for line in body {
            text.push_str("\n    ");
            text.push_str(&line);
        }
        parts.push(text);
    }
    parts.push(format!("\n{}", RK4.replace("{device}", &rk4_device)));
    parts.push(format!("\n{}", batch.replace("{p}", p)));
    Ok(parts.join("\n").trim_end().to_owned() + "\n")
}

// -- names -------------------------------------------------------------------------------------

/// The generated-code name of user symbol `name`: `v_<name>` for an ASCII identifier (no
/// clash with `math`, `out` or a keyword), else `u_<hex of its UTF-8>` — Python folds
/// non-ASCII identifiers by NFKC, which would make `ℌ` and `H` one variable.
pub fn local_name(name: &str) -> String {
    let ascii_identifier = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.bytes().next().is_some_and(|b| !b.is_ascii_digit());
    if ascii_identifier {
        format!("v_{name}")
    } else {
        format!("u_{}", hex::encode(name.as_bytes()))
    }
}

/// A Python string literal for `s` (ASCII only: anything else is escaped).
fn py_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('\'');
    out
}

/// A Python tuple of string literals, as `repr()` writes it.
fn py_tuple(names: &[String]) -> String {
    match names {
        [] => "()".to_owned(),
        [one] => format!("({},)", py_str(one)),
        _ => format!(
            "({})",
            names
                .iter()
                .map(|n| py_str(n))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

// -- the plan: declarations, checks and the order of assignments -----------------------------

struct Plan<'s> {
    /// Generated-code name of every declared or assigned symbol.
    locals: HashMap<&'s str, String>,
    /// Equation index by left-hand side.
    index: HashMap<&'s str, usize>,
    /// Every equation, in dependency order (ties by name).
    order: Vec<usize>,
    /// The assignments each equation's right-hand side uses.
    deps: Vec<Vec<usize>>,
}

fn free_symbols<'a>(e: &'a Expr, out: &mut BTreeSet<&'a str>) {
    match e.view() {
        View::Sym(name) => {
            out.insert(name);
        }
        View::Num(_) | View::Const(_) | View::Truth(_) => {}
        View::Add(args) | View::Mul(args) | View::Func(_, args) | View::Bool(_, args) => {
            for a in args {
                free_symbols(a, out);
            }
        }
        View::Pow(a, b) | View::Rel(_, a, b) => {
            free_symbols(a, out);
            free_symbols(b, out);
        }
        View::Piecewise(pairs) => {
            for (v, c) in pairs {
                free_symbols(v, out);
                free_symbols(c, out);
            }
        }
    }
}

impl<'s> Plan<'s> {
    fn new(system: &'s System) -> Result<Plan<'s>, EmitError> {
        let mut locals: HashMap<&str, String> = HashMap::new();
        let mut kind: HashMap<&str, &str> = HashMap::new();
        let declared = [
            ("state", &system.states),
            ("parameter", &system.parameters),
            ("driver", &system.drivers),
        ]
        .into_iter()
        .flat_map(|(what, names)| names.iter().map(move |n| (what, n.as_str())))
        .chain(system.constants.iter().map(|c| ("constant", c.0.as_str())));
        for (what, name) in declared {
            if let Some(before) = kind.insert(name, what) {
                return Err(EmitError(format!(
                    "{name} is declared twice (as a {before} and as a {what})"
                )));
            }
            locals.insert(name, local_name(name));
        }
        let mut index = HashMap::new();
        for (i, (lhs, _)) in system.equations.iter().enumerate() {
            if let Some(what) = kind.get(lhs.as_str()) {
                return Err(EmitError(format!(
                    "equation for {lhs}: assigns to {lhs}, which is declared as a {what}"
                )));
            }
            if index.insert(lhs.as_str(), i).is_some() {
                return Err(EmitError(format!("{lhs} is assigned twice")));
            }
            locals.insert(lhs.as_str(), local_name(lhs));
        }
        for s in &system.states {
            if !index.contains_key(format!("d{s}").as_str()) {
                return Err(EmitError(format!(
                    "state {s} has no derivative: add an equation 'd{s} = ...'"
                )));
            }
        }
        for o in &system.observables {
            if !index.contains_key(o.as_str()) {
                return Err(EmitError(format!(
                    "observable {o} is declared but never assigned"
                )));
            }
        }
        let mut deps = Vec::with_capacity(system.equations.len());
        for (lhs, rhs) in &system.equations {
            let mut symbols = BTreeSet::new();
            free_symbols(rhs, &mut symbols);
            let mut uses = Vec::new();
            for s in symbols {
                match index.get(s) {
                    Some(&j) => uses.push(j),
                    None if locals.contains_key(s) || s == TIME => {}
                    None => {
                        return Err(EmitError(format!(
                            "equation for {lhs}: symbol {s:?} is not declared in the system"
                        )))
                    }
                }
            }
            deps.push(uses);
        }
        let order = dependency_order(system, &deps)?;
        Ok(Plan {
            locals,
            index,
            order,
            deps,
        })
    }

    /// Body lines of one function writing `outputs` (left-hand sides) to `out`.
    fn function(
        &self,
        system: &System,
        outputs: &[&str],
        options: Options,
    ) -> Result<Vec<String>, EmitError> {
        let local = |n: &str| self.locals[n].clone();
        let mut lines = Vec::new();
        for (array, names) in [
            ("state", &system.states),
            ("parameters", &system.parameters),
            ("drivers", &system.drivers),
        ] {
            for (i, n) in names.iter().enumerate() {
                lines.push(format!("{} = {array}[{i}]", local(n)));
            }
        }
        let mut constants: Vec<&(String, Expr)> = system.constants.iter().collect();
        constants.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, value) in constants {
            let View::Num(n) = value.view() else {
                return Err(EmitError(format!("constant {name} must be a number")));
            };
            lines.push(format!("{} = {}", local(name), float_literal(double(n))));
        }
        // The assignments the outputs need, in the global order.
        let mut needed = vec![false; system.equations.len()];
        let mut stack: Vec<usize> = outputs.iter().map(|o| self.index[o]).collect();
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut needed[i], true) {
                stack.extend(&self.deps[i]);
            }
        }
        let assignments: Vec<usize> = self.order.iter().copied().filter(|&i| needed[i]).collect();
        let mut graph = Graph::default();
        let mut roots = Vec::with_capacity(assignments.len());
        for &i in &assignments {
            let (lhs, rhs) = &system.equations[i];
            let mut lower = Lower {
                graph: &mut graph,
                locals: &self.locals,
                equation: lhs,
            };
            roots.push(lower.expr(rhs)?);
        }
        let temps = if options.cse {
            graph.shared(&roots)
        } else {
            vec![false; graph.ops.len()]
        };
        let fixed = lines.len();
        let mut printer = Printer {
            graph: &graph,
            temps,
            names: vec![None; graph.ops.len()],
            lines: &mut lines,
            literals: Vec::new(),
            next: 0,
            equation: "",
        };
        for (&i, &root) in assignments.iter().zip(&roots) {
            let lhs = &system.equations[i].0;
            printer.equation = lhs;
            let target = local(lhs);
            let text = match (&printer.names[root], &graph.ops[root]) {
                (Some(name), _) => name.clone(),
                (None, Op::Atom(_)) => printer.expr(root, true)?.text,
                (None, _) => {
                    let text = printer.body(root, true)?.text;
                    if options.cse {
                        printer.names[root] = Some(target.clone());
                    }
                    text
                }
            };
            printer.lines.push(format!("{target} = {text}"));
        }
        let literals = std::mem::take(&mut printer.literals);
        lines.splice(fixed..fixed, literals);
        for (i, o) in outputs.iter().enumerate() {
            lines.push(format!("out[{i}] = {}", local(o)));
        }
        if lines.is_empty() {
            lines.push("pass".to_owned());
        }
        Ok(lines)
    }
}

/// Kahn's algorithm, the smallest ready name first; a cycle is an error naming its members.
fn dependency_order(system: &System, deps: &[Vec<usize>]) -> Result<Vec<usize>, EmitError> {
    let n = deps.len();
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            users[j].push(i);
        }
    }
    let name = |i: usize| system.equations[i].0.as_str();
    let mut ready: BinaryHeap<Reverse<(&str, usize)>> = (0..n)
        .filter(|&i| waiting[i] == 0)
        .map(|i| Reverse((name(i), i)))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((_, i))) = ready.pop() {
        order.push(i);
        for &u in &users[i] {
            waiting[u] -= 1;
            if waiting[u] == 0 {
                ready.push(Reverse((name(u), u)));
            }
        }
    }
    if order.len() < n {
        let mut stuck: Vec<&str> = (0..n).filter(|&i| waiting[i] > 0).map(name).collect();
        stuck.sort_unstable();
        return Err(EmitError(format!(
            "cycle among assignments: {} depend on each other",
            stuck.join(", ")
        )));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::print::{CHUNK, SPLIT_DEPTH};
    use super::*;
    use crate::ode::encoding::{BoolOp, RelOp};
    use crate::ode::number::Number;
    use num_rational::BigRational;

    fn s(name: &str) -> Expr {
        Expr::symbol(name)
    }
    fn f(x: f64) -> Expr {
        Expr::number(Number::Float(x))
    }
    fn neg(e: Expr) -> Expr {
        Expr::mul(vec![Expr::int(-1), e])
    }
    fn div(a: Expr, b: Expr) -> Expr {
        Expr::mul(vec![a, Expr::pow(b, Expr::int(-1))])
    }
    fn gt(a: Expr, b: Expr) -> Expr {
        Expr::relation(RelOp::Gt, a, b)
    }
    fn system(states: &[&str], params: &[&str], eqs: Vec<(&str, Expr)>) -> System {
        System {
            states: states.iter().map(|s| s.to_string()).collect(),
            parameters: params.iter().map(|s| s.to_string()).collect(),
            equations: eqs.into_iter().map(|(n, e)| (n.to_owned(), e)).collect(),
            ..System::default()
        }
    }
    fn cpu(sys: &System, cse: bool) -> Result<String, EmitError> {
        generate(sys, Target::Cpu, Precision::Float64, Options { cse })
    }
    /// The body of `dxdt`, one statement a line, literals (`_kN`) written back in place.
    fn dxdt(source: &str) -> Vec<String> {
        let start = source.find("def dxdt(").expect("a dxdt");
        let mut literals: Vec<(String, String)> = Vec::new();
        let mut body = Vec::new();
        for line in source[start..].lines().skip(1) {
            let Some(line) = line.strip_prefix("    ") else {
                break;
            };
            match line.split_once(" = ") {
                Some((k, v)) if k.starts_with("_k") => literals.push((k.into(), v.into())),
                _ => body.push(line.to_owned()),
            }
        }
        // Longest names first: `_k1` must not replace the start of `_k12`.
        literals.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        body.iter()
            .map(|line| {
                literals
                    .iter()
                    .fold(line.clone(), |l, (k, v)| l.replace(k.as_str(), v))
            })
            .collect()
    }

    fn lorenz(order: &[usize]) -> System {
        let (x, y, z) = (|| s("x"), || s("y"), || s("z"));
        let eqs = [
            (
                "dx",
                Expr::mul(vec![s("sigma"), Expr::add(vec![y(), neg(x())])]),
            ),
            (
                "dy",
                Expr::add(vec![
                    Expr::mul(vec![x(), Expr::add(vec![s("rho"), neg(z())])]),
                    neg(y()),
                ]),
            ),
            (
                "dz",
                Expr::add(vec![
                    Expr::mul(vec![x(), y()]),
                    neg(Expr::mul(vec![s("beta"), z()])),
                ]),
            ),
            (
                "e",
                Expr::add(vec![
                    Expr::pow(x(), Expr::int(2)),
                    Expr::pow(y(), Expr::int(2)),
                ]),
            ),
        ];
        let mut sys = system(
            &["x", "y", "z"],
            &["sigma", "rho", "beta"],
            order.iter().map(|&i| eqs[i].clone()).collect(),
        );
        sys.observables = vec!["e".into()];
        sys
    }

    #[test]
    fn lorenz_prints_the_expected_module() {
        let source = cpu(&lorenz(&[0, 1, 2, 3]), true).unwrap();
        assert!(source.starts_with("\"\"\"Generated by cubie_hash: system "));
        assert!(source.contains("code generator version 1.\n"));
        assert!(source.contains("\nSTATES = ('x', 'y', 'z')\n"));
        assert!(source.contains("\nOBSERVABLES = ('e',)\n"));
        assert!(source.contains("\nDRIVERS = ()\n"));
        assert!(source.contains("\nGENERATOR_VERSION = 1\n"));
        assert_eq!(
            dxdt(&source),
            [
                "v_x = state[0]",
                "v_y = state[1]",
                "v_z = state[2]",
                "v_sigma = parameters[0]",
                "v_rho = parameters[1]",
                "v_beta = parameters[2]",
                // Canonical order: sums sort first, shorter names first.
                "v_dx = (-v_x + v_y)*v_sigma",
                "v_dy = (-v_z + v_rho)*v_x - v_y",
                "v_dz = v_x*v_y - v_z*v_beta",
                "out[0] = v_dx",
                "out[1] = v_dy",
                "out[2] = v_dz",
            ]
        );
        assert!(source.contains("    v_e = v_x**2 + v_y**2\n    out[0] = v_e\n"));
        assert!(source.ends_with("            out[s, i] = y[i]\n"));
    }

    #[test]
    fn equation_order_never_reaches_the_module() {
        let a = cpu(&lorenz(&[0, 1, 2, 3]), true).unwrap();
        let b = cpu(&lorenz(&[3, 2, 0, 1]), true).unwrap();
        assert_eq!(a, b);
    }

    fn q(p: i64, d: i64) -> Expr {
        Expr::number(Number::exact(BigRational::new(p.into(), d.into())))
    }
    fn one_state(rhs: Expr) -> System {
        system(&["x"], &["a", "b"], vec![("dx", rhs)])
    }
    /// The right-hand side printed for `dx` in a one-state system.
    fn rhs(e: Expr) -> String {
        let source = cpu(&one_state(e), true).unwrap();
        let lines = dxdt(&source);
        let line = lines.iter().find(|l| l.starts_with("v_dx = ")).unwrap();
        line["v_dx = ".len()..].to_owned()
    }

    #[test]
    fn numbers_are_correctly_rounded_double_literals() {
        let x = || s("x");
        let big = |e: u32| Expr::number(Number::integer(num_bigint::BigInt::from(10).pow(e)));
        assert_eq!(rhs(Expr::mul(vec![big(23), x()])), "_precision(1e23)*v_x");
        assert_eq!(
            rhs(Expr::mul(vec![big(400), x()])),
            "_precision(math.inf)*v_x"
        );
        assert_eq!(
            rhs(Expr::mul(vec![big(400), Expr::int(-1), x()])),
            "-(_precision(math.inf)*v_x)"
        );
        // 6.022*10**23 folds exactly, then rounds once.
        assert_eq!(
            rhs(Expr::mul(vec![f(6.022), big(23), x()])),
            format!("_precision({:?})*v_x", 6.022e23)
        );
        assert_eq!(
            rhs(Expr::mul(vec![q(1, 3), x()])),
            "_precision(0.3333333333333333)*v_x"
        );
        assert_eq!(
            rhs(Expr::add(vec![q(-2, 3), x()])),
            "_precision(-0.6666666666666666) + v_x"
        );
        assert_eq!(
            rhs(Expr::mul(vec![Expr::int(3), x()])),
            "_precision(3.0)*v_x"
        );
        assert_eq!(rhs(Expr::mul(vec![f(0.1), x()])), "_precision(0.1)*v_x");
        assert_eq!(
            rhs(Expr::mul(vec![f(1e-300), x()])),
            "_precision(1e-300)*v_x"
        );
        let tiny = Expr::number(Number::exact(BigRational::new(
            1.into(),
            num_bigint::BigInt::from(10).pow(400),
        )));
        assert_eq!(rhs(Expr::mul(vec![tiny, x()])), "_precision(0.0)*v_x");
        assert_eq!(
            rhs(Expr::mul(vec![Expr::constant("pi"), x()])),
            "_precision(math.pi)*v_x"
        );
        // Integer exponents stay integers; a huge one is a double.
        assert_eq!(rhs(Expr::pow(x(), Expr::int(3))), "v_x**3");
        assert_eq!(rhs(Expr::pow(x(), big(30))), "v_x**_precision(1e30)");
        // Powers of numbers the canonical form leaves unfolded: exactly, then rounded once.
        let pow = |b: Expr, e: Expr| Expr::mul(vec![Expr::pow(b, e), x()]);
        assert_eq!(
            rhs(pow(Expr::int(10), Expr::int(400))),
            "_precision(math.inf)*v_x"
        );
        assert_eq!(rhs(pow(Expr::int(10), big(10))), "_precision(math.inf)*v_x");
        assert_eq!(
            rhs(pow(Expr::int(-10), big(10))),
            "_precision(math.inf)*v_x"
        );
        assert_eq!(
            rhs(pow(Expr::int(-10), Expr::int(401))),
            "_precision(-math.inf)*v_x"
        );
        assert_eq!(
            rhs(pow(Expr::int(10), Expr::int(-400))),
            "_precision(0.0)*v_x"
        );
        assert_eq!(
            rhs(pow(Expr::int(10), Expr::int(100))),
            "_precision(1e100)*v_x"
        );
        assert_eq!(
            rhs(pow(f(1.1), Expr::int(100))),
            "_precision(13780.61233982238)*v_x"
        );
        assert_eq!(
            rhs(Expr::pow(Expr::int(10), big(10))),
            "_precision(math.inf)"
        );
        // Base near 1, exponent too large to expand: left to run time.
        assert_eq!(
            rhs(pow(f(1.0 + f64::EPSILON), big(12))),
            "_precision(1.0000000000000002)**1000000000000*v_x"
        );
    }

    #[test]
    fn each_distinct_literal_is_bound_once_per_function() {
        let half = |e: Expr| Expr::mul(vec![f(0.5), e]);
        let sys = system(
            &["x", "y"],
            &[],
            vec![
                ("dx", Expr::add(vec![half(s("x")), f(2.0)])),
                ("dy", Expr::add(vec![half(s("y")), f(2.0)])),
            ],
        );
        let source = cpu(&sys, true).unwrap();
        let start = source.find("def dxdt(").unwrap();
        let body: Vec<&str> = source[start..].lines().skip(3).take(4).collect();
        assert_eq!(
            body,
            [
                "    _k0 = _precision(2.0)",
                "    _k1 = _precision(0.5)",
                "    v_dx = _k0 + _k1*v_x",
                "    v_dy = _k0 + _k1*v_y",
            ]
        );
    }

    #[test]
    fn constants_are_literals_in_name_order() {
        let mut sys = one_state(Expr::mul(vec![s("c"), s("k"), s("x")]));
        sys.parameters.clear();
        sys.constants = vec![
            (
                "k".into(),
                Expr::number(Number::integer(num_bigint::BigInt::from(10).pow(400))),
            ),
            ("c".into(), q(1, 4)),
        ];
        let lines = dxdt(&cpu(&sys, true).unwrap());
        assert_eq!(
            lines[1..3],
            ["v_c = _precision(0.25)", "v_k = _precision(math.inf)"]
        );
    }

    #[test]
    fn powers_and_divisions() {
        let x = || s("x");
        assert_eq!(rhs(div(s("a"), x())), "v_a/v_x");
        assert_eq!(rhs(Expr::pow(x(), Expr::int(-1))), "_precision(1.0)/v_x");
        assert_eq!(rhs(div(s("a"), Expr::pow(x(), Expr::int(2)))), "v_a/v_x**2");
        assert_eq!(
            rhs(Expr::mul(vec![
                s("a"),
                Expr::pow(x(), Expr::int(-1)),
                Expr::pow(s("b"), Expr::int(-1))
            ])),
            "v_a/(v_b*v_x)"
        );
        assert_eq!(rhs(Expr::pow(x(), q(1, 2))), "math.sqrt(v_x)");
        assert_eq!(
            rhs(Expr::pow(x(), q(-1, 2))),
            "_precision(1.0)/math.sqrt(v_x)"
        );
        assert_eq!(
            rhs(Expr::pow(x(), q(1, 3))),
            "v_x**_precision(0.3333333333333333)"
        );
        assert_eq!(rhs(Expr::pow(x(), f(2.5))), "v_x**_precision(2.5)");
        assert_eq!(rhs(Expr::pow(x(), f(-0.5))), "v_x**_precision(-0.5)");
        assert_eq!(rhs(Expr::pow(x(), s("a"))), "v_x**v_a");
        assert_eq!(
            rhs(Expr::pow(Expr::add(vec![x(), s("a")]), Expr::int(2))),
            "(v_a + v_x)**2"
        );
    }

    #[test]
    fn functions_constants_and_booleans() {
        let x = || s("x");
        let fx = |name: &str| rhs(Expr::func(name, vec![x()]));
        assert_eq!(fx("exp"), "math.exp(v_x)");
        assert_eq!(fx("Abs"), "abs(v_x)");
        assert_eq!(fx("ceiling"), "math.ceil(v_x)");
        assert_eq!(fx("loggamma"), "math.lgamma(v_x)");
        assert_eq!(fx("cot"), "_precision(1.0)/math.tan(v_x)");
        assert_eq!(rhs(Expr::func("Max", vec![x(), s("a")])), "max(v_a, v_x)");
        assert_eq!(rhs(Expr::func("Mod", vec![x(), s("a")])), "v_x % v_a");
        assert_eq!(
            fx("sign"),
            "_precision(0.0) if v_x == _precision(0.0) else math.copysign(_precision(1.0), v_x)"
        );
        assert_eq!(
            rhs(Expr::func("Heaviside", vec![x(), q(1, 2)])),
            "_precision(0.0) if v_x < _precision(0.0) else (_precision(0.5) if v_x == \
             _precision(0.0) else _precision(1.0))"
        );
        let both = Expr::boolean(
            BoolOp::And,
            vec![
                gt(x(), Expr::int(0)),
                Expr::boolean(BoolOp::Not, vec![gt(s("a"), x())]),
            ],
        );
        assert_eq!(
            rhs(Expr::piecewise(vec![
                (s("a"), both),
                (s("b"), Expr::truth(true))
            ])),
            "v_a if (not (v_x < v_a)) & (_precision(0.0) < v_x) else v_b"
        );
        // No condition holds: SymPy's Piecewise is nan there.
        assert_eq!(
            rhs(Expr::piecewise(vec![(s("a"), gt(x(), Expr::int(0)))])),
            "v_a if _precision(0.0) < v_x else _precision(math.nan)"
        );
        assert_eq!(
            rhs(Expr::mul(vec![Expr::int(2), s("t")])),
            "_precision(2.0)*t"
        );
    }

    #[test]
    fn what_numba_cannot_compile_is_an_error_naming_the_equation() {
        let x = || s("x");
        for (e, what) in [
            (Expr::mul(vec![Expr::constant("I"), x()]), "<I>"),
            (Expr::mul(vec![Expr::constant("zoo"), x()]), "<zoo>"),
            (
                Expr::func("besselj", vec![x(), x()]),
                "Numba has no besselj",
            ),
            (Expr::func("exp", vec![x(), x()]), "exp takes 1 argument"),
            (Expr::mul(vec![s("q"), x()]), "\"q\" is not declared"),
        ] {
            let err = cpu(&one_state(e), true).unwrap_err().0;
            assert!(err.starts_with("equation for dx: "), "{err}");
            assert!(err.contains(what), "{err}");
        }
        let mut sys = one_state(s("a"));
        sys.states.push("y".into());
        assert!(cpu(&sys, true)
            .unwrap_err()
            .0
            .contains("state y has no derivative"));
        let cycle = system(
            &["x"],
            &[],
            vec![("dx", s("u")), ("u", s("w")), ("w", s("u"))],
        );
        assert_eq!(
            cpu(&cycle, true).unwrap_err().0,
            "cycle among assignments: dx, u, w depend on each other"
        );
        let mut sys = one_state(s("a"));
        sys.observables.push("o".into());
        assert!(cpu(&sys, true)
            .unwrap_err()
            .0
            .contains("observable o is declared"));
        let clash = system(&["x"], &["x"], vec![("dx", s("x"))]);
        assert!(cpu(&clash, true).unwrap_err().0.contains("declared twice"));
    }

    #[test]
    fn shared_subtrees_are_computed_once() {
        let e = || Expr::func("exp", vec![Expr::mul(vec![s("a"), s("x")])]);
        let sys = system(
            &["x", "y"],
            &["a"],
            vec![
                ("dx", Expr::add(vec![e(), s("y")])),
                ("dy", Expr::mul(vec![e(), s("y")])),
            ],
        );
        let source = cpu(&sys, true).unwrap();
        let body = dxdt(&source);
        assert!(
            body.contains(&"_c0 = math.exp(v_a*v_x)".to_owned()),
            "{body:?}"
        );
        assert!(body.contains(&"v_dx = v_y + _c0".to_owned()), "{body:?}");
        assert!(body.contains(&"v_dy = v_y*_c0".to_owned()), "{body:?}");
        assert_eq!(source.matches("math.exp").count(), 1);
        // Without CSE: the same formulas, inline.
        let plain = cpu(&sys, false).unwrap();
        assert!(!plain.contains("_c0"));
        assert!(plain.contains("v_dx = v_y + math.exp(v_a*v_x)\n"));
        assert!(plain.contains("v_dy = v_y*math.exp(v_a*v_x)\n"));
        // A whole right-hand side used again is read from its variable.
        let sys = system(
            &["x"],
            &["a"],
            vec![
                ("u", Expr::mul(vec![s("a"), s("x")])),
                (
                    "dx",
                    Expr::add(vec![s("u"), Expr::mul(vec![s("a"), s("x")])]),
                ),
            ],
        );
        let body = dxdt(&cpu(&sys, true).unwrap());
        assert!(body.contains(&"v_u = v_a*v_x".to_owned()), "{body:?}");
        assert!(body.contains(&"v_dx = v_u + v_u".to_owned()), "{body:?}");
        // A negation is never a temporary: what it negates is.
        let sys = system(
            &["x", "y"],
            &["a"],
            vec![
                ("dx", Expr::add(vec![neg(e()), s("a")])),
                ("dy", Expr::add(vec![neg(e()), s("y")])),
            ],
        );
        let body = dxdt(&cpu(&sys, true).unwrap());
        assert!(
            body.contains(&"_c0 = math.exp(v_a*v_x)".to_owned()),
            "{body:?}"
        );
        assert!(body.contains(&"v_dx = -_c0 + v_a".to_owned()), "{body:?}");
    }

    #[test]
    fn nothing_is_hoisted_out_of_a_branch() {
        let x = || s("x");
        let guarded = || div(s("a"), x());
        let positive = || gt(x(), Expr::int(0));
        // a/x twice, but only ever inside a branch that x > 0 guards: never a temporary.
        let sys = system(
            &["x", "y"],
            &["a"],
            vec![
                (
                    "dx",
                    Expr::piecewise(vec![
                        (guarded(), positive()),
                        (Expr::int(0), Expr::truth(true)),
                    ]),
                ),
                (
                    "dy",
                    Expr::piecewise(vec![
                        (guarded(), positive()),
                        (Expr::int(1), Expr::truth(true)),
                    ]),
                ),
            ],
        );
        let body = dxdt(&cpu(&sys, true).unwrap());
        for line in body.iter().filter(|l| l.starts_with("_c")) {
            assert!(!line.contains("v_a/v_x"), "hoisted out of a branch: {line}");
        }
        assert!(
            body.contains(&"v_dx = v_a/v_x if _c0 else _precision(0.0)".to_owned()),
            "{body:?}"
        );
        assert!(
            body.contains(&"_c0 = _precision(0.0) < v_x".to_owned()),
            "{body:?}"
        );
        // Evaluated unconditionally anyway: the branch reads the temporary.
        let e = || Expr::func("exp", vec![x()]);
        let sys = one_state(Expr::add(vec![
            e(),
            Expr::piecewise(vec![
                (Expr::mul(vec![s("a"), e()]), positive()),
                (Expr::int(0), Expr::truth(true)),
            ]),
        ]));
        let body = dxdt(&cpu(&sys, true).unwrap());
        assert!(body.contains(&"_c0 = math.exp(v_x)".to_owned()), "{body:?}");
        assert!(
            body.contains(
                &"v_dx = (v_a*_c0 if _precision(0.0) < v_x else _precision(0.0)) + _c0".to_owned()
            ),
            "{body:?}"
        );
        // Later branches and conditions are conditional too.
        let sys = one_state(Expr::piecewise(vec![
            (Expr::int(0), positive()),
            (s("a"), gt(guarded(), Expr::int(1))),
            (guarded(), Expr::truth(true)),
        ]));
        let body = dxdt(&cpu(&sys, true).unwrap());
        assert!(!body.iter().any(|l| l.starts_with("_c")), "{body:?}");
    }

    #[test]
    fn deep_nesting_is_split_into_temporaries() {
        let mut e = s("x");
        for _ in 0..500 {
            e = Expr::func("sin", vec![e]);
        }
        let source = cpu(&one_state(e), true).unwrap();
        let max_nesting = source
            .lines()
            .map(|l| {
                let mut depth = 0i32;
                let mut deepest = 0;
                for c in l.chars() {
                    depth += i32::from(c == '(') - i32::from(c == ')');
                    deepest = deepest.max(depth);
                }
                deepest
            })
            .max()
            .unwrap();
        assert!(max_nesting <= SPLIT_DEPTH as i32 + 10, "{max_nesting}");
        assert_eq!(source.matches("math.sin(").count(), 500);
        // In a branch nothing can be hoisted: too deep is an error, not a module Python refuses.
        let mut e = s("x");
        for _ in 0..500 {
            e = Expr::func("sin", vec![e]);
        }
        let branch = Expr::piecewise(vec![
            (e, gt(s("x"), Expr::int(0))),
            (Expr::int(0), Expr::truth(true)),
        ]);
        let err = cpu(&one_state(branch), true).unwrap_err().0;
        assert!(
            err.contains("equation for dx") && err.contains("nested too deeply"),
            "{err}"
        );
    }

    #[test]
    fn long_chains_are_split_left_to_right() {
        let names: Vec<String> = (0..3000).map(|i| format!("p{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let sum = Expr::add(refs.iter().map(|n| s(n)).collect());
        let product = Expr::mul(refs[..900].iter().map(|n| s(n)).collect());
        let sys = system(&["x", "y"], &refs, vec![("dx", sum), ("dy", product)]);
        let source = cpu(&sys, true).unwrap();
        for line in source.lines() {
            assert!(line.matches(" + ").count() <= CHUNK as usize, "{line}");
            assert!(line.matches('*').count() <= CHUNK as usize + 1, "{line}");
        }
        let body = dxdt(&source);
        // The first chunk is bound, and the chain goes on from it.
        let first = body.iter().find(|l| l.starts_with("_c0 = ")).unwrap();
        assert!(first.starts_with("_c0 = v_p0 + v_p1 + "), "{first}");
        assert!(
            body.iter().any(|l| l.starts_with("_c1 = _c0 + ")),
            "{body:?}"
        );
        // Loaded in dxdt and in observables, added once.
        assert_eq!(source.matches("v_p2999").count(), 3);
        // A long chain inside a branch cannot be split: refused, not printed unparsable.
        let sum = Expr::add(refs.iter().map(|n| s(n)).collect());
        let branch = Expr::piecewise(vec![
            (sum, gt(s("x"), Expr::int(0))),
            (Expr::int(0), Expr::truth(true)),
        ]);
        let sys = system(&["x"], &refs, vec![("dx", branch)]);
        assert!(cpu(&sys, true).unwrap_err().0.contains("nested too deeply"));
    }

    #[test]
    fn names_python_would_fold_stay_distinct() {
        let sys = system(
            &["H", "\u{210c}"],
            &[],
            vec![("dH", s("\u{210c}")), ("d\u{210c}", s("H"))],
        );
        let source = cpu(&sys, true).unwrap();
        assert!(source.contains("\nSTATES = ('H', '\\u210c')\n"));
        let body = dxdt(&source);
        assert_eq!(body[..2], ["v_H = state[0]", "u_e2848c = state[1]"]);
        assert!(body.contains(&"v_dH = u_e2848c".to_owned()), "{body:?}");
        assert!(source.is_ascii());
    }

    #[test]
    fn cuda_and_float32_change_only_decorators_and_types() {
        let sys = lorenz(&[0, 1, 2, 3]);
        let cuda = generate(&sys, Target::Cuda, Precision::Float32, Options::default()).unwrap();
        assert!(cuda.contains("from numba import float32 as _precision\nfrom numba import cuda\n"));
        assert!(
            cuda.contains("@cuda.jit(device=True)\ndef dxdt(state, parameters, drivers, t, out):")
        );
        assert!(cuda.contains("@cuda.jit(\"void(float32[:, ::1], "));
        assert_eq!(dxdt(&cuda), dxdt(&cpu(&sys, true).unwrap()));
    }
}
