//! Which cases a run runs: `run --suite NAME` (every case a suite lists) and
//! `run --case GLOB` (every case whose id matches), so a slow implementation
//! can be run on part of a suite.
//!
//! The selection is the union of the named suites' cases and the cases whose
//! id matches a glob; with neither, every suite. Each case runs once, in
//! corpus order. A named suite's report row counts all its cases; any other
//! suite's row counts only the cases a glob chose, and is left out when there
//! are none (so `--suite core --case 'file.*alice*'` reports `core` whole
//! and `files` with the alice cases).

use std::collections::BTreeSet;

use super::case::Case;
use super::suite::Suite;

/// What a run runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Indices into the corpus, sorted, each once.
    pub cases: Vec<usize>,
    /// The suite rows: (name, required, positions in `cases`), in suite order.
    pub suites: Vec<(String, bool, Vec<usize>)>,
}

/// Whether `id` matches `pattern`: `*` any run of characters (also empty),
/// `?` exactly one character, anything else itself.
pub fn glob_matches(pattern: &str, id: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), id.chars().collect());
    // Greedy match with one backtrack point (the last `*`): linear enough for case ids.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == '?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The selection for `--suite names` and `--case globs` (see the module
/// doc). Errors (usage errors of the command line): a suite that does not
/// exist, a glob that matches no case any suite lists.
pub fn select(cases: &[Case], suites: &[Suite], names: &[String], globs: &[String]) -> Result<Selection, String> {
    for n in names {
        if !suites.iter().any(|s| &s.name == n) {
            let have: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
            return Err(format!("--suite {n}: no such suite (have: {})", have.join(", ")));
        }
    }
    let listed: BTreeSet<usize> = suites.iter().flat_map(|s| s.cases.iter().copied()).collect();
    let mut matched = BTreeSet::new();
    for g in globs {
        let hits: Vec<usize> = listed.iter().copied().filter(|&i| glob_matches(g, &cases[i].id)).collect();
        if hits.is_empty() {
            return Err(format!("--case {g}: matches no case id (`czip-conformance list` names the suites; ids are in vectors/)"));
        }
        matched.extend(hits);
    }
    let everything = names.is_empty() && globs.is_empty();
    let named = |s: &Suite| everything || names.contains(&s.name);
    let mut chosen = matched.clone();
    for s in suites.iter().filter(|s| named(s)) {
        chosen.extend(s.cases.iter().copied());
    }
    let cases: Vec<usize> = chosen.into_iter().collect();
    // A named suite's row counts all its cases; another suite's row only the cases a glob chose.
    let rows = suites
        .iter()
        .map(|s| {
            let idx = s.cases.iter().filter(|i| named(s) || matched.contains(*i)).filter_map(|i| cases.binary_search(i).ok());
            (s.name.clone(), s.required, idx.collect::<Vec<_>>())
        })
        .filter(|(_, _, idx)| !idx.is_empty())
        .collect();
    Ok(Selection { cases, suites: rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_ids() {
        for (p, id, want) in [
            ("file.*.alice_ch1_txt", "file.compress.v001.L1.brotli.alice_ch1_txt", true),
            ("file.*.alice_ch1_txt", "file.compress.v001.L1.brotli.edge_crlf_alice_ch1_txt", false),
            ("file.*alice_ch1_txt", "file.compress.v001.L1.brotli.edge_crlf_alice_ch1_txt", true),
            ("file.*.L1.*.alice_ch1_txt", "file.compress.v001.L2.brotli.alice_ch1_txt", false),
            ("prim?tive.*", "primitive.udiv.3", true),
            ("prim?tive.*", "primtive.udiv.3", false),
            ("*", "", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("abc", "abcd", false),
            ("?", "é", true),
        ] {
            assert_eq!(glob_matches(p, id), want, "{p} vs {id}");
        }
    }

    fn case(id: &str) -> Case {
        serde_json::from_value(serde_json::json!({"id": id, "op": "clamp_i8", "spec": "§1", "args": {"x": 1}, "expect": {"result": 1}}))
            .unwrap()
    }

    fn suite(name: &str, cases: &[usize]) -> Suite {
        Suite { name: name.into(), description: String::new(), required: true, cases: cases.to_vec() }
    }

    #[test]
    fn suites_and_globs_select_their_union_in_corpus_order() {
        let cases: Vec<Case> = ["a.1", "a.2", "b.1", "b.2", "c.1"].into_iter().map(case).collect();
        let suites = [suite("a", &[0, 1]), suite("b", &[2, 3]), suite("both", &[1, 2])];
        let s = |n: &[&str], g: &[&str]| {
            select(&cases, &suites, &n.iter().map(|x| x.to_string()).collect::<Vec<_>>(), &g.iter().map(|x| x.to_string()).collect::<Vec<_>>())
        };
        let all = s(&[], &[]).unwrap();
        assert_eq!(all.cases, [0, 1, 2, 3]); // c.1 is in no suite
        assert_eq!(all.suites.len(), 3);
        let one = s(&["a"], &["b.?2"]).unwrap_err();
        assert_eq!(one, "--case b.?2: matches no case id (`czip-conformance list` names the suites; ids are in vectors/)");
        let u = s(&["a"], &["b.2"]).unwrap();
        assert_eq!(u.cases, [0, 1, 3]);
        // `both` lists a.2 (chosen by suite a, not by the glob) and b.1 (not chosen): no row.
        assert_eq!(u.suites, [("a".to_string(), true, vec![0, 1]), ("b".to_string(), true, vec![2])]);
        let g = s(&[], &["*.1"]).unwrap();
        assert_eq!(g.cases, [0, 2]);
        assert_eq!(g.suites, [("a".to_string(), true, vec![0]), ("b".to_string(), true, vec![1]), ("both".to_string(), true, vec![1])]);
        assert!(s(&["nope"], &[]).unwrap_err().starts_with("--suite nope: no such suite (have: a, b, both)"));
        assert_eq!(s(&[], &["c.1"]).unwrap_err().split(':').next(), Some("--case c.1"));
    }
}
