//! Model identifiers of the DynVision kind: `NAME:key=value+key=value_SEED_DATA`.
//!
//! Pure Rust, no Python (what `cargo test` checks): building the text that `compute_hash`
//! digests, recognising hash tokens, parsing identifiers and `key=value` lists, the opt-in
//! canonical form and the command-line flags.  Every refusal is an [`IdentifierError`] whose
//! message names the offending text and its position (counted in characters, as Python does).

use std::collections::HashMap;
use std::fmt;

use crate::algorithm::Algorithm;

/// What `compute_hash` puts before the hex digest.
pub const HASH_PREFIX: &str = ":hash=";

/// Longest hex digest any algorithm produces (BLAKE2b): the longest hash token accepted.
pub const MAX_HEX: usize = 128;

/// A malformed identifier, argument list or hash token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierError(pub String);

impl fmt::Display for IdentifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl IdentifierError {
    /// An error about `whole`, at byte offset `at`, reported as a character position.
    fn at(whole: &str, at: usize, what: impl fmt::Display) -> Self {
        let pos = whole[..at.min(whole.len())].chars().count();
        IdentifierError(format!("{what} at position {pos} in {whole:?}"))
    }

    /// Prefix the message with the index of the argument it is about.
    pub fn in_argument(self, index: usize) -> Self {
        IdentifierError(format!("argument {index}: {}", self.0))
    }
}

/// Whether `arg` is a hash token (`:hash=<hex>` or `hash=<hex>`, the whole argument).
///
/// Unlike the seed's substring test (`'hash=' in arg`), a value such as `nohash=1` or
/// `tsteps=2+hash=x` is not a token.  Text that starts like a token but does not carry
/// lower-case hex (`hash=`, `hash=XYZ`) is refused rather than hashed: it is almost surely a
/// typo, and hashing it would hide that.
pub fn is_hash_token(arg: &str) -> Result<bool, IdentifierError> {
    // Every argument of every row comes through here: reject on the first bytes, no searcher.
    let colons = arg.bytes().take_while(|&b| b == b':').count();
    let Some(hex) = arg[colons..].strip_prefix("hash=") else {
        return Ok(false);
    };
    let hex_start = arg.len() - hex.len();
    if hex.is_empty() {
        return Err(IdentifierError::at(
            arg,
            hex_start,
            "empty hash after 'hash='",
        ));
    }
    if let Some(bad) = hex.find(|c: char| !matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(IdentifierError::at(
            arg,
            hex_start + bad,
            "a hash token holds lower-case hex digits only; found a different character",
        ));
    }
    if hex.len() > MAX_HEX {
        return Err(IdentifierError::at(
            arg,
            hex_start,
            format_args!("hash of {} hex digits is longer than any digest", hex.len()),
        ));
    }
    Ok(true)
}

/// The index of the argument that is a hash token, if any (the idempotent case: the caller
/// returns that argument as is).
fn token_index(args: &[&str]) -> Result<Option<usize>, IdentifierError> {
    for (i, arg) in args.iter().enumerate() {
        if is_hash_token(arg).map_err(|e| e.in_argument(i))? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Write what `compute_hash(*args)` digests into `buf`: every argument stripped of leading
/// colons, joined with `_`.  Returns `Some(i)` instead when argument `i` is a hash token (the
/// idempotent case: the caller returns that argument as is).
///
/// With `canonical`, an argument holding `=` is a `key=value` list and is written with its
/// keys sorted, so `dt=2+tsteps=20` and `tsteps=20+dt=2` digest alike.
pub fn hash_input_into(
    args: &[&str],
    canonical: bool,
    buf: &mut Vec<u8>,
) -> Result<Option<usize>, IdentifierError> {
    if let Some(i) = token_index(args)? {
        return Ok(Some(i));
    }
    buf.clear();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            buf.push(b'_');
        }
        let stripped = arg.trim_start_matches(':');
        if canonical && stripped.contains('=') {
            canonical_into(stripped, buf).map_err(|e| e.in_argument(i))?;
        } else {
            buf.extend_from_slice(stripped.as_bytes());
        }
    }
    Ok(None)
}

/// Write `:hash=<hex>` for an already built hash input into `dst` (`HASH_PREFIX.len() +
/// hex_len` bytes).
pub fn write_hashed(alg: Algorithm, input: &[u8], dst: &mut [u8]) {
    let (prefix, hex) = dst.split_at_mut(HASH_PREFIX.len());
    prefix.copy_from_slice(HASH_PREFIX.as_bytes());
    alg.hexdigest_into(input, hex);
}

/// `compute_hash(*args)` written into `dst` (`HASH_PREFIX.len() + hex_len` bytes) as
/// `:hash=<hex>`, or `Some(i)` when argument `i` is a hash token (then `dst` is untouched).
///
/// Without `canonical` the arguments are fed to the digest one after another, never joined
/// into one buffer: on the hot path of a million-row batch that copy is pure overhead.  `buf`
/// is scratch space for the canonical form.
pub fn hash_into(
    alg: Algorithm,
    args: &[&str],
    canonical: bool,
    buf: &mut Vec<u8>,
    dst: &mut [u8],
) -> Result<Option<usize>, IdentifierError> {
    if canonical {
        let token = hash_input_into(args, true, buf)?;
        if token.is_none() {
            write_hashed(alg, buf, dst);
        }
        return Ok(token);
    }
    if let Some(i) = token_index(args)? {
        return Ok(Some(i));
    }
    let (prefix, hex) = dst.split_at_mut(HASH_PREFIX.len());
    prefix.copy_from_slice(HASH_PREFIX.as_bytes());
    alg.hexdigest_fed_into(
        |update| {
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    update(b"_");
                }
                update(arg.trim_start_matches(':').as_bytes());
            }
        },
        hex,
    );
    Ok(None)
}

/// `compute_hash(*args)`: `:hash=<hex>` of the joined arguments, or the hash token among them.
pub fn compute_hash(
    args: &[&str],
    alg: Algorithm,
    hex_len: usize,
    canonical: bool,
) -> Result<String, IdentifierError> {
    let mut out = vec![0u8; HASH_PREFIX.len() + hex_len];
    if let Some(i) = hash_into(alg, args, canonical, &mut Vec::new(), &mut out)? {
        return Ok(args[i].to_owned());
    }
    Ok(String::from_utf8(out).expect("prefix and hex are ASCII"))
}

/// One parsed `key=value` pair, borrowed from the text it came from.
pub type Param<'a> = (&'a str, &'a str);

/// Parse a `key=value+key=value` list, as found after the model name (`:tsteps=20+dt=2`) or in
/// a wildcard (`+tsteps=20+dt=2`): leading colons and one leading `+` are skipped.
pub fn parse_args(args: &str) -> Result<Vec<Param<'_>>, IdentifierError> {
    let body = args.trim_start_matches(':');
    let body = body.strip_prefix('+').unwrap_or(body);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    parse_pairs(args, args.len() - body.len(), args.len())
}

/// Parse the pairs of `whole[start..end]`, reporting positions in `whole`.
fn parse_pairs(whole: &str, start: usize, end: usize) -> Result<Vec<Param<'_>>, IdentifierError> {
    let mut params: Vec<Param<'_>> = Vec::new();
    // Key → byte offset of its pair: a lookup per pair keeps parsing linear in the length
    // (a scan of the pairs so far made an 889 KB identifier take 12 s).
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut offset = start;
    for segment in whole[start..end].split('+') {
        let at = offset;
        offset += segment.len() + 1;
        if segment.is_empty() {
            return Err(IdentifierError::at(
                whole,
                at,
                "empty parameter ('+' at the start or end, or two in a row)",
            ));
        }
        let Some(eq) = segment.find('=') else {
            return Err(IdentifierError::at(
                whole,
                at,
                format_args!("parameter {segment:?} has no '=' (expected key=value)"),
            ));
        };
        let (key, value) = (&segment[..eq], &segment[eq + 1..]);
        if key.is_empty() {
            return Err(IdentifierError::at(whole, at, "empty key before '='"));
        }
        if let Some(bad) = key.find(|c: char| !(c.is_ascii_alphanumeric() || "_-.".contains(c))) {
            let c = key[bad..].chars().next().unwrap_or('?');
            return Err(IdentifierError::at(
                whole,
                at + bad,
                format_args!(
                    "key {key:?} contains {c:?}; keys hold letters, digits, '_', '-' and '.' \
                     so that they can be command-line flags"
                ),
            ));
        }
        if value.is_empty() {
            return Err(IdentifierError::at(
                whole,
                at + eq + 1,
                format_args!("empty value for key {key:?}"),
            ));
        }
        if let Some(bad) = value.find(['=', '/', '\0']) {
            let c = value[bad..].chars().next().unwrap_or('?');
            return Err(IdentifierError::at(
                whole,
                at + eq + 1 + bad,
                format_args!(
                    "{c:?} inside the value of key {key:?} cannot round-trip \
                     (values must not hold '=', '+', '/' or NUL)"
                ),
            ));
        }
        if let Some(first) = seen.insert(key, at) {
            let first_pos = whole[..first].chars().count();
            return Err(IdentifierError::at(
                whole,
                at,
                format_args!("key {key:?} repeated (first at position {first_pos})"),
            ));
        }
        params.push((key, value));
    }
    Ok(params)
}

/// Write the canonical form of a `key=value` list (keys sorted, joined with `+`) into `buf`.
fn canonical_into(args: &str, buf: &mut Vec<u8>) -> Result<(), IdentifierError> {
    let mut params = parse_args(args)?;
    params.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (i, (key, value)) in params.iter().enumerate() {
        if i > 0 {
            buf.push(b'+');
        }
        buf.extend_from_slice(key.as_bytes());
        buf.push(b'=');
        buf.extend_from_slice(value.as_bytes());
    }
    Ok(())
}

/// The canonical form of a `key=value` list: keys sorted, no leading `:` or `+`.
pub fn canonical_args(args: &str) -> Result<String, IdentifierError> {
    let mut buf = Vec::with_capacity(args.len());
    canonical_into(args, &mut buf)?;
    Ok(String::from_utf8(buf).expect("built from str slices and ASCII separators"))
}

/// Command-line flags for a `key=value` list: `+tsteps=20+dt=2` → `--tsteps 20 --dt 2`.
pub fn args_to_flags(args: &str) -> Result<Vec<String>, IdentifierError> {
    Ok(parse_args(args)?
        .into_iter()
        .flat_map(|(k, v)| [format!("--{k}"), v.to_owned()])
        .collect())
}

/// A full model identifier `NAME[:ARGS]_SEED_DATA`, borrowed from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier<'a> {
    pub name: &'a str,
    /// The argument text as written, with its leading `:` (empty when there is none): exactly
    /// what a Snakemake `{model_args}` wildcard holds and what the hash is computed from.
    pub args: &'a str,
    pub params: Vec<Param<'a>>,
    pub seed: &'a str,
    pub data: &'a str,
}

/// Characters a model name, seed or data name must not hold: each would move a boundary.
const NAME_FORBIDDEN: [char; 6] = [':', '_', '+', '=', '/', '\0'];

fn check_part(whole: &str, at: usize, part: &str, what: &str) -> Result<(), IdentifierError> {
    if part.is_empty() {
        return Err(IdentifierError::at(whole, at, format_args!("empty {what}")));
    }
    if let Some(bad) = part.find(NAME_FORBIDDEN) {
        let c = part[bad..].chars().next().unwrap_or('?');
        return Err(IdentifierError::at(
            whole,
            at + bad,
            format_args!("{what} {part:?} contains {c:?}, which cannot round-trip"),
        ));
    }
    Ok(())
}

/// Parse `NAME[:ARGS]_SEED_DATA`.  Seed and data name are the last two `_`-separated parts
/// (so values may hold `_`); the model name ends at the first `:`.
pub fn parse_identifier(text: &str) -> Result<Identifier<'_>, IdentifierError> {
    if let Some(colon) = text.find(':') {
        if is_hash_token(&text[colon..]).unwrap_or(false) {
            return Err(IdentifierError::at(
                text,
                colon,
                "hashed identifier, not a full one (resolve it to the full form first)",
            ));
        }
    }
    let Some(last) = text.rfind('_') else {
        return Err(IdentifierError::at(
            text,
            text.len(),
            "no '_SEED_DATA' at the end (expected NAME:key=value+..._SEED_DATA)",
        ));
    };
    let Some(before) = text[..last].rfind('_') else {
        return Err(IdentifierError::at(
            text,
            last,
            "only one '_' (expected NAME:key=value+..._SEED_DATA)",
        ));
    };
    let (seed, data) = (&text[before + 1..last], &text[last + 1..]);
    let front = &text[..before];
    let (name, args) = front.split_at(front.find(':').unwrap_or(front.len()));
    check_part(text, 0, name, "model name")?;
    check_part(text, before + 1, seed, "seed")?;
    check_part(text, last + 1, data, "data name")?;
    let params = if args.is_empty() {
        Vec::new()
    } else if args.len() == 1 {
        return Err(IdentifierError::at(
            text,
            name.len(),
            "empty parameter list after ':'",
        ));
    } else {
        parse_pairs(text, name.len() + 1, before)?
    };
    Ok(Identifier {
        name,
        args,
        params,
        seed,
        data,
    })
}

/// Build `NAME[:k=v+...]_SEED_DATA`, refusing parts that would not parse back unchanged.
pub fn format_identifier(
    name: &str,
    params: &[Param<'_>],
    seed: &str,
    data: &str,
) -> Result<String, IdentifierError> {
    let mut text = String::from(name);
    for (i, (key, value)) in params.iter().enumerate() {
        text.push(if i == 0 { ':' } else { '+' });
        text.push_str(key);
        text.push('=');
        text.push_str(value);
    }
    let args_end = text.len();
    text.push('_');
    text.push_str(seed);
    text.push('_');
    text.push_str(data);
    // Each part on its own first: the messages then name the part, not a shifted boundary.
    check_part(&text, 0, name, "model name")?;
    check_part(&text, args_end + 1, seed, "seed")?;
    check_part(&text, args_end + 2 + seed.len(), data, "data name")?;
    let parsed = parse_identifier(&text)?;
    if parsed.params != params {
        return Err(IdentifierError::at(
            &text,
            name.len(),
            "parameters do not parse back unchanged (a key or value holds '+', '=' or ':')",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &str = ":tsteps=20+dt=2+tau=5+tff=0+trc=6+tsk=0+lossrt=4+energyloss=0.1+pattern=1\
                        +rctype=full+rctarget=output+skip=true+feedback=false";

    fn md5(args: &[&str]) -> String {
        compute_hash(args, Algorithm::Md5, 8, false).unwrap()
    }

    #[test]
    fn reference_values_from_the_issue() {
        assert_eq!(
            md5(&[":tsteps=20+dt=2", "42", "imagenette"]),
            ":hash=3fce9ecb"
        );
        assert_eq!(md5(&[LONG, "42", "imagenette"]), ":hash=e422434b");
    }

    #[test]
    fn leading_colons_are_stripped_like_lstrip() {
        assert_eq!(md5(&["::a=1", "2"]), md5(&["a=1", "2"]));
        assert_eq!(md5(&[]), ":hash=d41d8cd9"); // md5 of ""
    }

    #[test]
    fn hash_tokens_are_returned_as_is_and_only_whole() {
        assert_eq!(md5(&[":hash=3fce9ecb", "42"]), ":hash=3fce9ecb");
        assert_eq!(md5(&["x", "hash=ab"]), "hash=ab");
        assert_ne!(md5(&["nohash=1"]), "nohash=1");
        assert_ne!(md5(&["a=1+hash=ab"]), "a=1+hash=ab");
        for bad in ["hash=", ":hash=XY", "hash=12g"] {
            let err = compute_hash(&["x", bad], Algorithm::Md5, 8, false).unwrap_err();
            assert!(err.0.starts_with("argument 1: "), "{err}");
        }
    }

    #[test]
    fn streamed_parts_hash_like_the_joined_input() {
        let cases: [&[&str]; 5] = [
            &[],
            &[""],
            &[":tsteps=20+dt=2", "42", "imagenette"],
            &["::a", ":", "", "b_c"],
            &["dt=2+tsteps=20", "é", "42"],
        ];
        for args in cases {
            for alg in crate::algorithm::ALL {
                for canonical in [false, true] {
                    let mut buf = Vec::new();
                    assert_eq!(hash_input_into(args, canonical, &mut buf), Ok(None));
                    let mut joined = vec![0u8; HASH_PREFIX.len() + 11];
                    write_hashed(alg, &buf, &mut joined);
                    let mut streamed = vec![0u8; HASH_PREFIX.len() + 11];
                    let token = hash_into(alg, args, canonical, &mut buf, &mut streamed);
                    assert_eq!(token, Ok(None));
                    assert_eq!(joined, streamed, "{alg} {args:?} {canonical}");
                }
            }
        }
    }

    #[test]
    fn canonical_sorts_keys() {
        let a = compute_hash(&[":dt=2+tsteps=20", "42"], Algorithm::Md5, 8, true).unwrap();
        let b = compute_hash(&["tsteps=20+dt=2", "42"], Algorithm::Md5, 8, true).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, md5(&["dt=2+tsteps=20", "42"]));
        assert_eq!(canonical_args("+b=1+a=2").unwrap(), "a=2+b=1");
    }

    #[test]
    fn parses_the_seed_identifier() {
        let text = format!("DyRCNNx8{LONG}+dloader=torch_6000_imagenette_42_imagenette");
        let id = parse_identifier(&text).unwrap();
        assert_eq!(id.name, "DyRCNNx8");
        assert_eq!((id.seed, id.data), ("42", "imagenette"));
        assert_eq!(id.params[0], ("tsteps", "20"));
        assert_eq!(
            id.params.last(),
            Some(&("dloader", "torch_6000_imagenette"))
        );
        assert!(id.args.starts_with(":tsteps=20+") && id.args.ends_with("imagenette"));
        let back = format_identifier(id.name, &id.params, id.seed, id.data).unwrap();
        assert_eq!(back, text);
        let plain = parse_identifier("AlexNet_1_cifar").unwrap();
        assert_eq!(
            (plain.name, plain.args, plain.params.len()),
            ("AlexNet", "", 0)
        );
    }

    #[test]
    fn malformed_identifiers_name_the_position() {
        let cases = [
            ("M:a=1+=2_1_d", "empty key", 6),
            ("M:a==2_1_d", "'='", 4),
            ("M:a=1++b=2_1_d", "empty parameter", 6),
            ("M:a=1+a=2_1_d", "repeated (first at position 2)", 6),
            ("M:a_1_d", "no '='", 2),
            ("M:_1_d", "empty parameter list", 1),
            ("M:a=1_d", "only one '_'", 5),
            ("M:a=1_1_", "empty data name", 8),
            ("M:a b=1_1_d", "contains ' '", 3),
            ("M:hash=3fce9ecb", "hashed identifier", 1),
            ("My+M_1_d", "model name", 2),
        ];
        for (text, what, pos) in cases {
            let err = parse_identifier(text).unwrap_err().0;
            assert!(err.contains(what), "{text}: {err}");
            assert!(
                err.contains(&format!("at position {pos} ")),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn a_megabyte_identifier_parses_and_round_trips() {
        // 80,000 pairs: with a scan per pair for repeated keys this took minutes.
        let args: Vec<String> = (0..80_000).map(|i| format!("key{i}=v{i}")).collect();
        let text = format!("M:{}_1_d", args.join("+"));
        assert!(text.len() > 1_000_000);
        let id = parse_identifier(&text).unwrap();
        assert_eq!(id.params.len(), 80_000);
        assert_eq!(id.params[79_999], ("key79999", "v79999"));
        assert_eq!(
            format_identifier(id.name, &id.params, id.seed, id.data).unwrap(),
            text
        );
        let repeated = format!("M:{}+key5=x_1_d", args.join("+"));
        let err = parse_identifier(&repeated).unwrap_err().0;
        assert!(
            err.contains("key \"key5\" repeated (first at position 42)"),
            "{}",
            &err[..80]
        );
    }

    #[test]
    fn positions_count_characters() {
        let err = parse_args("a=δδ+=2").unwrap_err().0;
        assert!(err.contains("at position 5 "), "{err}");
    }

    #[test]
    fn format_refuses_what_cannot_round_trip() {
        assert!(format_identifier("M", &[("a", "1+b=2")], "1", "d").is_err());
        assert!(format_identifier("M", &[("a", "x")], "4_2", "d").is_err());
        assert!(format_identifier("M", &[("a", "x")], "4", "d_x").is_err());
        assert!(format_identifier("M", &[("a", "x/y")], "4", "d").is_err());
        assert!(format_identifier("M:N", &[], "4", "d").is_err());
        assert_eq!(
            format_identifier("M", &[("a", "x_y"), ("b", "2")], "4", "d").unwrap(),
            "M:a=x_y+b=2_4_d"
        );
    }

    #[test]
    fn flags() {
        assert_eq!(
            args_to_flags("+tsteps=20+dt=2").unwrap(),
            ["--tsteps", "20", "--dt", "2"]
        );
        assert!(args_to_flags("").unwrap().is_empty());
    }
}
