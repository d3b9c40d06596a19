//! The shape of the house, checked: which file of `src/` uses which (from its `crate::` and
//! `super::` paths). Nothing below `web/` uses `web` or `startup` (the HTTP edge and the
//! wiring sit on top of the domain, never inside it), and no file reaches itself through
//! others. A change that adds such an edge fails here with the loop it made.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `a/b.rs` → ["a", "b"]; `a/mod.rs` → ["a"]; `lib.rs` → [].
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file that holds the module `path` (or its longest prefix that is a file).
fn file_of(path: &[String], known: &BTreeMap<Vec<String>, PathBuf>) -> Option<PathBuf> {
    (1..=path.len())
        .rev()
        .find_map(|n| known.get(&path[..n]).cloned())
}

/// The paths a use-tree names, from just after `crate::` or `super::`: `a::b`, and every
/// member of a group (`a::{b, c::{d, self}}`), down to the first segment that is not a
/// module name (a type, a function call, a macro).
fn tree(prefix: Vec<String>, s: &str) -> Vec<Vec<String>> {
    let mut path = prefix;
    let mut rest = s.trim_start();
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            break;
        }
        rest = &rest[name.len()..];
        if name != "self" {
            path.push(name);
        }
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => return vec![path],
        }
    }
    let Some(group) = rest.strip_prefix('{') else {
        return vec![path];
    };
    let (mut depth, mut item, mut out) = (1, String::new(), Vec::new());
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth == 0 || (c == ',' && depth == 1) {
            if !item.trim().is_empty() {
                out.extend(tree(path.clone(), &item));
            }
            item.clear();
            if depth == 0 {
                break;
            }
        } else {
            item.push(c);
        }
    }
    out
}

/// The module paths a file names: `crate::…` and `super::…` paths and use-trees (comments
/// left out).
fn named_paths(text: &str, here: &[String]) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    // `super` of a/b.rs is a, and of a/mod.rs (module a) the crate root
    let parent = here[..here.len().saturating_sub(1)].to_vec();
    let mut out = Vec::new();
    for (start, prefix) in [("crate::", Vec::new()), ("super::", parent)] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(start) {
            let before = rest[..i].chars().last();
            rest = &rest[i + start.len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            out.extend(tree(prefix.clone(), rest));
        }
    }
    out
}

fn graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    let known: BTreeMap<Vec<String>, PathBuf> =
        all.iter().map(|f| (module_of(f), f.clone())).collect();
    let mut edges = BTreeMap::new();
    for f in &all {
        let text = std::fs::read_to_string(f).unwrap();
        // a file's own test module (at its end) is not a use of other files
        let text = match text.find("#[cfg(test)]") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        let here = module_of(f);
        let mut to = BTreeSet::new();
        for path in named_paths(&text, &here) {
            if let Some(target) = file_of(&path, &known) {
                // a module file's own `mod x;` children are not uses; a file naming its
                // parent module's items through `super::` is
                if &target != f && !module_of(&target).is_empty() {
                    to.insert(target);
                }
            }
        }
        edges.insert(f.clone(), to);
    }
    edges
}

fn short(p: &Path) -> String {
    p.strip_prefix(src()).unwrap().display().to_string()
}

#[test]
fn nothing_below_the_web_edge_uses_it() {
    let mut wrong = Vec::new();
    for (from, to) in graph() {
        let name = short(&from);
        let above = name.starts_with("web/")
            || ["startup.rs", "cli.rs", "main.rs", "lib.rs"].contains(&name.as_str());
        if above {
            continue;
        }
        for t in to {
            let t = short(&t);
            if t.starts_with("web/") || t == "startup.rs" || t == "cli.rs" {
                wrong.push(format!("{name} uses {t}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The loops of a graph (Tarjan's strongly connected components of more than one node).
fn loops_of(g: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<String>> {
    // Tarjan's strongly connected components
    struct T<'a> {
        g: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on: BTreeSet<&'a PathBuf>,
        next: usize,
        loops: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a PathBuf) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        for w in &t.g[v] {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(short(w));
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.loops.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        loops: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.loops
}

fn shown(loops: &[Vec<String>]) -> String {
    loops
        .iter()
        .map(|c| c.join(" ⇄ "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_file_reaches_itself_through_others() {
    let loops = loops_of(&graph());
    assert!(
        loops.is_empty(),
        "files that reach themselves through others:\n{}",
        shown(&loops)
    );
}

#[test]
fn no_capability_reaches_itself_through_others() {
    // the same, one level up: `src/notices/` and `src/auth/` as wholes
    let top = |f: &Path| -> PathBuf {
        let rel = f.strip_prefix(src()).unwrap();
        let first = rel.iter().next().unwrap().to_string_lossy().to_string();
        src().join(first.trim_end_matches(".rs"))
    };
    let mut g: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (from, to) in graph() {
        let f = top(&from);
        let entry = g.entry(f.clone()).or_default();
        for t in to {
            let t = top(&t);
            if t != f {
                entry.insert(t);
            }
        }
    }
    for targets in g.clone().values() {
        for t in targets {
            g.entry(t.clone()).or_default();
        }
    }
    let loops = loops_of(&g);
    assert!(
        loops.is_empty(),
        "capabilities that reach themselves through others:\n{}",
        shown(&loops)
    );
}

#[test]
fn the_module_reader_sees_uses() {
    // the reader itself: a group, a nested group, super:: in a mod file and in a leaf
    let here = vec!["web".to_string(), "pages".to_string()];
    let paths = named_paths(
        "use crate::{auth::{viewer, access::{self, PupilRef}}, db::DbConn};\nuse super::layout::PageCtx; // crate::ignored\nlet x = crate::clock::Clock::System;",
        &here,
    );
    let names: BTreeSet<String> = paths.iter().map(|p| p.join("::")).collect();
    let want: BTreeSet<String> = ["auth::viewer", "auth::access", "db", "web::layout", "clock"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names, want);
}

/// The text of a Rust file with comments, strings and character literals blanked (their
/// braces would otherwise count), line breaks kept.
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                if b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else if c == 'r' && matches!(next, Some('#' | '"')) && !prev_ident(&b, i) {
            // a raw string: r"…" or r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                if b[j] == '\n' {
                    out.push('\n');
                }
                j += 1;
            }
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if b.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' && (b.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // a character literal ('{', '\n', '\u{7f}'); a lifetime has no closing quote
            i += 1;
            while i < b.len() && b[i] != '\'' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_ident(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// Every function of `src/` and its length in lines, from its `fn` line to its closing
/// brace: (file, name, lines).
fn functions() -> Vec<(String, String, usize)> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    let mut out = Vec::new();
    for file in all {
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        let lines: Vec<&str> = code.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i].trim_start();
            let l = l
                .strip_prefix("pub ")
                .or_else(|| l.strip_prefix("pub(crate) "))
                .or_else(|| l.strip_prefix("pub(super) "))
                .unwrap_or(l);
            let l = l.strip_prefix("async ").unwrap_or(l);
            let Some(rest) = l.strip_prefix("fn ") else {
                i += 1;
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let (mut depth, mut opened, mut j) = (0i32, false, i);
            'scan: while j < lines.len() {
                for c in lines[j].chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        ';' if !opened && depth == 0 => break 'scan,
                        _ => {}
                    }
                    if opened && depth == 0 {
                        break 'scan;
                    }
                }
                j += 1;
            }
            if opened {
                out.push((short(&file), name, j - i + 1));
                // nested functions are counted inside their parent too
                i += 1;
            } else {
                i = j + 1;
            }
        }
    }
    out
}

#[test]
fn no_function_is_over_120_lines() {
    let long: Vec<String> = functions()
        .into_iter()
        .filter(|f| f.2 > 120)
        .map(|(file, name, n)| format!("{file}: {name} is {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "split these into steps with names (a rule that can be unit-tested is a plain function):\n{}",
        long.join("\n")
    );
}

#[test]
fn no_web_file_is_over_600_lines() {
    let mut all = Vec::new();
    files(&src().join("web"), &mut all);
    let long: Vec<String> = all
        .iter()
        .map(|f| {
            (
                short(f),
                std::fs::read_to_string(f).unwrap().lines().count(),
            )
        })
        .filter(|(_, n)| *n > 600)
        .map(|(f, n)| format!("{f}: {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "a web file over 600 lines holds more than one area's pages:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_function_measure_counts_braces_in_code_only() {
    let text = "fn a() {\n    let s = \"}}}\";\n    let c = '}';\n    // }\n    let r = r#\"{\"#;\n}\nfn b<'x>(v: &'x str) -> &'x str { v }\n";
    let code = code_only(text);
    assert_eq!(code.matches('{').count(), 2, "{code}");
    assert_eq!(code.matches('}').count(), 2, "{code}");
    assert_eq!(code.lines().count(), text.lines().count());
}

#[test]
fn path_ids_are_typed() {
    // an id in a path is a crate::ids type (a bad one is a 404 before the handler runs);
    // only the sign-in and password links take their secret token as text, and the SS
    // 12000 records their UUID (the standard answers a malformed id with a 400)
    let mut all = Vec::new();
    files(&src().join("web"), &mut all);
    let by_hand: Vec<String> = all
        .iter()
        .filter(|f| !f.ends_with("sign_in.rs") && !f.ends_with("ss12000/records.rs"))
        .filter(|f| std::fs::read_to_string(f).unwrap().contains("Path<String>"))
        .map(|f| short(f))
        .collect();
    assert!(by_hand.is_empty(), "paths parsed by hand in {by_hand:?}");
}

#[test]
fn the_web_edge_holds_no_queries() {
    // handlers parse input, call one function of a capability and render: queries,
    // transactions and rules live in the capability's module
    let mut all = Vec::new();
    files(&src().join("web"), &mut all);
    let mut found = Vec::new();
    for f in &all {
        let code = code_only(&std::fs::read_to_string(f).unwrap());
        for needle in ["diesel", "crate::schema", ".transaction("] {
            if code.contains(needle) {
                found.push(format!("{} uses {needle}", short(f)));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The core's own files (`src/school/`) may use only the core and the shared parts below
/// every capability: the database, the schema and the error type.
fn core_uses_outside(g: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<String> {
    let core = src().join("school");
    let allowed = |t: &Path| {
        t.starts_with(&core)
            || t.starts_with(src().join("db"))
            || t == src().join("schema.rs")
            || t == src().join("error.rs")
    };
    let mut wrong = Vec::new();
    for (from, to) in g {
        if !from.starts_with(&core) {
            continue;
        }
        for t in to.iter().filter(|t| !allowed(t)) {
            wrong.push(format!("{} uses {}", short(from), short(t)));
        }
    }
    wrong
}

#[test]
fn the_core_imports_no_capability() {
    let mut g = graph();
    let wrong = core_uses_outside(&g);
    assert!(
        wrong.is_empty(),
        "the core reaches up:\n{}",
        wrong.join("\n")
    );
    // and the check sees an edge when there is one
    g.entry(src().join("school/act.rs"))
        .or_default()
        .insert(src().join("attendance/roll_call.rs"));
    assert_eq!(
        core_uses_outside(&g),
        ["school/act.rs uses attendance/roll_call.rs"]
    );
}

/// Every file of `src/`: its name below `src/`, and its text.
fn sources() -> Vec<(String, String)> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    all.iter()
        .map(|f| (short(f), std::fs::read_to_string(f).unwrap()))
        .collect()
}

/// Files that read the system clock directly, other than the clock itself and the two
/// security windows that are defined on it (sessions and links).
fn system_clock_readers(files_and_texts: &[(String, String)]) -> Vec<String> {
    const ALLOWED: [&str; 3] = ["school/clock.rs", "auth/session.rs", "auth/links.rs"];
    files_and_texts
        .iter()
        .filter(|(name, _)| !ALLOWED.contains(&name.as_str()))
        .filter(|(_, text)| code_only(text).contains("Utc::now"))
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn the_system_clock_is_read_in_one_place() {
    let texts = sources();
    let wrong = system_clock_readers(&texts);
    assert!(
        wrong.is_empty(),
        "read the clock through school::clock (Clock::now, or system_now for a security window): {wrong:?}"
    );
    let planted = [(
        "attendance/roll_call.rs".to_string(),
        "fn f() { let _ = chrono::Utc::now(); } // Utc::now in a comment is fine".to_string(),
    )];
    assert_eq!(system_clock_readers(&planted), ["attendance/roll_call.rs"]);
    let commented = [(
        "attendance/trips.rs".to_string(),
        "// Utc::now\nfn f() {}".to_string(),
    )];
    assert!(system_clock_readers(&commented).is_empty());
}

/// The crate-root modules `lib.rs` declares that the README's layout table leaves out.
fn missing_from_layout(lib: &str, readme: &str) -> Vec<String> {
    let table = readme
        .split("## Layout")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_default();
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .filter(|m| !table.contains(&format!("`{m}`")) && !table.contains(&format!("`{m}/`")))
        .collect()
}

#[test]
fn every_crate_root_module_is_in_the_readme_layout() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let missing = missing_from_layout(&lib, &readme);
    assert!(
        missing.is_empty(),
        "add these to the README's layout table: {missing:?}"
    );
    assert_eq!(
        missing_from_layout(&format!("{lib}pub mod planted;\n"), &readme),
        ["planted"]
    );
}

/// The codes `src/` refuses with (`Refusal::new("…")`, `refuse("…")`, and an account page's
/// `refuse("…")`), and the codes each catalogue in `templates/messages/` words.
fn refusal_codes() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for (_, text) in sources() {
        // a file's own tests may make up a code
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for opener in ["Refusal::new(", "refuse("] {
            for part in text.split(opener).skip(1) {
                // the code is a literal, perhaps on the next line
                if let Some(code) = part.trim_start().strip_prefix('"') {
                    codes.extend(code.split('"').next().map(String::from));
                }
            }
        }
    }
    codes
}

#[test]
fn every_refusal_has_words_in_every_language_and_every_word_is_used() {
    let used = refusal_codes();
    assert!(used.len() > 50, "the reader finds the codes: {used:?}");
    for (lang, text) in narvaro::web::words::CATALOGUES {
        let worded: BTreeSet<String> = narvaro::web::words::entries(text)
            .into_keys()
            .map(String::from)
            .collect();
        let missing: Vec<_> = used.difference(&worded).collect();
        let unused: Vec<_> = worded.difference(&used).collect();
        assert!(
            missing.is_empty() && unused.is_empty(),
            "templates/messages/{lang}.txt: missing {missing:?}, unused {unused:?}"
        );
    }
}

/// Where a language may be chosen outside `web/`: the languages themselves, the e-mail
/// renderer (a notice is built in its reader's language) and the command line.
const LANGUAGE_EDGES: [&str; 6] = [
    "i18n/",
    "notices/build.rs",
    "notices/mod.rs",
    "notices/templates.rs",
    "notices/text.rs",
    "cli.rs",
];

/// The files outside `web/` and the language edges whose code names `Lang`.
fn language_choosers(files_and_texts: &[(String, String)]) -> BTreeSet<String> {
    files_and_texts
        .iter()
        .filter(|(name, _)| {
            !name.starts_with("web/") && !LANGUAGE_EDGES.iter().any(|e| name.starts_with(e))
        })
        .filter(|(_, text)| {
            let code = code_only(text.split("#[cfg(test)]").next().unwrap_or_default());
            code.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|w| w == "Lang")
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn no_language_below_the_web_edge() {
    let found = language_choosers(&sources());
    assert!(
        found.is_empty(),
        "the domain speaks in codes (school::Refusal, worded by web::words from templates/messages/): {found:?} took a Lang"
    );
    let planted = [(
        "attendance/trips.rs".to_string(),
        "fn f(lang: crate::i18n::Lang) {}".to_string(),
    )];
    assert_eq!(
        language_choosers(&planted).into_iter().collect::<Vec<_>>(),
        ["attendance/trips.rs"]
    );
}

/// Where a typed id is read as a plain number (`.get()`) outside the two edges that may:
/// `db/` (binds) and `web/` (paths, forms, pages). Every other `.get()` of `src/` is a
/// connection taken from a pool, which is allowed.
fn raw_id_reads(files_and_texts: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, text) in files_and_texts {
        if name.starts_with("db/") || name.starts_with("web/") {
            continue;
        }
        // comments cut (strings kept: code_only would make `.get("key")` read as `.get()`)
        let code: String = text
            .lines()
            .map(|l| l.split("// ").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        let mut from = 0;
        while let Some(at) = code[from..].find(".get()") {
            let at = from + at;
            let receiver = code[..at].trim_end();
            if !(receiver.ends_with("pool") || receiver.ends_with(".pool()")) {
                let line = code[..at].matches('\n').count() + 1;
                out.push(format!("{name}:{line}"));
            }
            from = at + ".get()".len();
        }
    }
    out
}

#[test]
fn typed_ids_are_read_as_numbers_only_at_the_edges() {
    let wrong = raw_id_reads(&sources());
    assert!(
        wrong.is_empty(),
        "pass the typed id on (diesel binds it as it is); only db/ and web/ read it as a number: {wrong:?}"
    );
    let planted = [(
        "attendance/roll_call.rs".to_string(),
        "fn f(p: PupilId) -> i64 {\n    // p.get() in a comment is fine\n    p.get()\n}"
            .to_string(),
    )];
    assert_eq!(raw_id_reads(&planted), ["attendance/roll_call.rs:3"]);
    let allowed = [
        (
            "cli.rs".to_string(),
            "fn f() { let c = pool\n    .get(); let d = state.database.pool().get(); }".to_string(),
        ),
        (
            "web/day.rs".to_string(),
            "fn f(s: SchoolId) -> i64 { s.get() }".to_string(),
        ),
    ];
    assert!(raw_id_reads(&allowed).is_empty());
}

/// Public struct fields named as ids (`id`, `…_id`) that hold a plain `i64`, but for the
/// two that name a record of more than one kind (the audit log's entity, an SS 12000
/// absence that is a report or leave, as its `kind` says).
fn untyped_id_fields(files_and_texts: &[(String, String)]) -> Vec<String> {
    const MIXED: [&str; 2] = ["audit.rs", "interop/ss12000/absences.rs"];
    let mut out = Vec::new();
    for (name, text) in files_and_texts {
        if MIXED.contains(&name.as_str()) {
            continue;
        }
        for (n, line) in code_only(text).lines().enumerate() {
            let Some(field) = line.trim().strip_prefix("pub ") else {
                continue;
            };
            let Some((ident, ty)) = field.split_once(':') else {
                continue;
            };
            let is_id = ident == "id" || ident.ends_with("_id");
            let ty = ty.trim().trim_end_matches(',');
            let raw = ["i64", "Option<i64>", "Vec<i64>"].contains(&ty);
            if is_id && raw {
                out.push(format!("{name}:{}", n + 1));
            }
        }
    }
    out
}

#[test]
fn id_fields_are_typed() {
    let wrong = untyped_id_fields(&sources());
    assert!(
        wrong.is_empty(),
        "an id field holds its kind of id (school::ids), not an i64: {wrong:?}"
    );
    let planted = [(
        "attendance/trips.rs".to_string(),
        "pub struct T {\n    pub id: i64,\n    pub group_id: Option<i64>,\n    pub valid: i64,\n}"
            .to_string(),
    )];
    assert_eq!(
        untyped_id_fields(&planted),
        ["attendance/trips.rs:2", "attendance/trips.rs:3"]
    );
}
