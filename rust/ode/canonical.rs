//! A checked system in canonical form: what every front end builds and every back end reads.
//!
//! [`Canonical::assemble`] takes the equations a front end lowered (text through
//! [`super::text`], SymPy trees through `sympy_walk`), runs the whole-system checks of
//! [`super::checks`] on their names and keeps the equations in evaluation order.  The hash,
//! the readable rendering and generated code all read the one [`System`] it holds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use super::checks::{check_and_order, Declared, Item};
use super::encoding::Expr;
use super::system::System;
use super::text::{is_blank, parse_line, py_strip, Equation};

/// One lowered equation, with what the checks and lazy consumers need to know of it.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// `item.shown` is the right-hand side's text where it was given as text.
    pub item: Item,
    pub rhs: Expr,
    /// Whether the right-hand side was given as text (`item.shown`).
    pub from_text: bool,
}

impl Lowered {
    /// A text equation, labelled `label`.
    pub fn from_text(eq: Equation, label: String) -> Lowered {
        Lowered {
            item: Item {
                lhs: eq.lhs,
                label,
                symbols: eq.symbols,
                shown: eq.rhs_text,
            },
            rhs: eq.rhs,
            from_text: true,
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

/// Lines a thread takes at a time: some ten microseconds of work, so that the threads
/// finish within one chunk of each other.
const CHUNK: usize = 4;

/// Every equation of a multi-line text, or the message of the first problem.
///
/// Equations are independent until the whole-system checks, so a long text is parsed on
/// several threads; the results keep the text's order and the first problem in that order
/// is the one reported, as on one thread.
pub fn parse_text(text: &str) -> Result<Vec<Lowered>, String> {
    super::text::lower::new_system();
    let lines: Vec<&str> = super::text::split_lines(text)
        .into_iter()
        .filter(|line| !is_blank(line))
        .collect();
    let threads = crate::threads::workers();
    if lines.len() < PARALLEL_EQUATIONS || threads < 2 {
        // Sized up front: grown by doubling, the list was copied (and reallocated) some
        // nine times for a few hundred equations.
        let mut equations = Vec::with_capacity(lines.len());
        for line in lines {
            equations.push(parse_one(line)?);
        }
        return Ok(equations);
    }
    parse_shared(text, &lines, threads, || ())
        .into_iter()
        .collect()
}

/// The lines of one text, shared with the workers helping to parse it.
struct Shared {
    text: Box<str>,
    /// Byte ranges of the lines in `text`.
    lines: Vec<(usize, usize)>,
    /// The next chunk to take.
    next: AtomicUsize,
}

type Chunk = (usize, Vec<Result<Lowered, String>>);

impl Shared {
    fn chunks(&self) -> usize {
        self.lines.len().div_ceil(CHUNK)
    }

    /// Parses chunk `c`.
    fn parse(&self, c: usize) -> Vec<Result<Lowered, String>> {
        self.lines[c * CHUNK..((c + 1) * CHUNK).min(self.lines.len())]
            .iter()
            .map(|&(start, end)| parse_one(&self.text[start..end]))
            .collect()
    }

    /// Takes and parses chunks until there are none left, handing each to `out`.
    fn work(&self, mut out: impl FnMut(Chunk)) {
        loop {
            let c = self.next.fetch_add(1, Ordering::Relaxed);
            if c >= self.chunks() {
                return;
            }
            out((c, self.parse(c)));
        }
    }
}

/// Parses `lines` (of `text`) on the calling thread and `threads - 1` of rayon's workers,
/// which take chunks of lines in turn.  The calling thread works from the start rather
/// than wait for a worker to wake up, and it never waits for a worker at all: out of
/// chunks to take, it parses again any chunk a worker took and has not handed back yet.
/// Parsing is pure, so either copy is the same; the other is dropped.  A worker that is
/// woken late or descheduled (on a two-core virtual machine its start ranged from ~40 µs
/// to ~440 µs) therefore costs at most the time its chunks take on one thread, where
/// waiting for it could cost a scheduler slice.
///
/// A worker calls `handing` before it hands a chunk back (tests hold workers there).
fn parse_shared(
    text: &str,
    lines: &[&str],
    threads: usize,
    handing: impl Fn() + Clone + Send + 'static,
) -> Vec<Result<Lowered, String>> {
    let base = text.as_ptr() as usize;
    let shared = Arc::new(Shared {
        text: text.into(),
        lines: lines
            .iter()
            .map(|line| {
                let start = line.as_ptr() as usize - base;
                (start, start + line.len())
            })
            .collect(),
        next: AtomicUsize::new(0),
    });
    let chunks = shared.chunks();
    let (sender, receiver) = mpsc::channel::<Chunk>();
    for _ in 1..threads {
        let shared = Arc::clone(&shared);
        let sender = sender.clone();
        let handing = handing.clone();
        rayon::spawn(move || {
            // A send fails only once the caller is done: then no chunk is left to take.
            shared.work(|chunk| {
                handing();
                drop(sender.send(chunk));
            });
        });
    }
    drop(sender);
    let mut slots: Vec<Option<Vec<Result<Lowered, String>>>> = (0..chunks).map(|_| None).collect();
    shared.work(|(c, part)| slots[c] = Some(part));
    for c in 0..chunks {
        if slots[c].is_none() {
            // A worker's copy of a chunk parsed here already is dropped.
            for (i, part) in receiver.try_iter() {
                slots[i].get_or_insert(part);
            }
        }
        if slots[c].is_none() {
            slots[c] = Some(shared.parse(c));
        }
    }
    slots
        .into_iter()
        .flat_map(|slot| slot.expect("every chunk is parsed"))
        .collect()
}

/// What an equation was given as, beyond its left-hand side (kept in the system's
/// equations): for messages and for consumers that ask for it later.
#[derive(Clone, Debug)]
pub struct Given {
    /// The line it came from, or `lhs = rhs`.
    pub label: String,
    /// Names of the symbols its right-hand side uses.
    pub symbols: Vec<String>,
    /// Its right-hand side as text: as given, or as SymPy prints it.
    pub shown: String,
    /// Whether the right-hand side was given as text.
    pub from_text: bool,
}

impl Given {
    /// The right-hand side's text, if it was given as text.
    pub fn rhs_text(&self) -> Option<&str> {
        self.from_text.then_some(self.shown.as_str())
    }
}

/// A checked system: its canonical form and, per equation in evaluation order, what it was
/// given as.
#[derive(Clone, Debug)]
pub struct Canonical {
    system: System,
    given: Vec<Given>,
}

impl Canonical {
    /// Checks the system and orders its equations; `Err` holds the message.
    pub fn assemble(
        declared: Declared,
        constants: Vec<(String, Expr)>,
        equations: Vec<Lowered>,
    ) -> Result<Canonical, String> {
        let items: Vec<&Item> = equations.iter().map(|eq| &eq.item).collect();
        let order = check_and_order(&declared, &items)?;
        let mut equations: Vec<Option<Lowered>> = equations.into_iter().map(Some).collect();
        let mut system = System {
            states: declared.states,
            parameters: declared.parameters,
            drivers: declared.drivers,
            observables: declared.observables,
            constants,
            equations: Vec::with_capacity(order.len()),
        };
        let mut given = Vec::with_capacity(order.len());
        for i in order {
            let eq = equations[i].take().expect("each index once");
            system.equations.push((eq.item.lhs, eq.rhs));
            given.push(Given {
                label: eq.item.label,
                symbols: eq.item.symbols,
                shown: eq.item.shown,
                from_text: eq.from_text,
            });
        }
        Ok(Canonical { system, given })
    }

    /// The canonical form: equations in evaluation order, layouts, constants.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// The left-hand sides, in evaluation order.
    pub fn lhs(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.system.equations.iter().map(|(lhs, _)| lhs.as_str())
    }

    /// Per equation, in evaluation order: what it was given as.
    pub fn given(&self) -> &[Given] {
        &self.given
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
        assert_eq!(c.lhs().collect::<Vec<_>>(), ["a", "dx"]);
        assert_eq!(c.given()[1].label, "dx = -k*a  # decay");
        assert_eq!(c.given()[1].rhs_text(), Some("-k*a"));
        assert_eq!(c.given()[1].symbols, ["a", "k"]);
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
    fn several_threads_parse_what_one_thread_parses() {
        let mut lines: Vec<String> = (0..500)
            .map(|i| format!("a{i} = x*{i} + y**{} # {i}", i % 7))
            .collect();
        let on = |threads: usize, text: &str| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| parse_text(text))
        };
        let text = lines.join("\n\n");
        let one = on(1, &text).unwrap();
        for threads in [2, 3] {
            let many = on(threads, &text).unwrap();
            assert_eq!(many.len(), one.len());
            for (a, b) in one.iter().zip(&many) {
                assert_eq!(
                    (&a.item.lhs, &a.item.label, &a.item.symbols, &a.item.shown),
                    (&b.item.lhs, &b.item.label, &b.item.symbols, &b.item.shown)
                );
                assert_eq!(a.rhs.encoding(), b.rhs.encoding());
            }
        }
        lines[450] = "b = (".into();
        lines[7] = "c = 1 +".into();
        let text = lines.join("\n");
        let first = on(1, &text).unwrap_err();
        assert!(first.starts_with("equation 'c = 1 +'"), "{first}");
        assert_eq!(on(3, &text).unwrap_err(), first);
    }

    #[test]
    fn the_caller_never_waits_for_a_worker() {
        use std::sync::{Condvar, Mutex};
        // Workers that have parsed a chunk are held until the caller is done: it must parse
        // their chunks again itself, and the result must not change.
        let lines: Vec<String> = (0..400).map(|i| format!("a{i} = x*{i} - y")).collect();
        let text = lines.join("\n");
        let lines: Vec<&str> = text.lines().collect();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| parse_text(&text))
            .unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let mut held_once = false;
        for _ in 0..50 {
            let gate = Arc::new((Mutex::new((false, 0usize)), Condvar::new()));
            let hold = Arc::clone(&gate);
            let handing = move || {
                let (lock, opened) = &*hold;
                let mut state = lock.lock().unwrap();
                state.1 += 1;
                while !state.0 {
                    state = opened.wait(state).unwrap();
                }
            };
            let (done, result) = mpsc::channel();
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    let parsed = pool.install(|| parse_shared(&text, &lines, 2, handing));
                    done.send(parsed).unwrap();
                });
                let parsed = result.recv_timeout(std::time::Duration::from_secs(60));
                // Opened before any assert, so that a failure fails instead of hanging.
                let (lock, opened) = &*gate;
                let mut state = lock.lock().unwrap();
                held_once |= state.1 > 0;
                state.0 = true;
                opened.notify_all();
                drop(state);
                let parsed = parsed.expect("the caller waited for a held worker");
                let parsed: Vec<Lowered> = parsed.into_iter().map(Result::unwrap).collect();
                assert_eq!(parsed.len(), one.len());
                for (a, b) in one.iter().zip(&parsed) {
                    assert_eq!(a.item.label, b.item.label);
                    assert_eq!(a.rhs.encoding(), b.rhs.encoding());
                }
            });
            if held_once {
                break;
            }
        }
        assert!(held_once, "no worker ever took a chunk");
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
